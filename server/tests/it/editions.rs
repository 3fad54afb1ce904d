//! Editions are enforced on the server and explained in the UI, and quotas are consumed
//! inside the transaction that checks them.

use crate::common::*;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

async fn edition(app: &TestApp, key: &str) -> entity::edition::Model {
    entity::edition::Entity::find()
        .filter(entity::edition::Column::Key.eq(key))
        .one(&app.state.db)
        .await
        .expect("query edition")
        .expect("built-in edition")
}

async fn put_on_edition(app: &TestApp, slug: &str, key: &str) {
    let ed = edition(app, key).await;
    let t = entity::tenant::Entity::find()
        .filter(entity::tenant::Column::Slug.eq(slug))
        .one(&app.state.db)
        .await
        .expect("query tenant")
        .expect("tenant");
    let mut am: entity::tenant::ActiveModel = t.into();
    am.edition_id = Set(ed.id);
    am.update(&app.state.db).await.expect("change edition");
}

#[tokio::test]
async fn the_built_in_editions_carry_the_seed_001_feature_matrix() {
    let app = spawn_app().await;
    let features = |e: entity::edition::Model| -> Vec<String> { serde_json::from_str(&e.features).expect("features") };
    let free = features(edition(&app, "free").await);
    let standard = features(edition(&app, "standard").await);
    let enterprise = features(edition(&app, "enterprise").await);
    for f in ["webhooks", "api", "config_studio", "flags", "order_approval_rules"] {
        assert!(free.iter().any(|x| x == f) && standard.iter().any(|x| x == f), "{f} on every edition");
    }
    for f in ["sso", "audit_export", "staged_rollouts", "change_windows", "flag_rules"] {
        assert!(!free.iter().any(|x| x == f), "{f} not on Free");
        assert!(standard.iter().any(|x| x == f) && enterprise.iter().any(|x| x == f), "{f} on Standard and Enterprise");
    }
    assert!(enterprise.iter().any(|x| x == "data_residency") && !standard.iter().any(|x| x == "data_residency"));
    assert!(!enterprise.iter().any(|x| x == "approvals"), "the unused key is gone");
}

#[tokio::test]
async fn a_free_tenant_cannot_export_its_audit_trail_and_the_page_says_why() {
    let app = spawn_app().await;
    put_on_edition(&app, "globex", "free").await;
    let globex = app.login("tenant_admin@globex.example").await;

    let res = globex.get("/exports/audit.jsonl?upto=1000000").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = res.text().await.unwrap_or_default();
    assert!(body.contains("Audit export is part of Standard and Enterprise; this tenant is on Free"), "{body}");

    let page = globex.get("/portal/audit").await.text().await.unwrap_or_default();
    assert!(
        page.contains("Audit export is part of Standard and Enterprise; this tenant is on Free"),
        "the reason is on the page"
    );
    assert!(!page.contains("/exports/audit.jsonl"), "no export link on Free");

    // Reading the trail page by page is on every edition.
    let r = globex.call("audit/list", &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body["rows"].as_array().expect("rows").is_empty(), "{}", r.body);

    // Enterprise (Acme) exports.
    let acme = app.login("tenant_admin@acme.example").await;
    let res = acme.get("/exports/audit.jsonl?upto=1000000").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap_or_default().contains("\"action\""));
}

/// Quote a cross-connect as `c`; returns the quote id.
async fn quote(c: &Client, conn: &(String, String, String)) -> String {
    let r = c
        .call(
            "quotes/create",
            &[
                ("offering_id", &conn.0),
                ("a_endpoint_id", &conn.1),
                ("b_endpoint_id", &conn.2),
                ("bandwidth_mbps", "1000"),
                ("term_months", "12"),
                ("est_usage_gb", ""),
            ],
        )
        .await;
    assert!(r.status.is_success(), "quote: {} {}", r.status, r.body);
    r.body["id"].as_str().expect("quote id").to_string()
}

