//! Platform administration of tenants and editions.
use crate::core::db::BeginWrite;
use chrono::{Duration, Utc};
use entity::{edition, membership, tenant};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};

use super::{EditionRow, TenantRow};
use crate::audit::ssr::{Actor, NewEvent, record};
use crate::auth::ssr::{Ctx, new_id};
use crate::core::page::{Keyset, Page, PageRequest};
use crate::core::scope::{Owner, Scope};
use crate::error::{AppError, FieldErrors};

fn fmt(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub async fn editions(db: &DatabaseConnection) -> Result<Vec<EditionRow>, AppError> {
    edition::Entity::find()
        .order_by_asc(edition::Column::Rank)
        .all(db)
        .await?
        .into_iter()
        .map(|e| {
            Ok(EditionRow {
                features: crate::core::features::edition_features(&e)?.iter().map(|f| f.key().to_string()).collect(),
                id: e.id,
                key: e.key,
                name: e.name,
                max_users: e.max_users,
                max_active_services: e.max_active_services,
            })
        })
        .collect()
}

async fn row(ctx: &Ctx, t: tenant::Model) -> Result<TenantRow, AppError> {
    let mut rows = rows(ctx, vec![t]).await?;
    rows.pop().ok_or_else(|| AppError::internal("tenant row", "no row built"))
}

/// Rows for a page of tenants: member counts in one grouped query, editions in one.
async fn rows(ctx: &Ctx, tenants: Vec<tenant::Model>) -> Result<Vec<TenantRow>, AppError> {
    let (db, grace_days) = (ctx.db(), ctx.state.settings.tenant_purge_grace_days);
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::{Expr, ExprTrait};
    let ids: Vec<String> = tenants.iter().map(|t| t.id.clone()).collect();
    let counts: std::collections::HashMap<String, i64> = Scope::platform_staff(ctx, "tenant list")?
        .find::<membership::Entity>()
        .select_only()
        .column(membership::Column::TenantId)
        .column_as(Expr::col(membership::Column::UserId).count(), "n")
        .filter(membership::Column::TenantId.is_in(ids))
        .group_by(membership::Column::TenantId)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let editions: std::collections::HashMap<String, String> =
        edition::Entity::find().all(db).await?.into_iter().map(|e| (e.id, e.name)).collect();
    Ok(tenants
        .into_iter()
        .map(|t| TenantRow {
            purge_after: t.deleted_at.map(|d| fmt(d + Duration::days(grace_days))),
            members: counts.get(&t.id).copied().unwrap_or(0) as u64,
            edition: editions
                .get(&t.edition_id)
                .cloned()
                .unwrap_or_else(|| format!("(edition {} missing)", t.edition_id)),
            id: t.id,
            slug: t.slug,
            name: t.name,
            edition_id: t.edition_id,
            status: t.status,
            status_reason: t.status_reason,
            created_at: fmt(t.created_at),
        })
        .collect())
}

pub async fn list(
    ctx: &Ctx,
    q: Option<String>,
    status: Option<String>,
    req: &PageRequest,
) -> Result<Page<TenantRow>, AppError> {
    let mut query = tenant::Entity::find();
    if let Some(q) = q.map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()) {
        let pat = format!("%{}%", q.replace('%', ""));
        query = query.filter(sea_orm::Condition::any().add(tenant::Column::Slug.like(pat.clone())).add(
            sea_orm::sea_query::ExprTrait::like(
                sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::lower(sea_orm::sea_query::Expr::col(
                    tenant::Column::Name,
                ))),
                pat,
            ),
        ));
    }
    if let Some(s) = status.filter(|s| ["active", "suspended", "deleted"].contains(&s.as_str())) {
        query = query.filter(tenant::Column::Status.eq(s));
    }
    let page = Keyset::by_text(tenant::Column::Name, tenant::Column::Id).page(ctx.db(), query, req).await?;
    let info = page.page_info;
    Ok(Page { items: rows(ctx, page.items).await?, page_info: info })
}

