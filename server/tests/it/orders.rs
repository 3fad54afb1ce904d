//! Catalog, quotes and orders through the HTTP stack: pricing and serviceability,
//! quote → order → approval with separation of duties, rejection and cancellation,
//! effective-dated prices, expiry, edition quotas and tenant isolation.

use crate::common::*;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

struct Conn {
    offering: String,
    a: String,
    b: String,
}

async fn london_cloud(app: &TestApp, mbps: i64) -> Conn {
    Conn {
        offering: offering(app, "cloud-dc").await,
        a: endpoint(app, "equinix", "dc_port", "London", mbps).await,
        b: endpoint(app, "aws", "cloud_onramp", "London", mbps).await,
    }
}

async fn quote(c: &Client, conn: &Conn, mbps: &str, term: &str) -> Reply {
    c.call(
        "quotes/create",
        &[
            ("offering_id", &conn.offering),
            ("a_endpoint_id", &conn.a),
            ("b_endpoint_id", &conn.b),
            ("bandwidth_mbps", mbps),
            ("term_months", term),
            ("est_usage_gb", ""),
        ],
    )
    .await
}

async fn order(c: &Client, quote_id: &str, po: &str) -> Reply {
    c.call(
        "orders/place",
        &[
            ("quote_id", quote_id),
            ("po_number", po),
            ("cost_centre", "NET-01"),
            ("description", "Production VPC to London"),
        ],
    )
    .await
}

