//! Catalog services: endpoints and offerings as serviceability facts, the price book
//! in force, quote previews and saved quotes.
use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, Utc};
use entity::{endpoint, location, offering, price_book, price_entry, provider, quote};
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};

use super::money::format as money;
use super::pricing::{LineItem, Price, in_force, price, term_discount_bps};
use super::service::{EndpointFacts, OfferingFacts, check, mbps_label};
use super::*;
use crate::audit::ssr::{NewEvent, record};
use crate::auth::ssr::{Ctx, new_id};
use crate::error::{AppError, FieldErrors};

/// Days a quote stays valid.
pub const QUOTE_VALID_DAYS: i64 = 30;

fn json_vec<T: serde::de::DeserializeOwned>(s: &str) -> Vec<T> {
    serde_json::from_str(s).unwrap_or_default()
}

pub fn offering_facts(o: &offering::Model) -> OfferingFacts {
    OfferingFacts {
        key: o.key.clone(),
        name: o.name.clone(),
        kind: o.kind.clone(),
        a_kinds: json_vec(&o.a_kinds),
        b_kinds: json_vec(&o.b_kinds),
        bandwidths_mbps: json_vec(&o.bandwidths_mbps),
        terms_months: json_vec(&o.terms_months),
    }
}

/// Endpoint, its provider and location, as one row.
pub struct Loaded {
    pub endpoint: endpoint::Model,
    pub provider: provider::Model,
    pub location: location::Model,
}

impl Loaded {
    pub fn facts(&self) -> EndpointFacts {
        EndpointFacts {
            id: self.endpoint.id.clone(),
            name: self.endpoint.name.clone(),
            kind: self.endpoint.kind.clone(),
            provider_key: self.provider.key.clone(),
            provider_kind: self.provider.kind.clone(),
            bandwidths_mbps: json_vec(&self.endpoint.bandwidths_mbps),
            capacity_mbps: self.endpoint.capacity_mbps,
            used_mbps: self.endpoint.used_mbps,
            active: self.endpoint.active,
        }
    }

    pub fn label(&self) -> String {
        format!("{} · {} ({})", self.endpoint.name, self.location.metro, self.location.facility)
    }

    pub fn row(&self) -> EndpointRow {
        EndpointRow {
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
            bandwidths: json_vec::<i64>(&self.endpoint.bandwidths_mbps).into_iter().map(mbps_label).collect(),
            free_mbps: (self.endpoint.capacity_mbps - self.endpoint.used_mbps).max(0),
            capacity_mbps: self.endpoint.capacity_mbps,
            active: self.endpoint.active,
        }
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

pub async fn load_endpoint(db: &impl ConnectionTrait, id: &str) -> Result<Option<Loaded>, AppError> {
    let Some(e) = endpoint::Entity::find_by_id(id.to_string()).one(db).await? else { return Ok(None) };
    let p = provider::Entity::find_by_id(e.provider_id.clone()).one(db).await?;
    let l = location::Entity::find_by_id(e.location_id.clone()).one(db).await?;
    Ok(match (p, l) {
        (Some(provider), Some(location)) => Some(Loaded { endpoint: e, provider, location }),
        _ => None,
    })
}

pub fn offering_row(o: &offering::Model) -> OfferingRow {
    let f = offering_facts(o);
    OfferingRow {
        id: o.id.clone(),
        key: o.key.clone(),
        name: o.name.clone(),
        kind: o.kind.clone(),
        bandwidths: f.bandwidths_mbps.clone(),
        terms: f.terms_months.clone(),
        usage_based: o.usage_based,
        composite: o.composite,
    }
}

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
        let reachable = offerings
            .iter()
            .filter(|o| {
                let f = offering_facts(o);
                here.iter().any(|k| f.a_kinds.contains(k) || f.b_kinds.contains(k))
            })
            .map(|o| o.name.clone())
            .collect();
        rows.push(LocationRow {
            key: loc.key.clone(),
            facility: loc.facility.clone(),
            operator: loc.operator.clone(),
            metro: loc.metro.clone(),
            country: loc.country.clone(),
            region: loc.region.clone(),
            endpoints: eps.iter().map(|l| l.row()).collect(),
            reachable,
        });
    }
    Ok(LocationsView { rows, providers, metros, countries })
}

