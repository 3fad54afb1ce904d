//! Built-in editions, the demo tenants and platform administrators; the demo tenants'
//! quotes and orders in [`orders`].
pub mod orders;

use crate::core::db::BeginWrite;
use chrono::Utc;
use entity::{edition, membership, tenant, user};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::audit::ssr::{Actor, NewEvent, record};
use crate::auth::permissions::Role;
use crate::auth::ssr::{hash_password, new_id, normalize_email, valid_email};
use crate::core::scope::{Owner, Scope};
use crate::error::AppError;

/// A built-in edition: (key, name, rank, max users, max active services, max API keys,
/// (API requests per minute, burst), (webhook subscriptions, delivery log days)); its
/// features come from [`crate::core::features::built_in`].
type EditionSpec = (&'static str, &'static str, i32, i32, i32, i32, (i32, i32), (i32, i32));

const EDITIONS: [EditionSpec; 3] = [
    ("free", "Free", 1, 5, 2, 2, (60, 120), (1, 7)),
    ("standard", "Standard", 2, 50, 25, 10, (600, 1200), (5, 30)),
    ("enterprise", "Enterprise", 3, 1000, 500, 50, (3000, 6000), (20, 90)),
];

/// Make sure the built-in editions exist; returns key → id.
pub async fn ensure_editions(db: &DatabaseConnection) -> Result<Vec<(String, String)>, AppError> {
    let mut out = Vec::new();
    for (key, name, rank, max_users, max_services, max_api_keys, (rate, burst), (max_webhooks, log_days)) in EDITIONS {
        let features: Vec<&str> = crate::core::features::built_in(key).iter().map(|f| f.key()).collect();
        let existing = edition::Entity::find().filter(edition::Column::Key.eq(key)).one(db).await?;
        let id = match existing {
            Some(e) => e.id,
            None => {
                let id = new_id();
                edition::ActiveModel {
                    id: Set(id.clone()),
                    key: Set(key.into()),
                    name: Set(name.into()),
                    rank: Set(rank),
                    max_users: Set(max_users),
                    max_active_services: Set(max_services),
                    max_api_keys: Set(max_api_keys),
                    api_rate_per_min: Set(rate),
                    api_burst: Set(burst),
                    max_webhooks: Set(max_webhooks),
                    webhook_log_days: Set(log_days),
                    features: Set(serde_json::Value::from(features).to_string()),
                    created_at: Set(Utc::now()),
                }
                .insert(db)
                .await?;
                id
            }
        };
        out.push((key.to_string(), id));
    }
    Ok(out)
}

