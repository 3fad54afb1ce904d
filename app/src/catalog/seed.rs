//! The demo catalog: public cloud on-ramp locations and the bandwidths those clouds sell,
//! data-centre and exchange ports, the product offerings, and demo list prices.
use chrono::{TimeZone, Utc};
use entity::{endpoint, location, offering, price_book, price_entry, provider};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, DatabaseConnection, DatabaseTransaction, EntityTrait, PaginatorTrait,
    TransactionTrait,
};

use crate::auth::ssr::new_id;
use crate::error::AppError;

const PROVIDERS: [(&str, &str, &str); 8] = [
    ("aws", "Amazon Web Services", "cloud"),
    ("azure", "Microsoft Azure", "cloud"),
    ("gcp", "Google Cloud", "cloud"),
    ("equinix", "Equinix", "datacentre"),
    ("digital-realty", "Digital Realty", "datacentre"),
    ("linx", "LINX", "exchange"),
    ("de-cix", "DE-CIX", "exchange"),
    ("patchbay", "Patchbay Fabric", "carrier"),
];

/// (key, facility, operator, metro, country, region, latitude, longitude)
type Loc = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, f64, f64);
const LOCATIONS: [Loc; 11] = [
    ("eqx-ld5", "Equinix LD5, Slough", "Equinix", "London", "GB", "EMEA", 51.5225, -0.6295),
    ("thn", "Telehouse North, Docklands", "Telehouse", "London", "GB", "EMEA", 51.5115, -0.0010),
    ("eqx-fr5", "Equinix FR5, Frankfurt", "Equinix", "Frankfurt", "DE", "EMEA", 50.0996, 8.6283),
    (
        "ixn-fra",
        "Digital Realty FRA (Interxion Frankfurt)",
        "Digital Realty",
        "Frankfurt",
        "DE",
        "EMEA",
        50.1098,
        8.7301,
    ),
    ("eqx-am3", "Equinix AM3, Science Park", "Equinix", "Amsterdam", "NL", "EMEA", 52.3567, 4.9516),
    ("eqx-dc2", "Equinix DC2, Ashburn", "Equinix", "Ashburn", "US", "NA", 39.0160, -77.4590),
    ("eqx-ny5", "Equinix NY5, Secaucus", "Equinix", "New York", "US", "NA", 40.7795, -74.0696),
    ("eqx-sv5", "Equinix SV5, San Jose", "Equinix", "Silicon Valley", "US", "NA", 37.3719, -121.9747),
    ("eqx-sg1", "Equinix SG1, Ayer Rajah", "Equinix", "Singapore", "SG", "APAC", 1.2966, 103.7876),
    ("eqx-ty2", "Equinix TY2, Tokyo", "Equinix", "Tokyo", "JP", "APAC", 35.6285, 139.7411),
    ("eqx-sy3", "Equinix SY3, Alexandria", "Equinix", "Sydney", "AU", "APAC", -33.9155, 151.1930),
];

/// AWS Direct Connect hosted connections: 50 Mbps to 10 Gbps.
const AWS_BW: &[i64] = &[50, 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000];
/// Azure ExpressRoute circuits: 50 Mbps to 10 Gbps.
const AZURE_BW: &[i64] = &[50, 100, 200, 500, 1000, 2000, 5000, 10000];
/// Google Cloud Partner Interconnect: 50 Mbps to 50 Gbps.
const GCP_BW: &[i64] = &[50, 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000, 20000, 50000];
const PORT_1G: &[i64] = &[50, 100, 200, 500, 1000];
const PORT_10G: &[i64] = &[100, 200, 500, 1000, 2000, 5000, 10000];
const PORT_100G: &[i64] = &[1000, 2000, 5000, 10000, 20000, 50000, 100000];
const IX_BW: &[i64] = &[1000, 10000, 100000];

