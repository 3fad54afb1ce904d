//! Browsing the catalog and pricing connections (previews; nothing is saved here).
use std::collections::BTreeMap;

use chrono::Utc;
use entity::{offering, price_book, price_entry};
use rand::Rng;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::{Loaded, load_endpoint, load_endpoints, offering_facts, offering_row};
use crate::catalog::money::format as money;
use crate::catalog::pricing::{LineItem, Price, in_force, price, term_discount_bps};
use crate::catalog::service::{check, mbps_label};
use crate::catalog::*;
use crate::error::{AppError, FieldErrors};

/// The locations browser: one page of facilities (A–Z by metro) with the endpoints that
/// match the filters. Seven statements whatever the catalog's size: the total and the page
/// of locations, their endpoints and providers (by `is_in`), the products, and the metro
/// and country choices for the filter bar.
pub async fn locations(
    db: &DatabaseConnection,
    f: &LocationFilter,
    req: &crate::core::page::PageRequest,
) -> Result<LocationsView, AppError> {
    use std::collections::HashMap;

    use entity::{endpoint, location, provider};
    use sea_orm::{Condition, QuerySelect, sea_query::Query};

    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let (want_provider, want_metro, want_country, want_kind) =
        (given(&f.provider), given(&f.metro), given(&f.country), given(&f.kind));
    let providers_all = provider::Entity::find().order_by_asc(provider::Column::Name).all(db).await?;
    let provider_id = match &want_provider {
        Some(key) => match providers_all.iter().find(|p| &p.key == key) {
            Some(p) => Some(p.id.clone()),
            // An unknown provider matches nothing (not everything).
            None => Some(String::new()),
        },
        None => None,
    };
    // Endpoints that match the endpoint filters, as a subquery for their locations.
    let mut endpoint_cond = Condition::all();
    if let Some(id) = &provider_id {
        endpoint_cond = endpoint_cond.add(endpoint::Column::ProviderId.eq(id.clone()));
    }
    if let Some(k) = &want_kind {
        endpoint_cond = endpoint_cond.add(endpoint::Column::Kind.eq(k.clone()));
    }
    let mut select = location::Entity::find().filter(
        location::Column::Id.in_subquery(
            Query::select()
                .column(endpoint::Column::LocationId)
                .from(endpoint::Entity)
                .cond_where(endpoint_cond)
                .to_owned(),
        ),
    );
    if let Some(m) = &want_metro {
        select = select.filter(location::Column::Metro.eq(m.clone()));
    }
    if let Some(c) = &want_country {
        select = select.filter(location::Column::Country.eq(c.clone()));
    }
    let page = crate::core::page::Keyset::<location::Entity>::by_text(location::Column::Metro, location::Column::Id)
        .page(db, select, req)
        .await?;
    let endpoints = endpoint::Entity::find()
        .filter(endpoint::Column::LocationId.is_in(page.items.iter().map(|l| l.id.clone())))
        .order_by_asc(endpoint::Column::Name)
        .all(db)
        .await?;
    let providers: HashMap<String, provider::Model> = providers_all.iter().map(|p| (p.id.clone(), p.clone())).collect();
    let offerings = offering::Entity::find().order_by_asc(offering::Column::Name).all(db).await?;
    let facts =
        offerings.iter().map(|o| Ok((o.name.clone(), offering_facts(o)?))).collect::<Result<Vec<_>, AppError>>()?;
    let distinct = |col: location::Column| {
        location::Entity::find().select_only().column(col).distinct().order_by_asc(col).into_tuple::<String>().all(db)
    };
    let metros = distinct(location::Column::Metro).await?;
    let countries = distinct(location::Column::Country).await?;
    let mut rows = Vec::with_capacity(page.items.len());
    for loc in page.items {
        let here: Vec<&endpoint::Model> = endpoints.iter().filter(|e| e.location_id == loc.id).collect();
        let mut shown = Vec::new();
        for e in &here {
            let matches = provider_id.as_ref().is_none_or(|p| &e.provider_id == p)
                && want_kind.as_ref().is_none_or(|k| &e.kind == k);
            if !matches {
                continue;
            }
            let p = providers.get(&e.provider_id).ok_or_else(|| {
                AppError::internal("catalog", format!("endpoint {} names a provider that does not exist", e.id))
            })?;
            shown.push(Loaded { endpoint: (*e).clone(), provider: p.clone(), location: loc.clone() }.row()?);
        }
        // What can be reached from this location: products with one end available here.
        let reachable = facts
            .iter()
            .filter(|(_, f)| here.iter().any(|e| f.a_kinds.contains(&e.kind) || f.b_kinds.contains(&e.kind)))
            .map(|(name, _)| name.clone())
            .collect();
        rows.push(LocationRow {
            key: loc.key,
            facility: loc.facility,
            operator: loc.operator,
            metro: loc.metro,
            country: loc.country,
            region: loc.region,
            endpoints: shown,
            reachable,
        });
    }
    Ok(LocationsView {
        rows,
        page_info: page.page_info,
        providers: providers_all.into_iter().map(|p| (p.key, p.name)).collect(),
        metros,
        countries,
    })
}

