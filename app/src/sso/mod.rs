//! Single sign-on with OpenID Connect: each tenant's identity provider, and the
//! platform staff's.
// The settings form posts ten flat fields; the server-function macro's generated
// client function carries the same arity.
#![allow(clippy::too_many_arguments)]
pub mod errors;
pub mod mapping;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::permissions::Role;
use crate::error::AppError;

/// The SSO page's view of a configuration. The client secret is never included.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoSettings {
    /// The tenant these settings belong to (the page's forms post it back).
    pub tenant_id: String,
    pub tenant_name: String,
    pub configured: bool,
    pub issuer: String,
    pub client_id: String,
    pub has_secret: bool,
    pub scopes: String,
    pub domains: String,
    pub role_claim: String,
    pub role_map: String,
    pub default_role: Role,
    pub require_sso: bool,
    /// Register this at the identity provider.
    pub redirect_uri: String,
    pub updated_at: Option<String>,
    pub updated_by: Option<String>,
    /// Why the tenant's edition does not include single sign-on (settings are read-only then).
    pub blocked: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoCheck {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// What the tenant sign-in page (`/login/<slug>`) shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantLogin {
    pub slug: String,
    pub name: String,
    pub sso: bool,
    pub require_sso: bool,
}

#[server(endpoint = "sso/get")]
/// An empty `tenant_id` means the tenant selected in the session (the portal's page).
pub async fn get_sso_settings(tenant_id: String) -> Result<SsoSettings, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            use sea_orm::EntityTrait;
            let (ctx, t) = require_in_tenant_or_selected(Perm::SsoManage, &tenant_id).await?;
            let cfg = entity::sso_config::Entity::find_by_id(t.id.clone()).one(ctx.db()).await?;
            let gate = crate::core::features::gate_for(ctx.db(), &t, crate::core::features::Feature::Sso).await?;
            Ok(SsoSettings {
                tenant_id: t.id.clone(),
                tenant_name: t.name.clone(),
                blocked: gate.reason,
                ..ssr::settings_of(&ctx.state, cfg)?
            })
        }
        .await,
    )
}

#[server(endpoint = "sso/save")]
pub async fn save_sso_settings(
    tenant_id: String,
    issuer: String,
    client_id: String,
    client_secret: String,
    scopes: String,
    domains: String,
    role_claim: String,
    role_map: String,
    default_role: String,
    require_sso: Option<String>,
) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let (ctx, t) = require_in_tenant(Perm::SsoManage, &tenant_id).await?;
            crate::core::features::require_feature_for(ctx.db(), &t, crate::core::features::Feature::Sso).await?;
            let input = ssr::ConfigInput {
                issuer,
                client_id,
                client_secret,
                scopes,
                domains,
                role_claim,
                role_map,
                default_role,
                require_sso: require_sso.is_some_and(|v| v == "on" || v == "true"),
            };
            ssr::save_config(&ctx.state, &t, ctx.actor(), input).await?;
            if is_plain_form_post() {
                ctx.session()?
                    .insert(KEY_FLASH, "Single sign-on settings saved.")
                    .await
                    .map_err(|e| AppError::internal("session", e))?;
            }
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "sso/test")]
pub async fn test_sso(tenant_id: String) -> Result<Vec<SsoCheck>, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let (ctx, t) = require_in_tenant(Perm::SsoManage, &tenant_id).await?;
            crate::core::features::require_feature_for(ctx.db(), &t, crate::core::features::Feature::Sso).await?;
            ssr::test_config(&ctx.state, &t, ctx.actor()).await
        }
        .await,
    )
}

#[server(endpoint = "sso/remove")]
pub async fn remove_sso(tenant_id: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let (ctx, t) = require_in_tenant(Perm::SsoManage, &tenant_id).await?;
            ssr::delete_config(&ctx.state, &t, ctx.actor()).await
        }
        .await,
    )
}

/// Public: the name of a tenant and whether it signs in with SSO (its login link).
#[server(endpoint = "sso/tenant_login")]
pub async fn tenant_login_info(slug: String) -> Result<TenantLogin, AppError> {
    crate::auth::ssr::respond(
        async {
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            let state = crate::state::app_state()?;
            let t = entity::tenant::Entity::find()
                .filter(entity::tenant::Column::Slug.eq(slug.trim().to_lowercase()))
                .one(&state.db)
                .await?
                .filter(|t| t.status != "deleted")
                .ok_or(AppError::NotFound)?;
            let cfg = entity::sso_config::Entity::find_by_id(t.id.clone()).one(&state.db).await?;
            Ok(TenantLogin {
                slug: t.slug,
                name: t.name,
                sso: cfg.is_some(),
                require_sso: cfg.is_some_and(|c| c.require_sso),
            })
        }
        .await,
    )
}

/// Public: whether platform staff can sign in through the platform IdP.
#[server(endpoint = "sso/platform")]
pub async fn platform_sso_available() -> Result<bool, AppError> {
    crate::auth::ssr::respond(async { Ok(crate::state::app_state()?.settings.platform_oidc.is_some()) }.await)
}
