//! The demo catalog: real cloud on-ramp locations and the bandwidths those clouds sell,
//! data-centre and exchange ports, the product offerings and demo list prices.
//!
//! The facilities, cloud regions and bandwidth tiers follow the providers' published lists:
//! AWS Direct Connect locations and their associated Regions, Azure ExpressRoute peering
//! locations and their local Azure regions, and the metros where Google Cloud Partner
//! Interconnect is sold. On-ramps are *hosted* connections reached over the facility
//! operator's fabric, so where a cloud's meet-me room is in a neighbouring building of the
//! same metro (Azure Amsterdam is in Equinix AM5, for instance), the on-ramp is listed at our
//! facility and the row's comment says where the cloud really is. Capacities, utilisation and
//! all prices are invented for the demo.
use crate::core::db::BeginWrite;
use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use entity::{endpoint, location, offering, price_book, price_entry, provider};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, DatabaseConnection, DatabaseTransaction, EntityTrait, PaginatorTrait,
};

use crate::auth::ssr::new_id;
use crate::error::AppError;

// ----- providers -------------------------------------------------------------------------

/// `(key, name, kind)`. Telehouse is here because it sells the ports at Telehouse North Two.
const PROVIDERS: &[(&str, &str, &str)] = &[
    ("aws", "Amazon Web Services", "cloud"),
    ("azure", "Microsoft Azure", "cloud"),
    ("gcp", "Google Cloud", "cloud"),
    ("equinix", "Equinix", "datacentre"),
    ("digital-realty", "Digital Realty", "datacentre"),
    ("telehouse", "Telehouse", "datacentre"),
    ("linx", "LINX", "exchange"),
    ("de-cix", "DE-CIX", "exchange"),
    ("patchbay", "Patchbay Fabric", "carrier"),
];

// ----- locations and their data-centre ports ---------------------------------------------

/// A facility, and the ports its operator sells there.
struct Site {
    key: &'static str,
    facility: &'static str,
    /// Short name used in port names, e.g. `Equinix LD5`.
    short: &'static str,
    /// Provider key of the operator; the operator's name is stored on the location.
    operator: &'static str,
    metro: &'static str,
    /// ISO 3166-1 alpha-2.
    country: &'static str,
    /// Pricing region: `EMEA`, `NA` or `APAC`.
    region: &'static str,
    latitude: f64,
    longitude: f64,
    ports: &'static [Port],
}

/// A data-centre port: its speed, how much of it is already sold, and whether it takes new connections.
struct Port {
    gbps: i64,
    used_mbps: i64,
    active: bool,
}

const fn port(gbps: i64, used_mbps: i64) -> Port {
    Port { gbps, used_mbps, active: true }
}

/// A port being taken out of service: listed, but closed to new connections.
const fn retired(gbps: i64) -> Port {
    Port { gbps, used_mbps: 0, active: false }
}

/// Bandwidths sold through a port of each speed.
const PORT_1G_MBPS: &[i64] = &[50, 100, 200, 500, 1000];
const PORT_10G_MBPS: &[i64] = &[100, 200, 500, 1000, 2000, 5000, 10000];
const PORT_100G_MBPS: &[i64] = &[1000, 2000, 5000, 10000, 20000, 50000, 100000];

/// E.g. `Equinix LD5 — 10G port`.
fn port_name(site: &Site, port: &Port) -> String {
    let status = if port.active { "" } else { " (decommissioned)" };
    format!("{} — {}G port{status}", site.short, port.gbps)
}

fn port_bandwidths(gbps: i64) -> Result<&'static [i64], AppError> {
    match gbps {
        1 => Ok(PORT_1G_MBPS),
        10 => Ok(PORT_10G_MBPS),
        100 => Ok(PORT_100G_MBPS),
        other => Err(AppError::internal("seed", format!("no bandwidth list for a {other}G port"))),
    }
}

