//! The in-memory key cache every request authenticates against, with no database query
//! per request.
//!
//! The cache is reloaded when the `api_keys` table changes (one `COUNT(*), SUM(version)`
//! query a second per replica; every change bumps its row's `version`, so no clock is
//! involved), so a revocation reaches every replica within about a second; the
//! standing of each key's admin (member, role, disabled) is re-read on the same tick, so a
//! demoted admin's keys lose the scopes their new role lacks. Last-used times are kept in
//! memory and written on that tick too.

use super::*;

/// A key as the cache holds it.
#[derive(Debug, Clone)]
pub struct CachedKey {
    pub id: String,
    pub key_id: String,
    hash: [u8; 32],
    pub tenant_id: Option<String>,
    pub name: String,
    pub scopes: Vec<ApiScope>,
    pub cidrs: Vec<IpNet>,
    pub expires_at: DateTime<Utc>,
    pub created_by: String,
}

/// The standing of a key's admin now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Member(Role),
    Gone,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a token, an unknown or revoked key, or a wrong secret (all look the same).
    Invalid,
    Expired,
    /// The request's address is outside the key's allowed blocks.
    Address,
    /// The admin the key acts for is no longer a member (or is disabled).
    OwnerGone,
}

/// An authenticated key: who it acts for, where, and with which scopes now.
#[derive(Debug, Clone)]
pub struct Principal {
    pub key: Arc<CachedKey>,
    /// The key's scopes that its admin's current role still allows.
    pub scopes: Vec<ApiScope>,
    /// The admin the key acts for, their tenant and role there, as of the last tick.
    pub user: user::Model,
    pub tenant: tenant::Model,
    pub role: Option<Role>,
    /// The tenant's edition's API rate limits, as of the last tick.
    pub limits: super::rate::Limits,
}

impl Principal {
    /// The key's request context: its admin acting in its tenant, without a session.
    pub fn ctx(&self, state: &crate::state::AppState) -> Ctx {
        // Never platform staff through a key, whoever made it: the key acts in its tenant.
        let user = user::Model { is_platform_admin: false, ..self.user.clone() };
        Ctx { state: state.clone(), session: None, user, tenant: Some(self.tenant.clone()), role: self.role }
    }

    pub fn has(&self, scope: ApiScope) -> bool {
        self.scopes.contains(&scope)
    }
}

#[derive(Default)]
struct Snapshot {
    keys: HashMap<String, Arc<CachedKey>>,
    standing: HashMap<(String, String), Standing>,
    users: HashMap<String, user::Model>,
    tenants: HashMap<String, tenant::Model>,
    /// Edition id → its API rate limits.
    limits: HashMap<String, super::rate::Limits>,
    stamp: Option<(i64, i64)>,
}

/// The keys every request authenticates against (see the module docs).
#[derive(Default)]
pub struct KeyCache {
    snap: RwLock<Snapshot>,
    used: Mutex<HashMap<String, (DateTime<Utc>, String)>>,
}

#[derive(FromQueryResult)]
struct Stamp {
    n: i64,
    versions: i64,
}

impl KeyCache {
    /// Check a bearer token from `ip`; records the use for the next tick.
    pub fn authenticate(&self, token: &str, ip: IpAddr) -> Result<Principal, Refusal> {
        let (key_id, secret) = parse_token(token).ok_or(Refusal::Invalid)?;
        let snap = self.snap.read().map_err(|_| Refusal::Invalid)?;
        let key = snap.keys.get(key_id).ok_or(Refusal::Invalid)?;
        if !bool::from(key.hash.ct_eq(&digest(secret))) {
            return Err(Refusal::Invalid);
        }
        if key.expires_at <= Utc::now() {
            return Err(Refusal::Expired);
        }
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        if !key.cidrs.is_empty() && !key.cidrs.iter().any(|c| c.contains(&ip)) {
            return Err(Refusal::Address);
        }
        let tenant = key
            .tenant_id
            .as_ref()
            .and_then(|t| snap.tenants.get(t))
            .filter(|t| t.status != "deleted")
            .ok_or(Refusal::Invalid)?;
        let standing =
            snap.standing.get(&(key.created_by.clone(), tenant.id.clone())).copied().unwrap_or(Standing::Gone);
        let user = snap.users.get(&key.created_by).filter(|_| standing != Standing::Gone).ok_or(Refusal::OwnerGone)?;
        let role = match standing {
            Standing::Member(r) => Some(r),
            Standing::Gone => None,
        };
        let scopes = key
            .scopes
            .iter()
            .copied()
            .filter(|s| match standing {
                Standing::Member(r) => allowed(s.perm(), false, Some(r)),
                Standing::Gone => false,
            })
            .collect();
        if let Ok(mut used) = self.used.lock() {
            used.insert(key.id.clone(), (Utc::now(), ip.to_string()));
        }
        // An edition that is not loaded yet (made since the last tick) gets Free's limits.
        let limits =
            snap.limits.get(&tenant.edition_id).copied().unwrap_or(super::rate::Limits { per_minute: 60, burst: 120 });
        Ok(Principal { key: key.clone(), scopes, user: user.clone(), tenant: tenant.clone(), role, limits })
    }

