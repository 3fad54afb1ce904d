//! The sandbox backend: the provider side simulated in `sandbox_resources` with each
//! product's real lifecycle, references and customer steps, and with per-provider latency
//! and failure injection.
use super::*;
use crate::core::scope::{Owner, Scope};

/// Who moves a resource out of a state.
#[derive(Debug, Clone, Copy)]
enum Gate {
    /// The provider, on the next status check.
    Provider,
    /// The customer (the text tells them what to do; `{ref}`/`{key}` are filled in).
    Customer(&'static str),
}

pub(super) struct Spec {
    adapter: &'static str,
    prefix: &'static str,
    /// Lifecycle in order; the last state is "ready". Each state's gate says who moves it on.
    states: &'static [(&'static str, Gate)],
    suspended: &'static str,
    deleted: &'static str,
    /// Bandwidths the product can be sold at (None: anything).
    bandwidths: Option<&'static [i64]>,
    refs: fn(&Intent, &str, &mut rand::rngs::ThreadRng) -> Map<String, Value>,
}

const AWS_HOSTED: &[i64] = &[50, 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000];
const AZURE_ER: &[i64] = &[50, 100, 200, 500, 1000, 2000, 5000, 10000];
const GCP_PARTNER: &[i64] = &[50, 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000, 20000, 50000];

fn vlan(rng: &mut rand::rngs::ThreadRng) -> Value {
    json!(rng.gen_range(100..4000))
}

fn link_net(rng: &mut rand::rngs::ThreadRng) -> (String, String) {
    let (a, b) = (rng.gen_range(0..=255), rng.gen_range(0..64) * 4);
    (format!("169.254.{a}.{}/30", b + 1), format!("169.254.{a}.{}/30", b + 2))
}

const SPECS: &[Spec] = &[
    Spec {
        adapter: "aws_dx",
        prefix: "dxcon-",
        states: &[
            ("ordering", Gate::Provider),
            (
                "pending",
                Gate::Customer(
                    "Accept hosted connection {ref} in the AWS Direct Connect console (Connections → {ref} → Accept) of the AWS account you named.",
                ),
            ),
            ("available", Gate::Provider),
        ],
        suspended: "down",
        deleted: "deleted",
        bandwidths: Some(AWS_HOSTED),
        refs: |i, r, rng| {
            let (ours, amazon) = link_net(rng);
            let mut m = Map::new();
            m.insert("connection_id".into(), json!(r));
            m.insert("aws_region".into(), json!(i.cloud_region));
            m.insert("vlan".into(), vlan(rng));
            m.insert("amazon_asn".into(), json!(64512));
            m.insert("your_peer_ip".into(), json!(ours));
            m.insert("amazon_peer_ip".into(), json!(amazon));
            m
        },
    },
    Spec {
        adapter: "azure_er",
        prefix: "er-",
        states: &[
            (
                "NotProvisioned",
                Gate::Customer(
                    "Confirm service key {key}: it is the key of the ExpressRoute circuit you created in your Azure subscription.",
                ),
            ),
            ("Provisioning", Gate::Provider),
            ("Provisioned", Gate::Provider),
        ],
        suspended: "Disabled",
        deleted: "Deprovisioned",
        bandwidths: Some(AZURE_ER),
        refs: |i, _r, rng| {
            let mut m = Map::new();
            m.insert("service_key".into(), json!(uuid::Uuid::new_v4().to_string()));
            m.insert("peering_location".into(), json!(i.location));
            m.insert("vlan".into(), vlan(rng));
            m.insert("microsoft_asn".into(), json!(12076));
            let (p, s) = (rng.gen_range(0..=255), rng.gen_range(0..=255));
            m.insert("primary_subnet".into(), json!(format!("172.16.{p}.0/30")));
            m.insert("secondary_subnet".into(), json!(format!("172.16.{s}.4/30")));
            m
        },
    },
    Spec {
        adapter: "gcp_partner",
        prefix: "gcp-att-",
        states: &[
            ("PENDING_PARTNER", Gate::Provider),
            (
                "PENDING_CUSTOMER",
                Gate::Customer(
                    "Activate the VLAN attachment with pairing key {key} in the Google Cloud console (Interconnect → VLAN attachments).",
                ),
            ),
            ("ACTIVE", Gate::Provider),
        ],
        suspended: "DEFUNCT",
        deleted: "DELETED",
        bandwidths: Some(GCP_PARTNER),
        refs: |i, _r, rng| {
            let (ours, google) = link_net(rng);
            let mut m = Map::new();
            let region = i.cloud_region.clone().unwrap_or_else(|| "europe-west2".into());
            m.insert("pairing_key".into(), json!(format!("{}/{region}/1", uuid::Uuid::new_v4())));
            m.insert("vlan".into(), vlan(rng));
            m.insert("google_asn".into(), json!(16550));
            m.insert("your_peer_ip".into(), json!(ours));
            m.insert("google_peer_ip".into(), json!(google));
            m
        },
    },
    Spec {
        adapter: "cross_connect",
        prefix: "XC-",
        states: &[("ordered", Gate::Provider), ("installing", Gate::Provider), ("complete", Gate::Provider)],
        suspended: "disconnected",
        deleted: "removed",
        bandwidths: None,
        refs: |i, r, rng| {
            let mut m = Map::new();
            m.insert("cross_connect_id".into(), json!(r));
            m.insert("facility".into(), json!(i.location));
            m.insert(
                "patch_panel".into(),
                json!(format!(
                    "PP:{:04}:{:07} port {}",
                    rng.gen_range(100..9999),
                    rng.gen_range(1_000_000..9_999_999),
                    rng.gen_range(1..48)
                )),
            );
            m.insert("vlan".into(), vlan(rng));
            m
        },
    },
    Spec {
        adapter: "fabric",
        prefix: "VC-",
        states: &[("provisioning", Gate::Provider), ("active", Gate::Provider)],
        suspended: "shut",
        deleted: "removed",
        bandwidths: None,
        refs: |_i, r, rng| {
            let mut m = Map::new();
            m.insert("virtual_circuit".into(), json!(r));
            m.insert("vlan_a".into(), vlan(rng));
            m.insert("vlan_b".into(), vlan(rng));
            m
        },
    },
];

