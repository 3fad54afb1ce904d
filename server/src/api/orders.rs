//! `/v1/orders`: orders placed from quotes, under the tenant's order policy (an order over
//! the approval threshold waits for a second person), and their cancellation.
use axum::Json;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use app::api_keys::ApiScope;
use entity::order;

use super::list::{Body, List, PageQuery, QueryPairs, check_if_match, etag_of, list_params, rfc3339, with_etag};
use super::problem::{ProblemDoc, Refusals};
use super::{Caller, Problem};

/// An order as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: String,
    pub number: String,
    /// draft, submitted, validating, quoted (waiting for approval), approved, queued,
    /// provisioning, active, failed, suspended, terminated or cancelled.
    pub status: String,
    pub status_reason: Option<String>,
    pub quote_id: String,
    pub po_number: String,
    pub cost_centre: String,
    pub description: String,
    /// The order is over the tenant's approval threshold.
    pub needs_approval: bool,
    /// The e-mail address of whoever placed it (an API key places as the admin it acts for).
    pub placed_by: String,
    pub approved_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<order::Model> for Order {
    fn from(o: order::Model) -> Self {
        Order {
            created_at: rfc3339(o.created_at),
            updated_at: rfc3339(o.updated_at),
            id: o.id,
            number: o.number,
            status: o.status,
            status_reason: o.status_reason,
            quote_id: o.quote_id,
            po_number: o.po_number,
            cost_centre: o.cost_centre,
            description: o.description,
            needs_approval: o.needs_approval,
            placed_by: o.placed_by_email,
            approved_by: o.approved_by,
        }
    }
}

fn encoded(o: order::Model) -> Result<Vec<u8>, Problem> {
    serde_json::to_vec(&Order::from(o)).map_err(|e| Problem::from(app::error::AppError::internal("api encode", e)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewOrder {
    /// An open quote of the tenant.
    pub quote_id: String,
    /// Your purchase-order number (up to 64 characters).
    pub po_number: String,
    #[serde(default)]
    pub cost_centre: String,
    /// What the connection is for (up to 500 characters).
    pub description: String,
}

/// Place an order from an open quote, at the quote's prices.
#[utoipa::path(
    post,
    path = "/v1/orders",
    operation_id = "createOrder",
    tag = "orders",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 h")),
    request_body = NewOrder,
    security(("apiKey" = ["orders:write"])),
    responses(
        Refusals,
        (status = 201, description = "The order: `approved` (then provisioned) or `quoted` (waiting for a second approver)", body = Order, headers(("Location" = String, description = "The order's URL"))),
        (status = 404, description = "No such quote in the key's tenant", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "The quote was already ordered or has expired, or the edition's quota is used up", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid; `errors` names it", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn create(caller: Caller, Body(body): Body<NewOrder>) -> Result<Response, Problem> {
    caller.require(ApiScope::OrdersWrite)?;
    let row =
        app::orders::ssr::place(&caller.ctx, &body.quote_id, &body.po_number, &body.cost_centre, &body.description)
            .await?;
    let o = app::orders::ssr::find(&caller.ctx, &row.id).await?;
    Ok((http::StatusCode::CREATED, [(http::header::LOCATION, format!("/v1/orders/{}", o.id))], Json(Order::from(o)))
        .into_response())
}

/// The tenant's orders, newest first.
#[utoipa::path(
    get,
    path = "/v1/orders",
    operation_id = "listOrders",
    tag = "orders",
    params(PageQuery, ("filter" = Option<String>, Query, description = "`status:eq:<status>`, one of the order statuses."), ("sort" = Option<String>, Query, description = "`-createdAt` (the default and only order; ties broken by id).")),
    security(("apiKey" = ["orders:read"])),
    responses(
        Refusals,
        (status = 200, description = "One page of orders", body = List<Order>),
        (status = 400, description = "The cursor is not valid", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is not valid; `errors` names it", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn list(caller: Caller, QueryPairs(query): QueryPairs) -> Result<Json<List<Order>>, Problem> {
    caller.require(ApiScope::OrdersRead)?;
    let p = list_params(&query, &["status"], &["-createdAt"])?;
    let page = app::orders::ssr::page_of(&caller.ctx, p.eq("status"), &p.page).await.map_err(|e| match e {
        app::error::AppError::Validation { .. } => {
            Problem::field("filter", "invalid_value", "status is one of the order statuses in the API reference.")
        }
        other => other.into(),
    })?;
    Ok(Json(List::of(page, Order::from)))
}

/// One order, with an `ETag`.
#[utoipa::path(
    get,
    path = "/v1/orders/{id}",
    operation_id = "getOrder",
    tag = "orders",
    params(
        ("id" = String, Path, description = "The order's id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer"),
    ),
    security(("apiKey" = ["orders:read"])),
    responses(
        Refusals,
        (status = 200, description = "The order", body = Order, headers(("ETag" = String, description = "The answer's entity tag"))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 404, description = "No such order in the key's tenant", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn get(caller: Caller, Path(id): Path<String>, headers: http::HeaderMap) -> Result<Response, Problem> {
    caller.require(ApiScope::OrdersRead)?;
    let o = app::orders::ssr::find(&caller.ctx, &id).await?;
    Ok(with_etag(encoded(o)?, &headers))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelOrder {
    /// Why (up to 300 characters), kept in the order's history.
    #[serde(default)]
    pub reason: String,
}

/// Cancel an order that has not started provisioning.
#[utoipa::path(
    post,
    path = "/v1/orders/{id}/cancel",
    operation_id = "cancelOrder",
    tag = "orders",
    params(
        ("id" = String, Path, description = "The order's id"),
        ("If-Match" = Option<String>, Header, description = "The order's ETag: refused with 412 if it changed since"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 h"),
    ),
    request_body(content = Option<CancelOrder>, description = "Optional: the reason"),
    security(("apiKey" = ["orders:write"])),
    responses(
        Refusals,
        (status = 200, description = "The cancelled order", body = Order, headers(("ETag" = String, description = "The order's new entity tag"))),
        (status = 404, description = "No such order in the key's tenant", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "The order can no longer be cancelled", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 412, description = "The order changed since the ETag in If-Match", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "The reason is too long", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn cancel(
    caller: Caller,
    Path(id): Path<String>,
    headers: http::HeaderMap,
    Body(body): Body<CancelOrder>,
) -> Result<Response, Problem> {
    caller.require(ApiScope::OrdersWrite)?;
    let o = app::orders::ssr::find(&caller.ctx, &id).await?;
    check_if_match(&headers, &etag_of(&encoded(o)?), false)?;
    app::orders::ssr::cancel(&caller.ctx, &id, &body.reason).await?;
    let body = encoded(app::orders::ssr::find(&caller.ctx, &id).await?)?;
    let tag = etag_of(&body);
    Ok(([(http::header::ETAG, tag), (http::header::CONTENT_TYPE, "application/json".to_string())], body)
        .into_response())
}
