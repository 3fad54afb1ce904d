//! Console → Tenants (platform admins).
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::core::page::Page;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub edition_id: String,
    pub edition: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub members: u64,
    pub created_at: String,
    pub purge_after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditionRow {
    pub id: String,
    pub key: String,
    pub name: String,
    pub max_users: i32,
    pub max_active_services: i32,
    pub features: Vec<String>,
}

#[server(endpoint = "tenants/list")]
pub async fn list_tenants(
    q: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
) -> Result<Page<TenantRow>, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            ssr::list(&require(Perm::TenantsManage).await?, q, status, &crate::core::page::PageRequest::new(cursor))
                .await
        }
        .await,
    )
}

#[server(endpoint = "tenants/get")]
pub async fn get_tenant(tenant_id: String) -> Result<TenantRow, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::get(&require(Perm::TenantsManage).await?, &tenant_id).await }.await)
}

#[server(endpoint = "editions/list")]
pub async fn list_editions() -> Result<Vec<EditionRow>, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::editions(require(Perm::TenantsManage).await?.db()).await }.await)
}

#[server(endpoint = "tenants/create")]
pub async fn create_tenant(name: String, slug: String, edition_id: String) -> Result<TenantRow, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let ctx = require(Perm::TenantsManage).await?;
            let row = ssr::create(&ctx, &name, &slug, &edition_id).await?;
            leptos_axum::redirect(&format!("/console/tenants/{}", row.id));
            Ok(row)
        }
        .await,
    )
}

#[server(endpoint = "tenants/suspend")]
pub async fn suspend_tenant(tenant_id: String, reason: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::suspend(&require(Perm::TenantsManage).await?, &tenant_id, &reason).await }.await)
}

#[server(endpoint = "tenants/reactivate")]
pub async fn reactivate_tenant(tenant_id: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::reactivate(&require(Perm::TenantsManage).await?, &tenant_id).await }.await)
}

#[server(endpoint = "tenants/delete")]
pub async fn delete_tenant(tenant_id: String, confirm_slug: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::delete(&require(Perm::TenantsManage).await?, &tenant_id, &confirm_slug).await }.await)
}

#[server(endpoint = "tenants/change_edition")]
pub async fn change_edition(tenant_id: String, edition_id: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let ctx = require(Perm::TenantsManage).await?;
            crate::auth::mfa::ssr::require_fresh_mfa(&ctx, crate::auth::mfa::ssr::STEP_UP_WINDOW).await?;
            ssr::change_edition(&ctx, &tenant_id, &edition_id).await
        }
        .await,
    )
}