/// (location, AWS region, Azure peering name + region, Google region)
type Ramps = (&'static str, Option<&'static str>, Option<(&'static str, &'static str)>, Option<&'static str>);
const ONRAMPS: [Ramps; 11] = [
    ("eqx-ld5", Some("eu-west-2"), Some(("London", "uksouth")), Some("europe-west2")),
    ("thn", Some("eu-west-2"), Some(("London2", "ukwest")), None),
    ("eqx-fr5", Some("eu-central-1"), Some(("Frankfurt", "germanywestcentral")), Some("europe-west3")),
    ("ixn-fra", None, None, None),
    ("eqx-am3", Some("eu-central-1"), Some(("Amsterdam", "westeurope")), Some("europe-west4")),
    ("eqx-dc2", Some("us-east-1"), Some(("Washington DC", "eastus")), Some("us-east4")),
    ("eqx-ny5", Some("us-east-1"), Some(("New York", "eastus")), None),
    ("eqx-sv5", Some("us-west-1"), Some(("Silicon Valley", "westus")), Some("us-west2")),
    ("eqx-sg1", Some("ap-southeast-1"), Some(("Singapore", "southeastasia")), Some("asia-southeast1")),
    ("eqx-ty2", Some("ap-northeast-1"), Some(("Tokyo", "japaneast")), Some("asia-northeast1")),
    ("eqx-sy3", Some("ap-southeast-2"), Some(("Sydney", "australiaeast")), Some("australia-southeast1")),
];

/// (key, name, kind, a kinds, b kinds, bandwidths, terms, usage based, composite)
type Off = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [i64],
    &'static [i64],
    bool,
    bool,
);
const OFFERINGS: [Off; 4] = [
    (
        "cloud-dc",
        "Cloud Connect (cloud ↔ data centre)",
        "cloud_dc",
        &["dc_port", "exchange_port"],
        &["cloud_onramp"],
        &[50, 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000, 20000, 50000],
        &[1, 12, 24, 36],
        false,
        false,
    ),
    (
        "dc-dc",
        "Data Centre Interconnect (data centre ↔ data centre)",
        "dc_dc",
        &["dc_port", "exchange_port"],
        &["dc_port", "exchange_port"],
        &[50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000],
        &[1, 12, 24, 36],
        false,
        false,
    ),
    (
        "cloud-cloud",
        "Cloud Router (cloud ↔ cloud)",
        "cloud_cloud",
        &["cloud_onramp"],
        &["cloud_onramp"],
        &[50, 100, 200, 500, 1000, 2000, 5000, 10000],
        &[1, 12, 24, 36],
        false,
        true,
    ),
    (
        "partner",
        "Partner Interconnect (usage-based)",
        "partner",
        &["dc_port"],
        &["cloud_onramp", "exchange_port"],
        &[50, 100, 200, 500, 1000],
        &[1, 12],
        true,
        false,
    ),
];

/// Demo monthly list prices in US cents, by the largest bandwidth (Mbps) they cover,
/// before product and region factors.
const BASE_MRC_CENTS: [(i64, i64); 13] = [
    (50, 9_500),
    (100, 15_000),
    (200, 22_000),
    (300, 28_000),
    (400, 33_000),
    (500, 38_000),
    (1_000, 60_000),
    (2_000, 95_000),
    (5_000, 165_000),
    (10_000, 240_000),
    (20_000, 420_000),
    (50_000, 780_000),
    (100_000, 1_200_000),
];

fn base_mrc_cents(mbps: i64) -> i64 {
    BASE_MRC_CENTS.iter().find(|(upto, _)| mbps <= *upto).map(|(_, c)| *c).unwrap_or(1_200_000)
}

fn scale(cents: i64, per_mille: i64) -> i64 {
    (cents * per_mille + 500) / 1000
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, AppError> {
    serde_json::to_string(v).map_err(|e| AppError::internal("seed json", e))
}

/// One endpoint to create.
struct NewEndpoint<'a> {
    provider_id: &'a str,
    location_id: &'a str,
    kind: &'a str,
    name: String,
    cloud_region: Option<&'a str>,
    bandwidths: &'a [i64],
    capacity: i64,
    used: i64,
    active: bool,
}