// Port names sort 100G, 10G, 1G within a site: the first Equinix port in London can carry
// 10 Gbps, which the quote-and-order walkthroughs rely on.
const SITES: &[Site] = &[
    Site {
        key: "eqx-ld5",
        facility: "Equinix LD5, Slough",
        short: "Equinix LD5",
        operator: "equinix",
        metro: "London",
        country: "GB",
        region: "EMEA",
        latitude: 51.5226,
        longitude: -0.6285,
        ports: &[port(100, 12_000), port(10, 3_000), port(1, 200)],
    },
    Site {
        key: "thn",
        facility: "Telehouse North Two, Docklands",
        short: "Telehouse North Two",
        operator: "telehouse",
        metro: "London",
        country: "GB",
        region: "EMEA",
        latitude: 51.5113,
        longitude: -0.0011,
        ports: &[port(100, 35_000), port(10, 6_500)],
    },
    Site {
        key: "eqx-fr5",
        facility: "Equinix FR5, Frankfurt (Kleyerstraße)",
        short: "Equinix FR5",
        operator: "equinix",
        metro: "Frankfurt",
        country: "DE",
        region: "EMEA",
        latitude: 50.0985,
        longitude: 8.6286,
        // The 1G port is nearly full: 100 Mbps free, so larger connections are refused.
        ports: &[port(100, 22_000), port(10, 4_000), port(1, 900)],
    },
    Site {
        key: "ixn-fra",
        facility: "Digital Realty FRA11 (Interxion Frankfurt campus)",
        short: "Digital Realty FRA11",
        operator: "digital-realty",
        metro: "Frankfurt",
        country: "DE",
        region: "EMEA",
        latitude: 50.1197,
        longitude: 8.7346,
        ports: &[port(100, 8_000), port(10, 2_500)],
    },
    Site {
        key: "eqx-am3",
        facility: "Equinix AM3, Science Park",
        short: "Equinix AM3",
        operator: "equinix",
        metro: "Amsterdam",
        country: "NL",
        region: "EMEA",
        latitude: 52.3565,
        longitude: 4.9522,
        ports: &[port(100, 18_000), port(10, 5_000), retired(10)],
    },
    Site {
        key: "eqx-dc2",
        facility: "Equinix DC2, Ashburn",
        short: "Equinix DC2",
        operator: "equinix",
        metro: "Ashburn",
        country: "US",
        region: "NA",
        latitude: 39.0164,
        longitude: -77.4590,
        ports: &[port(100, 41_000), port(10, 7_000), port(1, 350)],
    },
    Site {
        key: "eqx-ny5",
        facility: "Equinix NY5, Secaucus",
        short: "Equinix NY5",
        operator: "equinix",
        metro: "New York",
        country: "US",
        region: "NA",
        latitude: 40.7786,
        longitude: -74.0716,
        ports: &[port(100, 27_000), port(10, 1_500)],
    },
    Site {
        key: "eqx-sv5",
        facility: "Equinix SV5, San Jose",
        short: "Equinix SV5",
        operator: "equinix",
        metro: "Silicon Valley",
        country: "US",
        region: "NA",
        latitude: 37.2418,
        longitude: -121.7830,
        ports: &[port(100, 16_000), port(10, 4_500), port(1, 100)],
    },
    Site {
        key: "eqx-sg1",
        facility: "Equinix SG1, Ayer Rajah",
        short: "Equinix SG1",
        operator: "equinix",
        metro: "Singapore",
        country: "SG",
        region: "APAC",
        latitude: 1.2966,
        longitude: 103.7870,
        ports: &[port(100, 9_000), port(10, 2_000)],
    },
    Site {
        key: "eqx-ty2",
        facility: "Equinix TY2, Shinagawa",
        short: "Equinix TY2",
        operator: "equinix",
        metro: "Tokyo",
        country: "JP",
        region: "APAC",
        latitude: 35.6217,
        longitude: 139.7487,
        ports: &[port(100, 14_000), port(10, 3_500), port(1, 500)],
    },
    Site {
        key: "eqx-sy3",
        facility: "Equinix SY3, Alexandria",
        short: "Equinix SY3",
        operator: "equinix",
        metro: "Sydney",
        country: "AU",
        region: "APAC",
        latitude: -33.9155,
        longitude: 151.1930,
        ports: &[port(100, 6_000), port(10, 1_000)],
    },
];

