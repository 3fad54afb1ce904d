//! `/v1/services`: the tenant's service inventory.
use axum::Json;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use app::api_keys::ApiScope;
use entity::service;

use super::list::{Body, List, PageQuery, QueryPairs, check_if_match, etag_of, list_params, rfc3339, with_etag};
use super::problem::{ProblemDoc, Refusals};
use super::{Caller, Problem};

/// A service as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub id: String,
    pub number: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub order_id: String,
    pub offering_id: String,
    pub a_endpoint_id: String,
    pub b_endpoint_id: String,
    pub bandwidth_mbps: i64,
    pub pending_bandwidth_mbps: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    pub activated_at: Option<String>,
    pub terminated_at: Option<String>,
}

impl From<service::Model> for Service {
    fn from(s: service::Model) -> Self {
        Service {
            status_reason: s.status_reason,
            created_at: rfc3339(s.created_at),
            updated_at: rfc3339(s.updated_at),
            activated_at: s.activated_at.map(rfc3339),
            terminated_at: s.terminated_at.map(rfc3339),
            id: s.id,
            number: s.number,
            status: s.status,
            order_id: s.order_id,
            offering_id: s.offering_id,
            a_endpoint_id: s.a_endpoint_id,
            b_endpoint_id: s.b_endpoint_id,
            bandwidth_mbps: s.bandwidth_mbps,
            pending_bandwidth_mbps: s.pending_bandwidth_mbps,
        }
    }
}

