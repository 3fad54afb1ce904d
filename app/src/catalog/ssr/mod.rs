//! Catalog services, by concern: the shared readers (endpoints and offerings as
//! serviceability facts, batched name lookups) here; browsing and pricing in [`browse`];
//! saved quotes in [`quotes`]; platform administration of the catalog and price books in
//! [`admin`].
mod admin;
mod browse;
mod quotes;

pub use admin::*;
pub use browse::*;
pub use quotes::*;

use std::collections::HashMap;

use entity::{endpoint, location, offering, provider};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::service::{EndpointFacts, OfferingFacts, mbps_label};
use super::{EndpointRow, OfferingRow};
use crate::error::AppError;

/// Days a quote stays valid.
pub const QUOTE_VALID_DAYS: i64 = 30;

/// A JSON list kept in a TEXT column. Corrupt stored data is an error naming the row and
/// column, never an empty list (which would quietly make a product or port unsellable).
pub(crate) fn json_vec<T: serde::de::DeserializeOwned>(
    table: &str,
    id: &str,
    column: &str,
    s: &str,
) -> Result<Vec<T>, AppError> {
    serde_json::from_str(s).map_err(|e| AppError::corrupt(table, id, format!("{column}: {e}")))
}

pub fn offering_facts(o: &offering::Model) -> Result<OfferingFacts, AppError> {
    let list = |column: &str, s: &str| json_vec::<String>("offerings", &o.id, column, s);
    let bws = |column: &str, s: &str| json_vec::<i64>("offerings", &o.id, column, s);
    let terms = |column: &str, s: &str| json_vec::<u32>("offerings", &o.id, column, s);
    Ok(OfferingFacts {
        key: o.key.clone(),
        name: o.name.clone(),
        kind: o.kind.clone(),
        a_kinds: list("a_kinds", &o.a_kinds)?,
        b_kinds: list("b_kinds", &o.b_kinds)?,
        bandwidths_mbps: bws("bandwidths_mbps", &o.bandwidths_mbps)?,
        terms_months: terms("terms_months", &o.terms_months)?,
    })
}

/// Endpoint, its provider and location, as one row.
pub struct Loaded {
    pub endpoint: endpoint::Model,
    pub provider: provider::Model,
    pub location: location::Model,
}

impl Loaded {
    fn bandwidths(&self) -> Result<Vec<i64>, AppError> {
        json_vec("endpoints", &self.endpoint.id, "bandwidths_mbps", &self.endpoint.bandwidths_mbps)
    }

    pub fn facts(&self) -> Result<EndpointFacts, AppError> {
        Ok(EndpointFacts {
            id: self.endpoint.id.clone(),
            name: self.endpoint.name.clone(),
            kind: self.endpoint.kind.clone(),
            provider_key: self.provider.key.clone(),
            provider_kind: self.provider.kind.clone(),
            bandwidths_mbps: self.bandwidths()?,
            capacity_mbps: self.endpoint.capacity_mbps,
            used_mbps: self.endpoint.used_mbps,
            active: self.endpoint.active,
        })
    }

    pub fn label(&self) -> String {
        format!("{} · {} ({})", self.endpoint.name, self.location.metro, self.location.facility)
    }

    pub fn row(&self) -> Result<EndpointRow, AppError> {
        Ok(EndpointRow {
            id: self.endpoint.id.clone(),
            name: self.endpoint.name.clone(),
            kind: self.endpoint.kind.clone(),
            provider: self.provider.name.clone(),
            provider_key: self.provider.key.clone(),
            location_key: self.location.key.clone(),
            facility: self.location.facility.clone(),
            metro: self.location.metro.clone(),
            country: self.location.country.clone(),
            region: self.location.region.clone(),
            cloud_region: self.endpoint.cloud_region.clone(),
            bandwidths: self.bandwidths()?.into_iter().map(mbps_label).collect(),
            free_mbps: (self.endpoint.capacity_mbps - self.endpoint.used_mbps).max(0),
            capacity_mbps: self.endpoint.capacity_mbps,
            active: self.endpoint.active,
        })
    }
}