// ----- cloud on-ramps ----------------------------------------------------------------------

/// AWS Direct Connect hosted connections: 50 Mbps to 10 Gbps.
const AWS_HOSTED_MBPS: &[i64] = &[50, 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000];
/// Azure ExpressRoute circuits through a provider: 50 Mbps to 10 Gbps.
const EXPRESSROUTE_MBPS: &[i64] = &[50, 100, 200, 500, 1000, 2000, 5000, 10000];
/// Google Cloud Partner Interconnect VLAN attachments: 50 Mbps to 50 Gbps.
const PARTNER_INTERCONNECT_MBPS: &[i64] = &[50, 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000, 20000, 50000];

/// What the fabric can carry to one cloud at one on-ramp (demo figure).
const ONRAMP_CAPACITY_MBPS: i64 = 100_000;

#[derive(Clone, Copy)]
enum Cloud {
    Aws,
    Azure,
    Google,
}

impl Cloud {
    fn provider(self) -> &'static str {
        match self {
            Cloud::Aws => "aws",
            Cloud::Azure => "azure",
            Cloud::Google => "gcp",
        }
    }

    fn service(self) -> &'static str {
        match self {
            Cloud::Aws => "AWS Direct Connect",
            Cloud::Azure => "Azure ExpressRoute",
            Cloud::Google => "Google Cloud Partner Interconnect",
        }
    }

    fn bandwidths(self) -> &'static [i64] {
        match self {
            Cloud::Aws => AWS_HOSTED_MBPS,
            Cloud::Azure => EXPRESSROUTE_MBPS,
            Cloud::Google => PARTNER_INTERCONNECT_MBPS,
        }
    }
}

/// A cloud on-ramp: the cloud, the site it is reached from, its label (the cloud's own name for
/// the location), the cloud region it serves and how much of its capacity is already sold.
struct OnRamp {
    cloud: Cloud,
    site: &'static str,
    label: &'static str,
    region: &'static str,
    used_mbps: i64,
}

const fn ramp(cloud: Cloud, site: &'static str, label: &'static str, region: &'static str, used_mbps: i64) -> OnRamp {
    OnRamp { cloud, site, label, region, used_mbps }
}

