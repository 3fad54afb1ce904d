//! API keys for the public REST API: Portal → API keys and `patchbay api-key create`.
//!
//! A token is `pbk_<key id>_<secret>`: recognisable (and greppable) when it leaks, found by
//! its key id, checked against a SHA-256 of the secret in constant time. A key acts inside
//! its tenant with its scopes, and never beyond the current role of the admin it acts for.
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::permissions::Perm;
use crate::core::page::Page;
use crate::error::AppError;

/// What a key may do. Each scope needs a permission its admin must hold when the key is
/// created and on every request after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ApiScope {
    CatalogRead,
    QuotesWrite,
    OrdersRead,
    OrdersWrite,
    ServicesRead,
    ServicesWrite,
    UsageRead,
    AuditRead,
    WebhooksManage,
}

impl ApiScope {
    pub const ALL: [ApiScope; 9] = [
        ApiScope::CatalogRead,
        ApiScope::QuotesWrite,
        ApiScope::OrdersRead,
        ApiScope::OrdersWrite,
        ApiScope::ServicesRead,
        ApiScope::ServicesWrite,
        ApiScope::UsageRead,
        ApiScope::AuditRead,
        ApiScope::WebhooksManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::CatalogRead => "catalog:read",
            ApiScope::QuotesWrite => "quotes:write",
            ApiScope::OrdersRead => "orders:read",
            ApiScope::OrdersWrite => "orders:write",
            ApiScope::ServicesRead => "services:read",
            ApiScope::ServicesWrite => "services:write",
            ApiScope::UsageRead => "usage:read",
            ApiScope::AuditRead => "audit:read",
            ApiScope::WebhooksManage => "webhooks:manage",
        }
    }

    pub fn parse(s: &str) -> Option<ApiScope> {
        ApiScope::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            ApiScope::CatalogRead => "Read locations, endpoints, products and prices",
            ApiScope::QuotesWrite => "Create quotes",
            ApiScope::OrdersRead => "Read orders",
            ApiScope::OrdersWrite => "Place and cancel orders",
            ApiScope::ServicesRead => "Read services, their events and usage",
            ApiScope::ServicesWrite => "Change bandwidth, suspend, resume and terminate services",
            ApiScope::UsageRead => "Read usage records",
            ApiScope::AuditRead => "Read the audit trail",
            ApiScope::WebhooksManage => "Manage webhook subscriptions",
        }
    }

    /// The permission the key's admin needs for this scope to work.
    pub fn perm(self) -> Perm {
        match self {
            ApiScope::CatalogRead | ApiScope::OrdersRead | ApiScope::ServicesRead | ApiScope::UsageRead => {
                Perm::PortalView
            }
            ApiScope::QuotesWrite => Perm::QuoteCreate,
            ApiScope::OrdersWrite => Perm::OrderPlace,
            ApiScope::ServicesWrite => Perm::ServiceManage,
            ApiScope::AuditRead => Perm::AuditView,
            ApiScope::WebhooksManage => Perm::IntegrationsManage,
        }
    }
}

/// Expiry choices offered by the form (days); the service accepts 1 to 365.
pub const EXPIRY_CHOICES: [(u32, &str); 5] =
    [(7, "7 days"), (30, "30 days"), (90, "90 days"), (180, "180 days"), (365, "1 year")];

/// Overlap choices when rotating (hours the old key keeps working after its successor
/// is made).
pub const OVERLAP_CHOICES: [(u32, &str); 4] =
    [(0, "Old key stops now"), (1, "Keep old 1 h"), (24, "Keep old 24 h"), (168, "Keep old 7 days")];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    /// `pbk_<key id>`: how the key is recognised, without its secret.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub allowed_cidrs: Vec<String>,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    /// `active`, `expiring` (rotated, in its overlap), `expired` or `revoked`.
    pub status: String,
    pub last_used_at: Option<String>,
    pub last_used_ip: Option<String>,
    /// The prefix of the key this one replaced by rotation.
    pub rotated_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeysView {
    pub tenant_name: String,
    pub edition: String,
    pub keys: Page<ApiKeyRow>,
    /// Keys counting against the cap (not revoked, not expired).
    pub active: u64,
    pub cap: i32,
    pub can_manage: bool,
    /// Scopes the viewer may grant: (scope, label).
    pub grantable: Vec<(String, String)>,
}

/// A key just made: the token is shown once and never again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKey {
    pub key: ApiKeyRow,
    pub token: String,
}

#[server(endpoint = "api_keys/list")]
pub async fn list_api_keys(cursor: Option<String>) -> Result<ApiKeysView, AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require(Perm::IntegrationsView).await?;
            ssr::view(&ctx, &crate::core::page::PageRequest::new(cursor)).await
        }
        .await,
    )
}

#[server(endpoint = "api_keys/create")]
pub async fn create_api_key(
    name: String,
    scopes: Option<Vec<String>>,
    expires_days: String,
    allowed_cidrs: String,
) -> Result<CreatedKey, AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require(Perm::IntegrationsManage).await?;
            let input = ssr::NewKey { name, scopes: scopes.unwrap_or_default(), expires_days, allowed_cidrs };
            let made = ssr::create(&ctx, &input).await?;
            flash_token(&ctx, &made).await?;
            Ok(made)
        }
        .await,
    )
}

#[server(endpoint = "api_keys/rotate")]
pub async fn rotate_api_key(key_id: String, overlap_hours: String) -> Result<CreatedKey, AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require(Perm::IntegrationsManage).await?;
            let made = ssr::rotate(&ctx, &key_id, &overlap_hours).await?;
            flash_token(&ctx, &made).await?;
            Ok(made)
        }
        .await,
    )
}

#[server(endpoint = "api_keys/revoke")]
pub async fn revoke_api_key(key_id: String) -> Result<(), AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            // Not a write permission: a suspended tenant can still stop a key.
            let ctx = require(Perm::IntegrationsView).await?;
            ssr::revoke(&ctx, &key_id).await
        }
        .await,
    )
}

/// Without JavaScript the page reloads after the form post: the new token reaches it once,
/// in the session's flash message.
#[cfg(feature = "ssr")]
async fn flash_token(ctx: &crate::auth::ssr::Ctx, made: &CreatedKey) -> Result<(), AppError> {
    use crate::auth::ssr::*;
    if is_plain_form_post() {
        let msg = format!(
            "API key \u{201c}{}\u{201d} created. Copy it now; it is not shown again: {}",
            made.key.name, made.token
        );
        ctx.session()?.insert(KEY_FLASH, msg).await.map_err(|e| AppError::internal("session", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_through_their_names() {
        for s in ApiScope::ALL {
            assert_eq!(ApiScope::parse(s.as_str()), Some(s));
        }
        assert_eq!(ApiScope::parse("admin:all"), None);
    }
}
