//! API key services: create, rotate, revoke, list, and the CLI's create. The in-memory
//! key cache every request authenticates against is in [`cache`].

mod cache;
pub mod notify;
pub mod rate;

pub use cache::*;

use crate::core::db::BeginWrite;
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
    QuerySelect,
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
    let txn = db.begin_write().await?;
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
    let txn = ctx.db().begin_write().await?;
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
    let txn = ctx.db().begin_write().await?;
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