const ONRAMPS: &[OnRamp] = &[
    // AWS Direct Connect locations and their associated Regions. AWS lists Equinix AM3 under
    // Europe (Frankfurt), and has no Direct Connect router in Telehouse North Two (its Docklands
    // location is Telehouse West), so there is no AWS on-ramp at `thn`.
    ramp(Cloud::Aws, "eqx-ld5", "London (LD5)", "eu-west-2", 38_000),
    ramp(Cloud::Aws, "eqx-fr5", "Frankfurt (FR5)", "eu-central-1", 44_000),
    ramp(Cloud::Aws, "eqx-am3", "Amsterdam (AM3)", "eu-central-1", 21_000),
    ramp(Cloud::Aws, "eqx-dc2", "Ashburn (DC2)", "us-east-1", 57_000),
    ramp(Cloud::Aws, "eqx-ny5", "New York (NY5)", "us-east-1", 33_000),
    ramp(Cloud::Aws, "eqx-sv5", "Silicon Valley (SV5)", "us-west-1", 29_000),
    // AWS's Singapore Direct Connect location is Equinix SG2, reached from SG1 over Equinix Fabric.
    ramp(Cloud::Aws, "eqx-sg1", "Singapore (SG2)", "ap-southeast-1", 18_000),
    ramp(Cloud::Aws, "eqx-ty2", "Tokyo (TY2)", "ap-northeast-1", 26_000),
    ramp(Cloud::Aws, "eqx-sy3", "Sydney (SY3)", "ap-southeast-2", 15_000),
    // Azure ExpressRoute peering locations, by Microsoft's names, and their local Azure region
    // (New York has none; East US is the nearest).
    ramp(Cloud::Azure, "eqx-ld5", "London", "uksouth", 31_000),
    ramp(Cloud::Azure, "thn", "London2", "uksouth", 12_000),
    // Azure "Frankfurt" is Interxion FRA11; "Frankfurt2" is Equinix FR7, on FR5's campus.
    ramp(Cloud::Azure, "ixn-fra", "Frankfurt", "germanywestcentral", 24_000),
    ramp(Cloud::Azure, "eqx-fr5", "Frankfurt2", "germanywestcentral", 9_000),
    // Peering point Equinix AM5.
    ramp(Cloud::Azure, "eqx-am3", "Amsterdam", "westeurope", 36_000),
    ramp(Cloud::Azure, "eqx-dc2", "Washington DC", "eastus", 48_000),
    ramp(Cloud::Azure, "eqx-ny5", "New York", "eastus", 22_000),
    // Peering point Equinix SV1, next door to SV5.
    ramp(Cloud::Azure, "eqx-sv5", "Silicon Valley", "westus", 27_000),
    ramp(Cloud::Azure, "eqx-sg1", "Singapore", "southeastasia", 19_000),
    // Peering point Equinix TY4.
    ramp(Cloud::Azure, "eqx-ty2", "Tokyo", "japaneast", 17_000),
    // Peering point Equinix SY2, next door to SY3. Nearly full: 4 Gbps left.
    ramp(Cloud::Azure, "eqx-sy3", "Sydney", "australiaeast", 96_000),
    // Google Cloud Partner Interconnect is sold per metro; the region is the Google Cloud region
    // the metro serves (Amsterdam → europe-west4 in Eemshaven, Silicon Valley → us-west2).
    ramp(Cloud::Google, "eqx-ld5", "London", "europe-west2", 23_000),
    ramp(Cloud::Google, "eqx-fr5", "Frankfurt", "europe-west3", 14_000),
    ramp(Cloud::Google, "eqx-am3", "Amsterdam", "europe-west4", 11_000),
    ramp(Cloud::Google, "eqx-dc2", "Ashburn", "us-east4", 39_000),
    ramp(Cloud::Google, "eqx-sv5", "Silicon Valley", "us-west2", 20_000),
    ramp(Cloud::Google, "eqx-sg1", "Singapore", "asia-southeast1", 13_000),
    ramp(Cloud::Google, "eqx-ty2", "Tokyo", "asia-northeast1", 8_000),
    ramp(Cloud::Google, "eqx-sy3", "Sydney", "australia-southeast1", 5_000),
];

// ----- internet exchange ports ---------------------------------------------------------------

/// Bandwidths of an exchange port.
const EXCHANGE_MBPS: &[i64] = &[1000, 10000, 100000];
const EXCHANGE_CAPACITY_MBPS: i64 = 100_000;

/// `(site, exchange provider, exchange name, used Mbps)`.
const EXCHANGE_PORTS: &[(&str, &str, &str, i64)] = &[
    ("eqx-ld5", "linx", "LINX LON1", 40_000),
    ("thn", "linx", "LINX LON1", 52_000),
    ("eqx-fr5", "de-cix", "DE-CIX Frankfurt", 47_000),
    ("ixn-fra", "de-cix", "DE-CIX Frankfurt", 33_000),
];

// ----- offerings ---------------------------------------------------------------------------

/// A product, and its demo price relative to Cloud Connect (per mille).
struct Product {
    key: &'static str,
    name: &'static str,
    kind: &'static str,
    a_kinds: &'static [&'static str],
    b_kinds: &'static [&'static str],
    bandwidths: &'static [i64],
    terms_months: &'static [i64],
    usage_based: bool,
    composite: bool,
    mrc_per_mille: i64,
}

