//! `cargo xtask bench provisioning`: orders taken from `queued` to `active` per second,
//! with zero injected provider latency, on SQLite (one replica, the baseline), on
//! PostgreSQL (one replica) and on PostgreSQL with two replicas. Each scenario runs real
//! `patchbay serve` processes (4 job workers each) on a fresh database; the clock runs
//! from enqueuing the orders until the last one is active. Prints a table; asserts nothing
//! about speed.
#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::time::Instant;

use common::*;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

struct Row {
    scenario: &'static str,
    replicas: usize,
    orders: usize,
    enqueue_s: f64,
    total_s: f64,
}

async fn scenario(name: &'static str, postgres: bool, replicas: usize, orders: usize) -> Row {
    let app = spawn_app_on(postgres, false, |_, _| {}).await;
    let (offering, a, b) = common::fixtures::cross_connect_ports(&app.state.db, 1000).await.expect("ports");
    let acme = tenant_id(&app, "acme").await;
    let mut running = Vec::new();
    for _ in 0..replicas {
        running.push(Replica::start(&app.database_url, 4, &[]).await);
    }
    let t0 = Instant::now();
    let ids = common::fixtures::queue_orders(&app.state.db, &acme, (&offering, &a, &b), 1000, orders)
        .await
        .expect("queue orders");
    let enqueue_s = t0.elapsed().as_secs_f64();
    let done = eventually(600, || async {
        entity::order::Entity::find()
            .filter(entity::order::Column::Status.eq("active"))
            .count(&app.state.db)
            .await
            .unwrap_or(0) as usize
            == ids.len()
    })
    .await;
    let total_s = t0.elapsed().as_secs_f64();
    assert!(
        done,
        "{name}: orders did not all become active; logs: {:?}",
        running.iter().map(|r| &r.log).collect::<Vec<_>>()
    );
    drop(running);
    Row { scenario: name, replicas, orders, enqueue_s, total_s }
}

fn main() {
    let orders: usize = std::env::var("BENCH_ORDERS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let pg = std::env::var("PATCHBAY_TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let rows = rt.block_on(async {
        let mut rows = vec![scenario("SQLite", false, 1, orders).await];
        if pg {
            rows.push(scenario("PostgreSQL", true, 1, orders).await);
            rows.push(scenario("PostgreSQL", true, 2, orders).await);
        } else {
            eprintln!("PostgreSQL scenarios skipped: PATCHBAY_TEST_POSTGRES_URL is not set");
        }
        rows
    });
    let base = rows[0].orders as f64 / rows[0].total_s;
    println!();
    println!(
        "Provisioning throughput: cross-connect orders, queued → active, 0 ms provider latency, 4 workers per replica"
    );
    println!(
        "{:<12} {:>8} {:>7} {:>11} {:>10} {:>12} {:>12}",
        "database", "replicas", "orders", "enqueue (s)", "total (s)", "orders/s", "vs baseline"
    );
    for r in &rows {
        let rate = r.orders as f64 / r.total_s;
        println!(
            "{:<12} {:>8} {:>7} {:>11.2} {:>10.2} {:>12.1} {:>11.2}x",
            r.scenario,
            r.replicas,
            r.orders,
            r.enqueue_s,
            r.total_s,
            rate,
            rate / base
        );
    }
    println!("(baseline: the SQLite row, measured in this run)");
}
