//! Provisioning through the real stack: jobs claimed under leases, sandbox adapters with
//! their lifecycles and failure injection, the MEF partner adapter against a partner
//! server started here, composite rollback, service changes, the manual-intervention
//! queue, live events with replay, and tenant and role checks.

use std::sync::{Arc, Mutex};

use crate::common::*;
use app::jobs::{self, JobPayload, JobStatus};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

/// Provisioning settings that keep tests quick: no polling pause, short provider timeout.
/// Retries back off for a minute, so a test decides when the next attempt runs (`drain_all`).
pub(crate) async fn app() -> TestApp {
    spawn_app_custom(false, |cfg, _| {
        cfg.provision_poll_ms = 0;
        cfg.job_backoff_base_ms = 60_000;
        cfg.adapter_timeout_ms = 400;
        cfg.job_lease_ms = 10_000;
    })
    .await
}

pub(crate) async fn drain(app: &TestApp) -> Vec<jobs::Ran> {
    app::workers::drain(&app.state, "test-worker", 1000).await.expect("run jobs")
}

/// Make every queued job due and run until nothing is due.
async fn drain_all(app: &TestApp) -> Vec<jobs::Ran> {
    entity::job::Entity::update_many()
        .col_expr(entity::job::Column::RunAt, sea_orm::sea_query::Expr::value(chrono::Utc::now()))
        .filter(entity::job::Column::Status.eq("queued"))
        .exec(&app.state.db)
        .await
        .unwrap();
    drain(app).await
}

pub(crate) struct Conn {
    pub offering: String,
    pub a: String,
    pub b: String,
}

pub(crate) async fn cross_connect(app: &TestApp) -> Conn {
    let (offering, a, b) = crate::common::fixtures::cross_connect_ports(&app.state.db, 1000).await.unwrap();
    Conn { offering, a, b }
}

/// Acme without an approval threshold, and its billing admin signed in.
pub(crate) async fn customer(app: &TestApp) -> Client {
    let admin = app.login("tenant_admin@acme.example").await;
    let r = admin.call("orders/set_policy", &[("threshold", ""), ("currency", "EUR")]).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    app.login("billing_admin@acme.example").await
}

/// Quote and order a connection; the order is approved and queued.
pub(crate) async fn place(c: &Client, conn: &Conn, mbps: &str) -> String {
    let q = c
        .call(
            "quotes/create",
            &[
                ("offering_id", &conn.offering),
                ("a_endpoint_id", &conn.a),
                ("b_endpoint_id", &conn.b),
                ("bandwidth_mbps", mbps),
                ("term_months", "12"),
                ("est_usage_gb", ""),
            ],
        )
        .await;
    assert!(q.status.is_success(), "quote: {} {}", q.status, q.body);
    let quote_id = q.body["id"].as_str().unwrap().to_string();
    let o = c
        .call(
            "orders/place",
            &[("quote_id", &quote_id), ("po_number", "PO-1"), ("cost_centre", ""), ("description", "Test connection")],
        )
        .await;
    assert!(o.status.is_success(), "order: {} {}", o.status, o.body);
    assert_eq!(o.body["status"], "queued", "{}", o.body);
    o.body["id"].as_str().unwrap().to_string()
}

async fn order_of(app: &TestApp, id: &str) -> entity::order::Model {
    entity::order::Entity::find_by_id(id.to_string()).one(&app.state.db).await.unwrap().unwrap()
}

pub(crate) async fn service_of(app: &TestApp, order_id: &str) -> entity::service::Model {
    entity::service::Entity::find()
        .filter(entity::service::Column::OrderId.eq(order_id))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("service exists")
}

