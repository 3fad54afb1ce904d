//! API key services (create, rotate, revoke, list, the CLI's create) and the in-memory
//! key cache every request authenticates against, with no database query per request.
//!
//! The cache is reloaded when the `api_keys` table changes (one `COUNT(*), SUM(version)`
//! query a second per replica; every change bumps its row's `version`, so no clock is
//! involved), so a revocation reaches every replica within about a second; the
//! standing of each key's admin (member, role, disabled) is re-read on the same tick, so a
//! demoted admin's keys lose the scopes their new role lacks. Last-used times are kept in
//! memory and written on that tick too.
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Duration, Utc};
use entity::{api_key, edition, membership, tenant, user};
use ipnet::IpNet;
use rand::Rng;
use rand::distributions::Alphanumeric;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, TransactionTrait,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::*;
use crate::audit::ssr::{Actor, NewEvent, record};
use crate::auth::permissions::{Role, allowed};
use crate::auth::ssr::{Ctx, new_id};
use crate::core::page::{Keyset, PageRequest};
use crate::core::scope::{Owner, Scope};
use crate::error::FieldErrors;

/// The token's prefix.
pub const PREFIX: &str = "pbk_";
const KEY_ID_LEN: usize = 12;
const SECRET_LEN: usize = 40;
const MAX_CIDRS: usize = 20;
const MAX_LIFETIME_DAYS: i64 = 365;

/// What the create form (or the CLI) asks for.
pub struct NewKey {
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_days: String,
    pub allowed_cidrs: String,
}

fn random(len: usize) -> String {
    rand::rngs::OsRng.sample_iter(&Alphanumeric).take(len).map(|c| (c as char).to_ascii_lowercase()).collect()
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Split a token into (key id, secret); `None` when it does not look like one.
pub fn parse_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == KEY_ID_LEN && !secret.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some((id, secret))
}

fn parse_scopes(raw: &[String]) -> Result<Vec<ApiScope>, String> {
    let mut out = BTreeSet::new();
    for s in raw.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()) {
        out.insert(ApiScope::parse(s).ok_or_else(|| format!("Unknown scope \u{201c}{s}\u{201d}."))?);
    }
    if out.is_empty() {
        return Err("Choose at least one scope.".into());
    }
    Ok(out.into_iter().collect())
}

/// CIDR blocks (or single addresses), separated by commas, spaces or new lines.
pub fn parse_cidrs(raw: &str) -> Result<Vec<IpNet>, String> {
    let mut out = Vec::new();
    for item in raw.split([',', ' ', '\n', '\r', '\t']).filter(|s| !s.is_empty()) {
        let net = item
            .parse::<IpNet>()
            .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| format!("\u{201c}{item}\u{201d} is not an address or CIDR block (e.g. 203.0.113.0/24)."))?;
        out.push(net.trunc());
    }
    if out.len() > MAX_CIDRS {
        return Err(format!("Up to {MAX_CIDRS} address blocks."));
    }
    Ok(out)
}

fn json_list<T: serde::de::DeserializeOwned>(k: &api_key::Model, column: &str, raw: &str) -> Result<T, AppError> {
    serde_json::from_str(raw).map_err(|e| AppError::internal("api key", format!("api_keys row {} {column}: {e}", k.id)))
}

fn scopes_of(k: &api_key::Model) -> Result<Vec<ApiScope>, AppError> {
    let names: Vec<String> = json_list(k, "scopes", &k.scopes)?;
    names
        .iter()
        .map(|s| {
            ApiScope::parse(s)
                .ok_or_else(|| AppError::internal("api key", format!("api_keys row {}: unknown scope {s}", k.id)))
        })
        .collect()
}

fn cidrs_of(k: &api_key::Model) -> Result<Vec<IpNet>, AppError> {
    let raw: Vec<String> = json_list(k, "allowed_cidrs", &k.allowed_cidrs)?;
    raw.iter()
        .map(|s| {
            s.parse::<IpNet>()
                .map_err(|_| AppError::internal("api key", format!("api_keys row {}: bad CIDR {s}", k.id)))
        })
        .collect()
}

fn status_of(k: &api_key::Model, now: DateTime<Utc>) -> &'static str {
    if k.revoked_at.is_some() {
        "revoked"
    } else if k.expires_at <= now {
        "expired"
    } else {
        "active"
    }
}