/// The tenant's services, newest first.
#[utoipa::path(
    get,
    path = "/v1/services",
    operation_id = "listServices",
    tag = "services",
    params(PageQuery, ("filter" = Option<String>, Query, description = "`status:eq:<status>`; statuses: provisioning, active, suspended, terminating, terminated, failed."), ("sort" = Option<String>, Query, description = "`-createdAt` (the default and only order; ties broken by id).")),
    security(("apiKey" = ["services:read"])),
    responses(
        Refusals,
        (status = 200, description = "One page of services", body = List<Service>),
        (status = 400, description = "The cursor is not valid", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is not valid; `errors` names it", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn list(caller: Caller, QueryPairs(query): QueryPairs) -> Result<Json<List<Service>>, Problem> {
    caller.require(ApiScope::ServicesRead)?;
    let p = list_params(&query, &["status"], &["-createdAt"])?;
    let page =
        app::provisioning::ssr::page_of(&caller.ctx, p.eq("status"), None, &p.page).await.map_err(|e| match e {
            app::error::AppError::Validation { .. } => Problem::field(
                "filter",
                "invalid_value",
                "status is one of provisioning, active, suspended, terminating, terminated, failed.",
            ),
            other => other.into(),
        })?;
    Ok(Json(List::of(page, Service::from)))
}

/// One service, with an `ETag` (304 for a matching `If-None-Match`).
#[utoipa::path(
    get,
    path = "/v1/services/{id}",
    operation_id = "getService",
    tag = "services",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer"),
    ),
    security(("apiKey" = ["services:read"])),
    responses(
        Refusals,
        (status = 200, description = "The service", body = Service, headers(("ETag" = String, description = "The answer's entity tag"))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 404, description = "No such service in the key's tenant", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn get(caller: Caller, Path(id): Path<String>, headers: http::HeaderMap) -> Result<Response, Problem> {
    caller.require(ApiScope::ServicesRead)?;
    let s = app::provisioning::ssr::find_service(&caller.ctx, &id).await?;
    Ok(with_etag(encoded(s)?, &headers))
}

fn encoded(s: service::Model) -> Result<Vec<u8>, Problem> {
    serde_json::to_vec(&Service::from(s)).map_err(|e| Problem::from(app::error::AppError::internal("api encode", e)))
}

/// Check `If-Match` (required) against the service as it is now; returns the service.
/// Its `updated_at` goes to the action, which refuses a service changed since.
async fn current(caller: &Caller, id: &str, headers: &http::HeaderMap) -> Result<service::Model, Problem> {
    caller.require(ApiScope::ServicesWrite)?;
    let s = app::provisioning::ssr::find_service(&caller.ctx, id).await?;
    check_if_match(headers, &etag_of(&encoded(s.clone())?), true)?;
    Ok(s)
}

/// The service after an action was accepted: 202, its new state and ETag.
async fn accepted(caller: &Caller, id: &str) -> Result<Response, Problem> {
    let s = app::provisioning::ssr::find_service(&caller.ctx, id).await?;
    let body = encoded(s)?;
    let tag = etag_of(&body);
    Ok((
        http::StatusCode::ACCEPTED,
        [(http::header::ETAG, tag), (http::header::CONTENT_TYPE, "application/json".to_string())],
        body,
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModifyBandwidth {
    /// The new bandwidth, one of those the connection's product sells.
    pub bandwidth_mbps: i64,
}

/// Change an active service's bandwidth. The change is provisioned in the background: the
/// answer shows `pendingBandwidthMbps` until it is done (webhook `service.modified`).
#[utoipa::path(
    post,
    path = "/v1/services/{id}/modify-bandwidth",
    operation_id = "modifyServiceBandwidth",
    tag = "services",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("If-Match" = String, Header, description = "The service's current ETag (required)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 h"),
    ),
    request_body = ModifyBandwidth,
    security(("apiKey" = ["services:write"])),
    responses(
        Refusals,
        (status = 202, description = "Accepted; the service as it is now", body = Service, headers(("ETag" = String, description = "The service's new entity tag"))),
        (status = 404, description = "No such service in the key's tenant", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "The service is not active", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 412, description = "The service changed since the ETag in If-Match", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "The bandwidth is not sold on this connection, or no capacity is free", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn modify_bandwidth(
    caller: Caller,
    Path(id): Path<String>,
    headers: http::HeaderMap,
    Body(body): Body<ModifyBandwidth>,
) -> Result<Response, Problem> {
    let s = current(&caller, &id, &headers).await?;
    let mbps = body.bandwidth_mbps.to_string();
    app::provisioning::ssr::change_bandwidth(&caller.ctx, &id, &mbps, Some(s.updated_at)).await?;
    accepted(&caller, &id).await
}

macro_rules! action {
    ($fn:ident, $path:literal, $op:literal, $action:literal, $doc:literal, $conflict:literal) => {
        #[doc = $doc]
        #[utoipa::path(
            post,
            path = $path,
            operation_id = $op,
            tag = "services",
            params(
                ("id" = String, Path, description = "The service's id"),
                ("If-Match" = String, Header, description = "The service's current ETag (required)"),
                ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 h"),
            ),
            security(("apiKey" = ["services:write"])),
            responses(
        Refusals,
                (status = 202, description = "Accepted; the service as it is now", body = Service, headers(("ETag" = String, description = "The service's new entity tag"))),
                (status = 404, description = "No such service in the key's tenant", body = ProblemDoc, content_type = "application/problem+json"),
                (status = 409, description = $conflict, body = ProblemDoc, content_type = "application/problem+json"),
                (status = 412, description = "The service changed since the ETag in If-Match", body = ProblemDoc, content_type = "application/problem+json"),
                (status = 428, description = "If-Match is missing", body = ProblemDoc, content_type = "application/problem+json"),
            )
        )]
        pub async fn $fn(caller: Caller, Path(id): Path<String>, headers: http::HeaderMap) -> Result<Response, Problem> {
            let s = current(&caller, &id, &headers).await?;
            // If-Match is the API's confirmation; the portal asks for the service number.
            app::provisioning::ssr::simple_action(&caller.ctx, &id, $action, Some(&s.number), Some(s.updated_at))
                .await?;
            accepted(&caller, &id).await
        }
    };
}

action!(
    suspend,
    "/v1/services/{id}/suspend",
    "suspendService",
    "suspend",
    "Suspend an active service (traffic stops; the service is kept).",
    "The service cannot be suspended in its current state"
);
action!(
    resume,
    "/v1/services/{id}/resume",
    "resumeService",
    "resume",
    "Resume a suspended service.",
    "The service is not suspended"
);
action!(
    terminate,
    "/v1/services/{id}/terminate",
    "terminateService",
    "terminate",
    "Terminate a service: it is torn down at both ends and its capacity released. Not reversible.",
    "The service cannot be terminated in its current state"
);