pub async fn get(ctx: &Ctx, id: &str) -> Result<TenantRow, AppError> {
    let t = tenant::Entity::find_by_id(id.to_string()).one(ctx.db()).await?.ok_or(AppError::NotFound)?;
    row(ctx, t).await
}

/// Validate a slug: 3–40 of a-z, 0-9 and inner hyphens.
pub fn check_slug(slug: &str) -> Option<&'static str> {
    let ok_chars = slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if slug.len() < 3 || slug.len() > 40 {
        Some("Use 3 to 40 characters.")
    } else if !ok_chars || slug.starts_with('-') || slug.ends_with('-') {
        Some("Use lower-case letters, digits and inner hyphens only.")
    } else if ["api", "admin", "console", "portal", "studio", "login", "www"].contains(&slug) {
        Some("That name is reserved.")
    } else {
        None
    }
}

pub async fn create(ctx: &Ctx, name: &str, slug: &str, edition_id: &str) -> Result<TenantRow, AppError> {
    let name = name.trim();
    let slug = slug.trim().to_lowercase();
    let mut fields = FieldErrors::new();
    if name.is_empty() || name.chars().count() > 100 {
        fields.insert("name".into(), "Enter a name (up to 100 characters).".into());
    }
    if let Some(m) = check_slug(&slug) {
        fields.insert("slug".into(), m.into());
    }
    let ed = edition::Entity::find_by_id(edition_id.to_string()).one(ctx.db()).await?;
    if ed.is_none() {
        fields.insert("edition_id".into(), "Choose an edition.".into());
    }
    if fields.is_empty() && tenant::Entity::find().filter(tenant::Column::Slug.eq(&slug)).one(ctx.db()).await?.is_some()
    {
        fields.insert("slug".into(), "Another tenant already uses this slug.".into());
    }
    if let Some(e) = AppError::from_fields(fields) {
        return Err(e);
    }
    let now = Utc::now();
    let id = new_id();
    let txn = ctx.db().begin_write().await?;
    tenant::ActiveModel {
        id: Set(id.clone()),
        slug: Set(slug.clone()),
        name: Set(name.to_string()),
        edition_id: Set(edition_id.to_string()),
        status: Set("active".into()),
        status_reason: Set(None),
        deleted_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => AppError::field("slug", "Another tenant already uses this slug."),
        other => other,
    })?;
    record(
        &txn,
        NewEvent::platform(
            ctx.actor(),
            "tenant.created",
            "tenant",
            Some(id.clone()),
            true,
            serde_json::json!({"slug": slug, "name": name, "edition": ed.map(|e| e.key)}),
        ),
    )
    .await?;
    txn.commit().await?;
    get(ctx, &id).await
}

