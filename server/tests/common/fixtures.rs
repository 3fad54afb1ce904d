//! Test and benchmark support, not part of the production library (the tests include it
//! through `common`, the benches by path). Bulk order creation for benchmarks and load
//! tests: `n` orders for the same connection,
//! written straight to `queued` (each with its quote, history, audit-free system
//! transition and provisioning job) so that only provisioning is measured. The
//! customer-facing path (`orders/place`) is covered by the integration tests.
use app::core::db::BeginWrite;
use chrono::Utc;
use entity::{endpoint, offering, order, order_transition, quote};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use app::auth::ssr::new_id;
use app::error::AppError;

/// Endpoints for a data-centre cross-connect: two open ports in one metro selling `mbps`.
pub async fn cross_connect_ports(db: &DatabaseConnection, mbps: i64) -> Result<(String, String, String), AppError> {
    let off =
        offering::Entity::find().filter(offering::Column::Key.eq("dc-dc")).one(db).await?.ok_or(AppError::NotFound)?;
    let ports: Vec<endpoint::Model> = endpoint::Entity::find()
        .filter(endpoint::Column::Kind.eq("dc_port"))
        .filter(endpoint::Column::Active.eq(true))
        .all(db)
        .await?
        .into_iter()
        .filter(|e| serde_json::from_str::<Vec<i64>>(&e.bandwidths_mbps).unwrap_or_default().contains(&mbps))
        .collect();
    for a in &ports {
        if let Some(b) = ports.iter().find(|b| b.id != a.id && b.location_id == a.location_id) {
            return Ok((off.id, a.id.clone(), b.id.clone()));
        }
    }
    Err(AppError::Conflict("no two ports in one facility".into()))
}

/// Create `n` queued orders for `tenant_id` over (`a`, `b`) and queue their provisioning.
pub async fn queue_orders(
    db: &DatabaseConnection,
    tenant_id: &str,
    (offering_id, a, b): (&str, &str, &str),
    mbps: i64,
    n: usize,
) -> Result<Vec<String>, AppError> {
    let now = Utc::now();
    let mut ids = Vec::with_capacity(n);
    // Capacity is reserved per order; make sure the ports can carry them all.
    endpoint::Entity::update_many()
        .col_expr(endpoint::Column::CapacityMbps, sea_orm::sea_query::Expr::value(i64::MAX / 4))
        .filter(endpoint::Column::Id.is_in([a, b]))
        .exec(db)
        .await?;
    for chunk in (0..n).collect::<Vec<_>>().chunks(50) {
        let txn = db.begin_write().await?;
        for _ in chunk {
            let q = quote::ActiveModel {
                id: Set(new_id()),
                tenant_id: Set(tenant_id.into()),
                number: Set(app::catalog::ssr::number("QB")),
                offering_id: Set(offering_id.into()),
                a_endpoint_id: Set(a.into()),
                b_endpoint_id: Set(b.into()),
                bandwidth_mbps: Set(mbps),
                term_months: Set(1),
                currency: Set("EUR".into()),
                price_book_id: Set(String::new()),
                nrc_minor: Set(0),
                monthly_minor: Set(0),
                total_minor: Set(0),
                est_usage_gb: Set(0),
                line_items: Set("[]".into()),
                valid_until: Set(now),
                status: Set("ordered".into()),
                created_by: Set("load-fixture".into()),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?;
            let o = order::ActiveModel {
                id: Set(new_id()),
                tenant_id: Set(tenant_id.into()),
                number: Set(app::catalog::ssr::new_order_number()),
                quote_id: Set(q.id.clone()),
                status: Set("queued".into()),
                po_number: Set("LOAD".into()),
                cost_centre: Set(String::new()),
                description: Set("Load fixture".into()),
                needs_approval: Set(false),
                placed_by: Set("load-fixture".into()),
                placed_by_email: Set("load-fixture".into()),
                approved_by: Set(None),
                status_reason: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?;
            order_transition::ActiveModel {
                order_id: Set(o.id.clone()),
                tenant_id: Set(tenant_id.into()),
                from_status: Set(None),
                to_status: Set("queued".into()),
                actor_label: Set("load-fixture".into()),
                actor_id: Set(None),
                reason: Set(None),
                at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            app::orders::ssr::enqueue_provisioning(&txn, &o).await?;
            ids.push(o.id);
        }
        txn.commit().await?;
    }
    Ok(ids)
}