fn id_of(r: &Reply) -> String {
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    r.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn quotes_price_serviceable_connections_and_explain_the_rest() {
    let app = spawn_app().await;
    let conn = london_cloud(&app, 1000).await;
    let c = app.login("member@acme.example").await;
    let p = c
        .call(
            "quotes/preview",
            &[
                ("input[offering_id]", conn.offering.as_str()),
                ("input[a_endpoint_id]", &conn.a),
                ("input[b_endpoint_id]", &conn.b),
                ("input[bandwidth_mbps]", "1000"),
                ("input[term_months]", "12"),
                ("input[est_usage_gb]", ""),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(p.body["serviceable"], true, "{}", p.body);
    assert_eq!(p.body["currency"], "EUR", "London prices come from the EMEA book");
    let nrc = p.body["nrc_minor"].as_i64().unwrap();
    let monthly = p.body["monthly_minor"].as_i64().unwrap();
    assert_eq!(p.body["total_minor"].as_i64().unwrap(), nrc + 12 * monthly);
    assert!(p.body["lines"].as_array().unwrap().iter().any(|l| l["label"].as_str().unwrap().contains("term discount")));

    // The same ends cannot carry a bandwidth the on-ramp does not sell, and the reason says so.
    let p = c
        .call(
            "quotes/preview",
            &[
                ("input[offering_id]", conn.offering.as_str()),
                ("input[a_endpoint_id]", &conn.a),
                ("input[b_endpoint_id]", &conn.a),
                ("input[bandwidth_mbps]", "1000"),
                ("input[term_months]", "12"),
                ("input[est_usage_gb]", ""),
            ],
        )
        .await;
    assert_eq!(p.body["serviceable"], false);
    assert!(!p.body["reasons"].as_array().unwrap().is_empty());

    // Saving an unserviceable quote is refused and stores nothing.
    let bad = Conn { b: conn.a.clone(), ..conn };
    let r = quote(&c, &bad, "1000", "12").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(entity::quote::Entity::find().all(&app.state.db).await.unwrap().is_empty());

    // Field errors for nonsense.
    let r = c
        .call(
            "quotes/create",
            &[
                ("offering_id", ""),
                ("a_endpoint_id", ""),
                ("b_endpoint_id", ""),
                ("bandwidth_mbps", "fast"),
                ("term_months", "x"),
                ("est_usage_gb", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for f in ["offering_id", "bandwidth_mbps", "term_months"] {
        assert!(r.body["Validation"]["fields"][f].is_string(), "{f}");
    }
}

#[tokio::test]
async fn an_order_above_the_threshold_needs_a_second_approver() {
    let app = spawn_app().await;
    let conn = london_cloud(&app, 10000).await;
    let billing = app.login("billing_admin@acme.example").await;
    let admin = app.login("tenant_admin@acme.example").await;

    let q = quote(&billing, &conn, "10000", "36").await;
    let qid = id_of(&q);
    assert_eq!(q.body["status"], "open");
    // Acme's demo rule: orders above EUR 10,000 need approval.
    let o = order(&billing, &qid, "PO-1001").await;
    let oid = id_of(&o);
    assert_eq!(o.body["status"], "quoted", "waiting for approval: {}", o.body);
    assert_eq!(o.body["needs_approval"], true);
    // The same quote cannot be ordered twice.
    assert_eq!(order(&billing, &qid, "PO-1001b").await.status, StatusCode::CONFLICT);

    // The person who placed it cannot approve it.
    let r = billing.call("orders/approve", &[("order_id", &oid)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // A member may not approve at all.
    let member = app.login("member@acme.example").await;
    assert_eq!(member.call("orders/approve", &[("order_id", &oid)]).await.status, StatusCode::FORBIDDEN);

    let r = admin.call("orders/approve", &[("order_id", &oid)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = admin.call("orders/get", &[("order_id", &oid)]).await.body;
    assert_eq!(d["order"]["status"], "queued");
    assert_eq!(d["order"]["approved_by"], "tenant_admin@acme.example");
    let steps: Vec<&str> = d["timeline"].as_array().unwrap().iter().map(|t| t["to"].as_str().unwrap()).collect();
    assert_eq!(steps, ["draft", "submitted", "validating", "quoted", "approved", "queued"]);
    // Approving twice is a conflict, not a second approval.
    assert_eq!(admin.call("orders/approve", &[("order_id", &oid)]).await.status, StatusCode::CONFLICT);

    assert_eq!(events_of(&app, &oid).await, ["order.submitted", "order.accepted", "order.queued"]);
    let audited = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::ResourceId.eq(&oid))
        .all(&app.state.db)
        .await
        .unwrap()
        .len();
    assert_eq!(audited, 5, "one audit event per transition after the draft");
    assert!(app::audit::ssr::verify(&app.state.db).await.unwrap().first_bad.is_none());

    // A queued order can still be cancelled; then never again.
    assert_eq!(billing.call("orders/cancel", &[("order_id", &oid), ("reason", "")]).await.status, StatusCode::OK);
    assert_eq!(billing.call("orders/cancel", &[("order_id", &oid), ("reason", "")]).await.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn small_orders_are_approved_automatically_and_big_ones_can_be_rejected() {
    let app = spawn_app().await;
    let small = london_cloud(&app, 100).await;
    let billing = app.login("billing_admin@acme.example").await;
    let q = quote(&billing, &small, "100", "1").await;
    let o = order(&billing, &id_of(&q), "PO-2").await;
    assert_eq!(o.body["status"], "queued", "{}", o.body);
    assert!(o.body["approved_by"].is_null());

    let big = london_cloud(&app, 10000).await;
    let q = quote(&billing, &big, "10000", "36").await;
    let oid = id_of(&order(&billing, &id_of(&q), "PO-3").await);
    let admin = app.login("tenant_admin@acme.example").await;
    let r = admin.call("orders/reject", &[("order_id", &oid), ("reason", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a reason is required");
    let r = admin.call("orders/reject", &[("order_id", &oid), ("reason", "Over budget this quarter")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = admin.call("orders/get", &[("order_id", &oid)]).await.body;
    assert_eq!(d["order"]["status"], "cancelled");
    assert!(d["order"]["status_reason"].as_str().unwrap().contains("Over budget"));
    let rejected = entity::outbox_event::Entity::find()
        .filter(entity::outbox_event::Column::ResourceId.eq(&oid))
        .filter(entity::outbox_event::Column::EventType.eq("order.rejected"))
        .one(&app.state.db)
        .await
        .unwrap();
    assert!(rejected.is_some());

    // Order validation: field errors, and nothing created.
    let q = quote(&billing, &small, "100", "12").await;
    let before = entity::order::Entity::find().all(&app.state.db).await.unwrap().len();
    let r = billing
        .call("orders/place", &[("quote_id", &id_of(&q)), ("po_number", ""), ("cost_centre", ""), ("description", "")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["Validation"]["fields"]["po_number"].is_string());
    assert!(r.body["Validation"]["fields"]["description"].is_string());
    assert_eq!(entity::order::Entity::find().all(&app.state.db).await.unwrap().len(), before);
}

#[tokio::test]
async fn quotes_keep_their_prices_and_expire() {
    let app = spawn_app().await;
    let conn = london_cloud(&app, 1000).await;
    let billing = app.login("billing_admin@acme.example").await;
    let q = quote(&billing, &conn, "1000", "12").await;
    let qid = id_of(&q);
    let old_total = q.body["total_minor"].as_i64().unwrap();

    // The platform publishes a 10% increase effective today.
    let admin = app.login("admin@patchbay.example").await;
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let bad = admin
        .call(
            "pricing/publish",
            &[("region", "EMEA"), ("effective_from", "2001-01-01"), ("adjust_percent", "ten"), ("note", "")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for f in ["effective_from", "adjust_percent", "note"] {
        assert!(bad.body["Validation"]["fields"][f].is_string(), "{f}");
    }
    let r = admin
        .call(
            "pricing/publish",
            &[("region", "EMEA"), ("effective_from", &today), ("adjust_percent", "10"), ("note", "Test increase")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["state"], "in force");

    // The saved quote is unchanged; a new one costs more.
    let again = billing.call("quotes/get", &[("quote_id", &qid)]).await;
    assert_eq!(again.body["total_minor"].as_i64().unwrap(), old_total);
    let newer = quote(&billing, &conn, "1000", "12").await;
    assert!(newer.body["total_minor"].as_i64().unwrap() > old_total, "{} vs {old_total}", newer.body["total_minor"]);

    // An expired quote cannot be ordered.
    let row = entity::quote::Entity::find_by_id(qid.clone()).one(&app.state.db).await.unwrap().unwrap();
    let mut am: entity::quote::ActiveModel = row.into();
    am.valid_until = Set(chrono::Utc::now() - chrono::Duration::days(1));
    am.update(&app.state.db).await.unwrap();
    assert_eq!(billing.call("quotes/get", &[("quote_id", &qid)]).await.body["status"], "expired");
    let r = order(&billing, &qid, "PO-9").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body["Conflict"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn the_edition_limits_active_services() {
    let app = spawn_app().await;
    let globex = tenant_id(&app, "globex").await;
    let admin = app.login("admin@patchbay.example").await;
    let free = entity::edition::Entity::find()
        .filter(entity::edition::Column::Key.eq("free"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        admin.call("tenants/change_edition", &[("tenant_id", &globex), ("edition_id", &free.id)]).await.status,
        StatusCode::OK
    );
    let conn = london_cloud(&app, 100).await;
    let g = app.login("tenant_admin@globex.example").await;
    for i in 0..free.max_active_services {
        let q = quote(&g, &conn, "100", "1").await;
        let o = order(&g, &id_of(&q), &format!("G-{i}")).await;
        assert_eq!(o.body["status"], "queued", "{}", o.body);
    }
    let q = quote(&g, &conn, "100", "1").await;
    let r = order(&g, &id_of(&q), "G-over").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body["Conflict"].as_str().unwrap().contains("Free edition allows"), "{}", r.body);
}

#[tokio::test]
async fn catalog_quotes_and_orders_stay_inside_their_tenant_and_roles() {
    let app = spawn_app().await;
    let conn = london_cloud(&app, 10000).await;
    let billing = app.login("billing_admin@acme.example").await;
    let qid = id_of(&quote(&billing, &conn, "10000", "36").await);
    let oid = id_of(&order(&billing, &qid, "PO-X").await);

    let globex = app.login("tenant_admin@globex.example").await;
    for (endpoint, args) in [
        ("quotes/get", vec![("quote_id", qid.as_str())]),
        ("orders/get", vec![("order_id", oid.as_str())]),
        ("orders/approve", vec![("order_id", oid.as_str())]),
        ("orders/reject", vec![("order_id", oid.as_str()), ("reason", "mine now")]),
        ("orders/cancel", vec![("order_id", oid.as_str()), ("reason", "")]),
        (
            "orders/place",
            vec![("quote_id", qid.as_str()), ("po_number", "P"), ("cost_centre", ""), ("description", "steal")],
        ),
    ] {
        let r = globex.call(endpoint, &args).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "globex {endpoint}: {}", r.body);
    }
    assert!(globex.call("quotes/list", &[]).await.body["items"].as_array().unwrap().is_empty());
    assert!(globex.call("orders/list", &[]).await.body["items"].as_array().unwrap().is_empty());
    let d = billing.call("orders/get", &[("order_id", &oid)]).await.body;
    assert_eq!(d["order"]["status"], "quoted", "nothing changed");

    // Roles: auditors and support read but do not quote; members quote but do not order.
    for who in ["auditor@acme.example", "support@acme.example"] {
        let c = app.login(who).await;
        assert_eq!(quote(&c, &conn, "10000", "36").await.status, StatusCode::FORBIDDEN, "{who}");
        assert_eq!(c.call("orders/list", &[]).await.status, StatusCode::OK, "{who}");
    }
    let member = app.login("member@acme.example").await;
    let mq = id_of(&quote(&member, &conn, "10000", "12").await);
    assert_eq!(order(&member, &mq, "PO-M").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        member.call("orders/set_policy", &[("threshold", ""), ("currency", "EUR")]).await.status,
        StatusCode::FORBIDDEN
    );
    // Catalog administration is the platform's.
    let ta = app.login("tenant_admin@acme.example").await;
    for endpoint in ["catalog/admin/endpoints", "pricing/books"] {
        assert_eq!(ta.call(endpoint, &[]).await.status, StatusCode::FORBIDDEN, "{endpoint}");
    }
    assert_eq!(
        ta.call(
            "pricing/publish",
            &[("region", "EMEA"), ("effective_from", "2030-01-01"), ("adjust_percent", "1"), ("note", "x")]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.client().call("catalog/locations", &[]).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn platform_admins_add_locations_and_endpoints_customers_can_then_quote() {
    let app = spawn_app().await;
    let admin = app.login("admin@patchbay.example").await;
    let bad = admin
        .call(
            "catalog/admin/add_location",
            &[
                ("location[key]", "Bad Key"),
                ("location[facility]", ""),
                ("location[operator]", "Equinix"),
                ("location[metro]", "London"),
                ("location[country]", "GBR"),
                ("location[region]", "EMEA"),
                ("location[latitude]", "91"),
                ("location[longitude]", "0"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    for f in ["key", "facility", "country", "latitude"] {
        assert!(bad.body["Validation"]["fields"][f].is_string(), "{f}");
    }
    let ok = admin
        .call(
            "catalog/admin/add_location",
            &[
                ("location[key]", "eqx-ld8"),
                ("location[facility]", "Equinix LD8, Docklands"),
                ("location[operator]", "Equinix"),
                ("location[metro]", "London"),
                ("location[country]", "gb"),
                ("location[region]", "EMEA"),
                ("location[latitude]", "51.51"),
                ("location[longitude]", "-0.005"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let loc = entity::location::Entity::find()
        .filter(entity::location::Column::Key.eq("eqx-ld8"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loc.country, "GB");
    let equinix = entity::provider::Entity::find()
        .filter(entity::provider::Column::Key.eq("equinix"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let r = admin
        .call(
            "catalog/admin/add_endpoint",
            &[
                ("endpoint[provider_id]", equinix.id.as_str()),
                ("endpoint[location_id]", &loc.id),
                ("endpoint[kind]", "dc_port"),
                ("endpoint[name]", "Equinix LD8 — 10G port"),
                ("endpoint[cloud_region]", ""),
                ("endpoint[bandwidths]", "100, 1G, 10G"),
                ("endpoint[capacity_mbps]", "10000"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A customer can price a connection from the new port.
    let conn = Conn {
        offering: offering(&app, "cloud-dc").await,
        a: entity::endpoint::Entity::find()
            .filter(entity::endpoint::Column::LocationId.eq(&loc.id))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .id,
        b: endpoint(&app, "aws", "cloud_onramp", "London", 1000).await,
    };
    let billing = app.login("billing_admin@acme.example").await;
    let q = quote(&billing, &conn, "1000", "12").await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.body);
    // Tenants cannot touch the catalog.
    let ta = app.login("tenant_admin@acme.example").await;
    assert_eq!(ta.call("catalog/admin/refs", &[]).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn demo_orders_go_through_the_product_and_are_placed_once() {
    let app = spawn_app().await;
    let placed = app::seed::orders::seed_demo_orders(&app.state).await.expect("demo orders");
    assert_eq!(placed, 4, "three orders for Acme and one for Globex");
    let acme = tenant_id(&app, "acme").await;
    let orders = entity::order::Entity::find()
        .filter(entity::order::Column::TenantId.eq(&acme))
        .all(&app.state.db)
        .await
        .expect("orders");
    assert_eq!(orders.len(), 3);
    // Small orders pass Acme's policy at once and are queued for provisioning; the
    // three-year 10G one waits for a second person.
    assert_eq!(orders.iter().filter(|o| o.status == "queued").count(), 2, "{orders:?}");
    let waiting: Vec<_> = orders.iter().filter(|o| o.status == "quoted").collect();
    assert_eq!(waiting.len(), 1, "{orders:?}");
    assert!(waiting[0].needs_approval);
    assert_eq!(waiting[0].placed_by_email, "billing_admin@acme.example");
    let quotes = entity::quote::Entity::find()
        .filter(entity::quote::Column::TenantId.eq(&acme))
        .all(&app.state.db)
        .await
        .expect("quotes");
    assert_eq!(quotes.len(), 4, "one quote is left open");
    let audited = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::TenantId.eq(&acme))
        .filter(entity::audit_event::Column::Action.eq("quote.created"))
        .all(&app.state.db)
        .await
        .expect("audit");
    assert_eq!(audited.len(), 4, "each quote is audited like a user's");

    // The tenant admin finds the order waiting for them, and may approve it.
    let admin = app.login("tenant_admin@acme.example").await;
    let list = admin.call("orders/list", &[("status", "quoted")]).await;
    assert!(list.status.is_success(), "{} {}", list.status, list.body);
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(1), "{}", list.body);
    let id = list.body["items"][0]["id"].as_str().expect("order id").to_string();
    let ok = admin.call("orders/approve", &[("order_id", &id)]).await;
    assert!(ok.status.is_success(), "{} {}", ok.status, ok.body);

    assert_eq!(app::seed::orders::seed_demo_orders(&app.state).await.expect("again"), 0, "a second run places nothing");
    let globex = tenant_id(&app, "globex").await;
    let g = entity::order::Entity::find()
        .filter(entity::order::Column::TenantId.eq(&globex))
        .all(&app.state.db)
        .await
        .expect("globex orders");
    assert_eq!(g.len(), 1);
}