async fn ensure_tenant(
    db: &DatabaseConnection,
    slug: &str,
    name: &str,
    edition_id: &str,
) -> Result<(String, bool), AppError> {
    if let Some(t) = tenant::Entity::find().filter(tenant::Column::Slug.eq(slug)).one(db).await? {
        return Ok((t.id, false));
    }
    let id = new_id();
    let now = Utc::now();
    let txn = db.begin_write().await?;
    tenant::ActiveModel {
        id: Set(id.clone()),
        slug: Set(slug.into()),
        name: Set(name.into()),
        edition_id: Set(edition_id.into()),
        status: Set("active".into()),
        status_reason: Set(None),
        deleted_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    record(
        &txn,
        NewEvent::platform(
            Actor::system("seed"),
            "tenant.created",
            "tenant",
            Some(id.clone()),
            true,
            serde_json::json!({"slug": slug, "name": name}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok((id, true))
}

/// Create a user unless the e-mail exists; returns (id, created).
async fn ensure_user(
    db: &DatabaseConnection,
    email: &str,
    name: &str,
    hash: &str,
    platform_admin: bool,
) -> Result<(String, bool), AppError> {
    let email = normalize_email(email);
    if let Some(u) = user::Entity::find().filter(user::Column::Email.eq(&email)).one(db).await? {
        return Ok((u.id, false));
    }
    let id = new_id();
    let txn = db.begin_write().await?;
    user::ActiveModel {
        id: Set(id.clone()),
        email: Set(email.clone()),
        display_name: Set(name.into()),
        password_hash: Set(Some(hash.into())),
        disabled: Set(false),
        is_platform_admin: Set(platform_admin),
        created_at: Set(Utc::now()),
        last_login_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let action = if platform_admin { "platform_admin.created" } else { "user.created" };
    record(
        &txn,
        NewEvent::platform(
            Actor::system("seed"),
            action,
            "user",
            Some(id.clone()),
            true,
            serde_json::json!({"email": email}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok((id, true))
}

async fn ensure_membership(
    db: &DatabaseConnection,
    user_id: &str,
    tenant_id: &str,
    role: Role,
) -> Result<(), AppError> {
    let exists = Scope::worker(Owner::Tenant(tenant_id.to_string()))
        .find::<membership::Entity>()
        .filter(membership::Column::UserId.eq(user_id))
        .one(db)
        .await?;
    if exists.is_none() {
        let txn = db.begin_write().await?;
        membership::ActiveModel {
            id: Set(new_id()),
            user_id: Set(user_id.into()),
            tenant_id: Set(tenant_id.into()),
            role: Set(role.as_str().into()),
            created_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await?;
        record(
            &txn,
            NewEvent::tenant(
                tenant_id,
                Actor::system("seed"),
                "user.added",
                "user",
                Some(user_id.into()),
                serde_json::json!({"role": role.as_str()}),
            ),
        )
        .await?;
        txn.commit().await?;
    }
    Ok(())
}

/// What `seed-demo` did.
#[derive(Debug, Default)]
pub struct SeedReport {
    pub created_tenants: Vec<String>,
    pub created_users: Vec<String>,
    pub created_catalog: bool,
}

/// The demo data: tenants Acme Networks (Enterprise) and Globex (Standard), the
/// platform admin and one Acme user per role. Running it twice changes nothing.
pub async fn seed_demo(db: &DatabaseConnection, password: &str) -> Result<SeedReport, AppError> {
    let editions = ensure_editions(db).await?;
    let ed = |k: &str| editions.iter().find(|(key, _)| key == k).map(|(_, id)| id.clone()).unwrap_or_default();
    let hash = hash_password(password.to_string()).await?;
    let mut report = SeedReport::default();
    let (acme, c) = ensure_tenant(db, "acme", "Acme Networks", &ed("enterprise")).await?;
    if c {
        report.created_tenants.push("acme".into());
    }
    let (globex, c) = ensure_tenant(db, "globex", "Globex", &ed("standard")).await?;
    if c {
        report.created_tenants.push("globex".into());
    }
    let (_, c) = ensure_user(db, "admin@patchbay.example", "Patchbay Admin", &hash, true).await?;
    if c {
        report.created_users.push("admin@patchbay.example".into());
    }
    for role in Role::ALL {
        let email = format!("{}@acme.example", role.as_str());
        let name = format!("Acme {}", role.label());
        let (uid, c) = ensure_user(db, &email, &name, &hash, false).await?;
        if c {
            report.created_users.push(email);
        }
        ensure_membership(db, &uid, &acme, role).await?;
    }
    let (gid, c) = ensure_user(db, "tenant_admin@globex.example", "Globex Tenant admin", &hash, false).await?;
    if c {
        report.created_users.push("tenant_admin@globex.example".into());
    }
    ensure_membership(db, &gid, &globex, Role::TenantAdmin).await?;
    report.created_catalog = crate::catalog::seed::seed_catalog(db).await?;
    // Acme asks for a second approver on orders above EUR 10,000 over their term.
    if entity::order_policy::Entity::find_by_id(acme.clone()).one(db).await?.is_none() {
        entity::order_policy::ActiveModel {
            tenant_id: Set(acme.clone()),
            approval_threshold_minor: Set(Some(1_000_000)),
            currency: Set("EUR".into()),
            updated_at: Set(Utc::now()),
        }
        .insert(db)
        .await?;
    }
    Ok(report)
}

/// Create a platform admin (or make an existing user one); returns whether the user was new.
pub async fn create_admin(db: &DatabaseConnection, email: &str, password: &str) -> Result<bool, AppError> {
    let email = normalize_email(email);
    if !valid_email(&email) {
        return Err(AppError::field("email", "Enter a valid e-mail address."));
    }
    if let Some((f, m)) = crate::auth::ssr::check_new_password(password, password) {
        return Err(AppError::field(f, m));
    }
    ensure_editions(db).await?;
    if let Some(u) = user::Entity::find().filter(user::Column::Email.eq(&email)).one(db).await? {
        let txn = db.begin_write().await?;
        let id = u.id.clone();
        let mut am: user::ActiveModel = u.into();
        am.is_platform_admin = Set(true);
        am.disabled = Set(false);
        am.update(&txn).await?;
        record(
            &txn,
            NewEvent::platform(
                Actor::system("cli"),
                "platform_admin.granted",
                "user",
                Some(id),
                true,
                serde_json::json!({"email": email}),
            ),
        )
        .await?;
        txn.commit().await?;
        return Ok(false);
    }
    let hash = hash_password(password.to_string()).await?;
    ensure_user(db, &email, "Platform admin", &hash, true).await?;
    Ok(true)
}
