//! Provider adapters. The orchestration (`engine`) talks only to [`ProviderAdapter`];
//! which adapter serves a provider is configuration (`provider_adapters`, Console →
//! Providers), with a default per provider kind.
//!
//! Built in:
//! - `aws_dx`: AWS Direct Connect hosted connection: `ordering` → `pending` (the customer
//!   accepts the connection in their AWS account) → `available`.
//! - `azure_er`: Azure ExpressRoute circuit by service key: `NotProvisioned` (the customer
//!   confirms the service key) → `Provisioning` → `Provisioned`.
//! - `gcp_partner`: Google Cloud Partner Interconnect VLAN attachment by pairing key:
//!   `PENDING_PARTNER` → `PENDING_CUSTOMER` (the customer activates it) → `ACTIVE`.
//! - `cross_connect`: a data-centre cross-connect: `ordered` → `installing` → `complete`.
//! - `fabric`: a virtual circuit over the Patchbay fabric: `provisioning` → `active`.
//! - `mef_partner`: another provider's MEF LSO Sonata-shaped product-ordering API over HTTP.
//!
//! The cloud and data-centre adapters run on the **sandbox backend**: no cloud account is
//! reachable from here, so the provider side is simulated in `sandbox_resources` with the
//! real lifecycle, references and customer steps, and with per-provider latency and failure
//! injection. A live backend is an extension point: implement [`ProviderAdapter`] for the
//! provider's API (for AWS: `CreateHostedConnection`, `DescribeConnections`,
//! `UpdateConnection`, `DeleteConnection`; for Azure: the ExpressRoute cross-connection
//! ARM resource's `serviceProviderProvisioningState`; for Google: the partner
//! `interconnectAttachments` API) and return it from [`for_leg`] when the provider's
//! backend says so. Nothing pretends to be live: services provisioned on the sandbox show it.
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use entity::{provider, provider_adapter, sandbox_call, sandbox_resource};
use rand::Rng;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde_json::{Map, Value, json};

use crate::error::AppError;
use crate::state::AppState;

/// Why an adapter call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdapterError {
    /// Worth retrying (timeouts, 5xx, throttling).
    Transient(String),
    /// Retrying will not help (rejected, invalid, not found).
    Permanent(String),
}

impl std::fmt::Display for AdapterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdapterError::Transient(m) => write!(f, "{m}"),
            AdapterError::Permanent(m) => write!(f, "{m}"),
        }
    }
}

impl From<AppError> for AdapterError {
    fn from(e: AppError) -> Self {
        AdapterError::Transient(e.to_string())
    }
}

impl From<sea_orm::DbErr> for AdapterError {
    fn from(e: sea_orm::DbErr) -> Self {
        AdapterError::Transient(AppError::from(e).to_string())
    }
}

/// What the orchestration asks a provider for: one leg of a service.
#[derive(Debug, Clone)]
pub struct Intent {
    pub tenant_id: String,
    pub service_number: String,
    pub leg_name: String,
    pub bandwidth_mbps: i64,
    /// The endpoint this leg attaches to (on-ramp or port), when it has one.
    pub endpoint_name: Option<String>,
    pub cloud_region: Option<String>,
    pub location: Option<String>,
}

/// Where a provider-side resource stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// The provider is working on it.
    Working,
    /// The customer must act (the text says what to do).
    AwaitingCustomer(String),
    Ready,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub external_ref: String,
    /// The provider's own state word.
    pub provider_state: String,
    pub phase: Phase,
    /// References to keep with the leg (VLAN, BGP, keys...).
    pub refs: Map<String, Value>,
}

/// Traffic over one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub mb_in: i64,
    pub mb_out: i64,
}

