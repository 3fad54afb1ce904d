//! `/v1/quotes`: priced offers for a connection, valid for a fixed time, that an order is
//! placed from.
use axum::Json;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use app::api_keys::ApiScope;
use app::catalog::QuoteInput;
use entity::quote;

use super::list::{Body, List, Money, PageQuery, QueryPairs, list_params, rfc3339, with_etag};
use super::problem::{ProblemDoc, Refusals};
use super::{Caller, Problem};

/// A quote as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    pub id: String,
    pub number: String,
    /// `open` (can be ordered until `validUntil`), `ordered` or `expired`.
    pub status: String,
    pub offering_id: String,
    pub a_endpoint_id: String,
    pub b_endpoint_id: String,
    pub bandwidth_mbps: i64,
    pub term_months: i32,
    pub est_usage_gb: i64,
    /// One-time charge.
    pub non_recurring: Money,
    pub monthly: Money,
    /// Non-recurring plus the monthly charge over the term.
    pub total: Money,
    pub valid_until: String,
    pub created_by: String,
    pub created_at: String,
}

impl From<quote::Model> for Quote {
    fn from(q: quote::Model) -> Self {
        let status = if q.status == "open" && q.valid_until < Utc::now() { "expired".into() } else { q.status };
        Quote {
            non_recurring: Money::new(q.nrc_minor, &q.currency),
            monthly: Money::new(q.monthly_minor, &q.currency),
            total: Money::new(q.total_minor, &q.currency),
            valid_until: rfc3339(q.valid_until),
            created_at: rfc3339(q.created_at),
            id: q.id,
            number: q.number,
            status,
            offering_id: q.offering_id,
            a_endpoint_id: q.a_endpoint_id,
            b_endpoint_id: q.b_endpoint_id,
            bandwidth_mbps: q.bandwidth_mbps,
            term_months: q.term_months,
            est_usage_gb: q.est_usage_gb,
            created_by: q.created_by,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewQuote {
    /// The product (`GET /v1/offerings`).
    pub offering_id: String,
    pub a_endpoint_id: String,
    pub b_endpoint_id: String,
    pub bandwidth_mbps: i64,
    /// 1, 12, 24 or 36, as the product allows.
    pub term_months: u32,
    /// Expected monthly transfer, for usage-priced products.
    #[serde(default)]
    pub est_usage_gb: Option<i64>,
}

impl From<NewQuote> for QuoteInput {
    fn from(q: NewQuote) -> Self {
        // The services take the form's text fields; the API has already typed them.
        QuoteInput {
            offering_id: q.offering_id,
            a_endpoint_id: q.a_endpoint_id,
            b_endpoint_id: q.b_endpoint_id,
            bandwidth_mbps: q.bandwidth_mbps.to_string(),
            term_months: q.term_months.to_string(),
            est_usage_gb: q.est_usage_gb.map(|g| g.to_string()).unwrap_or_default(),
        }
    }
}

/// Price a connection and keep the offer: checks serviceability at both ends, prices it
/// from the price book in force, and keeps the prices for the quote's validity.
#[utoipa::path(
    post,
    path = "/v1/quotes",
    operation_id = "createQuote",
    tag = "quotes",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 h")),
    request_body = NewQuote,
    security(("apiKey" = ["quotes:write"])),
    responses(
        Refusals,
        (status = 201, description = "The quote", body = Quote, headers(("Location" = String, description = "The quote's URL"))),
        (status = 409, description = "No price book is in force", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid, or the connection cannot be offered; `errors` names the field", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn create(caller: Caller, Body(body): Body<NewQuote>) -> Result<Response, Problem> {
    caller.require(ApiScope::QuotesWrite)?;
    let row = app::catalog::ssr::create(&caller.ctx, &body.into()).await?;
    let q = app::catalog::ssr::tenant_quote(&caller.ctx, &row.id).await?;
    Ok((http::StatusCode::CREATED, [(http::header::LOCATION, format!("/v1/quotes/{}", q.id))], Json(Quote::from(q)))
        .into_response())
}

/// The tenant's quotes, newest first.
#[utoipa::path(
    get,
    path = "/v1/quotes",
    operation_id = "listQuotes",
    tag = "quotes",
    params(PageQuery, ("sort" = Option<String>, Query, description = "`-createdAt` (the default and only order; ties broken by id).")),
    security(("apiKey" = ["quotes:write"])),
    responses(
        Refusals,
        (status = 200, description = "One page of quotes", body = List<Quote>),
        (status = 400, description = "The cursor is not valid", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is not valid; `errors` names it", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn list(caller: Caller, QueryPairs(query): QueryPairs) -> Result<Json<List<Quote>>, Problem> {
    caller.require(ApiScope::QuotesWrite)?;
    let p = list_params(&query, &[], &["-createdAt"])?;
    let page = app::catalog::ssr::quote_page(&caller.ctx, &p.page).await?;
    Ok(Json(List::of(page, Quote::from)))
}

/// One quote, with an `ETag`.
#[utoipa::path(
    get,
    path = "/v1/quotes/{id}",
    operation_id = "getQuote",
    tag = "quotes",
    params(
        ("id" = String, Path, description = "The quote's id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer"),
    ),
    security(("apiKey" = ["quotes:write"])),
    responses(
        Refusals,
        (status = 200, description = "The quote", body = Quote, headers(("ETag" = String, description = "The answer's entity tag"))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 404, description = "No such quote in the key's tenant", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn get(caller: Caller, Path(id): Path<String>, headers: http::HeaderMap) -> Result<Response, Problem> {
    caller.require(ApiScope::QuotesWrite)?;
    let q = app::catalog::ssr::tenant_quote(&caller.ctx, &id).await?;
    let body = serde_json::to_vec(&Quote::from(q))
        .map_err(|e| Problem::from(app::error::AppError::internal("api encode", e)))?;
    Ok(with_etag(body, &headers))
}
