//! Multi-factor sign-in: enrolment, the second sign-in step, recovery codes, forced
//! enrolment (platform admins, tenant policy) and step-up for edition changes.

use crate::common::*;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

/// The code of `secret` for the time step `offset` steps from now (the server accepts
/// the previous, current and next step, each once).
fn code(secret: &str, offset: i64) -> String {
    let t = totp_rs::Builder::new().with_secret(totp_rs::Secret::try_from_base32(secret).unwrap()).build().unwrap();
    let now = chrono::Utc::now().timestamp() + offset * 30;
    t.generate(now as u64).to_string()
}

/// MFA enforced for platform admins, as in production.
async fn strict_app() -> TestApp {
    spawn_app_custom(false, |cfg, _| cfg.dev_mfa_optional_for_admins = false).await
}

fn redirected_to(r: &Reply) -> String {
    assert!(r.status.is_success() || r.status.is_redirection(), "{} {}", r.status, r.body);
    r.location.clone().unwrap_or_default()
}

/// Sign in a signed-in user's own enrolment from Account → Security; returns the secret and codes.
async fn enrol(c: &Client) -> (String, Vec<String>) {
    let v = c.call("mfa/overview", &[]).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    assert_eq!(v.body["enrolled"], false);
    let secret = v.body["setup"]["secret"].as_str().unwrap().to_string();
    assert!(v.body["setup"]["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/Patchbay:"));
    let wrong = c.call("mfa/confirm", &[("code", "abcdef")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    let r = c.call("mfa/confirm", &[("code", &code(&secret, -1))]).await;
    assert!(r.status.is_success() || r.status.is_redirection(), "{} {}", r.status, r.body);
    let v = c.call("mfa/overview", &[]).await;
    assert_eq!(v.body["enrolled"], true);
    let codes: Vec<String> =
        v.body["new_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    assert_eq!(codes.len(), 10);
    let again = c.call("mfa/overview", &[]).await;
    assert!(again.body["new_codes"].is_null(), "recovery codes are shown once");
    (secret, codes)
}

#[tokio::test]
async fn enrol_then_sign_in_with_a_code_and_a_recovery_code_once() {
    let app = spawn_app().await;
    let member = app.login("member@acme.example").await;
    let (secret, codes) = enrol(&member).await;
    let stored = entity::user_mfa::Entity::find().one(&app.state.db).await.unwrap().unwrap();
    assert!(!stored.totp_secret_sealed.contains(&secret), "the secret is sealed at rest");

    // The password alone no longer signs in: a second step follows.
    let c = app.client();
    let r = c.call("login", &[("email", "member@acme.example"), ("password", PASSWORD)]).await;
    assert!(redirected_to(&r).ends_with("/login/mfa"), "{:?}", r.location);
    assert!(c.call("viewer", &[]).await.body.is_null(), "not signed in before the second step");
    assert_eq!(
        c.call("team/list", &[("tenant_id", &tenant_id(&app, "acme").await)]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let page = c.get("/login/mfa").await;
    assert_eq!(page.status(), StatusCode::OK);
    let bad = c.call("login/mfa", &[("code", "12345x")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let wrong_code = format!("{:06}", (code(&secret, 0).parse::<u32>().unwrap() + 1) % 1_000_000);
    let bad = c.call("login/mfa", &[("code", &wrong_code)]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let used = code(&secret, 0);
    let ok = c.call("login/mfa", &[("code", &used)]).await;
    redirected_to(&ok);
    assert_eq!(c.call("viewer", &[]).await.body["email"], "member@acme.example");

    // The same code does not work twice (the very code, even if the clock moved on).
    let c2 = app.client();
    c2.call("login", &[("email", "member@acme.example"), ("password", PASSWORD)]).await;
    let replay = c2.call("login/mfa", &[("code", &used)]).await;
    assert_eq!(replay.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", replay.body);

    // A recovery code works once.
    let r = c2.call("login/mfa", &[("code", &codes[0].to_uppercase())]).await;
    redirected_to(&r);
    assert_eq!(c2.call("viewer", &[]).await.body["email"], "member@acme.example");
    let c3 = app.client();
    c3.call("login", &[("email", "member@acme.example"), ("password", PASSWORD)]).await;
    let again = c3.call("login/mfa", &[("code", &codes[0])]).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", again.body);
    assert!(c3.call("viewer", &[]).await.body.is_null());
    let v = c2.call("mfa/overview", &[]).await;
    assert_eq!(v.body["recovery_codes_left"], 9);

    // Turning it off needs the password and a code.
    let r = c2.call("mfa/disable", &[("password", "wrong password"), ("code", &codes[1])]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = c2.call("mfa/disable", &[("password", PASSWORD), ("code", &codes[1])]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.client().call("login", &[("email", "member@acme.example"), ("password", PASSWORD)]).await;
    assert!(!redirected_to(&r).contains("/login/mfa"));
}

#[tokio::test]
async fn a_platform_admin_without_mfa_must_enrol_before_anything_else() {
    let app = strict_app().await;
    let c = app.client();
    let r = c.call("login", &[("email", "admin@patchbay.example"), ("password", PASSWORD)]).await;
    assert!(redirected_to(&r).ends_with("/login/mfa/setup"), "{:?}", r.location);
    assert!(c.call("viewer", &[]).await.body.is_null());
    assert_eq!(c.call("tenants/list", &[]).await.status, StatusCode::UNAUTHORIZED);
    let console = c.get("/console").await;
    assert!(console.status().is_redirection(), "{}", console.status());
    let page = c.get("/login/mfa/setup").await;
    assert_eq!(page.status(), StatusCode::OK);
    let info = c.call("login/mfa/setup_info", &[]).await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.body);
    let secret = info.body["secret"].as_str().unwrap().to_string();
    let bad = c.call("mfa/confirm", &[("code", "abcdef")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = c.call("mfa/confirm", &[("code", &code(&secret, 0))]).await;
    assert_eq!(redirected_to(&ok), "/account/security");
    let v = c.call("viewer", &[]).await;
    assert_eq!(v.body["email"], "admin@patchbay.example");
    assert_eq!(v.body["is_platform_admin"], true);
    assert_eq!(c.call("tenants/list", &[]).await.status, StatusCode::OK);
    // Required: it cannot be turned off.
    let r = c.call("mfa/disable", &[("password", PASSWORD), ("code", &code(&secret, 1))]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_tenant_policy_sends_its_members_to_enrolment() {
    let app = spawn_app().await;
    let acme = tenant_id(&app, "acme").await;
    let member = app.login("member@acme.example").await;
    assert_eq!(
        member.call("mfa/tenant_policy", &[("tenant_id", &acme), ("require_mfa", "on")]).await.status,
        StatusCode::FORBIDDEN
    );
    let admin = app.login("tenant_admin@acme.example").await;
    let r = admin.call("mfa/tenant_policy", &[("tenant_id", &acme), ("require_mfa", "on")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let team = app.client();
    let r = team.call("login", &[("email", "operator@acme.example"), ("password", PASSWORD)]).await;
    assert!(redirected_to(&r).ends_with("/login/mfa/setup"), "{:?}", r.location);
    assert!(team.call("viewer", &[]).await.body.is_null());
    // Other tenants are not affected.
    let g = app.client();
    let r = g.call("login", &[("email", "tenant_admin@globex.example"), ("password", PASSWORD)]).await;
    assert!(!redirected_to(&r).contains("/login/mfa"), "{:?}", r.location);
    // Enrolling finishes the sign-in.
    let info = team.call("login/mfa/setup_info", &[]).await;
    let secret = info.body["secret"].as_str().unwrap().to_string();
    redirected_to(&team.call("mfa/confirm", &[("code", &code(&secret, 0))]).await);
    assert_eq!(team.call("viewer", &[]).await.body["email"], "operator@acme.example");
}

#[tokio::test]
async fn an_edition_change_needs_a_fresh_second_factor() {
    let app = strict_app().await;
    let c = app.client();
    c.call("login", &[("email", "admin@patchbay.example"), ("password", PASSWORD)]).await;
    let secret = c.call("login/mfa/setup_info", &[]).await.body["secret"].as_str().unwrap().to_string();
    redirected_to(&c.call("mfa/confirm", &[("code", &code(&secret, -1))]).await);
    let acme = tenant_id(&app, "acme").await;
    let editions = c.call("editions/list", &[]).await;
    let current =
        entity::tenant::Entity::find_by_id(acme.clone()).one(&app.state.db).await.unwrap().unwrap().edition_id;
    let members = entity::membership::Entity::find()
        .filter(entity::membership::Column::TenantId.eq(&acme))
        .all(&app.state.db)
        .await
        .unwrap()
        .len() as i64;
    // Another edition with room for the team, then back to the current one.
    let roomy = editions
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"].as_str().unwrap() != current && e["max_users"].as_i64().unwrap() >= members)
        .map(|e| e["id"].as_str().unwrap().to_string())
        .expect("an edition with room");
    let other = [roomy, current.clone()];

    // Fresh from enrolment: allowed.
    let r = c.call("tenants/change_edition", &[("tenant_id", &acme), ("edition_id", &other[0])]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Make this session's second factor an hour old.
    let admin = user_id(&app, "admin@patchbay.example").await;
    for s in entity::session::Entity::find()
        .filter(entity::session::Column::UserId.eq(&admin))
        .all(&app.state.db)
        .await
        .unwrap()
    {
        let mut data: serde_json::Value = serde_json::from_str(&s.data).unwrap();
        data["mfa_at"] = serde_json::json!(chrono::Utc::now().timestamp() - 3600);
        let mut am: entity::session::ActiveModel = s.into();
        am.data = Set(data.to_string());
        am.update(&app.state.db).await.unwrap();
    }
    let r = c.call("tenants/change_edition", &[("tenant_id", &acme), ("edition_id", &other[1])]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.to_string().contains("/account/step-up"), "{}", r.body);
    let still = entity::tenant::Entity::find_by_id(acme.clone()).one(&app.state.db).await.unwrap().unwrap();
    assert_eq!(still.edition_id, other[0]);

    // Step up (wrong code refused), then the change goes through and we return.
    assert_eq!(c.get("/account/step-up?next=/console/tenants").await.status(), StatusCode::OK);
    let bad = c.call("mfa/step_up", &[("code", "999999x"), ("next", "/console/tenants")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = c.call("mfa/step_up", &[("code", &code(&secret, 0)), ("next", &format!("/console/tenants/{acme}"))]).await;
    assert_eq!(redirected_to(&ok), format!("/console/tenants/{acme}"));
    let r = c.call("tenants/change_edition", &[("tenant_id", &acme), ("edition_id", &other[1])]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}