/// The one interface provisioning uses. Every mutating call carries an idempotency
/// key: calling again with the same key must not create or change anything twice.
#[async_trait]
pub trait ProviderAdapter: Send + Sync {
    fn name(&self) -> &'static str;
    /// Local checks before anything is ordered.
    fn validate(&self, intent: &Intent) -> Result<(), AdapterError>;
    async fn provision(&self, intent: &Intent, key: &str) -> Result<Progress, AdapterError>;
    async fn status(&self, external_ref: &str) -> Result<Progress, AdapterError>;
    async fn modify_bandwidth(&self, external_ref: &str, mbps: i64, key: &str) -> Result<(), AdapterError>;
    async fn suspend(&self, external_ref: &str, key: &str) -> Result<(), AdapterError>;
    async fn resume(&self, external_ref: &str, key: &str) -> Result<(), AdapterError>;
    async fn terminate(&self, external_ref: &str, key: &str) -> Result<(), AdapterError>;
    /// The provider's view of this tenant's resources: `(external_ref, provider_state)`.
    async fn sync_inventory(&self, tenant_id: &str) -> Result<Vec<(String, String)>, AdapterError>;
    /// Traffic over a period, when the provider reports it.
    async fn usage(
        &self,
        external_ref: &str,
        from: chrono::DateTime<Utc>,
        to: chrono::DateTime<Utc>,
    ) -> Result<Option<Usage>, AdapterError>;
    /// Sandbox only: perform the customer's step (accept, confirm, activate) for them.
    async fn customer_action(&self, external_ref: &str) -> Result<(), AdapterError> {
        let _ = external_ref;
        Err(AdapterError::Permanent("This provider has no customer step to perform here.".into()))
    }
}

// ----- settings ----------------------------------------------------------------------------

/// The adapter a provider uses when nobody has chosen one.
pub fn default_adapter(p: &provider::Model) -> &'static str {
    match (p.kind.as_str(), p.key.as_str()) {
        (_, "aws") => "aws_dx",
        (_, "azure") => "azure_er",
        (_, "gcp") => "gcp_partner",
        ("carrier", _) => "fabric",
        _ => "cross_connect",
    }
}

/// Effective settings of a provider (its row, or the defaults).
pub fn settings_of(p: &provider::Model, row: Option<provider_adapter::Model>) -> provider_adapter::Model {
    row.unwrap_or_else(|| provider_adapter::Model {
        provider_id: p.id.clone(),
        adapter: default_adapter(p).into(),
        backend: "sandbox".into(),
        base_url: None,
        credentials_sealed: None,
        latency_ms: 0,
        transient_pct: 0,
        permanent_pct: 0,
        timeout_pct: 0,
        customer_action: "manual".into(),
        updated_at: p.created_at,
        updated_by: None,
    })
}

/// The adapter a leg was ordered through (its provider's settings, the leg's adapter): a
/// provider switched to another adapter later still manages the legs it already holds.
pub async fn for_leg(
    state: &AppState,
    provider_id: &str,
    adapter_name: &str,
) -> Result<Box<dyn ProviderAdapter>, AppError> {
    let p = provider::Entity::find_by_id(provider_id.to_string()).one(&state.db).await?.ok_or(AppError::NotFound)?;
    let row = provider_adapter::Entity::find_by_id(provider_id.to_string()).one(&state.db).await?;
    let mut cfg = settings_of(&p, row);
    cfg.adapter = adapter_name.to_string();
    let timeout = Duration::from_millis(state.settings.adapter_timeout_ms.max(1));
    if cfg.adapter == "mef_partner" {
        let base = cfg.base_url.clone().filter(|u| !u.is_empty()).ok_or_else(|| {
            AppError::Conflict(format!("{} uses the partner API but has no base URL configured.", p.name))
        })?;
        let token = match &cfg.credentials_sealed {
            Some(sealed) => Some(state.sealer.open(sealed).map_err(|_| {
                AppError::Conflict(format!(
                    "{}'s partner API credentials cannot be read with this server's secret key; enter them again.",
                    p.name
                ))
            })?),
            None => None,
        };
        return Ok(Box::new(MefPartner::new(&base, token, timeout)?));
    }
    let spec = spec(&cfg.adapter)
        .ok_or_else(|| AppError::Conflict(format!("{} names an unknown adapter `{}`.", p.name, cfg.adapter)))?;
    Ok(Box::new(Sandbox { spec, db: state.db.clone(), cfg, timeout }))
}

