//! Platform administration: endpoints, locations and price-book versions.
use crate::core::db::BeginWrite;
use std::collections::HashMap;

use chrono::Utc;
use entity::{endpoint, location, offering, price_book, price_entry, provider};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};

use crate::audit::ssr::{NewEvent, record};
use crate::auth::ssr::{Ctx, new_id};
use crate::catalog::money::format as money;
use crate::catalog::pricing::in_force;
use crate::catalog::service::mbps_label;
use crate::catalog::*;
use crate::error::{AppError, FieldErrors};

pub async fn set_endpoint(ctx: &Ctx, id: &str, active: bool, capacity_mbps: i64) -> Result<(), AppError> {
    if !(0..=10_000_000).contains(&capacity_mbps) {
        return Err(AppError::field("capacity_mbps", "Enter the port capacity in Mbps."));
    }
    let txn = ctx.db().begin_write().await?;
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
    let txn = ctx.db().begin_write().await?;
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
    let adjust = |v: i64| v + crate::catalog::money::apply_bps(v, bps);
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
    let txn = ctx.db().begin_write().await?;
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
    let txn = ctx.db().begin_write().await?;
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
