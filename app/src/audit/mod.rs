//! The audit explorer.
pub mod chain;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Explorer filters (also the query string of the page and of the export).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Platform admins only: a tenant id, or `platform`.
    pub tenant: Option<String>,
    pub actor: Option<String>,
    /// Action prefix, e.g. `user.` or `tenant.created`.
    pub action: Option<String>,
    pub resource: Option<String>,
    /// `YYYY-MM-DD` or RFC 3339.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Cursor: only events with a smaller id.
    pub before: Option<i64>,
}

impl AuditFilter {
    /// The filter as a query string (without the cursor).
    pub fn to_query(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("tenant", &self.tenant),
            ("actor", &self.actor),
            ("action", &self.action),
            ("resource", &self.resource),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.trim().is_empty()) {
                parts.push(format!("{k}={}", urlencode(v.trim())));
            }
        }
        parts.join("&")
    }
}

/// Minimal percent-encoding for query values.
pub fn urlencode(s: &str) -> String {
    crate::core::url::encode(s)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub tenant_id: Option<String>,
    /// The tenant's slug (filled in for platform-wide views).
    pub tenant_label: Option<String>,
    pub actor_type: String,
    pub actor_label: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub outcome: String,
    pub details: String,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub rows: Vec<AuditRow>,
    /// Pass as `before` for the next page.
    pub next_cursor: Option<i64>,
    /// Highest id in the filtered set now: the export is cut here so its manifest matches.
    pub upto: Option<i64>,
    /// Platform-wide view (platform admins) or one tenant's.
    pub platform_view: bool,
    /// Why the bulk export is unavailable (the tenant's edition), shown beside it.
    pub export_blocked: Option<String>,
    /// The caller's role includes exporting the trail.
    #[serde(default)]
    pub can_export: bool,
}

pub const PAGE_SIZE: u64 = 50;

/// One page of the audit trail. The filter's fields are flat arguments so the
/// explorer's plain GET form and API clients can send them as they are.
#[server(endpoint = "audit/list")]
pub async fn list_audit(
    tenant: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    resource: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
) -> Result<AuditPage, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let ctx = require(Perm::AuditView).await?;
            let filter = AuditFilter { tenant, actor, action, resource, from, to, before };
            ssr::check_filter(&filter)?;
            let scope = crate::core::scope::Scope::staff_or_tenant(&ctx, "audit explorer")?;
            let mut rows = ssr::query(ctx.db(), &scope, &filter, PAGE_SIZE + 1, None).await?;
            let export_blocked = match &ctx.tenant {
                Some(t) if !scope.is_everyone() => {
                    crate::core::features::gate_for(ctx.db(), t, crate::core::features::Feature::AuditExport)
                        .await?
                        .reason
                }
                _ => None,
            };
            let more = rows.len() as u64 > PAGE_SIZE;
            rows.truncate(PAGE_SIZE as usize);
            let next_cursor = if more { rows.last().map(|r| r.id) } else { None };
            let upto = if filter.before.is_none() { rows.first().map(|r| r.id) } else { None };
            Ok(AuditPage {
                rows: ssr::to_rows(ctx.db(), rows).await?,
                next_cursor,
                upto,
                platform_view: scope.is_everyone(),
                export_blocked,
                can_export: ctx.can(Perm::AuditExport),
            })
        }
        .await,
    )
}
