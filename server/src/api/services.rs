//! `/v1/services`: the tenant's service inventory.
use axum::Json;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use app::api_keys::ApiScope;
use app::core::page::{MAX_LIMIT, PageRequest};
use entity::service;

use super::{Caller, Problem};

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

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

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub next_cursor: Option<String>,
    pub has_next_page: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct List<T: utoipa::ToSchema> {
    pub items: Vec<T>,
    pub page_info: PageInfo,
}

/// `limit`, `cursor`, `filter` and `sort`, checked; anything else is refused by name.
pub struct ListParams {
    pub page: PageRequest,
    pub status: Option<String>,
}

pub fn list_params(
    query: &[(String, String)],
    filters: &[&str],
    sorts: &[&str],
) -> Result<(ListParams, Vec<(String, String)>), Problem> {
    let mut page = PageRequest::default();
    let mut found = Vec::new();
    let mut errors = Vec::new();
    let mut bad = |path: &str, code: &str, message: String| {
        errors.push(super::problem::FieldProblem { path: path.into(), code: code.into(), message })
    };
    for (k, v) in query {
        match k.as_str() {
            "limit" => match v.parse::<u64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => page.limit = Some(n),
                _ => bad("limit", "out_of_range", format!("limit is a number from 1 to {MAX_LIMIT}.")),
            },
            "cursor" => page.cursor = Some(v.clone()).filter(|c| !c.is_empty()),
            "filter" => {
                for f in v.split(',').filter(|f| !f.is_empty()) {
                    let mut parts = f.splitn(3, ':');
                    match (parts.next(), parts.next(), parts.next()) {
                        (Some(field), Some("eq"), Some(value)) if filters.contains(&field) => {
                            found.push((field.to_string(), value.to_string()))
                        }
                        _ => bad(
                            "filter",
                            "unsupported_filter",
                            format!(
                                "\u{201c}{f}\u{201d} is not a supported filter; use {}.",
                                filters.iter().map(|f| format!("{f}:eq:<value>")).collect::<Vec<_>>().join(" or ")
                            ),
                        ),
                    }
                }
            }
            "sort" => {
                if !sorts.contains(&v.as_str()) {
                    bad("sort", "unsupported_sort", format!("Sort by {}.", sorts.join(" or ")));
                }
            }
            other => bad(other, "unknown_parameter", format!("Unknown query parameter \u{201c}{other}\u{201d}.")),
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let status = found.iter().find(|(f, _)| f == "status").map(|(_, v)| v.clone());
    Ok((ListParams { page, status }, found))
}

/// The query of a list operation, for the document (handlers check the raw pairs, so an
/// unknown parameter is refused by name).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u64>,
    /// `pageInfo.nextCursor` of the previous page.
    cursor: Option<String>,
    /// `status:eq:<status>`; statuses: provisioning, active, suspended, terminating, terminated, failed.
    filter: Option<String>,
    /// `-createdAt` (the default and only order; ties broken by id).
    sort: Option<String>,
}

/// The tenant's services, newest first.
#[utoipa::path(
    get,
    path = "/v1/services",
    operation_id = "listServices",
    tag = "services",
    params(ListQuery),
    security(("apiKey" = ["services:read"])),
    responses(
        (status = 200, description = "One page of services", body = List<Service>),
        (status = 400, description = "The cursor is not valid", body = super::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "No key, or an unknown, revoked or expired key", body = super::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks services:read, or may not be used from this address", body = super::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is not valid; `errors` names it", body = super::problem::ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn list(caller: Caller, Query(query): Query<Vec<(String, String)>>) -> Result<Json<List<Service>>, Problem> {
    caller.require(ApiScope::ServicesRead)?;
    let (p, _) = list_params(&query, &["status"], &["-createdAt"])?;
    let page = app::provisioning::ssr::page_of(&caller.ctx, p.status, None, &p.page).await.map_err(|e| match e {
        app::error::AppError::Validation { .. } => Problem::field(
            "filter",
            "invalid_value",
            "status is one of provisioning, active, suspended, terminating, terminated, failed.",
        ),
        other => other.into(),
    })?;
    Ok(Json(List {
        items: page.items.into_iter().map(Service::from).collect(),
        page_info: PageInfo { next_cursor: page.page_info.next_cursor, has_next_page: page.page_info.has_next_page },
    }))
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
        (status = 200, description = "The service", body = Service, headers(("ETag" = String, description = "The answer's entity tag"))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 401, description = "No key, or an unknown, revoked or expired key", body = super::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks services:read, or may not be used from this address", body = super::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such service in the key's tenant", body = super::problem::ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn get(caller: Caller, Path(id): Path<String>, headers: http::HeaderMap) -> Result<Response, Problem> {
    caller.require(ApiScope::ServicesRead)?;
    let s = app::provisioning::ssr::find_service(&caller.ctx, &id).await?;
    let body = serde_json::to_vec(&Service::from(s))
        .map_err(|e| Problem::from(app::error::AppError::internal("api encode", e)))?;
    Ok(with_etag(body, &headers))
}

/// A JSON body with a strong `ETag` over its bytes; 304 when the client already has it.
pub fn with_etag(body: Vec<u8>, headers: &http::HeaderMap) -> Response {
    let tag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..32]);
    let matches = headers
        .get(http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        // Weak comparison (RFC 9110 §13.1.2): `W/"x"` matches `"x"` for a GET.
        .is_some_and(|v| v.split(',').map(|t| t.trim()).any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag));
    let etag = [(http::header::ETAG, tag)];
    if matches {
        return (http::StatusCode::NOT_MODIFIED, etag).into_response();
    }
    (etag, [(http::header::CONTENT_TYPE, "application/json")], body).into_response()
}
