//! The interconnection catalog: providers, locations, endpoints, offerings, price
//! books; serviceability and pricing; quotes.
pub mod money;
pub mod pages;
pub mod pricing;
#[cfg(feature = "ssr")]
pub mod seed;
pub mod service;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::core::page::Page;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub provider: String,
    pub provider_key: String,
    pub location_key: String,
    pub facility: String,
    pub metro: String,
    pub country: String,
    pub region: String,
    pub cloud_region: Option<String>,
    pub bandwidths: Vec<String>,
    pub free_mbps: i64,
    pub capacity_mbps: i64,
    pub active: bool,
}

pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "cloud_onramp" => "Cloud on-ramp",
        "dc_port" => "Data-centre port",
        "exchange_port" => "Exchange port",
        "partner" => "Partner endpoint",
        _ => "Endpoint",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationRow {
    pub key: String,
    pub facility: String,
    pub operator: String,
    pub metro: String,
    pub country: String,
    pub region: String,
    pub endpoints: Vec<EndpointRow>,
    /// Products with an end available here.
    pub reachable: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationFilter {
    pub provider: Option<String>,
    pub metro: Option<String>,
    pub country: Option<String>,
    pub kind: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationsView {
    pub rows: Vec<LocationRow>,
    pub page_info: crate::core::page::PageInfo,
    pub providers: Vec<(String, String)>,
    pub metros: Vec<String>,
    pub countries: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferingRow {
    pub id: String,
    pub key: String,
    pub name: String,
    pub kind: String,
    pub bandwidths: Vec<i64>,
    pub terms: Vec<u32>,
    pub usage_based: bool,
    pub composite: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteOptions {
    pub offerings: Vec<OfferingRow>,
    pub endpoints: Vec<EndpointRow>,
}

/// The quote builder's fields, as typed (strings, validated on the server).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteInput {
    pub offering_id: String,
    pub a_endpoint_id: String,
    pub b_endpoint_id: String,
    pub bandwidth_mbps: String,
    pub term_months: String,
    pub est_usage_gb: String,
}

impl QuoteInput {
    pub fn is_complete(&self) -> bool {
        ![&self.offering_id, &self.a_endpoint_id, &self.b_endpoint_id, &self.bandwidth_mbps, &self.term_months]
            .iter()
            .any(|s| s.trim().is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewLine {
    pub label: String,
    pub period: String,
    pub amount: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotePreview {
    pub serviceable: bool,
    pub reasons: Vec<String>,
    pub offering: String,
    pub a_end: String,
    pub b_end: String,
    pub bandwidth: String,
    pub term_months: u32,
    pub region: String,
    pub currency: String,
    pub price_book: String,
    pub lines: Vec<PreviewLine>,
    pub nrc: String,
    pub monthly: String,
    pub total: String,
    pub nrc_minor: i64,
    pub monthly_minor: i64,
    pub total_minor: i64,
    /// The caller may save this as a quote (so the page offers the button).
    #[serde(default)]
    pub can_save: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteRow {
    pub id: String,
    pub number: String,
    pub offering: String,
    pub a_end: String,
    pub b_end: String,
    pub bandwidth: String,
    pub term_months: u32,
    pub currency: String,
    pub nrc: String,
    pub monthly: String,
    pub total: String,
    pub total_minor: i64,
    pub lines: Vec<PreviewLine>,
    /// `open`, `ordered` or `expired`.
    pub status: String,
    pub valid_until: String,
    pub created_by: String,
    pub created_at: String,
    /// The caller may order quotes now (role, and the tenant is not suspended).
    #[serde(default)]
    pub can_order: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceBookRow {
    pub id: String,
    pub region: String,
    pub currency: String,
    pub version: i32,
    pub effective_from: String,
    /// `in force`, `scheduled` or `superseded`.
    pub state: String,
    pub entries: usize,
    pub note: String,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceEntryRow {
    pub offering: String,
    pub bandwidth: String,
    pub bandwidth_mbps: i64,
    pub nrc: String,
    pub mrc: String,
    pub usage_per_gb: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogRefs {
    pub providers: Vec<(String, String)>,
    pub locations: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLocation {
    pub key: String,
    pub facility: String,
    pub operator: String,
    pub metro: String,
    pub country: String,
    pub region: String,
    pub latitude: String,
    pub longitude: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEndpointInput {
    pub provider_id: String,
    pub location_id: String,
    pub kind: String,
    pub name: String,
    pub cloud_region: String,
    pub bandwidths: String,
    pub capacity_mbps: String,
}

#[server(endpoint = "catalog/admin/refs")]
pub async fn get_catalog_refs() -> Result<CatalogRefs, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::refs(require(Perm::CatalogManage).await?.db()).await }.await)
}

#[server(endpoint = "catalog/admin/add_location")]
pub async fn add_location(location: NewLocation) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::add_location(&require(Perm::CatalogManage).await?, location).await }.await)
}

#[server(endpoint = "catalog/admin/add_endpoint")]
pub async fn add_endpoint(endpoint: NewEndpointInput) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::add_endpoint(&require(Perm::CatalogManage).await?, endpoint).await }.await)
}

#[server(endpoint = "catalog/locations")]
pub async fn list_locations(
    provider: Option<String>,
    metro: Option<String>,
    country: Option<String>,
    kind: Option<String>,
    cursor: Option<String>,
) -> Result<LocationsView, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let ctx = require(Perm::PortalView).await?;
            let req = crate::core::page::PageRequest::new(cursor);
            ssr::locations(ctx.db(), &LocationFilter { provider, metro, country, kind }, &req).await
        }
        .await,
    )
}

#[server(endpoint = "catalog/quote_options")]
pub async fn get_quote_options() -> Result<QuoteOptions, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::quote_options(require(Perm::PortalView).await?.db()).await }.await)
}

