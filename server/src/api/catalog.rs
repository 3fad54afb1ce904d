//! The catalog: locations, endpoints (ports, cloud on-ramps, exchange ports), the products
//! sold between them, and prices for a connection (without keeping a quote).
use axum::Json;
use serde::Serialize;

use app::api_keys::ApiScope;
use app::catalog::QuoteInput;
use entity::{endpoint, location};

use super::list::{Body, List, Money, PageInfo, PageQuery, QueryPairs, list_params};
use super::problem::{ProblemDoc, Refusals};
use super::quotes::NewQuote;
use super::{Caller, Problem};

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub id: String,
    /// A short stable name, e.g. `ld5`.
    pub key: String,
    pub facility: String,
    pub operator: String,
    pub metro: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// The pricing region: EMEA, NA or APAC.
    pub region: String,
    pub latitude: f64,
    pub longitude: f64,
}

impl From<location::Model> for Location {
    fn from(l: location::Model) -> Self {
        Location {
            id: l.id,
            key: l.key,
            facility: l.facility,
            operator: l.operator,
            metro: l.metro,
            country: l.country,
            region: l.region,
            latitude: l.latitude,
            longitude: l.longitude,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub id: String,
    pub name: String,
    /// `cloud_onramp`, `dc_port`, `exchange_port` or `partner`.
    pub kind: String,
    pub provider_id: String,
    pub location_id: String,
    /// The cloud region an on-ramp serves.
    pub cloud_region: Option<String>,
    pub bandwidths_mbps: Vec<i64>,
    /// Capacity not yet sold.
    pub free_mbps: i64,
    /// Whether it takes new connections.
    pub active: bool,
}

fn endpoint(e: endpoint::Model) -> Result<Endpoint, Problem> {
    Ok(Endpoint {
        bandwidths_mbps: app::catalog::ssr::endpoint_bandwidths(&e)?,
        free_mbps: (e.capacity_mbps - e.used_mbps).max(0),
        id: e.id,
        name: e.name,
        kind: e.kind,
        provider_id: e.provider_id,
        location_id: e.location_id,
        cloud_region: e.cloud_region,
        active: e.active,
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Offering {
    pub id: String,
    pub key: String,
    pub name: String,
    /// `cloud_dc`, `dc_dc`, `cloud_cloud` or `partner`.
    pub kind: String,
    /// Endpoint kinds allowed at each end.
    pub a_kinds: Vec<String>,
    pub b_kinds: Vec<String>,
    pub bandwidths_mbps: Vec<i64>,
    pub terms_months: Vec<u32>,
    /// Priced partly by transfer (`estUsageGb` in a quote).
    pub usage_based: bool,
}

/// The locations endpoints are at, by key.
#[utoipa::path(
    get,
    path = "/v1/locations",
    operation_id = "listLocations",
    tag = "catalog",
    params(PageQuery),
    security(("apiKey" = ["catalog:read"])),
    responses(
        Refusals,
        (status = 200, description = "One page of locations", body = List<Location>),
        (status = 400, description = "The cursor is not valid", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is not valid; `errors` names it", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn locations(caller: Caller, QueryPairs(query): QueryPairs) -> Result<Json<List<Location>>, Problem> {
    caller.require(ApiScope::CatalogRead)?;
    let p = list_params(&query, &[], &[])?;
    let page = app::catalog::ssr::location_page(caller.ctx.db(), &p.page).await?;
    Ok(Json(List::of(page, Location::from)))
}

/// Endpoints, A–Z by name.
#[utoipa::path(
    get,
    path = "/v1/endpoints",
    operation_id = "listEndpoints",
    tag = "catalog",
    params(PageQuery, ("filter" = Option<String>, Query, description = "`locationId:eq:<id>`: the endpoints at one location.")),
    security(("apiKey" = ["catalog:read"])),
    responses(
        Refusals,
        (status = 200, description = "One page of endpoints", body = List<Endpoint>),
        (status = 400, description = "The cursor is not valid", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is not valid; `errors` names it", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn endpoints(caller: Caller, QueryPairs(query): QueryPairs) -> Result<Json<List<Endpoint>>, Problem> {
    caller.require(ApiScope::CatalogRead)?;
    let p = list_params(&query, &["locationId"], &[])?;
    let page = app::catalog::ssr::endpoint_model_page(caller.ctx.db(), p.eq("locationId"), &p.page).await?;
    let info = PageInfo { next_cursor: page.page_info.next_cursor, has_next_page: page.page_info.has_next_page };
    Ok(Json(List { items: page.items.into_iter().map(endpoint).collect::<Result<_, _>>()?, page_info: info }))
}

/// The products sold: which endpoint kinds each connects, at which bandwidths and terms.
#[utoipa::path(
    get,
    path = "/v1/offerings",
    operation_id = "listOfferings",
    tag = "catalog",
    security(("apiKey" = ["catalog:read"])),
    responses(
        Refusals,
        (status = 200, description = "Every offering (one page)", body = List<Offering>),
        (status = 422, description = "A parameter was given; this list takes none", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn offerings(caller: Caller, QueryPairs(query): QueryPairs) -> Result<Json<List<Offering>>, Problem> {
    caller.require(ApiScope::CatalogRead)?;
    if let Some((k, _)) = query.first() {
        return Err(Problem::field(k, "unknown_parameter", format!("Unknown query parameter \u{201c}{k}\u{201d}.")));
    }
    let mut items = Vec::new();
    for o in app::catalog::ssr::offerings(caller.ctx.db()).await? {
        let f = app::catalog::ssr::offering_facts(&o)?;
        items.push(Offering {
            id: o.id,
            key: o.key,
            name: o.name,
            kind: o.kind,
            a_kinds: f.a_kinds,
            b_kinds: f.b_kinds,
            bandwidths_mbps: f.bandwidths_mbps,
            terms_months: f.terms_months,
            usage_based: o.usage_based,
        });
    }
    Ok(Json(List { items, page_info: PageInfo { next_cursor: None, has_next_page: false } }))
}

/// What a connection would cost, and whether it can be offered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceCheck {
    /// Both ends can take it at this bandwidth and term, and a price exists.
    pub serviceable: bool,
    /// Why not, when it is not serviceable.
    pub reasons: Vec<String>,
    /// The pricing region (the A-end's).
    pub region: String,
    pub non_recurring: Option<Money>,
    pub monthly: Option<Money>,
    pub total: Option<Money>,
}

/// Price a connection between two endpoints without keeping a quote (`POST /v1/quotes` keeps one).
#[utoipa::path(
    post,
    path = "/v1/prices",
    operation_id = "checkPrice",
    tag = "catalog",
    request_body = NewQuote,
    security(("apiKey" = ["catalog:read"])),
    responses(
        Refusals,
        (status = 200, description = "The price, or why the connection cannot be offered", body = PriceCheck),
        (status = 422, description = "A field is not valid; `errors` names it", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn prices(caller: Caller, Body(body): Body<NewQuote>) -> Result<Json<PriceCheck>, Problem> {
    caller.require(ApiScope::CatalogRead)?;
    let input: QuoteInput = body.into();
    let (p, _) = app::catalog::ssr::preview(caller.ctx.db(), &input).await?;
    let money = |m: i64| (!p.currency.is_empty() && p.serviceable).then(|| Money::new(m, &p.currency));
    Ok(Json(PriceCheck {
        non_recurring: money(p.nrc_minor),
        monthly: money(p.monthly_minor),
        total: money(p.total_minor),
        serviceable: p.serviceable,
        reasons: p.reasons,
        region: p.region,
    }))
}