const PRODUCTS: &[Product] = &[
    Product {
        key: "cloud-dc",
        name: "Cloud Connect (cloud ↔ data centre)",
        kind: "cloud_dc",
        a_kinds: &["dc_port", "exchange_port"],
        b_kinds: &["cloud_onramp"],
        bandwidths: &[50, 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000, 20000, 50000],
        terms_months: &[1, 12, 24, 36],
        usage_based: false,
        composite: false,
        mrc_per_mille: 1000,
    },
    Product {
        key: "dc-dc",
        name: "Data Centre Interconnect (data centre ↔ data centre)",
        kind: "dc_dc",
        a_kinds: &["dc_port", "exchange_port"],
        b_kinds: &["dc_port", "exchange_port"],
        bandwidths: &[50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000],
        terms_months: &[1, 12, 24, 36],
        usage_based: false,
        composite: false,
        mrc_per_mille: 900,
    },
    Product {
        key: "cloud-cloud",
        name: "Cloud Router (cloud ↔ cloud)",
        kind: "cloud_cloud",
        a_kinds: &["cloud_onramp"],
        b_kinds: &["cloud_onramp"],
        bandwidths: &[50, 100, 200, 500, 1000, 2000, 5000, 10000],
        terms_months: &[1, 12, 24, 36],
        usage_based: false,
        // Two on-ramp legs and a router between them.
        composite: true,
        mrc_per_mille: 1600,
    },
    Product {
        key: "partner",
        name: "Partner Interconnect (usage-based)",
        kind: "partner",
        a_kinds: &["dc_port"],
        b_kinds: &["cloud_onramp", "exchange_port"],
        bandwidths: &[50, 100, 200, 500, 1000],
        terms_months: &[1, 12],
        usage_based: true,
        composite: false,
        // A lower monthly charge, plus usage per GB.
        mrc_per_mille: 500,
    },
];

// ----- price books -------------------------------------------------------------------------

/// One version of a region's price book.
struct Book {
    region: &'static str,
    currency: &'static str,
    version: i32,
    effective_from: (i32, u32, u32),
    note: &'static str,
    /// Price level of the region relative to North America in USD (per mille).
    region_per_mille: i64,
    /// Change against version 1 of the same book (per mille).
    uplift_per_mille: i64,
    /// Usage charge of usage-based products, minor units per GB.
    usage_per_gb_minor: i64,
}

const BOOKS: &[Book] = &[
    Book {
        region: "EMEA",
        currency: "EUR",
        version: 1,
        effective_from: (2026, 1, 1),
        note: "Demo list prices (version 1)",
        region_per_mille: 950,
        uplift_per_mille: 1000,
        usage_per_gb_minor: 2,
    },
    // Scheduled: shows an effective-dated change (+4%) that is not yet in force.
    Book {
        region: "EMEA",
        currency: "EUR",
        version: 2,
        effective_from: (2027, 1, 1),
        note: "Demo list prices (version 2, from 2027)",
        region_per_mille: 950,
        uplift_per_mille: 1040,
        usage_per_gb_minor: 2,
    },
    Book {
        region: "NA",
        currency: "USD",
        version: 1,
        effective_from: (2026, 1, 1),
        note: "Demo list prices (version 1)",
        region_per_mille: 1000,
        uplift_per_mille: 1000,
        usage_per_gb_minor: 2,
    },
    Book {
        region: "APAC",
        currency: "USD",
        version: 1,
        effective_from: (2026, 1, 1),
        note: "Demo list prices (version 1)",
        region_per_mille: 1250,
        uplift_per_mille: 1000,
        usage_per_gb_minor: 3,
    },
];

/// Basis points off the monthly charge by term (months), the same in every book.
fn term_discounts_bps() -> String {
    serde_json::json!({"1": 0, "12": 500, "24": 1000, "36": 1500}).to_string()
}

