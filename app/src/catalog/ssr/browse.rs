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

/// The locations browser.
pub async fn locations(db: &DatabaseConnection, f: &LocationFilter) -> Result<LocationsView, AppError> {
    let all = load_endpoints(db).await?;
    let offerings = offering::Entity::find().order_by_asc(offering::Column::Name).all(db).await?;
    let mut providers: Vec<(String, String)> =
        all.iter().map(|l| (l.provider.key.clone(), l.provider.name.clone())).collect();
    providers.sort();
    providers.dedup();
    let mut metros: Vec<String> = all.iter().map(|l| l.location.metro.clone()).collect();
    metros.sort();
    metros.dedup();
    let mut countries: Vec<String> = all.iter().map(|l| l.location.country.clone()).collect();
    countries.sort();
    countries.dedup();
    let want =
        |v: &Option<String>, x: &str| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).is_none_or(|s| s == x);
    let mut by_location: BTreeMap<(String, String), Vec<&Loaded>> = BTreeMap::new();
    for l in &all {
        if want(&f.provider, &l.provider.key)
            && want(&f.metro, &l.location.metro)
            && want(&f.country, &l.location.country)
            && want(&f.kind, &l.endpoint.kind)
        {
            by_location.entry((l.location.metro.clone(), l.location.key.clone())).or_default().push(l);
        }
    }
    let mut rows = Vec::new();
    for ((_, _), eps) in by_location {
        let loc = &eps[0].location;
        let here: Vec<String> =
            all.iter().filter(|l| l.location.id == loc.id).map(|l| l.endpoint.kind.clone()).collect();
        // What can be reached from this location: offerings with one end available here.
        let mut reachable = Vec::new();
        for o in &offerings {
            let f = offering_facts(o)?;
            if here.iter().any(|k| f.a_kinds.contains(k) || f.b_kinds.contains(k)) {
                reachable.push(o.name.clone());
            }
        }
        rows.push(LocationRow {
            key: loc.key.clone(),
            facility: loc.facility.clone(),
            operator: loc.operator.clone(),
            metro: loc.metro.clone(),
            country: loc.country.clone(),
            region: loc.region.clone(),
            endpoints: eps.iter().map(|l| l.row()).collect::<Result<_, _>>()?,
            reachable,
        });
    }
    Ok(LocationsView { rows, providers, metros, countries })
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
    let discounts: BTreeMap<u32, i64> = serde_json::from_str::<BTreeMap<String, i64>>(&book.term_discounts_bps)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| k.parse().ok().map(|k: u32| (k, v)))
        .collect();
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
