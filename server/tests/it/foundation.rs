//! Foundation behaviour through the real HTTP stack: sign-in, roles, tenants,
//! invitations over SMTP, the audit chain, suspension, sessions and CSRF.
//! Runs on SQLite by default and on PostgreSQL with PATCHBAY_TEST_DATABASE=postgres.

use crate::common::*;
use entity::{membership, tenant};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// (server function endpoint, form arguments, roles allowed besides platform admins)
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a [&'a str]);

const ROLES: [&str; 6] = ["tenant_admin", "billing_admin", "operator", "member", "auditor", "support"];

#[tokio::test]
async fn migrations_run_from_empty_and_health_endpoints_answer() {
    let app = spawn_app().await;
    let c = app.client();
    assert_eq!(c.get("/healthz").await.status(), StatusCode::OK);
    let ready = c.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.text().await.unwrap(), "ready");
    // Metrics are not public: see server/tests/security.rs for where they are served.
    assert_eq!(c.get("/metrics").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sign_in_succeeds_and_fails_clearly() {
    let app = spawn_app().await;
    // Success: redirect target is the role's home, and the viewer is known.
    let c = app.client();
    let r = c.call("login", &[("email", "Tenant_Admin@ACME.example"), ("password", PASSWORD)]).await;
    assert!(r.status.is_success() || r.status.is_redirection(), "{} {}", r.status, r.body);
    let v = c.call("viewer", &[]).await;
    assert_eq!(v.body["email"], "tenant_admin@acme.example", "e-mail is case-insensitive");
    assert_eq!(v.body["tenant"]["slug"], "acme");
    assert_eq!(v.body["tenant"]["role"], "tenant_admin");

    // Wrong password: 422 with a message on the password field, and no session.
    let c2 = app.client();
    let r = c2.call("login", &[("email", "member@acme.example"), ("password", "wrong-password")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["Validation"]["fields"]["password"], "The e-mail address or password is incorrect.");
    assert_eq!(c2.call("viewer", &[]).await.body, serde_json::Value::Null);

    // Unknown account: the same answer.
    let r = c2.call("login", &[("email", "nobody@acme.example"), ("password", "whatever")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Missing arguments are bad input, not a server error.
    let r = c2.call("login", &[("email", "member@acme.example")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // Empty fields: field errors.
    let r = c2.call("login", &[("email", ""), ("password", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["Validation"]["fields"]["email"].is_string());
}

#[tokio::test]
async fn disabled_users_cannot_sign_in() {
    let app = spawn_app().await;
    let acme = tenant_id(&app, "acme").await;
    let member = user_id(&app, "member@acme.example").await;
    let member_client = app.login("member@acme.example").await;
    let admin = app.login("tenant_admin@acme.example").await;
    let r = admin.call("team/set_disabled", &[("tenant_id", &acme), ("user_id", &member), ("disabled", "true")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The existing session is gone and a new sign-in is refused.
    assert_eq!(member_client.call("home/portal", &[]).await.status, StatusCode::UNAUTHORIZED);
    let r = app.client().call("login", &[("email", "member@acme.example"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body["Forbidden"].as_str().unwrap().contains("disabled"));
}

#[tokio::test]
async fn repeated_failures_are_throttled_per_account() {
    let app = spawn_app().await;
    let c = app.client();
    let max = app.state.settings.max_failures_per_account;
    for _ in 0..max {
        let r = c.call("login", &[("email", "auditor@acme.example"), ("password", "nope")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Now even the right password is refused, with a clear message.
    let r = c.call("login", &[("email", "auditor@acme.example"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.body["RateLimited"].as_str().unwrap().contains("Too many failed sign-in attempts"));
    // Other accounts are unaffected.
    let r = app.client().call("login", &[("email", "member@acme.example"), ("password", PASSWORD)]).await;
    assert!(r.status.is_success() || r.status.is_redirection());
}

const SERVICE_MANAGERS: [&str; 3] = ["tenant_admin", "billing_admin", "operator"];

// Placeholders in the role table for rows made for each allowed caller, so that every
// allowed call acts on something real and must succeed.
/// An active service of the caller's own.
const MY_SERVICE: &str = "<my active service>";
/// Its number (termination asks for it).
const MY_SERVICE_NUMBER: &str = "<my service's number>";
/// A bandwidth it is sold at, other than its own.
const MY_NEW_BANDWIDTH: &str = "<another bandwidth of my service>";
/// A service of the caller's own waiting for the customer's step, and its leg.
const MY_WAITING_SERVICE: &str = "<my waiting service>";
const MY_WAITING_LEG: &str = "<my waiting leg>";

/// Rows each service manager acts on in the role table: one active cross-connect and one
/// AWS connection waiting for the customer to accept it.
struct Mine {
    service: String,
    number: String,
    new_bandwidth: String,
    waiting_service: String,
    waiting_leg: String,
}

/// An AWS Direct Connect in London from an Equinix port (waits for the customer's step).
async fn aws_in_london(app: &TestApp) -> crate::provisioning::Conn {
    crate::provisioning::Conn {
        offering: offering(app, "cloud-dc").await,
        a: endpoint(app, "equinix", "dc_port", "London", 1000).await,
        b: endpoint(app, "aws", "cloud_onramp", "London", 1000).await,
    }
}

async fn services_for_role_table(app: &TestApp) -> (Vec<(&'static str, Mine)>, String, String) {
    use crate::provisioning::{customer, drain, legs_of, place, service_of};
    let c = customer(app).await;
    let read_order = place(&c, &crate::provisioning::cross_connect(app).await, "1000").await;
    let mut orders = Vec::new();
    for role in SERVICE_MANAGERS {
        let active = place(&c, &crate::provisioning::cross_connect(app).await, "1000").await;
        let waiting = place(&c, &aws_in_london(app).await, "1000").await;
        orders.push((role, active, waiting));
    }
    drain(app).await;
    let mut mine = Vec::new();
    for (role, active, waiting) in orders {
        let s = service_of(app, &active).await;
        assert_eq!(s.status, "active", "fixture service for {role}");
        let w = service_of(app, &waiting).await;
        let leg = legs_of(app, &w.id).await.remove(0);
        assert_eq!(leg.status, "awaiting_customer", "fixture waiting leg for {role}");
        let d = c.call("services/get", &[("service_id", &s.id)]).await;
        assert!(d.status.is_success(), "{} {}", d.status, d.body);
        let other = d.body["bandwidth_options"]
            .as_array()
            .expect("bandwidth options")
            .iter()
            .filter_map(|v| v.as_i64())
            .find(|b| *b != s.bandwidth_mbps)
            .expect("another bandwidth is sold");
        mine.push((
            role,
            Mine {
                service: s.id,
                number: s.number,
                new_bandwidth: other.to_string(),
                waiting_service: w.id,
                waiting_leg: leg.id,
            },
        ));
    }
    let read_service = service_of(app, &read_order).await.id;
    (mine, read_order, read_service)
}

/// Every server function refuses the roles it should, and anonymous callers; for the roles
/// it allows, it succeeds (2xx) on real rows, so a server error cannot pass for "allowed".
#[tokio::test]
async fn server_functions_enforce_roles() {
    let app = crate::provisioning::app().await;
    let acme = tenant_id(&app, "acme").await;
    let support = user_id(&app, "support@acme.example").await;
    let editions: Vec<entity::edition::Model> = entity::edition::Entity::find().all(&app.state.db).await.unwrap();
    let ed = editions[0].id.clone();
    let (mine, read_order, read_service) = services_for_role_table(&app).await;
    // An open invitation to revoke, and a member who can be removed.
    let admin = app.login("tenant_admin@acme.example").await;
    let r =
        admin.call("team/invite", &[("tenant_id", &acme), ("email", "revoked@acme.example"), ("role", "member")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let invitation = entity::invitation::Entity::find()
        .filter(entity::invitation::Column::Email.eq("revoked@acme.example"))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("invitation")
        .id;
    let r =
        admin.call("team/invite", &[("tenant_id", &acme), ("email", "leaver@acme.example"), ("role", "member")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let link = r.body["link"].as_str().expect("invitation link");
    let token = &link[link.rfind('/').expect("token in link") + 1..];
    let r = app
        .client()
        .call(
            "accept_invitation",
            &[
                ("token", token),
                ("display_name", "Leaver"),
                ("password", "a-long-enough-password"),
                ("password_confirm", "a-long-enough-password"),
            ],
        )
        .await;
    assert!(r.status.is_success() || r.status.is_redirection(), "{} {}", r.status, r.body);
    let leaver = user_id(&app, "leaver@acme.example").await;
    // Two API keys: one to rotate and one to revoke.
    let key_form =
        [("name", "role table"), ("scopes[]", "services:read"), ("expires_days", "30"), ("allowed_cidrs", "")];
    let mut keys = Vec::new();
    for _ in 0..2 {
        let r = admin.call("api_keys/create", &key_form).await;
        assert!(r.status.is_success(), "{} {}", r.status, r.body);
        keys.push(r.body["key"]["id"].as_str().expect("key id").to_string());
    }

    // (endpoint, args, roles allowed besides platform admins)
    let cases: Vec<Case> = vec![
        ("api_keys/list", vec![], &["tenant_admin"]),
        ("api_reference/get", vec![], &ROLES),
        ("api_keys/create", key_form.to_vec(), &["tenant_admin"]),
        ("api_keys/rotate", vec![("key_id", &keys[0]), ("overlap_hours", "1")], &["tenant_admin"]),
        ("api_keys/revoke", vec![("key_id", &keys[1])], &["tenant_admin"]),
        ("team/list", vec![("tenant_id", &acme)], &["tenant_admin", "auditor", "support"]),
        ("team/invite", vec![("tenant_id", &acme), ("email", "x@acme.example"), ("role", "member")], &["tenant_admin"]),
        ("team/change_role", vec![("tenant_id", &acme), ("user_id", &support), ("role", "support")], &["tenant_admin"]),
        (
            "team/set_disabled",
            vec![("tenant_id", &acme), ("user_id", &support), ("disabled", "false")],
            &["tenant_admin"],
        ),
        ("team/force_sign_out", vec![("tenant_id", &acme), ("user_id", &support)], &["tenant_admin"]),
        ("team/revoke_invitation", vec![("tenant_id", &acme), ("invitation_id", &invitation)], &["tenant_admin"]),
        ("team/remove", vec![("tenant_id", &acme), ("user_id", &leaver)], &["tenant_admin"]),
        ("tenants/list", vec![], &[]),
        ("tenants/get", vec![("tenant_id", &acme)], &[]),
        ("editions/list", vec![], &[]),
        ("tenants/create", vec![("name", "X"), ("slug", "x-corp"), ("edition_id", &ed)], &[]),
        ("tenants/suspend", vec![("tenant_id", &acme), ("reason", "test")], &[]),
        ("tenants/reactivate", vec![("tenant_id", &acme)], &[]),
        ("tenants/delete", vec![("tenant_id", &acme), ("confirm_slug", "acme")], &[]),
        ("tenants/change_edition", vec![("tenant_id", &acme), ("edition_id", &ed)], &[]),
        ("audit/list", vec![], &["tenant_admin", "auditor"]),
        ("home/console", vec![], &["operator"]),
        ("home/portal", vec![], &ROLES),
        ("home/studio", vec![], &["tenant_admin", "operator", "member", "auditor", "support"]),
        ("services/list", vec![("status", ""), ("q", "")], &ROLES),
        ("services/get", vec![("service_id", &read_service)], &ROLES),
        ("services/for_order", vec![("order_id", &read_order)], &ROLES),
        (
            "services/change_bandwidth",
            vec![("service_id", MY_SERVICE), ("bandwidth_mbps", MY_NEW_BANDWIDTH)],
            &SERVICE_MANAGERS,
        ),
        ("services/suspend", vec![("service_id", MY_SERVICE)], &SERVICE_MANAGERS),
        ("services/resume", vec![("service_id", MY_SERVICE)], &SERVICE_MANAGERS),
        ("services/terminate", vec![("service_id", MY_SERVICE), ("confirm", MY_SERVICE_NUMBER)], &SERVICE_MANAGERS),
        (
            "services/customer_step",
            vec![("service_id", MY_WAITING_SERVICE), ("leg_id", MY_WAITING_LEG)],
            &SERVICE_MANAGERS,
        ),
        ("jobs/list", vec![("status", ""), ("kind", "")], &[]),
        ("jobs/retry", vec![("job_id", "none")], &[]),
        ("jobs/cancel", vec![("job_id", "none"), ("reason", "test")], &[]),
        ("interventions/list", vec![("status", "all")], &[]),
        ("interventions/retry", vec![("intervention_id", "none")], &[]),
        ("interventions/complete", vec![("intervention_id", "none"), ("external_ref", "X"), ("note", "")], &[]),
        ("interventions/fail", vec![("intervention_id", "none"), ("reason", "test")], &[]),
        ("providers/adapters", vec![], &[]),
        (
            "providers/save_adapter",
            vec![
                ("provider_id", "none"),
                ("adapter", "cross_connect"),
                ("latency_ms", "0"),
                ("transient_pct", "0"),
                ("permanent_pct", "0"),
                ("timeout_pct", "0"),
                ("customer_action", "manual"),
                ("base_url", ""),
                ("credentials", ""),
            ],
            &[],
        ),
    ];

    let anon = app.client();
    for (endpoint, args, _) in &cases {
        let r = anon.call(endpoint, args).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "anonymous {endpoint}: {}", r.body);
    }
    for role in ROLES {
        let c = app.login(&format!("{role}@acme.example")).await;
        let own = mine.iter().find(|(r, _)| *r == role).map(|(_, m)| m);
        for (endpoint, args, allowed) in &cases {
            // The caller's own rows in place of the placeholders (callers without any are refused first).
            let args: Vec<(&str, &str)> = args
                .iter()
                .map(|&(k, v)| {
                    let v = match (v, own) {
                        (MY_SERVICE, Some(m)) => m.service.as_str(),
                        (MY_SERVICE_NUMBER, Some(m)) => m.number.as_str(),
                        (MY_NEW_BANDWIDTH, Some(m)) => m.new_bandwidth.as_str(),
                        (MY_WAITING_SERVICE, Some(m)) => m.waiting_service.as_str(),
                        (MY_WAITING_LEG, Some(m)) => m.waiting_leg.as_str(),
                        _ => v,
                    };
                    (k, v)
                })
                .collect();
            let r = c.call(endpoint, &args).await;
            if allowed.contains(&role) {
                assert!(r.status.is_success(), "{role} should succeed at {endpoint}: {} {}", r.status, r.body);
                // Let the work an allowed change queued finish, so the next change finds none running.
                crate::provisioning::drain(&app).await;
            } else {
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{role} must be refused {endpoint}: {}", r.body);
            }
        }
    }
    // The allowed service changes happened.
    for (role, m) in &mine {
        let s = entity::service::Entity::find_by_id(m.service.clone()).one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(
            (s.status.as_str(), s.bandwidth_mbps.to_string()),
            ("terminated", m.new_bandwidth.clone()),
            "{role}'s service"
        );
        let w =
            entity::service::Entity::find_by_id(m.waiting_service.clone()).one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(w.status, "active", "{role}'s accepted connection");
    }
    // The platform admin may read everything.
    let admin = app.login("admin@patchbay.example").await;
    for endpoint in ["tenants/list", "editions/list", "home/console", "audit/list", "providers/adapters", "jobs/list"] {
        assert_eq!(admin.call(endpoint, &[]).await.status, StatusCode::OK, "{endpoint}");
    }
}

/// Nothing of tenant A is reachable by a member of tenant B, with real ids.
#[tokio::test]
async fn other_tenants_are_out_of_reach() {
    let app = spawn_app().await;
    let acme = tenant_id(&app, "acme").await;
    let globex = tenant_id(&app, "globex").await;
    let acme_member = user_id(&app, "member@acme.example").await;
    let globex_admin_id = user_id(&app, "tenant_admin@globex.example").await;
    let globex_admin = app.login("tenant_admin@globex.example").await;
    let acme_admin = app.login("tenant_admin@acme.example").await;

    let invite = acme_admin
        .call("team/invite", &[("tenant_id", &acme), ("email", "pending@acme.example"), ("role", "member")])
        .await;
    assert_eq!(invite.status, StatusCode::OK, "{}", invite.body);
    let inv_id = entity::invitation::Entity::find().one(&app.state.db).await.unwrap().unwrap().id;

    let attempts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("team/list", vec![("tenant_id", &acme)]),
        ("team/invite", vec![("tenant_id", &acme), ("email", "spy@globex.example"), ("role", "tenant_admin")]),
        ("team/change_role", vec![("tenant_id", &acme), ("user_id", &acme_member), ("role", "tenant_admin")]),
        ("team/set_disabled", vec![("tenant_id", &acme), ("user_id", &acme_member), ("disabled", "true")]),
        ("team/force_sign_out", vec![("tenant_id", &acme), ("user_id", &acme_member)]),
        ("team/remove", vec![("tenant_id", &acme), ("user_id", &acme_member)]),
        ("team/revoke_invitation", vec![("tenant_id", &acme), ("invitation_id", &inv_id)]),
        ("switch_tenant", vec![("tenant_id", &acme)]),
    ];
    for (endpoint, args) in &attempts {
        let r = globex_admin.call(endpoint, args).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "globex admin {endpoint}: {}", r.body);
    }
    // Using their own tenant id with another tenant's user or invitation finds nothing.
    let r = globex_admin
        .call("team/change_role", &[("tenant_id", &globex), ("user_id", &acme_member), ("role", "member")])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = globex_admin.call("team/revoke_invitation", &[("tenant_id", &globex), ("invitation_id", &inv_id)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // And the reverse direction.
    let r = acme_admin.call("team/force_sign_out", &[("tenant_id", &globex), ("user_id", &globex_admin_id)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Nothing changed.
    let m = membership::Entity::find()
        .filter(membership::Column::UserId.eq(&acme_member))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.role, "member");
    let open = entity::invitation::Entity::find_by_id(inv_id).one(&app.state.db).await.unwrap().unwrap();
    assert!(open.revoked_at.is_none());
    // Globex's audit view holds no Acme events.
    let page = globex_admin.call("audit/list", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let rows = page.body["rows"].as_array().expect("audit rows");
    assert!(!rows.is_empty(), "globex has audit events of its own (its admin signed in): {}", page.body);
    for row in rows {
        assert_eq!(row["tenant_id"], serde_json::json!(globex), "{row}");
    }
}

#[tokio::test]
async fn invitation_is_emailed_over_smtp_and_accepted() {
    let app = spawn_app_with(true).await;
    let acme = tenant_id(&app, "acme").await;
    let admin = app.login("tenant_admin@acme.example").await;
    let r = admin
        .call("team/invite", &[("tenant_id", &acme), ("email", "New.Person@Acme.example"), ("role", "operator")])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["emailed"], true, "{}", r.body);
    // Mail goes out through the job queue.
    app::workers::drain(&app.state, "test", 10).await.unwrap();

    let mail = app.mail.as_ref().unwrap().received();
    assert_eq!(mail.len(), 1);
    let msg = &mail[0];
    assert!(msg.contains("To: new.person@acme.example"), "{msg}");
    assert!(msg.contains("Acme Networks"), "{msg}");
    let start = msg.find("/invite/").expect("link in mail");
    let token: String =
        msg[start + 8..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    assert_eq!(r.body["link"].as_str().unwrap(), format!("{}/invite/{token}", app.base));

    // Bad input changes nothing.
    let invitee = app.client();
    let bad = invitee
        .call(
            "accept_invitation",
            &[("token", &token), ("display_name", "New Person"), ("password", "short"), ("password_confirm", "short")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body["Validation"]["fields"]["password"].is_string());

    let ok = invitee
        .call(
            "accept_invitation",
            &[
                ("token", &token),
                ("display_name", "New Person"),
                ("password", "a-long-enough-password"),
                ("password_confirm", "a-long-enough-password"),
            ],
        )
        .await;
    assert!(ok.status.is_success() || ok.status.is_redirection(), "{} {}", ok.status, ok.body);
    let v = invitee.call("viewer", &[]).await;
    assert_eq!(v.body["tenant"]["role"], "operator");
    // The link works once.
    let again = app.client().call("invitation_info", &[("token", &token)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    // And the new person can sign in with their password.
    let r = app
        .client()
        .call("login", &[("email", "new.person@acme.example"), ("password", "a-long-enough-password")])
        .await;
    assert!(r.status.is_success() || r.status.is_redirection());
}

#[tokio::test]
async fn audit_chain_verifies_and_tampering_is_caught() {
    let app = spawn_app().await;
    let acme = tenant_id(&app, "acme").await;
    let admin = app.login("tenant_admin@acme.example").await;
    for i in 0..3 {
        let email = format!("chain{i}@acme.example");
        let r = admin.call("team/invite", &[("tenant_id", &acme), ("email", &email), ("role", "member")]).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let v = app::audit::ssr::verify(&app.state.db).await.unwrap();
    assert!(v.first_bad.is_none(), "{:?}", v.first_bad);
    assert!(v.events >= 10);

    let bin = env!("CARGO_BIN_EXE_patchbay");
    let run = || {
        std::process::Command::new(bin)
            .arg("verify-audit")
            .env("PATCHBAY_DATABASE_URL", &app.database_url)
            .output()
            .expect("run patchbay verify-audit")
    };
    let out = run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Edit one row behind the application's back.
    let target = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Action.eq("user.invited"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    app.state
        .db
        .execute_unprepared(&format!(
            "UPDATE audit_events SET details = '{{\"email\":\"someone-else@acme.example\"}}' WHERE id = {}",
            target.id
        ))
        .await
        .unwrap();
    let v = app::audit::ssr::verify(&app.state.db).await.unwrap();
    assert_eq!(v.first_bad.as_ref().map(|b| b.id), Some(target.id));
    let out = run();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("id={}", target.id)), "{err}");

    // Deleting the newest event of a chain is caught too.
    app.state
        .db
        .execute_unprepared(&format!("UPDATE audit_events SET details = '{}' WHERE id = {}", target.details, target.id))
        .await
        .unwrap();
    assert!(app::audit::ssr::verify(&app.state.db).await.unwrap().first_bad.is_none());
    let last = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Chain.eq(&acme))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .max_by_key(|e| e.seq)
        .unwrap();
    app.state.db.execute_unprepared(&format!("DELETE FROM audit_events WHERE id = {}", last.id)).await.unwrap();
    assert!(app::audit::ssr::verify(&app.state.db).await.unwrap().first_bad.is_some());
}

#[tokio::test]
async fn audit_export_matches_its_manifest() {
    let app = spawn_app().await;
    let auditor = app.login("auditor@acme.example").await;
    let page = auditor.call("audit/list", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let upto = page.body["upto"].as_i64().unwrap();
    let jsonl = auditor.get(&format!("/exports/audit.jsonl?upto={upto}")).await;
    assert_eq!(jsonl.status(), StatusCode::OK);
    let body = jsonl.text().await.unwrap();
    let manifest: serde_json::Value =
        auditor.get(&format!("/exports/audit.manifest.json?upto={upto}")).await.json().await.unwrap();
    use sha2::Digest;
    assert_eq!(manifest["sha256"], hex::encode(sha2::Sha256::digest(body.as_bytes())));
    assert_eq!(manifest["events"].as_u64().unwrap() as usize, body.lines().count());
    // Members may not export.
    let member = app.login("member@acme.example").await;
    assert_eq!(member.get(&format!("/exports/audit.jsonl?upto={upto}")).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.client().get(&format!("/exports/audit.jsonl?upto={upto}")).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn suspended_tenant_is_read_only() {
    let app = spawn_app().await;
    let acme = tenant_id(&app, "acme").await;
    let admin = app.login("admin@patchbay.example").await;
    let r = admin.call("tenants/suspend", &[("tenant_id", &acme), ("reason", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a reason is required");
    let r = admin.call("tenants/suspend", &[("tenant_id", &acme), ("reason", "Unpaid invoices")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Members still sign in, see why, and can read...
    let ta = app.login("tenant_admin@acme.example").await;
    let v = ta.call("viewer", &[]).await;
    assert_eq!(v.body["tenant"]["status"], "suspended");
    assert_eq!(v.body["tenant"]["status_reason"], "Unpaid invoices");
    assert_eq!(ta.call("team/list", &[("tenant_id", &acme)]).await.status, StatusCode::OK);
    // ...but cannot change anything.
    let r = ta.call("team/invite", &[("tenant_id", &acme), ("email", "later@acme.example"), ("role", "member")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body["Forbidden"].as_str().unwrap().contains("suspended"));

    let r = admin.call("tenants/reactivate", &[("tenant_id", &acme)]).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = ta.call("team/invite", &[("tenant_id", &acme), ("email", "later@acme.example"), ("role", "member")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn tenants_are_created_validated_and_deleted_with_grace() {
    let app = spawn_app().await;
    let admin = app.login("admin@patchbay.example").await;
    let eds = admin.call("editions/list", &[]).await;
    let standard = eds.body.as_array().unwrap().iter().find(|e| e["key"] == "standard").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bad = admin.call("tenants/create", &[("name", ""), ("slug", "Bad Slug!"), ("edition_id", &standard)]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body["Validation"]["fields"]["name"].is_string());
    assert!(bad.body["Validation"]["fields"]["slug"].is_string());
    let dup =
        admin.call("tenants/create", &[("name", "Acme again"), ("slug", "acme"), ("edition_id", &standard)]).await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(dup.body["Validation"]["fields"]["slug"].as_str().unwrap().contains("already"));

    let ok = admin.call("tenants/create", &[("name", "Initech"), ("slug", "initech"), ("edition_id", &standard)]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let id = ok.body["id"].as_str().unwrap().to_string();
    let wrong = admin.call("tenants/delete", &[("tenant_id", &id), ("confirm_slug", "nope")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let del = admin.call("tenants/delete", &[("tenant_id", &id), ("confirm_slug", "initech")]).await;
    assert_eq!(del.status, StatusCode::OK);
    // Inside the grace period the purge leaves it alone; after it, it is gone.
    assert_eq!(server::workers::run_once(&app.state).await.unwrap().tenants_purged, 0);
    app.state
        .db
        .execute_unprepared(&format!("UPDATE tenants SET deleted_at = '2000-01-01T00:00:00Z' WHERE id = '{id}'"))
        .await
        .unwrap();
    assert_eq!(server::workers::run_once(&app.state).await.unwrap().tenants_purged, 1);
    assert_eq!(server::workers::run_once(&app.state).await.unwrap().tenants_purged, 0, "idempotent");
    assert!(tenant::Entity::find_by_id(id).one(&app.state.db).await.unwrap().is_none());
}

#[tokio::test]
async fn sessions_can_be_listed_revoked_and_forced_out() {
    let app = spawn_app().await;
    let acme = tenant_id(&app, "acme").await;
    let laptop = app.login("member@acme.example").await;
    let phone = app.login("member@acme.example").await;
    let list = laptop.call("my_sessions", &[]).await;
    let sessions = list.body.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let other = sessions.iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(laptop.call("revoke_session", &[("session_id", &other)]).await.status, StatusCode::OK);
    assert_eq!(phone.call("home/portal", &[]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(laptop.call("home/portal", &[]).await.status, StatusCode::OK);

    // Someone else's session id is not found.
    let admin = app.login("tenant_admin@acme.example").await;
    let mine = laptop.call("my_sessions", &[]).await.body[0]["id"].as_str().unwrap().to_string();
    assert_eq!(admin.call("revoke_session", &[("session_id", &mine)]).await.status, StatusCode::NOT_FOUND);

    // A tenant admin forces the member out everywhere.
    let member = user_id(&app, "member@acme.example").await;
    let r = admin.call("team/force_sign_out", &[("tenant_id", &acme), ("user_id", &member)]).await;
    assert_eq!(r.body, serde_json::json!(1));
    assert_eq!(laptop.call("home/portal", &[]).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cross_site_posts_are_refused_and_sessions_rotate() {
    let app = spawn_app().await;
    let evil = reqwest::Client::new()
        .post(format!("{}/api/login", app.base))
        .header("origin", "https://evil.example")
        .header("accept", "application/json")
        .form(&[("email", "admin@patchbay.example"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), StatusCode::FORBIDDEN);
    assert_eq!(evil.headers()["content-type"], "application/problem+json");

    // A session id from before sign-in is not the one after it.
    let c = app.client();
    let _ = c.call("login", &[("email", "member@acme.example"), ("password", "wrong")]).await;
    let before: Vec<String> =
        entity::session::Entity::find().all(&app.state.db).await.unwrap().into_iter().map(|s| s.id).collect();
    let _ = c.call("login", &[("email", "member@acme.example"), ("password", PASSWORD)]).await;
    let after = entity::session::Entity::find()
        .filter(entity::session::Column::UserId.is_not_null())
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert!(!before.contains(&after[0].id));
}

#[tokio::test]
async fn forms_work_without_javascript() {
    let app = spawn_app().await;
    let c = app.client();
    // A failed plain-form sign-in redirects back to the form with the error encoded.
    let res = c.post_form("login", &[("email", "member@acme.example"), ("password", "wrong")], "/login").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.contains("__err="), "{loc}");
    let page = c.get(&loc.replace(&app.base, "")).await.text().await.unwrap();
    assert!(
        page.contains("The e-mail address or password is incorrect."),
        "error shown on the re-rendered page: {loc} {page}"
    );
    // A good one redirects to the home face with a session.
    let res = c.post_form("login", &[("email", "member@acme.example"), ("password", PASSWORD)], "/login").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/portal");
    let home = c.get("/portal").await;
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.unwrap();
    assert!(html.contains("Acme Networks"), "server-rendered portal");
    assert!(html.contains("Team members"));
    // A plain-form invitation shows its link on the reloaded page.
    let admin = app.client();
    let res =
        admin.post_form("login", &[("email", "tenant_admin@acme.example"), ("password", PASSWORD)], "/login").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let acme = tenant_id(&app, "acme").await;
    let res = admin
        .post_form(
            "team/invite",
            &[("tenant_id", &acme), ("email", "nojs@acme.example"), ("role", "member")],
            "/portal/team",
        )
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let page = admin.get("/portal/team").await.text().await.unwrap();
    assert!(page.contains("Invitation created for nojs@acme.example"), "{page}");
    let again = admin.get("/portal/team").await.text().await.unwrap();
    assert!(!again.contains("Invitation created"), "the message is shown once");

    // Signed-out visitors are sent to sign-in.
    let res = app.client().get("/console/tenants").await;
    assert!(res.status().is_redirection(), "{}", res.status());
}

#[tokio::test]
async fn a_member_of_two_tenants_switches_between_them() {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let app = spawn_app().await;
    let globex = tenant_id(&app, "globex").await;
    let member = user_id(&app, "member@acme.example").await;
    membership::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        user_id: Set(member),
        tenant_id: Set(globex.clone()),
        role: Set("auditor".into()),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(&app.state.db)
    .await
    .unwrap();

    let c = app.login("member@acme.example").await;
    let v = c.call("viewer", &[]).await.body;
    assert_eq!(v["tenant"]["slug"], "acme");
    assert_eq!(v["tenants"].as_array().unwrap().len(), 2);
    // As an Acme member the audit log is closed...
    assert_eq!(c.call("audit/list", &[]).await.status, StatusCode::FORBIDDEN);
    let r = c.call("switch_tenant", &[("tenant_id", &globex)]).await;
    assert!(r.status.is_success(), "{}", r.body);
    let v = c.call("viewer", &[]).await.body;
    assert_eq!(v["tenant"]["slug"], "globex");
    assert_eq!(v["tenant"]["role"], "auditor");
    // ...and as a Globex auditor it shows Globex's events only.
    let page = c.call("audit/list", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = page.body["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["tenant_id"] == serde_json::json!(globex)));
}