async fn add_endpoint(txn: &DatabaseTransaction, e: NewEndpoint<'_>) -> Result<(), AppError> {
    endpoint::ActiveModel {
        id: Set(new_id()),
        provider_id: Set(e.provider_id.into()),
        location_id: Set(e.location_id.into()),
        kind: Set(e.kind.into()),
        name: Set(e.name),
        cloud_region: Set(e.cloud_region.map(str::to_owned)),
        bandwidths_mbps: Set(json(&e.bandwidths)?),
        capacity_mbps: Set(e.capacity),
        used_mbps: Set(e.used),
        active: Set(e.active),
        created_at: Set(Utc::now()),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Create the catalog unless providers already exist; returns whether it created anything.
pub async fn seed_catalog(db: &DatabaseConnection) -> Result<bool, AppError> {
    if provider::Entity::find().count(db).await? > 0 {
        return Ok(false);
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    let mut pid = std::collections::HashMap::new();
    for (key, name, kind) in PROVIDERS {
        let id = new_id();
        provider::ActiveModel {
            id: Set(id.clone()),
            key: Set(key.into()),
            name: Set(name.into()),
            kind: Set(kind.into()),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        pid.insert(key, id);
    }
    let p = |k: &str| pid.get(k).cloned().unwrap_or_default();
    let mut lid = std::collections::HashMap::new();
    for (key, facility, operator, metro, country, region, lat, lon) in LOCATIONS {
        let id = new_id();
        location::ActiveModel {
            id: Set(id.clone()),
            key: Set(key.into()),
            facility: Set(facility.into()),
            operator: Set(operator.into()),
            metro: Set(metro.into()),
            country: Set(country.into()),
            region: Set(region.into()),
            latitude: Set(lat),
            longitude: Set(lon),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        lid.insert(key, (id, metro, facility, operator));
    }
    for (i, (key, aws, azure, gcp)) in ONRAMPS.iter().enumerate() {
        let Some((loc, metro, facility, operator)) = lid.get(key).cloned() else { continue };
        let short = key.trim_start_matches("eqx-").to_uppercase();
        if let Some(region) = aws {
            add_endpoint(
                &txn,
                NewEndpoint {
                    provider_id: &p("aws"),
                    location_id: &loc,
                    kind: "cloud_onramp",
                    name: format!("AWS Direct Connect — {metro} ({short})"),
                    cloud_region: Some(region),
                    bandwidths: AWS_BW,
                    capacity: 100_000,
                    used: 20_000 + 5_000 * i as i64,
                    active: true,
                },
            )
            .await?;
        }
        if let Some((peering, region)) = azure {
            add_endpoint(
                &txn,
                NewEndpoint {
                    provider_id: &p("azure"),
                    location_id: &loc,
                    kind: "cloud_onramp",
                    name: format!("Azure ExpressRoute — {peering}"),
                    cloud_region: Some(region),
                    bandwidths: AZURE_BW,
                    capacity: 100_000,
                    used: 15_000 + 4_000 * i as i64,
                    active: true,
                },
            )
            .await?;
        }
        if let Some(region) = gcp {
            add_endpoint(
                &txn,
                NewEndpoint {
                    provider_id: &p("gcp"),
                    location_id: &loc,
                    kind: "cloud_onramp",
                    name: format!("Google Cloud Interconnect — {metro} ({short})"),
                    cloud_region: Some(region),
                    bandwidths: GCP_BW,
                    capacity: 200_000,
                    used: 30_000,
                    active: true,
                },
            )
            .await?;
        }
        // Data-centre ports of the facility's operator.
        let dc = if operator == "Equinix" { p("equinix") } else { p("digital-realty") };
        let site = facility.split(',').next().unwrap_or(facility);
        add_endpoint(
            &txn,
            NewEndpoint {
                provider_id: &dc,
                location_id: &loc,
                kind: "dc_port",
                name: format!("{site} — 10G port A"),
                cloud_region: None,
                bandwidths: PORT_10G,
                capacity: 10_000,
                used: 2_000 + 500 * i as i64,
                active: true,
            },
        )
        .await?;
        add_endpoint(
            &txn,
            NewEndpoint {
                provider_id: &dc,
                location_id: &loc,
                kind: "dc_port",
                name: format!("{site} — 100G port"),
                cloud_region: None,
                bandwidths: PORT_100G,
                capacity: 100_000,
                used: 10_000,
                active: true,
            },
        )
        .await?;
        add_endpoint(
            &txn,
            NewEndpoint {
                provider_id: &dc,
                location_id: &loc,
                kind: "dc_port",
                name: format!("{site} — 1G port (nearly full)"),
                cloud_region: None,
                bandwidths: PORT_1G,
                capacity: 1_000,
                used: 900,
                active: true,
            },
        )
        .await?;
    }
    // Internet exchanges.
    for (key, ix, name) in [
        ("eqx-ld5", "linx", "LINX LON1"),
        ("thn", "linx", "LINX LON1"),
        ("eqx-fr5", "de-cix", "DE-CIX Frankfurt"),
        ("ixn-fra", "de-cix", "DE-CIX Frankfurt"),
    ] {
        if let Some((loc, _, facility, _)) = lid.get(key).cloned() {
            let site = facility.split(',').next().unwrap_or(facility);
            add_endpoint(
                &txn,
                NewEndpoint {
                    provider_id: &p(ix),
                    location_id: &loc,
                    kind: "exchange_port",
                    name: format!("{name} — {site}"),
                    cloud_region: None,
                    bandwidths: IX_BW,
                    capacity: 100_000,
                    used: 40_000,
                    active: true,
                },
            )
            .await?;
        }
    }
    if let Some((loc, _, _, _)) = lid.get("eqx-am3").cloned() {
        add_endpoint(
            &txn,
            NewEndpoint {
                provider_id: &p("equinix"),
                location_id: &loc,
                kind: "dc_port",
                name: "AM3 — 10G port B (decommissioned)".into(),
                cloud_region: None,
                bandwidths: PORT_10G,
                capacity: 10_000,
                used: 0,
                active: false,
            },
        )
        .await?;
    }

    let mut oid = Vec::new();
    for (key, name, kind, a, b, bws, terms, usage, composite) in OFFERINGS {
        let id = new_id();
        offering::ActiveModel {
            id: Set(id.clone()),
            key: Set(key.into()),
            name: Set(name.into()),
            kind: Set(kind.into()),
            a_kinds: Set(json(&a)?),
            b_kinds: Set(json(&b)?),
            bandwidths_mbps: Set(json(&bws)?),
            terms_months: Set(json(&terms)?),
            usage_based: Set(usage),
            composite: Set(composite),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        oid.push((id, key, bws, usage));
    }

    // Demo list prices: (region, currency, per-mille factor, usage cents per GB).
    let jan_2026 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap_or(now);
    let jan_2027 = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).single().unwrap_or(now);
    let books = [
        ("EMEA", "EUR", 950, 2, 1, jan_2026, "Demo list prices (version 1)"),
        ("EMEA", "EUR", 988, 2, 2, jan_2027, "Demo list prices (version 2, from 2027: +4%)"),
        ("NA", "USD", 1000, 2, 1, jan_2026, "Demo list prices (version 1)"),
        ("APAC", "USD", 1250, 3, 1, jan_2026, "Demo list prices (version 1)"),
    ];
    let discounts = json(&serde_json::json!({"1": 0, "12": 500, "24": 1000, "36": 1500}))?;
    for (region, currency, factor, usage_cents, version, from, note) in books {
        let book = new_id();
        price_book::ActiveModel {
            id: Set(book.clone()),
            region: Set(region.into()),
            currency: Set(currency.into()),
            version: Set(version),
            effective_from: Set(from),
            term_discounts_bps: Set(discounts.clone()),
            note: Set(note.into()),
            created_by: Set("seed".into()),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        for (offering_id, key, bws, usage) in &oid {
            let product = match *key {
                "cloud-cloud" => 1600,
                "dc-dc" => 900,
                "partner" => 500,
                _ => 1000,
            };
            for bw in bws.iter() {
                let mrc = scale(scale(base_mrc_cents(*bw), product), factor);
                let nrc = scale(if *bw >= 10_000 { 50_000 } else { 25_000 }, factor);
                price_entry::ActiveModel {
                    id: Set(new_id()),
                    price_book_id: Set(book.clone()),
                    offering_id: Set(offering_id.clone()),
                    bandwidth_mbps: Set(*bw),
                    nrc_minor: Set(nrc),
                    mrc_minor: Set(mrc),
                    usage_per_gb_minor: Set(usage.then_some(usage_cents)),
                }
                .insert(&txn)
                .await?;
            }
        }
    }
    txn.commit().await?;
    Ok(true)
}