#[tokio::test]
async fn two_orders_racing_for_the_last_service_slot_cannot_both_win() {
    let app = spawn_app().await;
    // Acme's edition has room for exactly one more service.
    let mut ed: entity::edition::ActiveModel = edition(&app, "enterprise").await.into();
    ed.max_active_services = Set(1);
    ed.update(&app.state.db).await.expect("set quota");
    let admin = app.login("tenant_admin@acme.example").await;
    let r = admin.call("orders/set_policy", &[("threshold", ""), ("currency", "EUR")]).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    let conn = crate::common::fixtures::cross_connect_ports(&app.state.db, 1000).await.expect("ports");
    let (one, two) = (app.login("billing_admin@acme.example").await, app.login("tenant_admin@acme.example").await);
    let (q1, q2) = (quote(&one, &conn).await, quote(&two, &conn).await);

    let place = |c: &Client, q: String| {
        let c = Client { http: c.http.clone(), base: c.base.clone() };
        async move {
            c.call(
                "orders/place",
                &[("quote_id", &q), ("po_number", "PO"), ("cost_centre", ""), ("description", "Race")],
            )
            .await
        }
    };
    let (a, b) = tokio::join!(place(&one, q1), place(&two, q2));
    let wins = [&a, &b].iter().filter(|r| r.status.is_success()).count();
    assert_eq!(wins, 1, "exactly one order takes the last slot: {} {} / {} {}", a.status, a.body, b.status, b.body);
    let loser = if a.status.is_success() { &b } else { &a };
    assert_eq!(loser.status, StatusCode::CONFLICT, "{}", loser.body);
    assert!(loser.body.to_string().contains("allows 1 active services"), "{}", loser.body);
    let held = entity::order::Entity::find()
        .filter(entity::order::Column::Status.ne("cancelled"))
        .all(&app.state.db)
        .await
        .expect("orders");
    assert_eq!(held.len(), 1, "one order in the database");
}

#[tokio::test]
async fn single_sign_on_is_refused_on_free_with_the_reason_and_the_settings_page_says_so() {
    let app = spawn_app().await;
    put_on_edition(&app, "globex", "free").await;
    let globex = tenant_id(&app, "globex").await;
    let admin = app.login("tenant_admin@globex.example").await;
    let r = admin
        .call(
            "sso/save",
            &[
                ("tenant_id", &globex),
                ("issuer", "https://idp.globex.example"),
                ("client_id", "patchbay"),
                ("client_secret", "s3cret"),
                ("scopes", "openid email profile"),
                ("domains", "globex.example"),
                ("role_claim", ""),
                ("role_map", ""),
                ("default_role", "member"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        r.body.to_string().contains("Single sign-on is part of Standard and Enterprise; this tenant is on Free"),
        "{}",
        r.body
    );
    let none = entity::sso_config::Entity::find_by_id(globex.clone()).one(&app.state.db).await.expect("query");
    assert!(none.is_none(), "nothing was saved");

    let r = admin.call("sso/get", &[("tenant_id", &globex)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["blocked"].as_str().is_some_and(|b| b.contains("this tenant is on Free")), "{}", r.body);
    let page = admin.get("/portal/sso").await.text().await.unwrap_or_default();
    assert!(
        page.contains("Single sign-on is part of Standard and Enterprise; this tenant is on Free"),
        "the reason is on the page"
    );
}

#[tokio::test]
async fn an_invitation_holds_its_seat_until_it_is_accepted() {
    let app = spawn_app().await;
    let acme = tenant_id(&app, "acme").await;
    let t = entity::tenant::Entity::find_by_id(acme.clone()).one(&app.state.db).await.unwrap().unwrap();
    let members = entity::membership::Entity::find()
        .filter(entity::membership::Column::TenantId.eq(&acme))
        .all(&app.state.db)
        .await
        .unwrap()
        .len() as i32;
    // Room for exactly one more person.
    let ed = entity::edition::Entity::find_by_id(t.edition_id.clone()).one(&app.state.db).await.unwrap().unwrap();
    let mut am: entity::edition::ActiveModel = ed.into();
    am.max_users = Set(members + 1);
    am.update(&app.state.db).await.unwrap();

    let admin = app.login("tenant_admin@acme.example").await;
    let first =
        admin.call("team/invite", &[("tenant_id", &acme), ("email", "seat@acme.example"), ("role", "member")]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second =
        admin.call("team/invite", &[("tenant_id", &acme), ("email", "noseat@acme.example"), ("role", "member")]).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "the open invitation holds the last seat: {}", second.body);
    assert!(second.body.to_string().contains("allows"), "{}", second.body);

    // Accepting turns the held seat into a membership (it is not counted twice).
    let link = first.body["link"].as_str().unwrap().to_string();
    let token = link.rsplit('/').next().unwrap();
    let accepted = app
        .client()
        .call(
            "accept_invitation",
            &[
                ("token", token),
                ("display_name", "Seat Holder"),
                ("password", "a-long-enough-password"),
                ("password_confirm", "a-long-enough-password"),
            ],
        )
        .await;
    assert!(accepted.status.is_success() || accepted.status.is_redirection(), "{} {}", accepted.status, accepted.body);
    let now = entity::membership::Entity::find()
        .filter(entity::membership::Column::TenantId.eq(&acme))
        .all(&app.state.db)
        .await
        .unwrap()
        .len() as i32;
    assert_eq!(now, members + 1);
    // The same link cannot be used again.
    let again = app
        .client()
        .call(
            "accept_invitation",
            &[
                ("token", token),
                ("display_name", "Seat Holder"),
                ("password", "a-long-enough-password"),
                ("password_confirm", "a-long-enough-password"),
            ],
        )
        .await;
    assert!(!again.status.is_success(), "{} {}", again.status, again.body);
}