// ----- the sandbox backend -----------------------------------------------------------------

/// Who moves a resource out of a state.
#[derive(Debug, Clone, Copy)]
enum Gate {
    /// The provider, on the next status check.
    Provider,
    /// The customer (the text tells them what to do; `{ref}`/`{key}` are filled in).
    Customer(&'static str),
}

struct Spec {
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

fn spec(adapter: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.adapter == adapter)
}

struct Sandbox {
    spec: &'static Spec,
    db: DatabaseConnection,
    cfg: provider_adapter::Model,
    timeout: Duration,
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

    fn progress(&self, res: &sandbox_resource::Model) -> Progress {
        let refs: Map<String, Value> = serde_json::from_str(&res.details).unwrap_or_default();
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
        Progress { external_ref: res.id.clone(), provider_state: res.state.clone(), phase, refs }
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
            return Ok(self.progress(&res));
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
                Ok(self.progress(&res))
            }
            // Another worker got there first with the same key: answer with its resource.
            Err(e) => match sandbox_resource::Entity::find()
                .filter(sandbox_resource::Column::IdempotencyKey.eq(key))
                .one(&self.db)
                .await?
            {
                Some(res) => {
                    self.log("provision", key, Some(&res.id), "replayed", None).await;
                    Ok(self.progress(&res))
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
                return Ok(self.progress(&self.resource(r).await?));
            }
        }
        Ok(self.progress(&res))
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
        Ok(sandbox_resource::Entity::find()
            .filter(sandbox_resource::Column::ProviderId.eq(&self.cfg.provider_id))
            .filter(sandbox_resource::Column::TenantId.eq(tenant_id))
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

// ----- MEF LSO Sonata partner adapter --------------------------------------------------------

/// Orders from another provider through its MEF LSO Sonata product-ordering API
/// (`productOrderingManagement/v10/productOrder`). Our idempotency key travels as the
/// order's `externalId`; the partner answers a repeated `externalId` with the order it
/// already has.
pub struct MefPartner {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

pub const SONATA_ORDERS: &str = "mefApi/sonata/productOrderingManagement/v10/productOrder";

impl MefPartner {
    pub fn new(base: &str, token: Option<String>, timeout: Duration) -> Result<Self, AppError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AppError::internal("partner http client", e))?;
        Ok(Self { base: base.trim_end_matches('/').to_string(), token, http })
    }

    fn url(&self, tail: &str) -> String {
        format!("{}/{SONATA_ORDERS}{tail}", self.base)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, AdapterError> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let res = req.send().await.map_err(|e| {
            AdapterError::Transient(if e.is_timeout() {
                "partner API did not answer in time".into()
            } else {
                format!("partner API unreachable: {e}")
            })
        })?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        let message =
            body.get("message").or_else(|| body.get("reason")).and_then(|v| v.as_str()).unwrap_or("").to_string();
        if status.is_success() {
            Ok(body)
        } else if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
            Err(AdapterError::Transient(format!("partner API answered {status} {message}")))
        } else {
            Err(AdapterError::Permanent(format!("partner API refused the order: {status} {message}")))
        }
    }

    fn progress(body: &Value) -> Result<Progress, AdapterError> {
        let id = body
            .get("id")
            .and_then(|v| v.as_str())
            .ok_or_else(|| AdapterError::Transient("partner API answered without an order id".into()))?;
        let state = body.get("state").and_then(|v| v.as_str()).unwrap_or("acknowledged").to_string();
        let phase = match state.as_str() {
            "completed" => Phase::Ready,
            "failed" | "rejected" | "cancelled" => Phase::Failed(format!("The partner's order is {state}.")),
            _ => Phase::Working,
        };
        let mut refs = Map::new();
        refs.insert("partner_order_id".into(), json!(id));
        if let Some(p) = body.pointer("/productOrderItem/0/product/id").and_then(|v| v.as_str()) {
            refs.insert("partner_product_id".into(), json!(p));
        }
        Ok(Progress { external_ref: id.to_string(), provider_state: state, phase, refs })
    }

