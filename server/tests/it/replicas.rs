//! Real `patchbay` processes sharing one database: a replica killed with SIGKILL in the
//! middle of provisioning, and (on PostgreSQL) two replicas working through 500 orders
//! while a third, without workers, streams live events it can only have heard through
//! LISTEN/NOTIFY.

use crate::common::*;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

async fn database() -> TestApp {
    // The in-process app only creates, migrates and seeds the database; it runs no workers.
    spawn_app().await
}

async fn queue(app: &TestApp, n: usize) -> Vec<String> {
    let (offering, a, b) = crate::common::fixtures::cross_connect_ports(&app.state.db, 1000).await.unwrap();
    let acme = tenant_id(app, "acme").await;
    crate::common::fixtures::queue_orders(&app.state.db, &acme, (&offering, &a, &b), 1000, n).await.unwrap()
}

/// Make the provider of the cross-connect ports answer slowly.
async fn slow_provider(app: &TestApp, latency_ms: i32) {
    let (_, a, _) = crate::common::fixtures::cross_connect_ports(&app.state.db, 1000).await.unwrap();
    let e = entity::endpoint::Entity::find_by_id(a).one(&app.state.db).await.unwrap().unwrap();
    entity::provider_adapter::ActiveModel {
        provider_id: Set(e.provider_id),
        adapter: Set("cross_connect".into()),
        backend: Set("sandbox".into()),
        base_url: Set(None),
        credentials_sealed: Set(None),
        latency_ms: Set(latency_ms),
        transient_pct: Set(0),
        permanent_pct: Set(0),
        timeout_pct: Set(0),
        customer_action: Set("manual".into()),
        updated_at: Set(chrono::Utc::now()),
        updated_by: Set(None),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
}

async fn active_orders(app: &TestApp, ids: &[String]) -> u64 {
    entity::order::Entity::find()
        .filter(entity::order::Column::Id.is_in(ids.to_vec()))
        .filter(entity::order::Column::Status.eq("active"))
        .count(&app.state.db)
        .await
        .unwrap()
}

/// Every leg's provision was executed at the provider exactly once.
async fn assert_each_leg_provisioned_once(app: &TestApp, expected: usize) {
    let legs = entity::service_leg::Entity::find().all(&app.state.db).await.unwrap();
    assert_eq!(legs.len(), expected);
    let calls = entity::sandbox_call::Entity::find()
        .filter(entity::sandbox_call::Column::Operation.eq("provision"))
        .filter(entity::sandbox_call::Column::Outcome.eq("executed"))
        .all(&app.state.db)
        .await
        .unwrap();
    let mut per_key = std::collections::HashMap::<String, usize>::new();
    for c in &calls {
        *per_key.entry(c.idempotency_key.clone()).or_default() += 1;
    }
    for leg in &legs {
        let key = format!("leg:{}:provision", leg.id);
        assert_eq!(per_key.get(&key), Some(&1), "{key} executed {:?} times", per_key.get(&key));
    }
    assert_eq!(calls.len(), expected, "no provision outside the legs' keys");
    let resources = entity::sandbox_resource::Entity::find().count(&app.state.db).await.unwrap();
    assert_eq!(resources as usize, expected, "one resource per leg at the provider");
}

#[tokio::test]
async fn a_replica_killed_mid_provisioning_is_recovered_by_the_next_without_ordering_twice() {
    let app = database().await;
    slow_provider(&app, 400).await;
    let ids = queue(&app, 6).await;
    let env = [("PATCHBAY_JOB_LEASE_MS", "1500")];
    let mut first = Replica::start(&app.database_url, 3, &env).await;
    // Wait until the provider has executed a provision and provisioning is under way, then
    // SIGKILL. (Waiting for the resource row instead could kill the replica between the
    // sandbox's resource insert and its call-log insert, which are two writes.)
    let started = eventually(60, || async {
        entity::sandbox_call::Entity::find()
            .filter(entity::sandbox_call::Column::Outcome.eq("executed"))
            .count(&app.state.db)
            .await
            .unwrap()
            >= 1
    })
    .await;
    assert!(started, "provisioning never started; see {}", first.log.display());
    first.kill();
    let done_at_kill = active_orders(&app, &ids).await;
    assert!(done_at_kill < ids.len() as u64, "the kill came too late to test anything");
    let running = entity::job::Entity::find()
        .filter(entity::job::Column::Status.eq("running"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert!(running >= 1, "the killed replica left leased jobs behind");

    // A new replica picks the orphaned jobs up once their leases expire, and finishes.
    let second = Replica::start(&app.database_url, 3, &env).await;
    let all = eventually(120, || async { active_orders(&app, &ids).await == ids.len() as u64 }).await;
    assert!(all, "orders not all active; see {}", second.log.display());
    assert_each_leg_provisioned_once(&app, ids.len()).await;
    let reclaimed =
        entity::job::Entity::find().filter(entity::job::Column::Attempts.gte(2)).count(&app.state.db).await.unwrap();
    assert!(reclaimed >= 1, "a job held by the killed replica was claimed again after its lease expired");
    let unfinished = entity::job::Entity::find()
        .filter(entity::job::Column::Status.ne("succeeded"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(unfinished, 0);
}

#[tokio::test]
async fn two_replicas_share_500_orders_and_a_third_streams_their_events() {
    if !postgres_only(
        "replicas::two_replicas_share_500_orders_and_a_third_streams_their_events",
        "LISTEN/NOTIFY between replicas",
    ) {
        return;
    }
    let app = database().await;
    // A web-only replica that re-reads the outbox only every 10 minutes: anything it streams
    // live reached it through LISTEN/NOTIFY from the replicas doing the work.
    let web = Replica::start(&app.database_url, 0, &[("PATCHBAY_LIVE_FALLBACK_MS", "600000")]).await;
    let c = web.client();
    let r = c.call("login", &[("email", "billing_admin@acme.example"), ("password", PASSWORD)]).await;
    assert!(r.status.is_success(), "{}", r.body);
    let ids = queue(&app, 500).await;
    let watched = ids[ids.len() - 1].clone();
    // Subscribed once the stream answers: everything the workers commit from here reaches it.
    let stream = open_events(&c, &format!("/events/orders/{watched}"), None, 180).await;
    let reader = tokio::spawn(collect_events(stream, "billing.metering.started", 180));

    let env = [("PATCHBAY_JOB_LEASE_MS", "10000")];
    let a = Replica::start(&app.database_url, 4, &env).await;
    let b = Replica::start(&app.database_url, 4, &env).await;
    let all = eventually(180, || async { active_orders(&app, &ids).await == ids.len() as u64 }).await;
    assert!(all, "not all active; see {} and {}", a.log.display(), b.log.display());
    assert_each_leg_provisioned_once(&app, ids.len()).await;
    let jobs = entity::job::Entity::find().all(&app.state.db).await.unwrap();
    assert!(jobs.iter().all(|j| j.status == "succeeded"), "every job finished once");

    let seen = reader.await.unwrap();
    let types: Vec<&str> = seen.iter().map(|(_, t)| t.as_str()).collect();
    for t in ["order.provisioning", "service.provisioning.started", "service.active", "order.active"] {
        assert!(types.contains(&t), "{t} not streamed by the web-only replica: {types:?}");
    }
}

#[tokio::test]
async fn open_event_streams_do_not_hold_up_a_graceful_shutdown() {
    let app = database().await;
    let ids = queue(&app, 1).await;
    let mut replica = Replica::start(&app.database_url, 0, &[]).await;
    let c = replica.client();
    let r = c.call("login", &[("email", "billing_admin@acme.example"), ("password", PASSWORD)]).await;
    assert!(r.status.is_success(), "{}", r.body);
    // The stream is open at the server once it answers.
    let stream = open_events(&c, &format!("/events/orders/{}", ids[0]), None, 60).await;
    let reader = tokio::spawn(collect_events_to_end(stream, "never", 60));
    assert!(replica.terminate(30).await, "SIGTERM did not stop the server; see {}", replica.log.display());
    // The server closed the stream on shutdown, rather than the reader giving up at its deadline.
    let (_, end) = reader.await.expect("reader task");
    assert_eq!(end, StreamEnd::Closed, "see {}", replica.log.display());
}