fn fmt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn row(
    k: api_key::Model,
    successors: &HashSet<String>,
    prefixes: &HashMap<String, String>,
) -> Result<ApiKeyRow, AppError> {
    let now = Utc::now();
    let scopes = scopes_of(&k)?.into_iter().map(|s| s.as_str().to_string()).collect();
    let cidrs = cidrs_of(&k)?.into_iter().map(|c| c.to_string()).collect();
    let status = if k.revoked_at.is_none() && k.expires_at > now && successors.contains(&k.id) {
        "expiring"
    } else {
        status_of(&k, now)
    };
    Ok(ApiKeyRow {
        prefix: format!("{PREFIX}{}", k.key_id),
        scopes,
        allowed_cidrs: cidrs,
        created_by: k.created_by_email.clone(),
        created_at: fmt(k.created_at),
        expires_at: if k.expires_at - now < Duration::days(2) {
            fmt(k.expires_at)
        } else {
            k.expires_at.format("%Y-%m-%d").to_string()
        },
        status: status.into(),
        last_used_at: k.last_used_at.map(fmt),
        last_used_ip: k.last_used_ip.clone(),
        rotated_from: k.rotated_from.as_ref().and_then(|id| prefixes.get(id).cloned()),
        id: k.id,
        name: k.name,
    })
}

async fn edition_of(db: &impl ConnectionTrait, t: &tenant::Model) -> Result<edition::Model, AppError> {
    edition::Entity::find_by_id(t.edition_id.clone()).one(db).await?.ok_or_else(|| {
        AppError::internal("edition", format!("tenants row {}: edition {} is missing", t.id, t.edition_id))
    })
}

/// Keys counting against the edition's cap: not revoked, not expired.
async fn active_count(db: &impl ConnectionTrait, scope: &Scope) -> Result<u64, AppError> {
    use sea_orm::PaginatorTrait;
    Ok(scope
        .find::<api_key::Entity>()
        .filter(api_key::Column::RevokedAt.is_null())
        .filter(api_key::Column::ExpiresAt.gt(Utc::now()))
        .count(db)
        .await?)
}

/// The API keys page: one page of keys, the cap and what the viewer may grant.
pub async fn view(ctx: &Ctx, req: &PageRequest) -> Result<ApiKeysView, AppError> {
    let t = ctx.tenant()?;
    let db = ctx.db();
    let scope = ctx.scope()?;
    let page = Keyset::newest(api_key::Column::CreatedAt, api_key::Column::Id)
        .page(db, scope.find::<api_key::Entity>(), req)
        .await?;
    // Rotation links: which keys on this page were replaced, and the prefixes they came from.
    let ids: Vec<String> = page.items.iter().map(|k| k.id.clone()).collect();
    let from: Vec<String> = page.items.iter().filter_map(|k| k.rotated_from.clone()).collect();
    let successors: HashSet<String> = scope
        .find::<api_key::Entity>()
        .filter(api_key::Column::RotatedFrom.is_in(ids))
        .filter(api_key::Column::RevokedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .filter_map(|k| k.rotated_from)
        .collect();
    let prefixes: HashMap<String, String> = scope
        .find::<api_key::Entity>()
        .filter(api_key::Column::Id.is_in(from))
        .all(db)
        .await?
        .into_iter()
        .map(|k| (k.id, format!("{PREFIX}{}", k.key_id)))
        .collect();
    let ed = edition_of(db, t).await?;
    let info = page.page_info;
    let keys = page.items.into_iter().map(|k| row(k, &successors, &prefixes)).collect::<Result<Vec<_>, _>>()?;
    Ok(ApiKeysView {
        tenant_name: t.name.clone(),
        edition: ed.name,
        keys: Page { items: keys, page_info: info },
        active: active_count(db, &scope).await?,
        cap: ed.max_api_keys,
        can_manage: crate::auth::ssr::writable(ctx) && ctx.can(crate::auth::permissions::Perm::IntegrationsManage),
        grantable: ApiScope::ALL
            .into_iter()
            .filter(|s| ctx.can(s.perm()))
            .map(|s| (s.as_str().to_string(), s.label().to_string()))
            .collect(),
    })
}

/// Who a key acts for, and in which tenant.
pub struct KeyOwner<'a> {
    pub tenant: &'a tenant::Model,
    pub user: &'a user::Model,
    pub role: Option<Role>,
    pub actor: Actor,
}