/// Demo monthly list prices of Cloud Connect in North America, in US cents, by bandwidth (Mbps).
const BASE_MRC_CENTS: &[(i64, i64)] = &[
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

fn base_mrc_cents(mbps: i64) -> Result<i64, AppError> {
    BASE_MRC_CENTS
        .iter()
        .find(|(tier, _)| *tier == mbps)
        .map(|(_, cents)| *cents)
        .ok_or_else(|| AppError::internal("seed", format!("no base price for {mbps} Mbps")))
}

/// Demo set-up fee in US cents: more for the larger ports.
fn base_nrc_cents(mbps: i64) -> i64 {
    if mbps <= 1_000 {
        25_000
    } else if mbps < 10_000 {
        37_500
    } else {
        50_000
    }
}

/// `amount × factor / 1000`, rounded half up to a whole minor unit (amounts here are positive).
fn per_mille(amount: i64, factor: i64) -> i64 {
    (amount * factor + 500) / 1000
}

/// `(nrc, mrc, usage per GB)` of a product at a bandwidth in a book, in the book's minor units.
fn prices(product: &Product, book: &Book, mbps: i64) -> Result<(i64, i64, Option<i64>), AppError> {
    let mrc = per_mille(per_mille(base_mrc_cents(mbps)?, product.mrc_per_mille), book.region_per_mille);
    let nrc = per_mille(base_nrc_cents(mbps), book.region_per_mille);
    let usage = product.usage_based.then_some(book.usage_per_gb_minor);
    let up = |v: i64| per_mille(v, book.uplift_per_mille);
    Ok((up(nrc), up(mrc), usage.map(up)))
}

// ----- inserting ---------------------------------------------------------------------------

fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|e| AppError::internal("seed", e))
}

/// The id stored for a key earlier in the seed.
fn id_of<'a>(ids: &'a HashMap<&'static str, String>, key: &str) -> Result<&'a str, AppError> {
    ids.get(key).map(String::as_str).ok_or_else(|| AppError::internal("seed", format!("unknown catalog key {key}")))
}

fn utc_midnight((year, month, day): (i32, u32, u32)) -> Result<DateTime<Utc>, AppError> {
    Utc.with_ymd_and_hms(year, month, day, 0, 0, 0)
        .single()
        .ok_or_else(|| AppError::internal("seed", format!("invalid date {year}-{month}-{day}")))
}

/// One endpoint row.
struct NewEndpoint<'a> {
    provider_id: &'a str,
    location_id: &'a str,
    kind: &'static str,
    name: String,
    cloud_region: Option<&'static str>,
    bandwidths: &'static [i64],
    capacity_mbps: i64,
    used_mbps: i64,
    active: bool,
}

async fn insert_endpoint(txn: &DatabaseTransaction, e: NewEndpoint<'_>, now: DateTime<Utc>) -> Result<(), AppError> {
    endpoint::ActiveModel {
        id: Set(new_id()),
        provider_id: Set(e.provider_id.to_string()),
        location_id: Set(e.location_id.to_string()),
        kind: Set(e.kind.to_string()),
        name: Set(e.name),
        cloud_region: Set(e.cloud_region.map(str::to_string)),
        bandwidths_mbps: Set(json(e.bandwidths)?),
        capacity_mbps: Set(e.capacity_mbps),
        used_mbps: Set(e.used_mbps),
        active: Set(e.active),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Providers by key → id.
async fn insert_providers(
    txn: &DatabaseTransaction,
    now: DateTime<Utc>,
) -> Result<HashMap<&'static str, String>, AppError> {
    let mut ids = HashMap::new();
    for &(key, name, kind) in PROVIDERS {
        let id = new_id();
        provider::ActiveModel {
            id: Set(id.clone()),
            key: Set(key.to_string()),
            name: Set(name.to_string()),
            kind: Set(kind.to_string()),
            created_at: Set(now),
        }
        .insert(txn)
        .await?;
        ids.insert(key, id);
    }
    Ok(ids)
}

/// Locations by key → id.
async fn insert_locations(
    txn: &DatabaseTransaction,
    now: DateTime<Utc>,
) -> Result<HashMap<&'static str, String>, AppError> {
    let mut ids = HashMap::new();
    for site in SITES {
        let operator = PROVIDERS
            .iter()
            .find(|(key, _, _)| *key == site.operator)
            .map(|(_, name, _)| *name)
            .ok_or_else(|| AppError::internal("seed", format!("unknown operator {}", site.operator)))?;
        let id = new_id();
        location::ActiveModel {
            id: Set(id.clone()),
            key: Set(site.key.to_string()),
            facility: Set(site.facility.to_string()),
            operator: Set(operator.to_string()),
            metro: Set(site.metro.to_string()),
            country: Set(site.country.to_string()),
            region: Set(site.region.to_string()),
            latitude: Set(site.latitude),
            longitude: Set(site.longitude),
            created_at: Set(now),
        }
        .insert(txn)
        .await?;
        ids.insert(site.key, id);
    }
    Ok(ids)
}