/// What the quote builder offers: products and the endpoints open for orders.
pub async fn quote_options(db: &DatabaseConnection) -> Result<QuoteOptions, AppError> {
    let offerings = offering::Entity::find()
        .order_by_asc(offering::Column::Name)
        .all(db)
        .await?
        .iter()
        .map(offering_row)
        .collect::<Result<_, _>>()?;
    let endpoints =
        load_endpoints(db).await?.iter().filter(|l| l.endpoint.active).map(|l| l.row()).collect::<Result<_, _>>()?;
    Ok(QuoteOptions { offerings, endpoints })
}

/// The price book in force for a region and currency.
pub async fn book_in_force(db: &impl ConnectionTrait, region: &str) -> Result<Option<price_book::Model>, AppError> {
    let books = price_book::Entity::find().filter(price_book::Column::Region.eq(region)).all(db).await?;
    let now = Utc::now().timestamp();
    Ok(in_force(&books, now, |b| b.effective_from.timestamp()).cloned())
}

pub(super) fn parse_input(input: &QuoteInput) -> Result<(i64, u32, i64), AppError> {
    let mut fields = FieldErrors::new();
    if input.offering_id.trim().is_empty() {
        fields.insert("offering_id".into(), "Choose a product.".into());
    }
    if input.a_endpoint_id.trim().is_empty() {
        fields.insert("a_endpoint_id".into(), "Choose the A-end.".into());
    }
    if input.b_endpoint_id.trim().is_empty() {
        fields.insert("b_endpoint_id".into(), "Choose the B-end.".into());
    }
    let bw = input.bandwidth_mbps.trim().parse::<i64>().ok().filter(|b| *b > 0);
    if bw.is_none() {
        fields.insert("bandwidth_mbps".into(), "Choose a bandwidth.".into());
    }
    let term = input.term_months.trim().parse::<u32>().ok().filter(|t| *t > 0 && *t <= 120);
    if term.is_none() {
        fields.insert("term_months".into(), "Choose a term.".into());
    }
    let usage = if input.est_usage_gb.trim().is_empty() {
        Some(0)
    } else {
        input.est_usage_gb.trim().parse::<i64>().ok().filter(|u| (0..=10_000_000).contains(u))
    };
    if usage.is_none() {
        fields.insert("est_usage_gb".into(), "Enter whole gigabytes per month (0 or more).".into());
    }
    if let Some(e) = AppError::from_fields(fields) {
        return Err(e);
    }
    Ok((bw.unwrap_or_default(), term.unwrap_or_default(), usage.unwrap_or_default()))
}