/// Every endpoint with its provider and location.
pub async fn load_endpoints(db: &impl ConnectionTrait) -> Result<Vec<Loaded>, AppError> {
    let providers: HashMap<String, provider::Model> =
        provider::Entity::find().all(db).await?.into_iter().map(|p| (p.id.clone(), p)).collect();
    let locations: HashMap<String, location::Model> =
        location::Entity::find().all(db).await?.into_iter().map(|l| (l.id.clone(), l)).collect();
    let mut out = Vec::new();
    for e in endpoint::Entity::find().order_by_asc(endpoint::Column::Name).all(db).await? {
        if let (Some(p), Some(l)) = (providers.get(&e.provider_id), locations.get(&e.location_id)) {
            out.push(Loaded { endpoint: e, provider: p.clone(), location: l.clone() });
        }
    }
    out.sort_by(|a, b| (&a.location.metro, &a.endpoint.name).cmp(&(&b.location.metro, &b.endpoint.name)));
    Ok(out)
}

/// One page of endpoints, A–Z by name: three statements (total, rows, and their providers
/// and locations by `is_in`) whatever the catalog's size.
pub async fn endpoints_page(
    db: &impl ConnectionTrait,
    req: &crate::core::page::PageRequest,
) -> Result<crate::core::page::Page<EndpointRow>, AppError> {
    use crate::core::page::Keyset;
    let page = Keyset::<endpoint::Entity>::by_text(endpoint::Column::Name, endpoint::Column::Id)
        .page(db, endpoint::Entity::find(), req)
        .await?;
    let providers: HashMap<String, provider::Model> = provider::Entity::find()
        .filter(provider::Column::Id.is_in(page.items.iter().map(|e| e.provider_id.clone())))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    let locations: HashMap<String, location::Model> = location::Entity::find()
        .filter(location::Column::Id.is_in(page.items.iter().map(|e| e.location_id.clone())))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id.clone(), l))
        .collect();
    let mut items = Vec::with_capacity(page.items.len());
    for e in page.items {
        let (Some(p), Some(l)) = (providers.get(&e.provider_id), locations.get(&e.location_id)) else {
            return Err(AppError::internal(
                "catalog",
                format!("endpoint {} names a provider or location that does not exist", e.id),
            ));
        };
        items.push(Loaded { endpoint: e, provider: p.clone(), location: l.clone() }.row()?);
    }
    Ok(crate::core::page::Page { items, page_info: page.page_info })
}

/// The bandwidths an endpoint sells (corrupt stored data is an error naming the row).
pub fn endpoint_bandwidths(e: &endpoint::Model) -> Result<Vec<i64>, AppError> {
    json_vec("endpoints", &e.id, "bandwidths_mbps", &e.bandwidths_mbps)
}

/// One page of locations as stored, by key (the API's list).
pub async fn location_page(
    db: &impl ConnectionTrait,
    req: &crate::core::page::PageRequest,
) -> Result<crate::core::page::Page<location::Model>, AppError> {
    crate::core::page::Keyset::<location::Entity>::by_text(location::Column::Key, location::Column::Id)
        .page(db, location::Entity::find(), req)
        .await
}

/// One page of endpoints as stored, A–Z by name, optionally at one location (the API's list).
pub async fn endpoint_model_page(
    db: &impl ConnectionTrait,
    location_id: Option<String>,
    req: &crate::core::page::PageRequest,
) -> Result<crate::core::page::Page<endpoint::Model>, AppError> {
    let mut q = endpoint::Entity::find();
    if let Some(l) = location_id {
        q = q.filter(endpoint::Column::LocationId.eq(l));
    }
    crate::core::page::Keyset::<endpoint::Entity>::by_text(endpoint::Column::Name, endpoint::Column::Id)
        .page(db, q, req)
        .await
}