/// The price book in force for a region and currency.
pub async fn book_in_force(db: &impl ConnectionTrait, region: &str) -> Result<Option<price_book::Model>, AppError> {
    let books = price_book::Entity::find().filter(price_book::Column::Region.eq(region)).all(db).await?;
    let now = Utc::now().timestamp();
    Ok(in_force(&books, now, |b| b.effective_from.timestamp()).cloned())
}

fn parse_input(input: &QuoteInput) -> Result<(i64, u32, i64), AppError> {
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
    let mut reasons = check(&offering_facts(&o), &a.facts(), &b.facts(), bw, term);
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

/// Save a quote with the prices it was made with.
pub async fn create(ctx: &Ctx, input: &QuoteInput) -> Result<QuoteRow, AppError> {
    let t = ctx.tenant()?;
    let (preview, priced) = preview(ctx.db(), input).await?;
    if !preview.serviceable {
        return Err(AppError::Validation {
            message: format!("This connection cannot be offered: {}", preview.reasons.join(" ")),
            fields: FieldErrors::new(),
        });
    }
    let Some((book, o)) = priced else { return Err(AppError::Conflict("No price book is in force.".into())) };
    let (bw, term, usage) = parse_input(input)?;
    let now = Utc::now();
    let id = new_id();
    let lines = serde_json::to_string(&preview.lines).map_err(|e| AppError::internal("quote lines", e))?;
    let txn = ctx.db().begin().await?;
    let q = quote::ActiveModel {
        id: Set(id.clone()),
        tenant_id: Set(t.id.clone()),
        number: Set(number("Q")),
        offering_id: Set(o.id.clone()),
        a_endpoint_id: Set(input.a_endpoint_id.clone()),
        b_endpoint_id: Set(input.b_endpoint_id.clone()),
        bandwidth_mbps: Set(bw),
        term_months: Set(term as i32),
        currency: Set(book.currency.clone()),
        price_book_id: Set(book.id.clone()),
        nrc_minor: Set(preview.nrc_minor),
        monthly_minor: Set(preview.monthly_minor),
        total_minor: Set(preview.total_minor),
        est_usage_gb: Set(if o.usage_based { usage } else { 0 }),
        line_items: Set(lines),
        valid_until: Set(now + Duration::days(QUOTE_VALID_DAYS)),
        status: Set("open".into()),
        created_by: Set(ctx.user.email.clone()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    record(
        &txn,
        NewEvent::tenant(
            &t.id,
            ctx.actor(),
            "quote.created",
            "quote",
            Some(id),
            serde_json::json!({"number": q.number, "total": preview.total, "offering": o.key}),
        ),
    )
    .await?;
    txn.commit().await?;
    quote_row(ctx.db(), q).await
}

pub async fn quote_row(db: &impl ConnectionTrait, q: quote::Model) -> Result<QuoteRow, AppError> {
    let o = offering::Entity::find_by_id(q.offering_id.clone()).one(db).await?;
    let a = load_endpoint(db, &q.a_endpoint_id).await?;
    let b = load_endpoint(db, &q.b_endpoint_id).await?;
    let expired = q.valid_until < Utc::now();
    Ok(QuoteRow {
        status: if q.status == "open" && expired { "expired".into() } else { q.status.clone() },
        id: q.id,
        number: q.number,
        offering: o.map(|o| o.name).unwrap_or_default(),
        a_end: a.map(|l| l.label()).unwrap_or_default(),
        b_end: b.map(|l| l.label()).unwrap_or_default(),
        bandwidth: mbps_label(q.bandwidth_mbps),
        term_months: q.term_months as u32,
        currency: q.currency.clone(),
        nrc: money(q.nrc_minor, &q.currency),
        monthly: money(q.monthly_minor, &q.currency),
        total: money(q.total_minor, &q.currency),
        total_minor: q.total_minor,
        lines: serde_json::from_str(&q.line_items).unwrap_or_default(),
        valid_until: q.valid_until.format("%Y-%m-%d").to_string(),
        created_by: q.created_by,
        created_at: q.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
    })
}

/// A quote of the caller's tenant (NotFound for anyone else's).
pub async fn tenant_quote(ctx: &Ctx, id: &str) -> Result<quote::Model, AppError> {
    let t = ctx.tenant()?;
    quote::Entity::find_by_id(id.to_string())
        .filter(quote::Column::TenantId.eq(&t.id))
        .one(ctx.db())
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn list_quotes(ctx: &Ctx) -> Result<Vec<QuoteRow>, AppError> {
    let t = ctx.tenant()?;
    let mut out = Vec::new();
    for q in quote::Entity::find()
        .filter(quote::Column::TenantId.eq(&t.id))
        .order_by_desc(quote::Column::CreatedAt)
        .all(ctx.db())
        .await?
    {
        out.push(quote_row(ctx.db(), q).await?);
    }
    Ok(out)
}

pub async fn quote_options(db: &DatabaseConnection) -> Result<QuoteOptions, AppError> {
    let offerings =
        offering::Entity::find().order_by_asc(offering::Column::Name).all(db).await?.iter().map(offering_row).collect();
    let endpoints = load_endpoints(db).await?.iter().filter(|l| l.endpoint.active).map(|l| l.row()).collect();
    Ok(QuoteOptions { offerings, endpoints })
}

// ----- platform administration ---------------------------------------------------------

pub async fn set_endpoint(ctx: &Ctx, id: &str, active: bool, capacity_mbps: i64) -> Result<(), AppError> {
    if !(0..=10_000_000).contains(&capacity_mbps) {
        return Err(AppError::field("capacity_mbps", "Enter the port capacity in Mbps."));
    }
    let txn = ctx.db().begin().await?;
    let e = endpoint::Entity::find_by_id(id.to_string()).one(&txn).await?.ok_or(AppError::NotFound)?;
    if capacity_mbps < e.used_mbps {
        return Err(AppError::field("capacity_mbps", format!("{} Mbps is already in use.", e.used_mbps)));
    }
    let name = e.name.clone();
    let mut am: endpoint::ActiveModel = e.into();
    am.active = Set(active);
    am.capacity_mbps = Set(capacity_mbps);
    am.update(&txn).await?;
    record(
        &txn,
        NewEvent::platform(
            ctx.actor(),
            "catalog.endpoint_updated",
            "endpoint",
            Some(id.into()),
            true,
            serde_json::json!({"name": name, "active": active, "capacity_mbps": capacity_mbps}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn price_books(db: &DatabaseConnection) -> Result<Vec<PriceBookRow>, AppError> {
    let books = price_book::Entity::find()
        .order_by_asc(price_book::Column::Region)
        .order_by_desc(price_book::Column::Version)
        .all(db)
        .await?;
    let now = Utc::now().timestamp();
    let mut out = Vec::new();
    for b in &books {
        let same: Vec<&price_book::Model> =
            books.iter().filter(|x| x.region == b.region && x.currency == b.currency).collect();
        let current = in_force(&same, now, |x| x.effective_from.timestamp()).map(|x| x.id.clone());
        let entries =
            price_entry::Entity::find().filter(price_entry::Column::PriceBookId.eq(&b.id)).all(db).await?.len();
        out.push(PriceBookRow {
            id: b.id.clone(),
            region: b.region.clone(),
            currency: b.currency.clone(),
            version: b.version,
            effective_from: b.effective_from.format("%Y-%m-%d").to_string(),
            state: if current.as_deref() == Some(b.id.as_str()) {
                "in force".into()
            } else if b.effective_from.timestamp() > now {
                "scheduled".into()
            } else {
                "superseded".into()
            },
            entries,
            note: b.note.clone(),
            created_by: b.created_by.clone(),
        });
    }
    Ok(out)
}

pub async fn price_book_entries(db: &DatabaseConnection, id: &str) -> Result<Vec<PriceEntryRow>, AppError> {
    let b = price_book::Entity::find_by_id(id.to_string()).one(db).await?.ok_or(AppError::NotFound)?;
    let offerings: HashMap<String, offering::Model> =
        offering::Entity::find().all(db).await?.into_iter().map(|o| (o.id.clone(), o)).collect();
    let mut rows: Vec<PriceEntryRow> = price_entry::Entity::find()
        .filter(price_entry::Column::PriceBookId.eq(&b.id))
        .all(db)
        .await?
        .into_iter()
        .map(|e| PriceEntryRow {
            offering: offerings.get(&e.offering_id).map(|o| o.name.clone()).unwrap_or_default(),
            bandwidth: mbps_label(e.bandwidth_mbps),
            bandwidth_mbps: e.bandwidth_mbps,
            nrc: money(e.nrc_minor, &b.currency),
            mrc: money(e.mrc_minor, &b.currency),
            usage_per_gb: e.usage_per_gb_minor.map(|u| money(u, &b.currency)),
        })
        .collect();
    rows.sort_by(|a, b| (&a.offering, a.bandwidth_mbps).cmp(&(&b.offering, b.bandwidth_mbps)));
    Ok(rows)
}

/// Parse "4.5" or "-2" percent into basis points.
pub fn parse_percent(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('%').trim();
    let (neg, s) = s.strip_prefix('-').map(|r| (true, r)).unwrap_or((false, s.strip_prefix('+').unwrap_or(s)));
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() && frac.is_empty()
        || frac.len() > 2
        || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let bps = whole.parse::<i64>().unwrap_or(0).checked_mul(100)? + format!("{frac:0<2}").parse::<i64>().ok()?;
    Some(if neg { -bps } else { bps })
}

/// Publish a new version of a region's book: the prices in force on its date adjusted by a percentage,
/// effective from a date (today or later). Quotes keep the prices they were made with.
pub async fn publish_version(
    ctx: &Ctx,
    region: &str,
    effective_from: &str,
    adjust_percent: &str,
    note: &str,
) -> Result<PriceBookRow, AppError> {
    let mut fields = FieldErrors::new();
    let date = chrono::NaiveDate::parse_from_str(effective_from.trim(), "%Y-%m-%d").ok();
    let today = Utc::now().date_naive();
    match date {
        None => {
            fields.insert("effective_from".into(), "Enter a date like 2027-01-01.".into());
        }
        Some(d) if d < today => {
            fields.insert(
                "effective_from".into(),
                "Price changes take effect today or later; history is not rewritten.".into(),
            );
        }
        _ => {}
    }
    let bps = parse_percent(adjust_percent).filter(|b| (-5_000..=10_000).contains(b));
    if bps.is_none() {
        fields.insert("adjust_percent".into(), "Enter a change between -50 and 100 percent, like 4.5.".into());
    }
    let note = note.trim();
    if note.is_empty() || note.chars().count() > 200 {
        fields.insert("note".into(), "Say what changed (up to 200 characters).".into());
    }
    let versions = price_book::Entity::find().filter(price_book::Column::Region.eq(region)).all(ctx.db()).await?;
    let next_version = versions.iter().map(|b| b.version).max().unwrap_or(0) + 1;
    // The new prices start from the version that would be in force on the new date.
    let on_date = date.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc().timestamp()).unwrap_or(i64::MAX);
    let latest = in_force(&versions, on_date, |b| b.effective_from.timestamp())
        .or_else(|| versions.iter().min_by_key(|b| b.effective_from))
        .cloned();
    if latest.is_none() {
        fields.insert("region".into(), "Choose a region that has a price book.".into());
    }
    if let Some(e) = AppError::from_fields(fields) {
        return Err(e);
    }
    let (Some(latest), Some(date), Some(bps)) = (latest, date, bps) else {
        return Err(AppError::internal("publish", "unreachable"));
    };
    let effective = date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_else(Utc::now);
    let id = new_id();
    let txn = ctx.db().begin().await?;
    price_book::ActiveModel {
        id: Set(id.clone()),
        region: Set(latest.region.clone()),
        currency: Set(latest.currency.clone()),
        version: Set(next_version),
        effective_from: Set(effective),
        term_discounts_bps: Set(latest.term_discounts_bps.clone()),
        note: Set(note.to_string()),
        created_by: Set(ctx.user.email.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    let adjust = |v: i64| v + super::money::apply_bps(v, bps);
    for e in price_entry::Entity::find().filter(price_entry::Column::PriceBookId.eq(&latest.id)).all(&txn).await? {
        price_entry::ActiveModel {
            id: Set(new_id()),
            price_book_id: Set(id.clone()),
            offering_id: Set(e.offering_id),
            bandwidth_mbps: Set(e.bandwidth_mbps),
            nrc_minor: Set(adjust(e.nrc_minor)),
            mrc_minor: Set(adjust(e.mrc_minor)),
            usage_per_gb_minor: Set(e.usage_per_gb_minor.map(adjust)),
        }
        .insert(&txn)
        .await?;
    }
    record(
        &txn,
        NewEvent::platform(ctx.actor(), "pricing.version_published", "price_book", Some(id.clone()), true, serde_json::json!({"region": latest.region, "currency": latest.currency, "version": next_version, "based_on": latest.version, "effective_from": effective_from, "adjust_bps": bps, "note": note})),
    )
    .await?;
    txn.commit().await?;
    price_books(ctx.db()).await?.into_iter().find(|b| b.id == id).ok_or(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::parse_percent;

    #[test]
    fn percentages_parse_to_basis_points() {
        assert_eq!(parse_percent("4.5"), Some(450));
        assert_eq!(parse_percent("-2"), Some(-200));
        assert_eq!(parse_percent("+0.25%"), Some(25));
        assert_eq!(parse_percent("10"), Some(1000));
        assert_eq!(parse_percent("1.234"), None);
        assert_eq!(parse_percent("abc"), None);
        assert_eq!(parse_percent(""), None);
    }
}

/// Providers and locations, for the catalog forms.
pub async fn refs(db: &DatabaseConnection) -> Result<CatalogRefs, AppError> {
    let providers = provider::Entity::find().order_by_asc(provider::Column::Name).all(db).await?;
    let locations = location::Entity::find().order_by_asc(location::Column::Metro).all(db).await?;
    Ok(CatalogRefs {
        providers: providers.into_iter().map(|p| (p.id, format!("{} ({})", p.name, p.kind))).collect(),
        locations: locations.into_iter().map(|l| (l.id, format!("{} — {}", l.metro, l.facility))).collect(),
    })
}

fn parse_coordinate(s: &str, limit: f64) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite() && v.abs() <= limit)
}

pub async fn add_location(ctx: &Ctx, input: NewLocation) -> Result<(), AppError> {
    let mut fields = FieldErrors::new();
    let key = input.key.trim().to_lowercase();
    if key.len() < 2 || key.len() > 40 || !key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        fields.insert("key".into(), "2–40 lower-case letters, digits or hyphens, like eqx-ld8.".into());
    } else if location::Entity::find().filter(location::Column::Key.eq(&key)).one(ctx.db()).await?.is_some() {
        fields.insert("key".into(), "Another location uses this key.".into());
    }
    for (f, v) in [("facility", &input.facility), ("operator", &input.operator), ("metro", &input.metro)] {
        if v.trim().is_empty() || v.chars().count() > 120 {
            fields.insert(f.into(), "Required (up to 120 characters).".into());
        }
    }
    let country = input.country.trim().to_uppercase();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
        fields.insert("country".into(), "Two-letter ISO country code, like GB.".into());
    }
    if !["EMEA", "NA", "APAC"].contains(&input.region.as_str()) {
        fields.insert("region".into(), "Choose a pricing region.".into());
    }
    let lat = parse_coordinate(&input.latitude, 90.0);
    if lat.is_none() {
        fields.insert("latitude".into(), "A latitude between -90 and 90.".into());
    }
    let lon = parse_coordinate(&input.longitude, 180.0);
    if lon.is_none() {
        fields.insert("longitude".into(), "A longitude between -180 and 180.".into());
    }
    if let Some(e) = AppError::from_fields(fields) {
        return Err(e);
    }
    let id = new_id();
    let txn = ctx.db().begin().await?;
    location::ActiveModel {
        id: Set(id.clone()),
        key: Set(key.clone()),
        facility: Set(input.facility.trim().into()),
        operator: Set(input.operator.trim().into()),
        metro: Set(input.metro.trim().into()),
        country: Set(country),
        region: Set(input.region.clone()),
        latitude: Set(lat.unwrap_or_default()),
        longitude: Set(lon.unwrap_or_default()),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    record(
        &txn,
        NewEvent::platform(
            ctx.actor(),
            "catalog.location_added",
            "location",
            Some(id),
            true,
            serde_json::json!({"key": key, "facility": input.facility.trim()}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Parse "50, 100, 1G, 10 Gbps" into Mbps.
pub fn parse_bandwidths(s: &str) -> Option<Vec<i64>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let lower = part.to_lowercase().replace(' ', "");
        let (num, mult) = if let Some(n) = lower.strip_suffix("gbps").or_else(|| lower.strip_suffix('g')) {
            (n.to_string(), 1000)
        } else {
            (lower.strip_suffix("mbps").or_else(|| lower.strip_suffix('m')).unwrap_or(&lower).to_string(), 1)
        };
        let v = num.parse::<i64>().ok()?.checked_mul(mult)?;
        if v <= 0 || v > 400_000 {
            return None;
        }
        out.push(v);
    }
    out.sort_unstable();
    out.dedup();
    (!out.is_empty()).then_some(out)
}

pub async fn add_endpoint(ctx: &Ctx, input: NewEndpointInput) -> Result<(), AppError> {
    let mut fields = FieldErrors::new();
    let p = provider::Entity::find_by_id(input.provider_id.clone()).one(ctx.db()).await?;
    if p.is_none() {
        fields.insert("provider_id".into(), "Choose a provider.".into());
    }
    let l = location::Entity::find_by_id(input.location_id.clone()).one(ctx.db()).await?;
    if l.is_none() {
        fields.insert("location_id".into(), "Choose a location.".into());
    }
    if !["cloud_onramp", "dc_port", "exchange_port", "partner"].contains(&input.kind.as_str()) {
        fields.insert("kind".into(), "Choose a kind.".into());
    }
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        fields.insert("name".into(), "Required (up to 120 characters).".into());
    }
    let bws = parse_bandwidths(&input.bandwidths);
    if bws.is_none() {
        fields.insert("bandwidths".into(), "List bandwidths like 50, 100, 1G, 10G.".into());
    }
    let cap = input.capacity_mbps.trim().parse::<i64>().ok().filter(|c| (1..=10_000_000).contains(c));
    if cap.is_none() {
        fields.insert("capacity_mbps".into(), "Enter the capacity in Mbps.".into());
    }
    if let Some(e) = AppError::from_fields(fields) {
        return Err(e);
    }
    let id = new_id();
    let txn = ctx.db().begin().await?;
    endpoint::ActiveModel {
        id: Set(id.clone()),
        provider_id: Set(input.provider_id.clone()),
        location_id: Set(input.location_id.clone()),
        kind: Set(input.kind.clone()),
        name: Set(name.into()),
        cloud_region: Set(Some(input.cloud_region.trim().to_string()).filter(|r| !r.is_empty())),
        bandwidths_mbps: Set(
            serde_json::to_string(&bws.unwrap_or_default()).map_err(|e| AppError::internal("bandwidths", e))?
        ),
        capacity_mbps: Set(cap.unwrap_or_default()),
        used_mbps: Set(0),
        active: Set(true),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    record(
        &txn,
        NewEvent::platform(
            ctx.actor(),
            "catalog.endpoint_added",
            "endpoint",
            Some(id),
            true,
            serde_json::json!({"name": name, "kind": input.kind}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod bandwidth_tests {
    use super::parse_bandwidths;

    #[test]
    fn bandwidth_lists_parse_with_units() {
        assert_eq!(parse_bandwidths("50, 100, 1G, 10 Gbps, 100"), Some(vec![50, 100, 1000, 10000]));
        assert_eq!(parse_bandwidths("500Mbps"), Some(vec![500]));
        assert_eq!(parse_bandwidths(""), None);
        assert_eq!(parse_bandwidths("fast"), None);
        assert_eq!(parse_bandwidths("0"), None);
    }
}