/// Cloud on-ramps, data-centre ports and exchange ports; returns how many.
async fn insert_endpoints(
    txn: &DatabaseTransaction,
    providers: &HashMap<&'static str, String>,
    locations: &HashMap<&'static str, String>,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let mut count = 0;
    for r in ONRAMPS {
        let e = NewEndpoint {
            provider_id: id_of(providers, r.cloud.provider())?,
            location_id: id_of(locations, r.site)?,
            kind: "cloud_onramp",
            name: format!("{} — {}", r.cloud.service(), r.label),
            cloud_region: Some(r.region),
            bandwidths: r.cloud.bandwidths(),
            capacity_mbps: ONRAMP_CAPACITY_MBPS,
            used_mbps: r.used_mbps,
            active: true,
        };
        insert_endpoint(txn, e, now).await?;
        count += 1;
    }
    for site in SITES {
        for p in site.ports {
            let e = NewEndpoint {
                provider_id: id_of(providers, site.operator)?,
                location_id: id_of(locations, site.key)?,
                kind: "dc_port",
                name: port_name(site, p),
                cloud_region: None,
                bandwidths: port_bandwidths(p.gbps)?,
                capacity_mbps: p.gbps * 1000,
                used_mbps: p.used_mbps,
                active: p.active,
            };
            insert_endpoint(txn, e, now).await?;
            count += 1;
        }
    }
    for &(site_key, exchange, exchange_name, used_mbps) in EXCHANGE_PORTS {
        let site = SITES
            .iter()
            .find(|s| s.key == site_key)
            .ok_or_else(|| AppError::internal("seed", format!("unknown site {site_key}")))?;
        let e = NewEndpoint {
            provider_id: id_of(providers, exchange)?,
            location_id: id_of(locations, site_key)?,
            kind: "exchange_port",
            name: format!("{exchange_name} — {}", site.short),
            cloud_region: None,
            bandwidths: EXCHANGE_MBPS,
            capacity_mbps: EXCHANGE_CAPACITY_MBPS,
            used_mbps,
            active: true,
        };
        insert_endpoint(txn, e, now).await?;
        count += 1;
    }
    Ok(count)
}

/// The offerings, each with its id.
async fn insert_offerings(
    txn: &DatabaseTransaction,
    now: DateTime<Utc>,
) -> Result<Vec<(String, &'static Product)>, AppError> {
    let mut out = Vec::new();
    for product in PRODUCTS {
        let id = new_id();
        offering::ActiveModel {
            id: Set(id.clone()),
            key: Set(product.key.to_string()),
            name: Set(product.name.to_string()),
            kind: Set(product.kind.to_string()),
            a_kinds: Set(json(product.a_kinds)?),
            b_kinds: Set(json(product.b_kinds)?),
            bandwidths_mbps: Set(json(product.bandwidths)?),
            terms_months: Set(json(product.terms_months)?),
            usage_based: Set(product.usage_based),
            composite: Set(product.composite),
            created_at: Set(now),
        }
        .insert(txn)
        .await?;
        out.push((id, product));
    }
    Ok(out)
}