pub(super) fn spec(adapter: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.adapter == adapter)
}

pub(super) struct Sandbox {
    pub(super) spec: &'static Spec,
    pub(super) db: DatabaseConnection,
    pub(super) cfg: provider_adapter::Model,
    pub(super) timeout: Duration,
}

/// What the dice said for one call.
enum Injected {
    None,
    Transient,
    Permanent,
    Timeout,
}

impl Sandbox {
    async fn log(&self, op: &str, key: &str, r: Option<&str>, outcome: &str, detail: Option<String>) {
        let row = sandbox_call::ActiveModel {
            provider_id: Set(self.cfg.provider_id.clone()),
            operation: Set(op.into()),
            idempotency_key: Set(key.into()),
            external_ref: Set(r.map(Into::into)),
            outcome: Set(outcome.into()),
            detail: Set(detail),
            at: Set(Utc::now()),
            ..Default::default()
        };
        if let Err(e) = row.insert(&self.db).await {
            tracing::warn!(error = %e, "sandbox call log failed");
        }
    }

    /// Latency, then the injected failure (if any) for this call.
    async fn inject(&self, op: &str, key: &str, r: Option<&str>, mutating: bool) -> Result<(), AdapterError> {
        if self.cfg.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.cfg.latency_ms as u64)).await;
        }
        let roll = rand::thread_rng().gen_range(0..100);
        let (t, p, o) = (self.cfg.timeout_pct, self.cfg.transient_pct, self.cfg.permanent_pct);
        let injected = if roll < t {
            Injected::Timeout
        } else if roll < t + p {
            Injected::Transient
        } else if mutating && roll < t + p + o {
            Injected::Permanent
        } else {
            Injected::None
        };
        match injected {
            Injected::None => Ok(()),
            Injected::Transient => {
                let m = format!("{op}: provider answered 503 Service Unavailable (sandbox-injected transient error)");
                self.log(op, key, r, "transient", Some(m.clone())).await;
                Err(AdapterError::Transient(m))
            }
            Injected::Permanent => {
                let m = format!(
                    "{op}: provider rejected the request: capacity not available at this location (sandbox-injected rejection)"
                );
                self.log(op, key, r, "rejected", Some(m.clone())).await;
                Err(AdapterError::Permanent(m))
            }
            Injected::Timeout => {
                self.log(op, key, r, "timeout", None).await;
                // Hang past the caller's deadline, as an unresponsive provider would.
                tokio::time::sleep(self.timeout + Duration::from_secs(1)).await;
                Err(AdapterError::Transient(format!("{op}: provider did not answer (sandbox-injected timeout)")))
            }
        }
    }

    async fn resource(&self, r: &str) -> Result<sandbox_resource::Model, AdapterError> {
        sandbox_resource::Entity::find_by_id(r.to_string())
            .one(&self.db)
            .await?
            .filter(|x| x.provider_id == self.cfg.provider_id)
            .ok_or_else(|| AdapterError::Permanent(format!("The provider does not know {r}.")))
    }

    fn progress(&self, res: &sandbox_resource::Model) -> Result<Progress, AdapterError> {
        let refs: Map<String, Value> = serde_json::from_str(&res.details)
            .map_err(|e| AdapterError::Permanent(format!("corrupt sandbox_resources row {}: details: {e}", res.id)))?;
        let idx = self.spec.states.iter().position(|(s, _)| *s == res.state);
        let phase = match idx {
            Some(i) if i + 1 == self.spec.states.len() => Phase::Ready,
            Some(i) => match self.spec.states[i].1 {
                Gate::Customer(text) if self.cfg.customer_action != "auto" => {
                    let key = refs
                        .get("service_key")
                        .or_else(|| refs.get("pairing_key"))
                        .and_then(|v| v.as_str())
                        .unwrap_or(&res.id);
                    Phase::AwaitingCustomer(text.replace("{ref}", &res.id).replace("{key}", key))
                }
                _ => Phase::Working,
            },
            None if res.state == self.spec.suspended => Phase::Ready,
            None => Phase::Failed(format!("The resource is {}.", res.state)),
        };
        Ok(Progress { external_ref: res.id.clone(), provider_state: res.state.clone(), phase, refs })
    }

    async fn set_state(
        &self,
        mut res: sandbox_resource::Model,
        state: &str,
        bw: Option<i64>,
    ) -> Result<(), AdapterError> {
        res.state = state.into();
        let mut am: sandbox_resource::ActiveModel = res.into();
        am.state = Set(state.into());
        if let Some(b) = bw {
            am.bandwidth_mbps = Set(b);
        }
        am.updated_at = Set(Utc::now());
        am.update(&self.db).await?;
        Ok(())
    }

    /// A mutating call on an existing resource, recorded once per idempotency key.
    async fn change(&self, op: &str, r: &str, key: &str, to: &str, bw: Option<i64>) -> Result<(), AdapterError> {
        self.inject(op, key, Some(r), true).await?;
        let done = sandbox_call::Entity::find()
            .filter(sandbox_call::Column::IdempotencyKey.eq(key))
            .filter(sandbox_call::Column::Outcome.eq("executed"))
            .one(&self.db)
            .await?;
        if done.is_some() {
            self.log(op, key, Some(r), "replayed", None).await;
            return Ok(());
        }
        let res = self.resource(r).await?;
        if res.state == self.spec.deleted {
            return Err(AdapterError::Permanent(format!("{r} has been deleted.")));
        }
        self.set_state(res, to, bw).await?;
        self.log(op, key, Some(r), "executed", bw.map(|b| format!("{b} Mbps"))).await;
        Ok(())
    }
}

