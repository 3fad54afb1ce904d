//! `/v1/audit-events`: the tenant's audit trail, newest first (every edition; the signed
//! bulk export stays behind the `audit_export` feature in the portal).
use axum::Json;
use serde::Serialize;

use app::api_keys::ApiScope;
use app::audit::AuditFilter;
use entity::audit_event;

use super::list::{List, PageQuery, QueryPairs, id_cursor, id_page, list_params};
use super::problem::{ProblemDoc, Refusals};
use super::{Caller, Problem};

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub id: i64,
    /// RFC 3339 UTC with microseconds, exactly as hashed into the chain.
    pub at: String,
    /// `user`, `api_key` or `system`.
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_label: String,
    /// E.g. `order.placed`, `api_key.created`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub trace_id: Option<String>,
    /// This event's link in the tenant's hash chain.
    pub hash: String,
}

fn event(e: audit_event::Model) -> Result<AuditEvent, Problem> {
    let details = serde_json::from_str(&e.details)
        .map_err(|err| app::error::AppError::corrupt("audit_events", &e.id.to_string(), format!("details: {err}")))?;
    Ok(AuditEvent {
        id: e.id,
        at: e.at,
        actor_type: e.actor_type,
        actor_id: e.actor_id,
        actor_label: e.actor_label,
        action: e.action,
        resource_type: e.resource_type,
        resource_id: e.resource_id,
        outcome: e.outcome,
        details,
        trace_id: e.trace_id,
        hash: e.hash,
    })
}

/// The tenant's audit events, newest first.
#[utoipa::path(
    get,
    path = "/v1/audit-events",
    operation_id = "listAuditEvents",
    tag = "audit",
    params(PageQuery, ("filter" = Option<String>, Query, description = "`action:eq:<prefix>` (e.g. `order.` or `order.placed`) and/or `resourceType:eq:<type>`."), ("sort" = Option<String>, Query, description = "`-id` (the default and only order: newest first).")),
    security(("apiKey" = ["audit:read"])),
    responses(
        Refusals,
        (status = 200, description = "One page of audit events", body = List<AuditEvent>),
        (status = 400, description = "The cursor is not valid", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is not valid; `errors` names it", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn list(caller: Caller, QueryPairs(query): QueryPairs) -> Result<Json<List<AuditEvent>>, Problem> {
    caller.require(ApiScope::AuditRead)?;
    let p = list_params(&query, &["action", "resourceType"], &["-id"])?;
    let filter = AuditFilter {
        action: p.eq("action"),
        resource: p.eq("resourceType"),
        before: id_cursor(&p)?,
        ..Default::default()
    };
    let limit = p.page.limit();
    let rows = app::audit::ssr::query(caller.ctx.db(), &caller.ctx.scope()?, &filter, limit + 1, None).await?;
    Ok(Json(id_page(rows, limit, |r| r.id, event)?))
}