/// Every book with a price for every offering at each of its bandwidths; returns how many prices.
async fn insert_price_books(
    txn: &DatabaseTransaction,
    offerings: &[(String, &'static Product)],
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let discounts = term_discounts_bps();
    let mut count = 0;
    for book in BOOKS {
        let book_id = new_id();
        price_book::ActiveModel {
            id: Set(book_id.clone()),
            region: Set(book.region.to_string()),
            currency: Set(book.currency.to_string()),
            version: Set(book.version),
            effective_from: Set(utc_midnight(book.effective_from)?),
            term_discounts_bps: Set(discounts.clone()),
            note: Set(book.note.to_string()),
            created_by: Set("seed".to_string()),
            created_at: Set(now),
        }
        .insert(txn)
        .await?;
        for (offering_id, product) in offerings {
            for &mbps in product.bandwidths {
                let (nrc, mrc, usage) = prices(product, book, mbps)?;
                price_entry::ActiveModel {
                    id: Set(new_id()),
                    price_book_id: Set(book_id.clone()),
                    offering_id: Set(offering_id.clone()),
                    bandwidth_mbps: Set(mbps),
                    nrc_minor: Set(nrc),
                    mrc_minor: Set(mrc),
                    usage_per_gb_minor: Set(usage),
                }
                .insert(txn)
                .await?;
                count += 1;
            }
        }
    }
    Ok(count)
}

/// Create the catalog unless providers already exist; returns whether it created anything.
pub async fn seed_catalog(db: &DatabaseConnection) -> Result<bool, AppError> {
    if provider::Entity::find().count(db).await? > 0 {
        return Ok(false);
    }
    let now = Utc::now();
    let txn = db.begin_write().await?;
    let providers = insert_providers(&txn, now).await?;
    let locations = insert_locations(&txn, now).await?;
    let endpoints = insert_endpoints(&txn, &providers, &locations, now).await?;
    let offerings = insert_offerings(&txn, now).await?;
    let prices = insert_price_books(&txn, &offerings, now).await?;
    txn.commit().await?;
    tracing::info!(
        providers = providers.len(),
        locations = locations.len(),
        endpoints,
        offerings = offerings.len(),
        price_books = BOOKS.len(),
        prices,
        "seeded the demo catalog"
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(key: &str) -> &'static Product {
        PRODUCTS.iter().find(|p| p.key == key).expect("product")
    }

    fn book(region: &str, version: i32) -> &'static Book {
        BOOKS.iter().find(|b| b.region == region && b.version == version).expect("book")
    }

    #[test]
    fn every_listed_bandwidth_has_a_base_price() {
        let all = PRODUCTS.iter().flat_map(|p| p.bandwidths);
        for &mbps in all {
            assert!(base_mrc_cents(mbps).is_ok(), "{mbps}");
        }
    }

    #[test]
    fn every_key_refers_to_something_seeded() {
        let site = |k: &str| SITES.iter().any(|s| s.key == k);
        let provider = |k: &str| PROVIDERS.iter().any(|p| p.0 == k);
        assert!(ONRAMPS.iter().all(|r| site(r.site) && provider(r.cloud.provider())));
        assert!(EXCHANGE_PORTS.iter().all(|e| site(e.0) && provider(e.1)));
        assert!(SITES.iter().all(|s| provider(s.operator) && s.ports.iter().all(|p| port_bandwidths(p.gbps).is_ok())));
    }

    #[test]
    fn prices_follow_the_product_and_region_factors() {
        let na = book("NA", 1);
        assert_eq!(prices(product("cloud-dc"), na, 1000).ok(), Some((25_000, 60_000, None)));
        assert_eq!(prices(product("cloud-cloud"), na, 1000).ok(), Some((25_000, 96_000, None)));
        assert_eq!(prices(product("dc-dc"), na, 100_000).ok(), Some((50_000, 1_080_000, None)));
        assert_eq!(prices(product("partner"), na, 100).ok(), Some((25_000, 7_500, Some(2))));
        assert_eq!(prices(product("cloud-dc"), book("EMEA", 1), 1000).ok(), Some((23_750, 57_000, None)));
        assert_eq!(prices(product("cloud-dc"), book("EMEA", 2), 1000).ok(), Some((24_700, 59_280, None)));
        assert_eq!(prices(product("partner"), book("APAC", 1), 50).ok(), Some((31_250, 5_938, Some(3))));
    }

    #[test]
    fn the_first_equinix_port_in_london_carries_10_gbps() {
        let ld5 = SITES.iter().find(|s| s.key == "eqx-ld5").expect("LD5");
        let first = ld5.ports.iter().min_by_key(|p| port_name(ld5, p)).expect("a port");
        assert!(first.active && first.gbps * 1000 - first.used_mbps >= 10_000);
    }
}
