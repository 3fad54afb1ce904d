//! Demo activity: quotes and orders for the demo tenants, placed through the same
//! services a signed-in user's clicks reach (pricing, order policy, audit, outbox,
//! provisioning jobs). The job workers of `patchbay serve` then provision them, so a new
//! demo shows live provisioning, an order waiting for a second approver and an open quote.
use entity::{endpoint, offering, quote, tenant, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::auth::ssr::Ctx;
use crate::catalog::QuoteInput;
use crate::core::scope::{Owner, Scope};
use crate::error::AppError;
use crate::state::AppState;

/// One demo connection: who asks, between which catalog endpoints (by name), and whether
/// the quote is turned into an order.
struct DemoOrder {
    tenant: &'static str,
    by: &'static str,
    offering: &'static str,
    a: &'static str,
    b: &'static str,
    mbps: u32,
    months: u32,
    order: Option<(&'static str, &'static str)>,
}

const DEMO_ORDERS: &[DemoOrder] = &[
    DemoOrder {
        tenant: "acme",
        by: "tenant_admin@acme.example",
        offering: "dc-dc",
        a: "Telehouse North Two — 10G port",
        b: "LINX LON1 — Telehouse North Two",
        mbps: 1000,
        months: 12,
        order: Some(("ACME-PO-0141", "Docklands racks to the LINX peering LAN")),
    },
    DemoOrder {
        tenant: "acme",
        by: "billing_admin@acme.example",
        offering: "cloud-dc",
        a: "Equinix FR5 — 10G port",
        b: "AWS Direct Connect — Frankfurt (FR5)",
        mbps: 500,
        months: 1,
        order: Some(("ACME-PO-0152", "Frankfurt racks to AWS eu-central-1 (migration, one month)")),
    },
    DemoOrder {
        tenant: "acme",
        by: "billing_admin@acme.example",
        offering: "dc-dc",
        a: "Equinix AM3 — 100G port",
        b: "Equinix FR5 — 100G port",
        mbps: 10000,
        months: 36,
        // Above Acme's EUR 10,000 threshold: waits for a second approver (the tenant admin).
        order: Some(("ACME-PO-0160", "Amsterdam to Frankfurt backbone, 10G, three years")),
    },
    DemoOrder {
        tenant: "acme",
        by: "member@acme.example",
        offering: "cloud-cloud",
        a: "AWS Direct Connect — Tokyo (TY2)",
        b: "Azure ExpressRoute — Tokyo",
        mbps: 200,
        months: 12,
        order: None,
    },
    DemoOrder {
        tenant: "globex",
        by: "tenant_admin@globex.example",
        offering: "dc-dc",
        a: "Equinix NY5 — 10G port",
        b: "Equinix DC2 — 10G port",
        mbps: 1000,
        months: 12,
        order: Some(("GLX-7731", "New York to Ashburn replication link")),
    },
];

/// Place the demo quotes and orders of each demo tenant that has no quote yet; returns how
/// many orders were placed. Idempotent: a tenant with any quote is left alone.
pub async fn seed_demo_orders(state: &AppState) -> Result<usize, AppError> {
    let db = &state.db;
    // Tenants that already have quotes were seeded before (or are in use): leave them be.
    let mut fresh = std::collections::HashMap::new();
    for d in DEMO_ORDERS {
        if fresh.contains_key(d.tenant) {
            continue;
        }
        let t = tenant::Entity::find().filter(tenant::Column::Slug.eq(d.tenant)).one(db).await?;
        let t = match t {
            Some(t) if Scope::worker(Owner::Tenant(t.id.clone())).count::<quote::Entity>(db).await? == 0 => Some(t),
            _ => None,
        };
        fresh.insert(d.tenant, t);
    }
    let mut placed = 0;
    for d in DEMO_ORDERS {
        let Some(Some(t)) = fresh.get(d.tenant) else { continue };
        let Some(u) = user::Entity::find().filter(user::Column::Email.eq(d.by)).one(db).await? else {
            return Err(AppError::internal("demo orders", format!("demo user {} is missing", d.by)));
        };
        let Some(ctx) = Ctx::acting_as(state, u, &t.id).await? else {
            return Err(AppError::internal("demo orders", format!("{} is not a member of {}", d.by, d.tenant)));
        };
        let input = QuoteInput {
            offering_id: offering_id(db, d.offering).await?,
            a_endpoint_id: endpoint_id(db, d.a).await?,
            b_endpoint_id: endpoint_id(db, d.b).await?,
            bandwidth_mbps: d.mbps.to_string(),
            term_months: d.months.to_string(),
            est_usage_gb: String::new(),
        };
        let q = crate::catalog::ssr::create(&ctx, &input).await?;
        if let Some((po, description)) = d.order {
            crate::orders::ssr::place(&ctx, &q.id, po, "", description).await?;
            placed += 1;
        }
    }
    Ok(placed)
}

async fn offering_id(db: &impl sea_orm::ConnectionTrait, key: &str) -> Result<String, AppError> {
    offering::Entity::find()
        .filter(offering::Column::Key.eq(key))
        .one(db)
        .await?
        .map(|o| o.id)
        .ok_or_else(|| AppError::internal("demo orders", format!("the demo catalog has no offering {key}")))
}

async fn endpoint_id(db: &impl sea_orm::ConnectionTrait, name: &str) -> Result<String, AppError> {
    endpoint::Entity::find()
        .filter(endpoint::Column::Name.eq(name))
        .one(db)
        .await?
        .map(|e| e.id)
        .ok_or_else(|| AppError::internal("demo orders", format!("the demo catalog has no endpoint {name}")))
}