pub(crate) async fn legs_of(app: &TestApp, service_id: &str) -> Vec<entity::service_leg::Model> {
    entity::service_leg::Entity::find()
        .filter(entity::service_leg::Column::ServiceId.eq(service_id))
        .order_by_asc(entity::service_leg::Column::Seq)
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn provider_id(app: &TestApp, key: &str) -> String {
    entity::provider::Entity::find()
        .filter(entity::provider::Column::Key.eq(key))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Console → Providers, as the platform admin.
async fn set_adapter(app: &TestApp, provider: &str, fields: &[(&str, &str)]) {
    let admin = app.login("admin@patchbay.example").await;
    let pid = provider_id(app, provider).await;
    let list = admin.call("providers/adapters", &[]).await;
    let row = list.body.as_array().unwrap().iter().find(|r| r["provider_id"] == pid.as_str()).unwrap().clone();
    let current = |k: &str| match &row[k] {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    let mut form: Vec<(String, String)> =
        ["adapter", "latency_ms", "transient_pct", "permanent_pct", "timeout_pct", "customer_action", "base_url"]
            .iter()
            .map(|k| (k.to_string(), current(k)))
            .collect();
    form.push(("credentials".into(), String::new()));
    for (k, v) in fields {
        match form.iter_mut().find(|(key, _)| key == k) {
            Some(e) => e.1 = v.to_string(),
            None => form.push((k.to_string(), v.to_string())),
        }
    }
    form.push(("provider_id".into(), pid));
    let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = admin.call("providers/save_adapter", &refs).await;
    assert!(r.status.is_success(), "save adapter: {} {}", r.status, r.body);
}

async fn executed_provisions(app: &TestApp) -> Vec<entity::sandbox_call::Model> {
    entity::sandbox_call::Entity::find()
        .filter(entity::sandbox_call::Column::Operation.eq("provision"))
        .filter(entity::sandbox_call::Column::Outcome.eq("executed"))
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn open_interventions(app: &TestApp) -> Vec<entity::intervention::Model> {
    entity::intervention::Entity::find()
        .filter(entity::intervention::Column::Status.eq("open"))
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn used(app: &TestApp, endpoint: &str) -> i64 {
    entity::endpoint::Entity::find_by_id(endpoint.to_string()).one(&app.state.db).await.unwrap().unwrap().used_mbps
}

#[tokio::test]
async fn an_approved_cross_connect_becomes_an_active_service_with_references_and_metering() {
    let app = app().await;
    let c = customer(&app).await;
    let conn = cross_connect(&app).await;
    let (a_before, b_before) = (used(&app, &conn.a).await, used(&app, &conn.b).await);
    let order_id = place(&c, &conn, "1000").await;

    let ran = drain(&app).await;
    assert!(ran.iter().all(|r| r.settled), "{ran:?}");
    assert_eq!(order_of(&app, &order_id).await.status, "active");
    let svc = service_of(&app, &order_id).await;
    assert_eq!(svc.status, "active");
    assert!(svc.activated_at.is_some());
    let legs = legs_of(&app, &svc.id).await;
    assert_eq!(legs.len(), 1);
    assert_eq!(legs[0].status, "active");
    assert_eq!(legs[0].provider_state.as_deref(), Some("complete"));
    let refs: Value = serde_json::from_str(&legs[0].refs).unwrap();
    assert!(refs["cross_connect_id"].as_str().unwrap().starts_with("XC-"), "{refs}");
    assert!(refs["vlan"].as_i64().is_some(), "{refs}");
    // Capacity is now held at both ports.
    assert_eq!(used(&app, &conn.a).await, a_before + 1000);
    assert_eq!(used(&app, &conn.b).await, b_before + 1000);
    // One provision call at the provider.
    assert_eq!(executed_provisions(&app).await.len(), 1);
    // The order's history and events.
    let order_events = events_of(&app, &order_id).await;
    for e in ["order.queued", "order.provisioning", "order.active"] {
        assert!(order_events.contains(&e.to_string()), "{e} missing from {order_events:?}");
    }
    let service_events = events_of(&app, &svc.id).await;
    for e in ["service.provisioning.started", "service.leg.active", "service.active", "billing.metering.started"] {
        assert!(service_events.contains(&e.to_string()), "{e} missing from {service_events:?}");
    }

    // The customer sees it in inventory and in detail.
    let list = c.call("services/list", &[("status", "active"), ("q", "")]).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1, "{}", list.body);
    let d = c.call("services/get", &[("service_id", &svc.id)]).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    assert_eq!(d.body["service"]["status"], "active");
    assert!(d.body["legs"][0]["refs"].as_array().unwrap().iter().any(|r| r[0] == "Cross-connect id"));
    assert!(d.body["timeline"].as_array().unwrap().len() >= 3);

    // Metering: every complete hour since activation gives one record, once.
    let activated = chrono::Utc::now() - chrono::Duration::minutes(200);
    let hours = {
        use chrono::DurationRound;
        let h = chrono::Duration::hours(1);
        (chrono::Utc::now().duration_trunc(h).unwrap() - activated.duration_trunc(h).unwrap()).num_hours() as u64
    };
    let mut am: entity::service::ActiveModel = service_of(&app, &order_id).await.into();
    am.activated_at = Set(Some(activated));
    am.update(&app.state.db).await.unwrap();
    let first = server::workers::run_once(&app.state).await.unwrap();
    assert_eq!(first.usage_records, hours, "{first:?}");
    let again = server::workers::run_once(&app.state).await.unwrap();
    assert_eq!(again.usage_records, 0, "metering twice writes nothing new");
    let d = c.call("services/get", &[("service_id", &svc.id)]).await;
    assert_eq!(d.body["usage"].as_array().unwrap().len() as u64, hours, "{}", d.body);

    // Inventory: the provider agrees, until the connection disappears on its side.
    assert_eq!(again.inventory_drift, 0);
    let resource = entity::sandbox_resource::Entity::find_by_id(legs[0].external_ref.clone().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut gone: entity::sandbox_resource::ActiveModel = resource.into();
    gone.state = Set("removed".into());
    gone.update(&app.state.db).await.unwrap();
    let report = server::workers::run_once(&app.state).await.unwrap();
    assert_eq!(report.inventory_drift, 1, "{report:?}");
    assert_eq!(server::workers::run_once(&app.state).await.unwrap().inventory_drift, 0, "noted once");
    let d = c.call("services/get", &[("service_id", &svc.id)]).await;
    let timeline = d.body["timeline"].to_string();
    assert!(timeline.contains("the provider reports") && timeline.contains("removed"), "{timeline}");

    // The audit chain still verifies with the system's entries in it.
    assert!(app::audit::ssr::verify(&app.state.db).await.unwrap().first_bad.is_none());
}

#[tokio::test]
async fn an_aws_hosted_connection_waits_for_the_customer_to_accept_it() {
    let app = app().await;
    let c = customer(&app).await;
    let conn = Conn {
        offering: offering(&app, "cloud-dc").await,
        a: endpoint(&app, "equinix", "dc_port", "London", 1000).await,
        b: endpoint(&app, "aws", "cloud_onramp", "London", 1000).await,
    };
    let order_id = place(&c, &conn, "1000").await;
    drain(&app).await;
    assert_eq!(order_of(&app, &order_id).await.status, "provisioning");
    let svc = service_of(&app, &order_id).await;
    let leg = legs_of(&app, &svc.id).await.remove(0);
    assert_eq!(leg.status, "awaiting_customer");
    assert_eq!(leg.provider_state.as_deref(), Some("pending"));
    let dxcon = leg.external_ref.clone().unwrap();
    assert!(dxcon.starts_with("dxcon-"));

    // The portal names the connection to accept.
    let d = c.call("services/for_order", &[("order_id", &order_id)]).await;
    let step = d.body["legs"][0]["customer_step"].as_str().unwrap().to_string();
    assert!(step.contains(&dxcon) && step.contains("Accept"), "{step}");
    assert!(events_of(&app, &svc.id).await.contains(&"service.provider.pending".to_string()));

    // A member may look but not act; the billing admin accepts (sandbox).
    let member = app.login("member@acme.example").await;
    let r = member.call("services/customer_step", &[("service_id", &svc.id), ("leg_id", &leg.id)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = c.call("services/customer_step", &[("service_id", &svc.id), ("leg_id", &leg.id)]).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    drain(&app).await;
    assert_eq!(order_of(&app, &order_id).await.status, "active");
    let leg = legs_of(&app, &svc.id).await.remove(0);
    assert_eq!(leg.provider_state.as_deref(), Some("available"));
    let refs: Value = serde_json::from_str(&leg.refs).unwrap();
    assert_eq!(refs["amazon_asn"], 64512);
    assert!(refs.get("customer_step").is_none());
    // Nothing to accept any more.
    let r = c.call("services/customer_step", &[("service_id", &svc.id), ("leg_id", &leg.id)]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn transient_errors_are_retried_with_backoff_and_exhausted_retries_reach_an_operator() {
    let app = app().await;
    let c = customer(&app).await;
    let conn = cross_connect(&app).await;
    let a_provider =
        entity::endpoint::Entity::find_by_id(conn.a.clone()).one(&app.state.db).await.unwrap().unwrap().provider_id;
    let key = entity::provider::Entity::find_by_id(a_provider).one(&app.state.db).await.unwrap().unwrap().key;
    set_adapter(&app, &key, &[("transient_pct", "100")]).await;
    let order_id = place(&c, &conn, "1000").await;
    let ran = drain(&app).await;
    let provision = ran.iter().find(|r| r.kind == app::orders::ssr::ProvisionOrder::KIND).unwrap();
    assert_eq!(provision.status, JobStatus::Queued, "{ran:?}");
    assert!(provision.error.as_deref().unwrap().contains("503"), "{ran:?}");
    let job = jobs::active_for(&app.state.db, &order_id).await.unwrap().unwrap();
    assert_eq!(job.attempts, 1);
    assert!(job.last_error.unwrap().contains("sandbox-injected transient"));

    // The provider recovers; the next attempt succeeds and nothing was ordered twice.
    set_adapter(&app, &key, &[("transient_pct", "0")]).await;
    drain_all(&app).await;
    assert_eq!(order_of(&app, &order_id).await.status, "active");
    let calls = executed_provisions(&app).await;
    assert_eq!(calls.len(), 1, "{calls:#?}");

    // A provider that never recovers: the attempts run out and an operator is asked.
    set_adapter(&app, &key, &[("timeout_pct", "100")]).await;
    let order2 = place(&c, &conn, "1000").await;
    for _ in 0..10 {
        drain_all(&app).await;
    }
    let job = entity::job::Entity::find()
        .filter(entity::job::Column::ResourceId.eq(&order2))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, "failed");
    assert_eq!(job.attempts, job.max_attempts);
    assert!(job.last_error.as_deref().unwrap().contains("did not answer"), "{:?}", job.last_error);
    let open = open_interventions(&app).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].order_id, order2);
    assert!(open[0].error.contains("gave up after"), "{}", open[0].error);
    assert_eq!(order_of(&app, &order2).await.status, "provisioning", "the order waits for the operator");
}

#[tokio::test]
async fn operators_retry_complete_or_fail_rejected_provisioning() {
    let app = app().await;
    let c = customer(&app).await;
    // Manual intervention is Patchbay's NOC: platform admins.
    let ops = app.login("admin@patchbay.example").await;
    let conn = cross_connect(&app).await;
    let a = entity::endpoint::Entity::find_by_id(conn.a.clone()).one(&app.state.db).await.unwrap().unwrap();
    let key = entity::provider::Entity::find_by_id(a.provider_id).one(&app.state.db).await.unwrap().unwrap().key;
    set_adapter(&app, &key, &[("permanent_pct", "100")]).await;
    let (o1, o2, o3) = (place(&c, &conn, "1000").await, place(&c, &conn, "1000").await, place(&c, &conn, "1000").await);
    drain(&app).await;
    let list = ops.call("interventions/list", &[("status", "open")]).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let items = list.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3, "{}", list.body);
    assert!(items.iter().all(|i| i["error"].as_str().unwrap().contains("rejected")));
    let item = |o: &str| items.iter().find(|i| i["order_id"] == o).unwrap()["id"].as_str().unwrap().to_string();
    for o in [&o1, &o2, &o3] {
        assert_eq!(order_of(&app, o).await.status, "provisioning");
    }
    set_adapter(&app, &key, &[("permanent_pct", "0")]).await;
    let before = used(&app, &conn.a).await;

    // 1. Fail the order: the reason is required, and the customer sees it.
    let r = ops.call("interventions/fail", &[("intervention_id", &item(&o1)), ("reason", " ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["Validation"]["fields"]["reason"].is_string(), "{}", r.body);
    let r = ops
        .call("interventions/fail", &[("intervention_id", &item(&o1)), ("reason", "The facility has no ports left.")])
        .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    drain(&app).await;
    let o = order_of(&app, &o1).await;
    assert_eq!(o.status, "failed");
    assert_eq!(o.status_reason.as_deref(), Some("The facility has no ports left."));
    assert_eq!(used(&app, &conn.a).await, before - 1000, "capacity released");

    // 2. Mark done with the provider's reference (done by hand).
    let r = ops
        .call("interventions/complete", &[("intervention_id", &item(&o2)), ("external_ref", ""), ("note", "")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = ops
        .call(
            "interventions/complete",
            &[("intervention_id", &item(&o2)), ("external_ref", "EQX-XC-99812"), ("note", "")],
        )
        .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    drain(&app).await;
    assert_eq!(order_of(&app, &o2).await.status, "active");
    let leg = legs_of(&app, &service_of(&app, &o2).await.id).await.remove(0);
    assert_eq!(leg.external_ref.as_deref(), Some("EQX-XC-99812"));

    // 3. Retry, now that the provider accepts orders again.
    let r = ops.call("interventions/retry", &[("intervention_id", &item(&o3))]).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    drain(&app).await;
    assert_eq!(order_of(&app, &o3).await.status, "active");
    assert!(open_interventions(&app).await.is_empty());
    // Dealt with once: a second resolution is refused.
    let r = ops.call("interventions/retry", &[("intervention_id", &item(&o3))]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // Customers never reach the queue, not even their own operators.
    for who in ["member@acme.example", "operator@acme.example", "tenant_admin@acme.example"] {
        let c = app.login(who).await;
        assert_eq!(c.call("interventions/list", &[("status", "all")]).await.status, StatusCode::FORBIDDEN, "{who}");
    }
    let globex = app.login("tenant_admin@globex.example").await;
    assert_eq!(globex.call("interventions/list", &[("status", "all")]).await.status, StatusCode::FORBIDDEN);
    assert!(app::audit::ssr::verify(&app.state.db).await.unwrap().first_bad.is_none());
}

#[tokio::test]
async fn a_composite_rolls_back_its_provisioned_legs_when_one_leg_is_rejected() {
    let app = app().await;
    let c = customer(&app).await;
    for cloud in ["aws", "azure"] {
        set_adapter(&app, cloud, &[("customer_action", "auto")]).await;
    }
    set_adapter(&app, "patchbay", &[("permanent_pct", "100")]).await;
    let conn = Conn {
        offering: offering(&app, "cloud-cloud").await,
        a: endpoint(&app, "aws", "cloud_onramp", "London", 1000).await,
        b: endpoint(&app, "azure", "cloud_onramp", "London", 1000).await,
    };
    let before = (used(&app, &conn.a).await, used(&app, &conn.b).await);
    let order_id = place(&c, &conn, "1000").await;
    drain(&app).await;

    let o = order_of(&app, &order_id).await;
    assert_eq!(o.status, "failed");
    let reason = o.status_reason.unwrap();
    assert!(reason.contains("Leg 2") && reason.contains("Fabric"), "{reason}");
    let svc = service_of(&app, &order_id).await;
    assert_eq!(svc.status, "failed");
    let legs = legs_of(&app, &svc.id).await;
    let states: Vec<&str> = legs.iter().map(|l| l.status.as_str()).collect();
    assert_eq!(states, ["rolled_back", "failed", "cancelled"]);
    // Nothing is left provisioned at any provider.
    let live: Vec<_> = entity::sandbox_resource::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.state != "deleted" && r.state != "Deprovisioned" && r.state != "removed")
        .collect();
    assert!(live.is_empty(), "left behind: {live:?}");
    assert_eq!((used(&app, &conn.a).await, used(&app, &conn.b).await), before);
    assert!(events_of(&app, &svc.id).await.contains(&"service.leg.rolled_back".to_string()));

    // With the fabric healthy, the same connection comes up: three legs, in order.
    set_adapter(&app, "patchbay", &[("permanent_pct", "0")]).await;
    let order_id = place(&c, &conn, "1000").await;
    drain(&app).await;
    assert_eq!(order_of(&app, &order_id).await.status, "active");
    let legs = legs_of(&app, &service_of(&app, &order_id).await.id).await;
    assert_eq!(legs.iter().map(|l| l.role.as_str()).collect::<Vec<_>>(), ["a_onramp", "fabric", "b_onramp"]);
    assert!(legs.iter().all(|l| l.status == "active"));
    assert_eq!(legs[2].provider_state.as_deref(), Some("Provisioned"));
}

/// A small MEF LSO Sonata product-ordering server: orders by `externalId` (a repeat
/// returns the same order), state advancing one step per read, bearer token required.
#[derive(Clone, Default)]
struct Partner {
    orders: Arc<Mutex<Vec<Value>>>,
    creates: Arc<Mutex<Vec<String>>>,
}

async fn start_partner(token: &'static str) -> (String, Partner) {
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode as S};
    use axum::routing::{get, post};
    let partner = Partner::default();
    fn authorised(h: &HeaderMap, token: &str) -> bool {
        h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {token}"))
    }
    let base = "/mefApi/sonata/productOrderingManagement/v10/productOrder";
    let router = axum::Router::new()
        .route(
            base,
            post(move |State(p): State<Partner>, h: HeaderMap, axum::Json(body): axum::Json<Value>| async move {
                if !authorised(&h, token) {
                    return (S::UNAUTHORIZED, axum::Json(json!({"message": "invalid token"})));
                }
                let ext = body["externalId"].as_str().unwrap_or_default().to_string();
                p.creates.lock().unwrap().push(ext.clone());
                let mut orders = p.orders.lock().unwrap();
                if let Some(o) = orders.iter().find(|o| o["externalId"] == ext.as_str()) {
                    return (S::OK, axum::Json(o.clone()));
                }
                let id = format!("PO-{}", orders.len() + 1);
                let o = json!({"id": id, "externalId": ext, "state": "acknowledged",
                    "productOrderItem": [{"id": "1", "product": {"id": format!("PRD-{}", orders.len() + 1)}}]});
                orders.push(o.clone());
                (S::CREATED, axum::Json(o))
            }),
        )
        .route(
            &format!("{base}/{{id}}"),
            get(move |State(p): State<Partner>, h: HeaderMap, Path(id): Path<String>| async move {
                if !authorised(&h, token) {
                    return (S::UNAUTHORIZED, axum::Json(json!({"message": "invalid token"})));
                }
                let mut orders = p.orders.lock().unwrap();
                match orders.iter_mut().find(|o| o["id"] == id.as_str()) {
                    Some(o) => {
                        let next = match o["state"].as_str() {
                            Some("acknowledged") => "inProgress",
                            _ => "completed",
                        };
                        o["state"] = json!(next);
                        (S::OK, axum::Json(o.clone()))
                    }
                    None => (S::NOT_FOUND, axum::Json(json!({"message": "no such order"}))),
                }
            }),
        )
        .with_state(partner.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}"), partner)
}

#[tokio::test]
async fn the_partner_adapter_orders_over_the_mef_sonata_api() {
    let app = app().await;
    let c = customer(&app).await;
    let (url, partner) = start_partner("partner-secret").await;
    set_adapter(&app, "linx", &[("adapter", "mef_partner"), ("base_url", &url), ("credentials", "partner-secret")])
        .await;
    // The token is sealed at rest.
    let row = entity::provider_adapter::Entity::find_by_id(provider_id(&app, "linx").await)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(!row.credentials_sealed.unwrap().contains("partner-secret"));
    let conn = Conn {
        offering: offering(&app, "partner").await,
        a: endpoint(&app, "equinix", "dc_port", "London", 1000).await,
        b: endpoint(&app, "linx", "exchange_port", "London", 1000).await,
    };
    let order_id = place(&c, &conn, "1000").await;
    drain(&app).await;
    assert_eq!(order_of(&app, &order_id).await.status, "active");
    let leg = legs_of(&app, &service_of(&app, &order_id).await.id).await.remove(0);
    assert_eq!(leg.adapter, "mef_partner");
    assert_eq!(leg.external_ref.as_deref(), Some("PO-1"));
    assert_eq!(leg.provider_state.as_deref(), Some("completed"));
    let creates = partner.creates.lock().unwrap().clone();
    assert_eq!(creates, vec![format!("leg:{}:provision", leg.id)], "one order per idempotency key");

    // A wrong token is refused by the partner: a permanent error for an operator.
    set_adapter(&app, "linx", &[("credentials", "wrong")]).await;
    let order2 = place(&c, &conn, "1000").await;
    drain(&app).await;
    let open = open_interventions(&app).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].order_id, order2);
    assert!(open[0].error.contains("401"), "{}", open[0].error);
}

#[tokio::test]
async fn services_change_bandwidth_suspend_resume_and_terminate_through_jobs() {
    let app = app().await;
    let c = customer(&app).await;
    let conn = cross_connect(&app).await;
    let order_id = place(&c, &conn, "1000").await;
    drain(&app).await;
    let svc = service_of(&app, &order_id).await;
    let base = used(&app, &conn.a).await;

    let r = c.call("services/change_bandwidth", &[("service_id", &svc.id), ("bandwidth_mbps", "7")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body["Validation"]["fields"]["bandwidth_mbps"].is_string());
    let r = c.call("services/change_bandwidth", &[("service_id", &svc.id), ("bandwidth_mbps", "1000")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "same bandwidth: {}", r.body);
    let d = c.call("services/get", &[("service_id", &svc.id)]).await;
    let options: Vec<i64> =
        d.body["bandwidth_options"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    let to = *options.iter().find(|b| **b != 1000).expect("another bandwidth is sold");
    let r = c.call("services/change_bandwidth", &[("service_id", &svc.id), ("bandwidth_mbps", &to.to_string())]).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    // One change at a time; the service stays active meanwhile.
    let d = c.call("services/get", &[("service_id", &svc.id)]).await;
    assert_eq!(d.body["service"]["status"], "active");
    assert!(d.body["in_progress"].as_str().unwrap().starts_with("Changing bandwidth to"), "{}", d.body);
    assert!(d.body["service"]["pending_bandwidth"].is_string(), "{}", d.body);
    let r = c.call("services/suspend", &[("service_id", &svc.id)]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    drain(&app).await;
    let s = service_of(&app, &order_id).await;
    assert_eq!((s.bandwidth_mbps, s.pending_bandwidth_mbps), (to, None));
    assert_eq!(used(&app, &conn.a).await, base + (to - 1000), "capacity follows the change");

    let r = c.call("services/suspend", &[("service_id", &svc.id)]).await;
    assert!(r.status.is_success(), "{}", r.body);
    drain(&app).await;
    assert_eq!(service_of(&app, &order_id).await.status, "suspended");
    assert_eq!(order_of(&app, &order_id).await.status, "suspended");
    let r = c.call("services/resume", &[("service_id", &svc.id)]).await;
    assert!(r.status.is_success(), "{}", r.body);
    drain(&app).await;
    assert_eq!(service_of(&app, &order_id).await.status, "active");

    // Members cannot change services; other tenants cannot even see them.
    let member = app.login("member@acme.example").await;
    assert_eq!(member.call("services/suspend", &[("service_id", &svc.id)]).await.status, StatusCode::FORBIDDEN);
    let globex = app.login("tenant_admin@globex.example").await;
    for (f, extra) in
        [("services/get", None), ("services/suspend", None), ("services/terminate", Some(svc.number.as_str()))]
    {
        let mut form = vec![("service_id", svc.id.as_str())];
        if let Some(x) = extra {
            form.push(("confirm", x));
        }
        assert_eq!(globex.call(f, &form).await.status, StatusCode::NOT_FOUND, "{f}");
    }
    assert_eq!(service_of(&app, &order_id).await.status, "active", "nothing changed");

    let r = c.call("services/terminate", &[("service_id", &svc.id), ("confirm", "yes")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = c.call("services/terminate", &[("service_id", &svc.id), ("confirm", &svc.number)]).await;
    assert!(r.status.is_success(), "{}", r.body);
    drain(&app).await;
    let s = service_of(&app, &order_id).await;
    assert_eq!(s.status, "terminated");
    assert_eq!(order_of(&app, &order_id).await.status, "terminated");
    assert_eq!(used(&app, &conn.a).await, base - 1000, "capacity released");
    let events = events_of(&app, &svc.id).await;
    for e in ["service.modified", "service.suspended", "service.resumed", "service.terminated"] {
        assert!(events.contains(&e.to_string()), "{e} missing: {events:?}");
    }
}

#[tokio::test]
async fn order_pages_stream_live_events_and_replay_what_a_client_missed() {
    let app = app().await;
    let c = customer(&app).await;
    let conn = cross_connect(&app).await;
    let order_id = place(&c, &conn, "1000").await;
    let path = format!("/events/orders/{order_id}?since=0");
    // Provision while a client listens.
    let stream = open_events(&c, &path, None, 10).await;
    let reader = tokio::spawn(collect_events(stream, "billing.metering.started", 10));
    drain(&app).await;
    let seen = reader.await.unwrap();
    let types: Vec<&str> = seen.iter().map(|(_, t)| t.as_str()).collect();
    for t in ["order.queued", "order.provisioning", "service.provisioning.started", "service.active", "order.active"] {
        assert!(types.contains(&t), "{t} not streamed: {types:?}");
    }
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "ids increase");

    // Reconnecting with Last-Event-ID gets exactly what came after it.
    let (cut, _) = seen[1];
    let replay =
        read_events(&c, &format!("/events/orders/{order_id}"), Some(&cut.to_string()), "billing.metering.started", 10)
            .await;
    assert_eq!(replay, seen[2..].to_vec());

    // Only the tenant's own signed-in users may listen.
    let anon = app.client();
    assert_eq!(anon.get(&path).await.status(), StatusCode::UNAUTHORIZED);
    let globex = app.login("tenant_admin@globex.example").await;
    assert_eq!(globex.get(&path).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_jobs_console_is_for_platform_staff_and_cancelling_needs_a_reason() {
    let app = app().await;
    let c = customer(&app).await;
    let conn = cross_connect(&app).await;
    let order_id = place(&c, &conn, "1000").await;
    // Manual intervention is Patchbay's NOC: platform admins.
    let ops = app.login("admin@patchbay.example").await;
    let list = ops.call("jobs/list", &[("status", "queued"), ("kind", "")]).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let job = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["resource_link"].as_str().unwrap_or("").contains(&order_id))
        .unwrap()
        .clone();
    let job_id = job["id"].as_str().unwrap();

    for who in ["tenant_admin@globex.example", "operator@acme.example"] {
        let c = app.login(who).await;
        assert_eq!(c.call("jobs/list", &[("status", ""), ("kind", "")]).await.status, StatusCode::FORBIDDEN, "{who}");
        assert_eq!(c.call("jobs/retry", &[("job_id", job_id)]).await.status, StatusCode::FORBIDDEN, "{who}");
    }
    let r = ops.call("jobs/cancel", &[("job_id", job_id), ("reason", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = ops.call("jobs/cancel", &[("job_id", job_id), ("reason", "Customer asked to hold")]).await;
    assert!(r.status.is_success(), "{}", r.body);
    assert!(drain(&app).await.is_empty(), "a cancelled job does not run");
    // The order it would have provisioned is cancelled with the reason, not left queued.
    let o = order_of(&app, &order_id).await;
    assert_eq!((o.status.as_str(), o.status_reason.as_deref()), ("cancelled", Some("Customer asked to hold")));

    // Once provisioning has started, cancelling is refused: the intervention queue fails it cleanly.
    let order2 = place(&c, &conn, "1000").await;
    let aws = Conn {
        offering: offering(&app, "cloud-dc").await,
        a: endpoint(&app, "equinix", "dc_port", "London", 1000).await,
        b: endpoint(&app, "aws", "cloud_onramp", "London", 1000).await,
    };
    let waiting = place(&c, &aws, "1000").await;
    drain(&app).await;
    assert_eq!(order_of(&app, &order2).await.status, "active");
    let job = jobs::active_for(&app.state.db, &waiting).await.unwrap().expect("waits for the customer");
    let r = ops.call("jobs/cancel", &[("job_id", &job.id), ("reason", "hold")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // "Retry now" makes a waiting job due at once.
    let r = ops.call("jobs/retry", &[("job_id", &job.id)]).await;
    assert!(r.status.is_success(), "{}", r.body);
    let ran = drain(&app).await;
    assert!(ran.iter().any(|r| r.job_id == job.id), "{ran:?}");
    let audit = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Action.eq("job.cancelled"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(audit.details.contains("Customer asked to hold"));
}

#[tokio::test]
async fn a_lease_that_expires_hands_the_job_to_another_worker_without_ordering_twice() {
    let app = spawn_app_custom(false, |cfg, _| {
        cfg.provision_poll_ms = 0;
        cfg.job_lease_ms = 300;
    })
    .await;
    let c = customer(&app).await;
    let conn = cross_connect(&app).await;
    let order_id = place(&c, &conn, "1000").await;
    // Worker A claims the job and "dies" (never renews, never settles).
    // A long lease, so that only the test decides when it runs out, however loaded the machine.
    let claimed = jobs::claim(&app.state.db, "worker-a", std::time::Duration::from_secs(60)).await.unwrap().unwrap();
    assert_eq!(claimed.resource_id.as_deref(), Some(order_id.as_str()));
    assert!(
        jobs::claim(&app.state.db, "worker-b", std::time::Duration::from_millis(300)).await.unwrap().is_none(),
        "leased"
    );
    // Worker A's lease runs out (set in the past rather than waited for).
    entity::job::Entity::update_many()
        .col_expr(
            entity::job::Column::LeaseExpiresAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(entity::job::Column::Id.eq(&claimed.id))
        .exec(&app.state.db)
        .await
        .unwrap();
    let ran = app::workers::drain(&app.state, "worker-b", 100).await.unwrap();
    assert!(!ran.is_empty());
    assert_eq!(order_of(&app, &order_id).await.status, "active");
    // Worker A's late answer is refused: it no longer holds the lease.
    assert!(!jobs::renew(&app.state.db, &claimed.id, "worker-a", std::time::Duration::from_secs(1)).await.unwrap());
    assert_eq!(executed_provisions(&app).await.len(), 1);
}

/// A partner that refuses every order with its own words, and a URL of its own in them.
async fn start_refusing_partner(words: &'static str) -> String {
    use axum::http::StatusCode as S;
    use axum::routing::post;
    let base = "/mefApi/sonata/productOrderingManagement/v10/productOrder";
    let router = axum::Router::new()
        .route(base, post(move || async move { (S::UNPROCESSABLE_ENTITY, axum::Json(json!({"message": words}))) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// Everything a customer of Acme can read about `orders`: every portal server function
/// about them, their pages, the outbox (tomorrow's webhooks) and the tenant's audit trail.
async fn customer_view(app: &TestApp, c: &Client, orders: &[&str]) -> String {
    let mut seen = Vec::new();
    seen.push(c.call("services/list", &[("status", ""), ("q", "")]).await.body.to_string());
    seen.push(c.call("orders/list", &[]).await.body.to_string());
    for o in orders {
        for f in ["orders/get", "orders/page", "services/for_order"] {
            let r = c.call(f, &[("order_id", o)]).await;
            assert!(r.status.is_success(), "{f}: {} {}", r.status, r.body);
            seen.push(r.body.to_string());
        }
        let page = c.get(&format!("/portal/orders/{o}")).await;
        assert!(page.status().is_success());
        seen.push(page.text().await.unwrap());
        let svc = service_of(app, o).await;
        let r = c.call("services/get", &[("service_id", &svc.id)]).await;
        assert!(r.status.is_success(), "{} {}", r.status, r.body);
        seen.push(r.body.to_string());
        let page = c.get(&format!("/portal/services/{}", svc.id)).await;
        assert!(page.status().is_success());
        seen.push(page.text().await.unwrap());
        // The sandbox's customer step on a leg that is not waiting: refused in plain words.
        for leg in legs_of(app, &svc.id).await {
            let r = c.call("services/customer_step", &[("service_id", &svc.id), ("leg_id", &leg.id)]).await;
            seen.push(r.body.to_string());
        }
    }
    let acme = tenant_id(app, "acme").await;
    for e in entity::outbox_event::Entity::find()
        .filter(entity::outbox_event::Column::TenantId.eq(&acme))
        .all(&app.state.db)
        .await
        .unwrap()
    {
        seen.push(e.payload);
    }
    for e in entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::TenantId.eq(&acme))
        .all(&app.state.db)
        .await
        .unwrap()
    {
        seen.push(e.details);
    }
    seen.join("\n")
}

#[tokio::test]
async fn provider_and_partner_error_text_reaches_staff_only() {
    let app = app().await;
    let c = customer(&app).await;
    // 1. A partner that refuses the order outright (a single leg: operations take over).
    const PARTNER_WORDS: &str = "XQZ-7731 refused: port dump at http://partner.internal/debug/7731";
    let url = start_refusing_partner(PARTNER_WORDS).await;
    set_adapter(&app, "linx", &[("adapter", "mef_partner"), ("base_url", &url), ("credentials", "t")]).await;
    let partner = Conn {
        offering: offering(&app, "partner").await,
        a: endpoint(&app, "equinix", "dc_port", "London", 1000).await,
        b: endpoint(&app, "linx", "exchange_port", "London", 1000).await,
    };
    let refused = place(&c, &partner, "1000").await;
    // 2. A composite whose fabric leg the provider rejects: rolled back, the order fails.
    for cloud in ["aws", "azure"] {
        set_adapter(&app, cloud, &[("customer_action", "auto")]).await;
    }
    set_adapter(&app, "patchbay", &[("permanent_pct", "100")]).await;
    let composite = Conn {
        offering: offering(&app, "cloud-cloud").await,
        a: endpoint(&app, "aws", "cloud_onramp", "London", 1000).await,
        b: endpoint(&app, "azure", "cloud_onramp", "London", 1000).await,
    };
    let rolled_back = place(&c, &composite, "1000").await;
    drain(&app).await;
    assert_eq!(order_of(&app, &refused).await.status, "provisioning", "waits for operations");
    let failed = order_of(&app, &rolled_back).await;
    assert_eq!(failed.status, "failed");

    // The customer sees plain words that say what happens next, and nothing of the providers'.
    let seen = customer_view(&app, &c, &[&refused, &rolled_back]).await;
    for secret in ["XQZ-7731", "partner.internal", "sandbox-injected", "capacity not available"] {
        assert!(!seen.contains(secret), "{secret} reached the customer:\n{seen}");
    }
    assert!(seen.contains("our operations team is looking at it"), "{seen}");
    let reason = failed.status_reason.unwrap();
    assert!(reason.contains("Leg 2") && reason.contains("operations team"), "{reason}");

    // Staff see the detail in the console.
    let ops = app.login("admin@patchbay.example").await;
    let list = ops.call("interventions/list", &[("status", "open")]).await;
    assert!(list.status.is_success(), "{}", list.body);
    assert!(list.body.to_string().contains("XQZ-7731"), "{}", list.body);
    let page = ops.get("/console/interventions").await.text().await.unwrap();
    assert!(page.contains("XQZ-7731") && page.contains("partner.internal"), "the intervention page shows the detail");
    let jobs = ops.call("jobs/list", &[("status", ""), ("kind", "")]).await;
    assert!(jobs.body.to_string().contains("sandbox-injected rejection"), "the rolled-back job keeps the detail");
}

#[tokio::test]
async fn a_stored_status_that_does_not_parse_is_an_error_not_a_default() {
    let app = app().await;
    let c = customer(&app).await;
    let conn = cross_connect(&app).await;
    let order_id = place(&c, &conn, "1000").await;
    drain(&app).await;
    let svc = service_of(&app, &order_id).await;
    let mut am: entity::service::ActiveModel = svc.clone().into();
    am.status = Set("Active ".into());
    am.update(&app.state.db).await.unwrap();
    let r = c.call("services/get", &[("service_id", &svc.id)]).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
    let r = c.call("services/suspend", &[("service_id", &svc.id)]).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
    // An order whose status does not parse is refused every transition (no skipped check).
    let mut o: entity::order::ActiveModel = order_of(&app, &order_id).await.into();
    o.status = Set("shipped".into());
    o.update(&app.state.db).await.unwrap();
    let r = c.call("orders/cancel", &[("order_id", &order_id), ("reason", "")]).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
    assert_eq!(order_of(&app, &order_id).await.status, "shipped", "nothing changed");
}