/// Every offering, A–Z by name (a short list: the products sold).
pub async fn offerings(db: &impl ConnectionTrait) -> Result<Vec<offering::Model>, AppError> {
    Ok(offering::Entity::find().order_by_asc(offering::Column::Name).all(db).await?)
}

pub async fn load_endpoint(db: &impl ConnectionTrait, id: &str) -> Result<Option<Loaded>, AppError> {
    let Some(e) = endpoint::Entity::find_by_id(id.to_string()).one(db).await? else { return Ok(None) };
    let p = provider::Entity::find_by_id(e.provider_id.clone()).one(db).await?;
    let l = location::Entity::find_by_id(e.location_id.clone()).one(db).await?;
    Ok(match (p, l) {
        (Some(provider), Some(location)) => Some(Loaded { endpoint: e, provider, location }),
        _ => None,
    })
}

pub fn offering_row(o: &offering::Model) -> Result<OfferingRow, AppError> {
    let f = offering_facts(o)?;
    Ok(OfferingRow {
        id: o.id.clone(),
        key: o.key.clone(),
        name: o.name.clone(),
        kind: o.kind.clone(),
        bandwidths: f.bandwidths_mbps.clone(),
        terms: f.terms_months.clone(),
        usage_based: o.usage_based,
        composite: o.composite,
    })
}

/// The offerings and endpoints (with provider and location) that a set of rows refers
/// to, loaded in four queries however many rows there are.
#[derive(Default)]
pub struct CatalogNames {
    offerings: HashMap<String, offering::Model>,
    endpoints: HashMap<String, Loaded>,
}

impl CatalogNames {
    pub async fn load(
        db: &impl ConnectionTrait,
        offering_ids: impl IntoIterator<Item = String>,
        endpoint_ids: impl IntoIterator<Item = String>,
    ) -> Result<Self, AppError> {
        let mut offering_ids: Vec<String> = offering_ids.into_iter().collect();
        offering_ids.sort();
        offering_ids.dedup();
        let mut endpoint_ids: Vec<String> = endpoint_ids.into_iter().collect();
        endpoint_ids.sort();
        endpoint_ids.dedup();
        if offering_ids.is_empty() && endpoint_ids.is_empty() {
            return Ok(Self::default());
        }
        let offerings = offering::Entity::find()
            .filter(offering::Column::Id.is_in(offering_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|o| (o.id.clone(), o))
            .collect();
        let eps = endpoint::Entity::find().filter(endpoint::Column::Id.is_in(endpoint_ids)).all(db).await?;
        let provider_ids: Vec<String> = eps.iter().map(|e| e.provider_id.clone()).collect();
        let location_ids: Vec<String> = eps.iter().map(|e| e.location_id.clone()).collect();
        let providers: HashMap<String, provider::Model> = provider::Entity::find()
            .filter(provider::Column::Id.is_in(provider_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        let locations: HashMap<String, location::Model> = location::Entity::find()
            .filter(location::Column::Id.is_in(location_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|l| (l.id.clone(), l))
            .collect();
        let endpoints = eps
            .into_iter()
            .filter_map(|e| {
                let provider = providers.get(&e.provider_id)?.clone();
                let location = locations.get(&e.location_id)?.clone();
                Some((e.id.clone(), Loaded { endpoint: e, provider, location }))
            })
            .collect();
        Ok(CatalogNames { offerings, endpoints })
    }

    pub fn offering(&self, id: &str) -> Option<&offering::Model> {
        self.offerings.get(id)
    }

    pub fn endpoint(&self, id: &str) -> Option<&Loaded> {
        self.endpoints.get(id)
    }

    /// "Name · Metro (Facility)", or a placeholder naming a missing endpoint.
    pub fn endpoint_label(&self, id: &str) -> String {
        self.endpoint(id).map(|l| l.label()).unwrap_or_else(|| format!("(endpoint {id} no longer in the catalog)"))
    }
}