#[async_trait]
impl ProviderAdapter for Sandbox {
    fn name(&self) -> &'static str {
        self.spec.adapter
    }

    fn validate(&self, intent: &Intent) -> Result<(), AdapterError> {
        if intent.bandwidth_mbps <= 0 {
            return Err(AdapterError::Permanent("Bandwidth must be positive.".into()));
        }
        if let Some(allowed) = self.spec.bandwidths
            && !allowed.contains(&intent.bandwidth_mbps)
        {
            return Err(AdapterError::Permanent(format!(
                "{} is not sold at {} Mbps.",
                self.spec.adapter, intent.bandwidth_mbps
            )));
        }
        Ok(())
    }

    async fn provision(&self, intent: &Intent, key: &str) -> Result<Progress, AdapterError> {
        self.validate(intent)?;
        self.inject("provision", key, None, true).await?;
        let existing = sandbox_resource::Entity::find()
            .filter(sandbox_resource::Column::IdempotencyKey.eq(key))
            .one(&self.db)
            .await?;
        if let Some(res) = existing {
            self.log("provision", key, Some(&res.id), "replayed", None).await;
            return self.progress(&res);
        }
        let (id, refs) = {
            let mut rng = rand::thread_rng();
            let suffix: String =
                (0..8).map(|_| char::from(b"0123456789abcdefghijklmnopqrstuvwxyz"[rng.gen_range(0..36)])).collect();
            let id = format!("{}{suffix}", self.spec.prefix);
            let refs = (self.spec.refs)(intent, &id, &mut rng);
            (id, refs)
        };
        let now = Utc::now();
        let inserted = sandbox_resource::ActiveModel {
            id: Set(id.clone()),
            provider_id: Set(self.cfg.provider_id.clone()),
            adapter: Set(self.spec.adapter.into()),
            idempotency_key: Set(key.into()),
            tenant_id: Set(intent.tenant_id.clone()),
            state: Set(self.spec.states[0].0.into()),
            bandwidth_mbps: Set(intent.bandwidth_mbps),
            details: Set(Value::Object(refs).to_string()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&self.db)
        .await;
        match inserted {
            Ok(res) => {
                self.log("provision", key, Some(&res.id), "executed", Some(format!("{} Mbps", intent.bandwidth_mbps)))
                    .await;
                self.progress(&res)
            }
            // Another worker got there first with the same key: answer with its resource.
            Err(e) => match sandbox_resource::Entity::find()
                .filter(sandbox_resource::Column::IdempotencyKey.eq(key))
                .one(&self.db)
                .await?
            {
                Some(res) => {
                    self.log("provision", key, Some(&res.id), "replayed", None).await;
                    self.progress(&res)
                }
                None => Err(AdapterError::from(e)),
            },
        }
    }

    async fn status(&self, r: &str) -> Result<Progress, AdapterError> {
        self.inject("status", &format!("status:{r}"), Some(r), false).await?;
        let res = self.resource(r).await?;
        // The provider moves on by one state per look, unless the customer has to act.
        if let Some(i) = self.spec.states.iter().position(|(s, _)| *s == res.state)
            && i + 1 < self.spec.states.len()
        {
            let moves = match self.spec.states[i].1 {
                Gate::Provider => true,
                Gate::Customer(_) => self.cfg.customer_action == "auto",
            };
            if moves {
                let next = self.spec.states[i + 1].0;
                self.set_state(res, next, None).await?;
                return self.progress(&self.resource(r).await?);
            }
        }
        self.progress(&res)
    }

    async fn modify_bandwidth(&self, r: &str, mbps: i64, key: &str) -> Result<(), AdapterError> {
        if let Some(allowed) = self.spec.bandwidths
            && !allowed.contains(&mbps)
        {
            return Err(AdapterError::Permanent(format!("{} is not sold at {mbps} Mbps.", self.spec.adapter)));
        }
        let res = self.resource(r).await?;
        self.change("modify_bandwidth", r, key, &res.state, Some(mbps)).await
    }

    async fn suspend(&self, r: &str, key: &str) -> Result<(), AdapterError> {
        self.change("suspend", r, key, self.spec.suspended, None).await
    }

    async fn resume(&self, r: &str, key: &str) -> Result<(), AdapterError> {
        let ready = self.spec.states[self.spec.states.len() - 1].0;
        self.change("resume", r, key, ready, None).await
    }

    async fn terminate(&self, r: &str, key: &str) -> Result<(), AdapterError> {
        self.change("terminate", r, key, self.spec.deleted, None).await
    }

    async fn sync_inventory(&self, tenant_id: &str) -> Result<Vec<(String, String)>, AdapterError> {
        self.inject("sync_inventory", &format!("sync:{tenant_id}"), None, false).await?;
        // The engine asks for one tenant's inventory, named by the job it runs.
        Ok(Scope::worker(Owner::Tenant(tenant_id.to_string()))
            .find::<sandbox_resource::Entity>()
            .filter(sandbox_resource::Column::ProviderId.eq(&self.cfg.provider_id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| (r.id, r.state))
            .collect())
    }

    async fn usage(
        &self,
        r: &str,
        from: chrono::DateTime<Utc>,
        to: chrono::DateTime<Utc>,
    ) -> Result<Option<Usage>, AdapterError> {
        let res = self.resource(r).await?;
        Ok(Some(sandbox_usage(&res.id, res.bandwidth_mbps, from, to)))
    }

    async fn customer_action(&self, r: &str) -> Result<(), AdapterError> {
        let res = self.resource(r).await?;
        let Some(i) = self.spec.states.iter().position(|(s, _)| *s == res.state) else {
            return Err(AdapterError::Permanent(format!("{r} is {}; there is nothing to accept.", res.state)));
        };
        if !matches!(self.spec.states[i].1, Gate::Customer(_)) || i + 1 == self.spec.states.len() {
            return Err(AdapterError::Permanent(format!("{r} is {}; it is not waiting for you.", res.state)));
        }
        let next = self.spec.states[i + 1].0;
        self.set_state(res, next, None).await?;
        self.log("customer_action", &format!("customer:{r}:{i}"), Some(r), "executed", Some(next.into())).await;
        Ok(())
    }
}

/// Sandbox traffic: a repeatable 5–35% average utilisation per resource and hour,
/// so usage records are stable across replicas and reruns. Labelled `sandbox` wherever shown.
pub fn sandbox_usage(r: &str, mbps: i64, from: chrono::DateTime<Utc>, to: chrono::DateTime<Utc>) -> Usage {
    use sha2::{Digest, Sha256};
    let secs = (to - from).num_seconds().max(0);
    let h = Sha256::digest(format!("{r}|{}", from.timestamp()).as_bytes());
    let util_in = 5 + (h[0] as i64 % 31);
    let util_out = 5 + (h[1] as i64 % 31);
    // Mbps × seconds / 8 = megabytes.
    let mb = |util: i64| mbps * secs * util / 100 / 8;
    Usage { mb_in: mb(util_in), mb_out: mb(util_out) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_ends_ready_and_customer_steps_name_the_reference() {
        for s in SPECS {
            assert!(s.states.len() >= 2, "{}", s.adapter);
            for (state, gate) in s.states {
                if let Gate::Customer(text) = gate {
                    assert!(text.contains("{ref}") || text.contains("{key}"), "{} {state}", s.adapter);
                }
            }
        }
        assert!(crate::provisioning::ADAPTER_CHOICES.iter().all(|(a, _)| *a == "mef_partner" || spec(a).is_some()));
    }

    #[test]
    fn sandbox_usage_is_repeatable_and_bounded() {
        let from = Utc::now();
        let to = from + chrono::Duration::hours(1);
        let a = sandbox_usage("dxcon-1", 1000, from, to);
        assert_eq!(a, sandbox_usage("dxcon-1", 1000, from, to));
        // 1 Gbps for an hour at most 35% = 157,500 MB.
        let max = 1000 * 3600 * 35 / 100 / 8;
        assert!(a.mb_in > 0 && a.mb_in <= max && a.mb_out <= max);
    }
}