    async fn item_order(&self, r: &str, key: &str, action: &str, config: Value) -> Result<(), AdapterError> {
        let current = self.send(self.http.get(self.url(&format!("/{r}")))).await?;
        let product_id = current.pointer("/productOrderItem/0/product/id").and_then(|v| v.as_str()).unwrap_or(r);
        let body = json!({
            "externalId": key,
            "productOrderItem": [{
                "id": "1",
                "action": action,
                "product": {"id": product_id, "productConfiguration": config},
            }],
        });
        self.send(self.http.post(self.url("")).json(&body)).await?;
        Ok(())
    }
}

#[async_trait]
impl ProviderAdapter for MefPartner {
    fn name(&self) -> &'static str {
        "mef_partner"
    }

    fn validate(&self, intent: &Intent) -> Result<(), AdapterError> {
        if intent.bandwidth_mbps <= 0 {
            return Err(AdapterError::Permanent("Bandwidth must be positive.".into()));
        }
        Ok(())
    }

    async fn provision(&self, intent: &Intent, key: &str) -> Result<Progress, AdapterError> {
        let body = json!({
            "externalId": key,
            "description": format!("{} {}", intent.service_number, intent.leg_name),
            "productOrderItem": [{
                "id": "1",
                "action": "add",
                "product": {
                    "productConfiguration": {
                        "@type": "urn:mef:lso:spec:sonata:access-eline-ovc:v1.0.0:all",
                        "bandwidth": {"amount": intent.bandwidth_mbps, "units": "Mbps"},
                        "endpoint": intent.endpoint_name,
                        "location": intent.location,
                    }
                }
            }]
        });
        Self::progress(&self.send(self.http.post(self.url("")).json(&body)).await?)
    }

    async fn status(&self, r: &str) -> Result<Progress, AdapterError> {
        Self::progress(&self.send(self.http.get(self.url(&format!("/{r}")))).await?)
    }

    async fn modify_bandwidth(&self, r: &str, mbps: i64, key: &str) -> Result<(), AdapterError> {
        self.item_order(r, key, "modify", json!({"bandwidth": {"amount": mbps, "units": "Mbps"}})).await
    }

    async fn suspend(&self, r: &str, key: &str) -> Result<(), AdapterError> {
        self.item_order(r, key, "modify", json!({"administrativeState": "disabled"})).await
    }

    async fn resume(&self, r: &str, key: &str) -> Result<(), AdapterError> {
        self.item_order(r, key, "modify", json!({"administrativeState": "enabled"})).await
    }

    async fn terminate(&self, r: &str, key: &str) -> Result<(), AdapterError> {
        self.item_order(r, key, "delete", json!({})).await
    }

    async fn sync_inventory(&self, _tenant_id: &str) -> Result<Vec<(String, String)>, AdapterError> {
        let body = self.send(self.http.get(self.url(""))).await?;
        Ok(body
            .as_array()
            .map(|orders| {
                orders
                    .iter()
                    .filter_map(|o| Some((o.get("id")?.as_str()?.to_string(), o.get("state")?.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn usage(
        &self,
        _r: &str,
        _from: chrono::DateTime<Utc>,
        _to: chrono::DateTime<Utc>,
    ) -> Result<Option<Usage>, AdapterError> {
        // Sonata product ordering carries no usage; the partner bills it on its invoice.
        Ok(None)
    }
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
        assert!(super::super::ADAPTER_CHOICES.iter().all(|(a, _)| *a == "mef_partner" || spec(a).is_some()));
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