/// Validate and insert a key for `owner`; returns the key and its token (shown once).
async fn insert(
    db: &sea_orm::DatabaseConnection,
    owner: &KeyOwner<'_>,
    input: &NewKey,
) -> Result<CreatedKey, AppError> {
    let mut fields = FieldErrors::new();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        fields.insert("name".into(), "Name the key (up to 64 characters), e.g. \u{201c}Terraform CI\u{201d}.".into());
    }
    let scopes = match parse_scopes(&input.scopes) {
        Ok(s) => {
            let beyond: Vec<&str> = s
                .iter()
                .filter(|s| !allowed(s.perm(), owner.user.is_platform_admin, owner.role))
                .map(|s| s.as_str())
                .collect();
            if !beyond.is_empty() {
                fields.insert("scopes".into(), format!("Your role cannot grant {}.", beyond.join(", ")));
            }
            s
        }
        Err(m) => {
            fields.insert("scopes".into(), m);
            Vec::new()
        }
    };
    let days = match input.expires_days.trim().parse::<i64>() {
        Ok(d) if (1..=MAX_LIFETIME_DAYS).contains(&d) => d,
        _ => {
            fields.insert("expires_days".into(), "Choose an expiry from 1 day to 1 year.".into());
            0
        }
    };
    let cidrs = parse_cidrs(&input.allowed_cidrs).unwrap_or_else(|m| {
        fields.insert("allowed_cidrs".into(), m);
        Vec::new()
    });
    if let Some(e) = AppError::from_fields(fields) {
        return Err(e);
    }
    let txn = db.begin().await?;
    crate::core::quota::lock_tenant(&txn, &owner.tenant.id).await?;
    let scope = Scope::worker(Owner::Tenant(owner.tenant.id.clone()));
    let ed = edition_of(&txn, owner.tenant).await?;
    let active = active_count(&txn, &scope).await?;
    if active >= ed.max_api_keys.max(0) as u64 {
        return Err(AppError::Conflict(format!(
            "The {} edition allows {} API keys and this tenant has {active}. Revoke one you no longer use, or ask us about a larger edition.",
            ed.name, ed.max_api_keys
        )));
    }
    let made = insert_row(&txn, owner, name, &scopes, &cidrs, Utc::now() + Duration::days(days), None).await?;
    record(
        &txn,
        NewEvent::tenant(
            &owner.tenant.id,
            owner.actor.clone(),
            "api_key.created",
            "api_key",
            Some(made.key.id.clone()),
            serde_json::json!({
                "name": name,
                "prefix": made.key.prefix,
                "scopes": made.key.scopes,
                "allowed_cidrs": made.key.allowed_cidrs,
                "expires_at": made.key.expires_at,
                "acts_for": owner.user.email,
            }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(made)
}

async fn insert_row(
    txn: &impl ConnectionTrait,
    owner: &KeyOwner<'_>,
    name: &str,
    scopes: &[ApiScope],
    cidrs: &[IpNet],
    expires_at: DateTime<Utc>,
    rotated_from: Option<String>,
) -> Result<CreatedKey, AppError> {
    let (key_id, secret) = (random(KEY_ID_LEN), random(SECRET_LEN));
    let now = Utc::now();
    let m = api_key::ActiveModel {
        id: Set(new_id()),
        tenant_id: Set(Some(owner.tenant.id.clone())),
        name: Set(name.to_string()),
        key_id: Set(key_id.clone()),
        secret_hash: Set(hex::encode(digest(&secret))),
        scopes: Set(serde_json::json!(scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>()).to_string()),
        allowed_cidrs: Set(serde_json::json!(cidrs.iter().map(|c| c.to_string()).collect::<Vec<_>>()).to_string()),
        created_by: Set(owner.user.id.clone()),
        created_by_email: Set(owner.user.email.clone()),
        expires_at: Set(expires_at),
        last_used_at: Set(None),
        last_used_ip: Set(None),
        revoked_at: Set(None),
        revoked_by: Set(None),
        rotated_from: Set(rotated_from),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
    }
    .insert(txn)
    .await?;
    Ok(CreatedKey { key: row(m, &HashSet::new(), &HashMap::new())?, token: format!("{PREFIX}{key_id}_{secret}") })
}

/// Reload this replica's cache after a change (the others follow within a tick). The
/// change is committed whatever happens here: a failure is logged, not returned, so the
/// caller still sees the token they just made.
async fn reload_now(ctx: &Ctx) {
    if let Err(e) = ctx.state.api_keys.refresh(ctx.db()).await {
        tracing::warn!(error = %e, "api keys: reload after a change failed; the next tick retries");
    }
}

/// Portal → API keys → Create.
pub async fn create(ctx: &Ctx, input: &NewKey) -> Result<CreatedKey, AppError> {
    let t = ctx.tenant()?;
    let owner = KeyOwner { tenant: t, user: &ctx.user, role: ctx.role, actor: ctx.actor() };
    let made = insert(ctx.db(), &owner, input).await?;
    reload_now(ctx).await;
    Ok(made)
}

/// A successor with the same name, scopes and address blocks (and the old key's lifetime);
/// the old key keeps working for `overlap_hours` (0 to 168), then expires.
pub async fn rotate(ctx: &Ctx, id: &str, overlap_hours: &str) -> Result<CreatedKey, AppError> {
    let t = ctx.tenant()?;
    let hours = match overlap_hours.trim().parse::<i64>() {
        Ok(h) if (0..=168).contains(&h) => h,
        _ => return Err(AppError::field("overlap_hours", "Choose an overlap from none to 7 days.")),
    };
    let scope = ctx.scope()?;
    let txn = ctx.db().begin().await?;
    // Under the tenant's lock, like the cap check of `insert`: two rotations of one key
    // cannot both make a successor.
    crate::core::quota::lock_tenant(&txn, &t.id).await?;
    let old = scope.find_by_id::<api_key::Entity, _>(&txn, id.to_string()).await?.ok_or(AppError::NotFound)?;
    let now = Utc::now();
    if old.revoked_at.is_some() || old.expires_at <= now {
        return Err(AppError::Conflict("Only a key that still works can be rotated; create a new one instead.".into()));
    }
    let successor = scope
        .find::<api_key::Entity>()
        .filter(api_key::Column::RotatedFrom.eq(&old.id))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(&txn)
        .await?;
    if let Some(next) = successor {
        return Err(AppError::Conflict(format!(
            "This key was already rotated (its successor is {PREFIX}{}); rotate or revoke that one instead.",
            next.key_id
        )));
    }
    let scopes = scopes_of(&old)?;
    let beyond: Vec<&str> = scopes.iter().filter(|s| !ctx.can(s.perm())).map(|s| s.as_str()).collect();
    if !beyond.is_empty() {
        return Err(AppError::Forbidden(format!("Your role cannot grant {}.", beyond.join(", "))));
    }
    let lifetime = (old.expires_at - old.created_at).min(Duration::days(MAX_LIFETIME_DAYS));
    let owner = KeyOwner { tenant: t, user: &ctx.user, role: ctx.role, actor: ctx.actor() };
    let made =
        insert_row(&txn, &owner, &old.name, &scopes, &cidrs_of(&old)?, now + lifetime, Some(old.id.clone())).await?;
    let until = (now + Duration::hours(hours)).min(old.expires_at);
    change(&scope, &old.id, now).col_expr(api_key::Column::ExpiresAt, Expr::value(until)).exec(&txn).await?;
    record(
        &txn,
        NewEvent::tenant(
            &t.id,
            ctx.actor(),
            "api_key.rotated",
            "api_key",
            Some(old.id.clone()),
            serde_json::json!({"old": format!("{PREFIX}{}", old.key_id), "new": made.key.prefix, "old_valid_until": fmt(until)}),
        ),
    )
    .await?;
    txn.commit().await?;
    reload_now(ctx).await;
    Ok(made)
}

/// An update of one key in `scope` that every replica's cache will notice: it stamps
/// `updated_at` and bumps `version` (see [`KeyCache::refresh`]). Add the changed columns.
fn change(scope: &Scope, id: &str, now: DateTime<Utc>) -> sea_orm::UpdateMany<api_key::Entity> {
    scope
        .update_many::<api_key::Entity>()
        .col_expr(api_key::Column::UpdatedAt, Expr::value(now))
        .col_expr(api_key::Column::Version, sea_orm::sea_query::ExprTrait::add(Expr::col(api_key::Column::Version), 1))
        .filter(api_key::Column::Id.eq(id))
}

/// Revoke at once (every replica within about a second).
pub async fn revoke(ctx: &Ctx, id: &str) -> Result<(), AppError> {
    let t = ctx.tenant()?;
    let scope = ctx.scope()?;
    let txn = ctx.db().begin().await?;
    let k = scope.find_by_id::<api_key::Entity, _>(&txn, id.to_string()).await?.ok_or(AppError::NotFound)?;
    if k.revoked_at.is_some() {
        return Err(AppError::Conflict("That key is already revoked.".into()));
    }
    let now = Utc::now();
    change(&scope, &k.id, now)
        .col_expr(api_key::Column::RevokedAt, Expr::value(now))
        .col_expr(api_key::Column::RevokedBy, Expr::value(ctx.user.email.clone()))
        .exec(&txn)
        .await?;
    record(
        &txn,
        NewEvent::tenant(
            &t.id,
            ctx.actor(),
            "api_key.revoked",
            "api_key",
            Some(k.id.clone()),
            serde_json::json!({"name": k.name, "prefix": format!("{PREFIX}{}", k.key_id)}),
        ),
    )
    .await?;
    txn.commit().await?;
    reload_now(ctx).await;
    Ok(())
}

/// `patchbay api-key create`: a key in `tenant_slug` acting for `as_email` (default: the
/// tenant's longest-standing tenant admin), audited as a command-line action.
pub async fn create_from_cli(
    db: &sea_orm::DatabaseConnection,
    tenant_slug: &str,
    as_email: Option<&str>,
    input: &NewKey,
) -> Result<(CreatedKey, String), AppError> {
    let t = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(tenant_slug))
        .one(db)
        .await?
        .ok_or_else(|| AppError::field("tenant", format!("There is no tenant \u{201c}{tenant_slug}\u{201d}.")))?;
    let members = Scope::worker(Owner::Tenant(t.id.clone())).find::<membership::Entity>().all(db).await?;
    let (user_id, role) = match as_email {
        Some(email) => {
            let email = crate::auth::ssr::normalize_email(email);
            let u = user::Entity::find().filter(user::Column::Email.eq(&email)).one(db).await?;
            let m = u.as_ref().and_then(|u| members.iter().find(|m| m.user_id == u.id));
            match m {
                Some(m) => (m.user_id.clone(), Role::parse(&m.role)),
                None => return Err(AppError::field("as", format!("{email} is not a member of {tenant_slug}."))),
            }
        }
        None => {
            let mut admins: Vec<&membership::Model> =
                members.iter().filter(|m| m.role == Role::TenantAdmin.as_str()).collect();
            admins.sort_by_key(|m| m.created_at);
            match admins.first() {
                Some(m) => (m.user_id.clone(), Some(Role::TenantAdmin)),
                None => {
                    return Err(AppError::field(
                        "as",
                        format!("{tenant_slug} has no tenant admin; name one with --as."),
                    ));
                }
            }
        }
    };
    let u = user::Entity::find_by_id(user_id).one(db).await?.ok_or(AppError::NotFound)?;
    if u.disabled {
        return Err(AppError::field("as", format!("{} is disabled.", u.email)));
    }
    let owner = KeyOwner { tenant: &t, user: &u, role, actor: Actor::system("cli") };
    Ok((insert(db, &owner, input).await?, u.email))
}

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
        Ok(Principal { key: key.clone(), scopes, user: user.clone(), tenant: tenant.clone(), role })
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
        if let Ok(mut snap) = self.snap.write() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_only_in_their_own_shape() {
        assert_eq!(parse_token("pbk_abcdefghij12_secretpart"), Some(("abcdefghij12", "secretpart")));
        assert_eq!(parse_token("pbk_short_secret"), None);
        assert_eq!(parse_token("ghp_abcdefghij12_secret"), None);
        assert_eq!(parse_token("pbk_abcdefghij12_"), None);
        assert_eq!(parse_token("pbk_abc-efghij12_x"), None);
    }

    #[test]
    fn address_blocks_are_checked_and_normalised() {
        let nets = parse_cidrs("203.0.113.7/24, 2001:db8::1\n10.0.0.1").expect("valid");
        assert_eq!(
            nets.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
            ["203.0.113.0/24", "2001:db8::1/128", "10.0.0.1/32"]
        );
        assert!(parse_cidrs("not-an-ip").unwrap_err().contains("not-an-ip"));
        assert!(parse_cidrs("").expect("empty is anywhere").is_empty());
    }

    #[test]
    fn scopes_must_be_known_and_present() {
        assert_eq!(
            parse_scopes(&["services:read,orders:read".into()]),
            Ok(vec![ApiScope::OrdersRead, ApiScope::ServicesRead])
        );
        assert!(parse_scopes(&[]).is_err());
        assert!(parse_scopes(&["root".into()]).unwrap_err().contains("root"));
    }
}