    /// Reload keys when the table changed, and the standing of their admins always.
    pub async fn refresh(&self, db: &impl ConnectionTrait) -> Result<(), AppError> {
        // SUM of a bigint is numeric on PostgreSQL: cast it back.
        let stamp = api_key::Entity::find()
            .select_only()
            .column_as(api_key::Column::Id.count(), "n")
            .column_as(Expr::cust("CAST(COALESCE(SUM(version), 0) AS BIGINT)"), "versions")
            .into_model::<Stamp>()
            .one(db)
            .await?
            .map(|s| (s.n, s.versions));
        let changed = self.snap.read().map(|s| s.stamp != stamp).unwrap_or(true);
        let keys = if changed {
            // Keys not revoked, and expired ones for 30 days (so their callers hear
            // "expired"); a revoked or long-expired key is simply unknown.
            let rows = api_key::Entity::find()
                .filter(api_key::Column::RevokedAt.is_null())
                .filter(api_key::Column::ExpiresAt.gt(Utc::now() - Duration::days(30)))
                .all(db)
                .await?;
            let mut keys = HashMap::with_capacity(rows.len());
            for k in rows {
                // A row that does not parse is logged naming it (by `AppError::internal`)
                // and left out: that key authenticates nothing, and every other key keeps
                // working and keeps receiving revocations.
                let mut hash = [0u8; 32];
                let parsed = hex::decode_to_slice(&k.secret_hash, &mut hash)
                    .map_err(|e| AppError::internal("api key", format!("api_keys row {}: secret_hash: {e}", k.id)))
                    .and_then(|()| Ok((scopes_of(&k)?, cidrs_of(&k)?)));
                let Ok((scopes, cidrs)) = parsed else { continue };
                let cached = CachedKey {
                    scopes,
                    cidrs,
                    hash,
                    id: k.id,
                    key_id: k.key_id.clone(),
                    tenant_id: k.tenant_id,
                    name: k.name,
                    expires_at: k.expires_at,
                    created_by: k.created_by,
                };
                keys.insert(k.key_id, Arc::new(cached));
            }
            Some(keys)
        } else {
            None
        };
        let creators: BTreeSet<String> = match &keys {
            Some(k) => k.values().map(|k| k.created_by.clone()).collect(),
            None => {
                self.snap.read().map(|s| s.keys.values().map(|k| k.created_by.clone()).collect()).unwrap_or_default()
            }
        };
        let tenant_ids: BTreeSet<String> = match &keys {
            Some(k) => k.values().filter_map(|k| k.tenant_id.clone()).collect(),
            None => self
                .snap
                .read()
                .map(|s| s.keys.values().filter_map(|k| k.tenant_id.clone()).collect())
                .unwrap_or_default(),
        };
        let mut standing = HashMap::new();
        let mut users = HashMap::new();
        let mut tenants = HashMap::new();
        if !creators.is_empty() {
            users = user::Entity::find()
                .filter(user::Column::Id.is_in(creators.clone()))
                .all(db)
                .await?
                .into_iter()
                .map(|u| (u.id.clone(), u))
                .collect();
            let members = membership::Entity::find().filter(membership::Column::UserId.is_in(creators)).all(db).await?;
            for m in members {
                // A key acts with its admin's role in the key's tenant, never with platform
                // staff powers (platform keys are a kind of their own).
                let s = match users.get(&m.user_id) {
                    Some(u) if u.disabled => Standing::Gone,
                    Some(_) => Role::parse(&m.role).map(Standing::Member).unwrap_or(Standing::Gone),
                    None => Standing::Gone,
                };
                standing.insert((m.user_id, m.tenant_id), s);
            }
            tenants = tenant::Entity::find()
                .filter(tenant::Column::Id.is_in(tenant_ids))
                .all(db)
                .await?
                .into_iter()
                .map(|t| (t.id.clone(), t))
                .collect();
        }
        let mut limits = HashMap::new();
        for e in entity::edition::Entity::find().all(db).await? {
            let (Ok(per_minute), Ok(burst)) = (u32::try_from(e.api_rate_per_min), u32::try_from(e.api_burst)) else {
                // Logged naming the row; its tenants get the default until it is mended.
                let _ = AppError::corrupt("editions", &e.id, "api_rate_per_min or api_burst is negative");
                continue;
            };
            limits.insert(e.id, super::rate::Limits { per_minute, burst });
        }
        if let Ok(mut snap) = self.snap.write() {
            snap.limits = limits;
            if let Some(keys) = keys {
                snap.keys = keys;
                snap.stamp = stamp;
            }
            snap.standing = standing;
            snap.users = users;
            snap.tenants = tenants;
        }
        Ok(())
    }

    /// Write the last-used times gathered since the previous tick (not `updated_at`: a use
    /// is not a change other replicas must reload for).
    pub async fn flush_usage(&self, db: &impl ConnectionTrait) -> Result<(), AppError> {
        let used: Vec<(String, (DateTime<Utc>, String))> = match self.used.lock() {
            Ok(mut u) => u.drain().collect(),
            Err(_) => return Ok(()),
        };
        for (id, (at, ip)) in used {
            api_key::Entity::update_many()
                .col_expr(api_key::Column::LastUsedAt, Expr::value(at))
                .col_expr(api_key::Column::LastUsedIp, Expr::value(ip))
                .filter(api_key::Column::Id.eq(id))
                .exec(db)
                .await?;
        }
        Ok(())
    }

    /// Number of keys held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.snap.read().map(|s| s.keys.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keep `cache` current: every second, reload what changed and write last-used times.
pub async fn run_refresher(cache: Arc<KeyCache>, db: sea_orm::DatabaseConnection) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = cache.refresh(&db).await {
            tracing::warn!(error = %e, "api keys: refresh failed; serving the last known keys");
        }
        if let Err(e) = cache.flush_usage(&db).await {
            tracing::warn!(error = %e, "api keys: could not record last use");
        }
    }
}