async fn set_status(
    ctx: &Ctx,
    id: &str,
    allowed_from: &[&str],
    to: &str,
    reason: Option<String>,
    action: &str,
) -> Result<(), AppError> {
    let txn = ctx.db().begin_write().await?;
    let t = tenant::Entity::find_by_id(id.to_string()).one(&txn).await?.ok_or(AppError::NotFound)?;
    if !allowed_from.contains(&t.status.as_str()) {
        return Err(AppError::Conflict(format!("{} is {}; that change is not possible from there.", t.name, t.status)));
    }
    let from = t.status.clone();
    let mut am: tenant::ActiveModel = t.into();
    am.status = Set(to.into());
    am.status_reason = Set(reason.clone());
    am.deleted_at = Set(if to == "deleted" { Some(Utc::now()) } else { None });
    am.updated_at = Set(Utc::now());
    am.update(&txn).await?;
    record(
        &txn,
        NewEvent::platform(
            ctx.actor(),
            action,
            "tenant",
            Some(id.into()),
            true,
            serde_json::json!({"from": from, "to": to, "reason": reason}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn suspend(ctx: &Ctx, id: &str, reason: &str) -> Result<(), AppError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 300 {
        return Err(AppError::field("reason", "Say why (up to 300 characters): the tenant's users will see it."));
    }
    set_status(ctx, id, &["active"], "suspended", Some(reason.into()), "tenant.suspended").await
}

pub async fn reactivate(ctx: &Ctx, id: &str) -> Result<(), AppError> {
    set_status(ctx, id, &["suspended", "deleted"], "active", None, "tenant.reactivated").await
}

pub async fn delete(ctx: &Ctx, id: &str, confirm_slug: &str) -> Result<(), AppError> {
    let t = tenant::Entity::find_by_id(id.to_string()).one(ctx.db()).await?.ok_or(AppError::NotFound)?;
    if confirm_slug.trim() != t.slug {
        return Err(AppError::field("confirm_slug", format!("Type {} to confirm.", t.slug)));
    }
    set_status(
        ctx,
        id,
        &["active", "suspended"],
        "deleted",
        Some(format!("deleted by {}", ctx.user.email)),
        "tenant.deleted",
    )
    .await
}

pub async fn change_edition(ctx: &Ctx, id: &str, edition_id: &str) -> Result<(), AppError> {
    let txn = ctx.db().begin_write().await?;
    let t = tenant::Entity::find_by_id(id.to_string()).one(&txn).await?.ok_or(AppError::NotFound)?;
    let ed = edition::Entity::find_by_id(edition_id.to_string())
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::field("edition_id", "Choose an edition."))?;
    if t.edition_id == ed.id {
        return Ok(());
    }
    let members = Scope::staff_for_tenant(ctx, &t.id)?.find::<membership::Entity>().count(&txn).await?;
    if members > ed.max_users as u64 {
        return Err(AppError::field(
            "edition_id",
            format!("{} allows {} users; this tenant has {members}.", ed.name, ed.max_users),
        ));
    }
    let from = t.edition_id.clone();
    let mut am: tenant::ActiveModel = t.into();
    am.edition_id = Set(ed.id.clone());
    am.updated_at = Set(Utc::now());
    am.update(&txn).await?;
    record(
        &txn,
        NewEvent::platform(
            ctx.actor(),
            "tenant.edition_changed",
            "tenant",
            Some(id.into()),
            true,
            serde_json::json!({"from": from, "to": ed.key}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Purge tenants deleted more than the grace period ago. Idempotent: running it twice,
/// or on two replicas at once, purges each tenant once and the second run finds nothing.
pub async fn purge_deleted(db: &DatabaseConnection, grace_days: i64) -> Result<u64, AppError> {
    let cutoff = Utc::now() - Duration::days(grace_days);
    let due = tenant::Entity::find()
        .filter(tenant::Column::Status.eq("deleted"))
        .filter(tenant::Column::DeletedAt.lt(cutoff))
        .all(db)
        .await?;
    let mut n = 0;
    for t in due {
        let txn = db.begin_write().await?;
        let res = tenant::Entity::delete_many()
            .filter(tenant::Column::Id.eq(&t.id))
            .filter(tenant::Column::Status.eq("deleted"))
            .exec(&txn)
            .await?;
        if res.rows_affected == 1 {
            purge_children(&txn, &t.id).await?;
            record(
                &txn,
                NewEvent::platform(
                    Actor::system("tenant-purge"),
                    "tenant.purged",
                    "tenant",
                    Some(t.id.clone()),
                    true,
                    serde_json::json!({"slug": t.slug}),
                ),
            )
            .await?;
            n += 1;
        }
        txn.commit().await?;
    }
    Ok(n)
}

async fn purge_children(txn: &impl ConnectionTrait, tenant_id: &str) -> Result<(), AppError> {
    // The purge job acts for the tenant it is deleting.
    let scope = Scope::worker(Owner::Tenant(tenant_id.to_string()));
    scope.delete_many::<membership::Entity>().exec(txn).await?;
    scope.delete_many::<entity::invitation::Entity>().exec(txn).await?;
    Ok(())
}
