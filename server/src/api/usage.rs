//! Service events (what happened to a service, newest first) and hourly usage records.
use axum::Json;
use axum::extract::Path;
use serde::Serialize;

use app::api_keys::ApiScope;
use entity::{service_event, usage_record};

use super::list::{List, PageQuery, QueryPairs, id_cursor, id_page, list_params, rfc3339};
use super::problem::{ProblemDoc, Refusals};
use super::{Caller, Problem};

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEvent {
    pub id: i64,
    pub service_id: String,
    /// E.g. `requested`, `provisioning`, `active`, `modified`, `suspended`, `failed`.
    pub kind: String,
    pub detail: String,
    /// Who or what caused it (a person's e-mail address, or the engine).
    pub actor: String,
    pub at: String,
}

fn event(e: service_event::Model) -> Result<ServiceEvent, Problem> {
    Ok(ServiceEvent {
        id: e.id,
        service_id: e.service_id,
        kind: e.kind,
        detail: e.detail,
        actor: e.actor_label,
        at: rfc3339(e.at),
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageRecord {
    pub id: i64,
    pub service_id: String,
    pub period_start: String,
    pub period_end: String,
    /// Megabytes received and sent in the period.
    pub mb_in: i64,
    pub mb_out: i64,
    /// Where the figures came from (`sandbox` or the provider adapter's name).
    pub source: String,
}

fn record(r: usage_record::Model) -> Result<UsageRecord, Problem> {
    Ok(UsageRecord {
        id: r.id,
        service_id: r.service_id,
        period_start: rfc3339(r.period_start),
        period_end: rfc3339(r.period_end),
        mb_in: r.mb_in,
        mb_out: r.mb_out,
        source: r.source,
    })
}

/// What happened to a service, newest first.
#[utoipa::path(
    get,
    path = "/v1/services/{id}/events",
    operation_id = "listServiceEvents",
    tag = "services",
    params(("id" = String, Path, description = "The service's id"), PageQuery),
    security(("apiKey" = ["services:read"])),
    responses(
        Refusals,
        (status = 200, description = "One page of the service's events", body = List<ServiceEvent>),
        (status = 400, description = "The cursor is not valid", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such service in the key's tenant", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is not valid; `errors` names it", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn events(
    caller: Caller,
    Path(id): Path<String>,
    QueryPairs(query): QueryPairs,
) -> Result<Json<List<ServiceEvent>>, Problem> {
    caller.require(ApiScope::ServicesRead)?;
    let p = list_params(&query, &[], &[])?;
    let limit = p.page.limit();
    let rows = app::provisioning::ssr::event_page(&caller.ctx, &id, id_cursor(&p)?, limit).await?;
    Ok(Json(id_page(rows, limit, |e| e.id, event)?))
}

/// Hourly usage records of the tenant's services, newest first.
#[utoipa::path(
    get,
    path = "/v1/usage-records",
    operation_id = "listUsageRecords",
    tag = "services",
    params(PageQuery, ("filter" = Option<String>, Query, description = "`serviceId:eq:<id>`: one service's records.")),
    security(("apiKey" = ["usage:read"])),
    responses(
        Refusals,
        (status = 200, description = "One page of usage records", body = List<UsageRecord>),
        (status = 400, description = "The cursor is not valid", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is not valid; `errors` names it", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn usage(caller: Caller, QueryPairs(query): QueryPairs) -> Result<Json<List<UsageRecord>>, Problem> {
    caller.require(ApiScope::UsageRead)?;
    let p = list_params(&query, &["serviceId"], &[])?;
    let limit = p.page.limit();
    let service = p.eq("serviceId");
    let rows = app::provisioning::ssr::usage_page(&caller.ctx, service.as_deref(), id_cursor(&p)?, limit).await?;
    Ok(Json(id_page(rows, limit, |r| r.id, record)?))
}