/// Price and check a connection without saving anything.
pub async fn preview(
    db: &impl ConnectionTrait,
    input: &QuoteInput,
) -> Result<(QuotePreview, Option<(price_book::Model, offering::Model)>), AppError> {
    let (bw, term, usage) = parse_input(input)?;
    let o = offering::Entity::find_by_id(input.offering_id.clone())
        .one(db)
        .await?
        .ok_or_else(|| AppError::field("offering_id", "Choose a product."))?;
    let a = load_endpoint(db, &input.a_endpoint_id)
        .await?
        .ok_or_else(|| AppError::field("a_endpoint_id", "Choose the A-end."))?;
    let b = load_endpoint(db, &input.b_endpoint_id)
        .await?
        .ok_or_else(|| AppError::field("b_endpoint_id", "Choose the B-end."))?;
    let mut reasons = check(&offering_facts(&o)?, &a.facts()?, &b.facts()?, bw, term);
    // The A-end's location decides the price region.
    let region = a.location.region.clone();
    let book = book_in_force(db, &region).await?;
    let mut out = QuotePreview {
        serviceable: false,
        reasons: Vec::new(),
        offering: o.name.clone(),
        a_end: a.label(),
        b_end: b.label(),
        bandwidth: mbps_label(bw),
        term_months: term,
        region: region.clone(),
        currency: String::new(),
        price_book: String::new(),
        lines: Vec::new(),
        nrc: String::new(),
        monthly: String::new(),
        total: String::new(),
        nrc_minor: 0,
        monthly_minor: 0,
        total_minor: 0,
        can_save: false,
    };
    let Some(book) = book else {
        reasons.push(format!("There is no price book in force for {region}."));
        out.reasons = reasons;
        return Ok((out, None));
    };
    let entry = price_entry::Entity::find()
        .filter(price_entry::Column::PriceBookId.eq(&book.id))
        .filter(price_entry::Column::OfferingId.eq(&o.id))
        .filter(price_entry::Column::BandwidthMbps.eq(bw))
        .one(db)
        .await?;
    out.currency = book.currency.clone();
    out.price_book = format!(
        "{} {} v{} (from {})",
        book.region,
        book.currency,
        book.version,
        book.effective_from.format("%Y-%m-%d")
    );
    let Some(entry) = entry else {
        if reasons.is_empty() {
            reasons.push(format!("{} at {} has no price in {}.", o.name, mbps_label(bw), out.price_book));
        }
        out.reasons = reasons;
        return Ok((out, Some((book, o))));
    };
    // Corrupt stored discounts are an error naming the book, never "no discount".
    let corrupt = |e: String| AppError::corrupt("price_books", &book.id, format!("term_discounts_bps: {e}"));
    let discounts: BTreeMap<u32, i64> = serde_json::from_str::<BTreeMap<String, i64>>(&book.term_discounts_bps)
        .map_err(|e| corrupt(e.to_string()))?
        .into_iter()
        .map(|(k, v)| k.parse::<u32>().map(|k| (k, v)).map_err(|_| corrupt(format!("term {k:?} is not a number"))))
        .collect::<Result<_, _>>()?;
    let priced = price(
        Price { nrc_minor: entry.nrc_minor, mrc_minor: entry.mrc_minor, usage_per_gb_minor: entry.usage_per_gb_minor },
        term,
        term_discount_bps(&discounts, term),
        if o.usage_based { usage } else { 0 },
    );
    out.serviceable = reasons.is_empty();
    out.reasons = reasons;
    out.lines = priced.lines.iter().map(|l| PreviewLine::of(l, &book.currency)).collect();
    out.nrc = money(priced.nrc_minor, &book.currency);
    out.monthly = money(priced.monthly_minor, &book.currency);
    out.total = money(priced.total_minor, &book.currency);
    out.nrc_minor = priced.nrc_minor;
    out.monthly_minor = priced.monthly_minor;
    out.total_minor = priced.total_minor;
    Ok((out, Some((book, o))))
}

impl PreviewLine {
    pub fn of(l: &LineItem, currency: &str) -> Self {
        PreviewLine {
            label: l.label.clone(),
            period: if l.period == "one_time" { "one-time".into() } else { "monthly".into() },
            amount: money(l.amount_minor, currency),
        }
    }
}

pub fn number(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::thread_rng();
    let code: String = (0..8).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
    format!("{prefix}-{}-{code}", Utc::now().format("%y%m"))
}

pub fn new_order_number() -> String {
    number("PB")
}