#[server(endpoint = "quotes/preview")]
pub async fn preview_quote(input: QuoteInput) -> Result<QuotePreview, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let ctx = require(Perm::PortalView).await?;
            let preview = ssr::preview(ctx.db(), &input).await?.0;
            Ok(QuotePreview { can_save: ctx.can(Perm::QuoteCreate), ..preview })
        }
        .await,
    )
}

#[server(endpoint = "quotes/create")]
pub async fn create_quote(
    offering_id: String,
    a_endpoint_id: String,
    b_endpoint_id: String,
    bandwidth_mbps: String,
    term_months: String,
    est_usage_gb: String,
) -> Result<QuoteRow, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let ctx = require(Perm::QuoteCreate).await?;
            let input =
                QuoteInput { offering_id, a_endpoint_id, b_endpoint_id, bandwidth_mbps, term_months, est_usage_gb };
            let q = ssr::create(&ctx, &input).await?;
            leptos_axum::redirect(&format!("/portal/quotes/{}", q.id));
            Ok(q)
        }
        .await,
    )
}

#[server(endpoint = "quotes/list")]
pub async fn list_quotes(cursor: Option<String>) -> Result<Page<QuoteRow>, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            ssr::list_quotes(&require(Perm::PortalView).await?, &crate::core::page::PageRequest::new(cursor)).await
        }
        .await,
    )
}

#[server(endpoint = "quotes/get")]
pub async fn get_quote(quote_id: String) -> Result<QuoteRow, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let ctx = require(Perm::PortalView).await?;
            let q = ssr::tenant_quote(&ctx, &quote_id).await?;
            let row = ssr::quote_row(ctx.db(), q).await?;
            Ok(QuoteRow { can_order: ctx.can(Perm::OrderPlace) && writable(&ctx), ..row })
        }
        .await,
    )
}

/// One page of the catalog's endpoints, A–Z by name.
#[server(endpoint = "catalog/admin/endpoints")]
pub async fn admin_endpoints(cursor: Option<String>) -> Result<Page<EndpointRow>, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let ctx = require(Perm::CatalogManage).await?;
            ssr::endpoints_page(ctx.db(), &crate::core::page::PageRequest::new(cursor)).await
        }
        .await,
    )
}

#[server(endpoint = "catalog/admin/set_endpoint")]
pub async fn set_endpoint(endpoint_id: String, active: Option<String>, capacity_mbps: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let ctx = require(Perm::CatalogManage).await?;
            let cap = capacity_mbps
                .trim()
                .parse::<i64>()
                .map_err(|_| AppError::field("capacity_mbps", "Enter the port capacity in Mbps."))?;
            ssr::set_endpoint(&ctx, &endpoint_id, active.is_some_and(|v| v == "on" || v == "true"), cap).await
        }
        .await,
    )
}

#[server(endpoint = "pricing/books")]
pub async fn list_price_books() -> Result<Vec<PriceBookRow>, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::price_books(require(Perm::CatalogManage).await?.db()).await }.await)
}

#[server(endpoint = "pricing/entries")]
pub async fn price_book_entries(price_book_id: String) -> Result<Vec<PriceEntryRow>, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::price_book_entries(require(Perm::CatalogManage).await?.db(), &price_book_id).await }.await)
}

#[server(endpoint = "pricing/publish")]
pub async fn publish_price_version(
    region: String,
    effective_from: String,
    adjust_percent: String,
    note: String,
) -> Result<PriceBookRow, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let ctx = require(Perm::CatalogManage).await?;
            ssr::publish_version(&ctx, &region, &effective_from, &adjust_percent, &note).await
        }
        .await,
    )
}
