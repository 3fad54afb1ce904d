//! OpenID Connect single sign-on against a real provider (npm `oidc-provider`,
//! started by the tests): sign-in with role mapping and just-in-time
//! provisioning (with the profile from UserInfo, the provider's default, and from the
//! ID token), every rejection leaving no session and showing only fixed messages,
//! corrupt stored configurations, the issuer policy, and secret handling.

use crate::common::idp::{CLIENT_ID, CLIENT_SECRET, Idp, sign_in_at_idp};
use crate::common::*;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

/// Configure Acme's IdP through the Security & SSO server function, as its tenant admin.
async fn configure(app: &TestApp, issuer: &str, role_map: &str, require_sso: bool) {
    let acme = tenant_id(app, "acme").await;
    let admin = app.login("tenant_admin@acme.example").await;
    let mut form = vec![
        ("tenant_id", acme.as_str()),
        ("issuer", issuer),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("scopes", "openid email profile groups"),
        ("domains", "acme.example"),
        ("role_claim", "groups"),
        ("role_map", role_map),
        ("default_role", "member"),
    ];
    if require_sso {
        form.push(("require_sso", "on"));
    }
    let r = admin.call("sso/save", &form).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// Type the e-mail on the sign-in page with no password; returns the IdP's authorization URL.
async fn start_by_email(c: &Client, email: &str) -> String {
    let r = c.call("login", &[("email", email), ("password", "")]).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    let start = r.location.expect("home-realm discovery redirects to the SSO start");
    assert!(start.starts_with("/auth/oidc/start?tenant=acme"), "{start}");
    let res = c.get(&start).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    res.headers()["location"].to_str().unwrap().to_string()
}

/// Visit the callback; returns where Patchbay sends the browser.
async fn callback(c: &Client, url: &str) -> String {
    let res = c.http.get(url).send().await.unwrap();
    assert!(res.status().is_redirection(), "callback answered {}", res.status());
    res.headers()["location"].to_str().unwrap().to_string()
}

async fn signed_in(c: &Client) -> serde_json::Value {
    c.call("viewer", &[]).await.body
}

#[tokio::test]
async fn sso_signs_in_with_mapped_roles_and_provisions_just_in_time() {
    let app = spawn_app().await;
    let idp = Idp::start(&app.base);
    configure(&app, &idp.issuer, "noc-ops=operator", false).await;

    // Alice's groups map to operator: she lands in the console.
    let alice = app.client();
    let authorize = start_by_email(&alice, "alice@acme.example").await;
    assert!(authorize.starts_with(&idp.issuer), "{authorize}");
    assert!(authorize.contains("code_challenge_method=S256"), "PKCE S256: {authorize}");
    assert!(authorize.contains("nonce="), "{authorize}");
    let back = sign_in_at_idp(&alice.http, &idp.issuer, &authorize, "alice").await;
    assert_eq!(callback(&alice, &back).await, "/console");
    let v = signed_in(&alice).await;
    assert_eq!(v["email"], "alice@acme.example");
    assert_eq!(v["display_name"], "Alice Ops");
    assert_eq!(v["tenant"]["role"], "operator");
    // The provider runs with its defaults: the ID token held none of the e-mail, name or
    // groups (they came from UserInfo, whose `sub` matched the token's).
    let payload = id_token_payload_of(&app, &alice_id(&app).await).await;
    assert_eq!(payload["sub"], "alice");
    for claim in ["email", "email_verified", "name", "groups"] {
        assert!(payload.get(claim).is_none(), "{claim} in the ID token: {payload}");
    }
    let jit = entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq("alice@acme.example"))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("alice was created just in time");
    assert_eq!(jit.display_name, "Alice Ops");
    assert!(jit.password_hash.is_none());

    // Bob matches no mapping: default role.
    let bob = app.client();
    let authorize = start_by_email(&bob, "bob@acme.example").await;
    let back = sign_in_at_idp(&bob.http, &idp.issuer, &authorize, "bob").await;
    assert_eq!(callback(&bob, &back).await, "/portal");
    assert_eq!(signed_in(&bob).await["tenant"]["role"], "member");

    // The mapping changes; Bob's next sign-in updates his role.
    configure(&app, &idp.issuer, "noc-ops=operator, staff=auditor", false).await;
    let bob2 = app.client();
    let authorize = start_by_email(&bob2, "bob@acme.example").await;
    let back = sign_in_at_idp(&bob2.http, &idp.issuer, &authorize, "bob").await;
    callback(&bob2, &back).await;
    assert_eq!(signed_in(&bob2).await["tenant"]["role"], "auditor");

    // Every step is audited.
    let actions: Vec<String> =
        entity::audit_event::Entity::find().all(&app.state.db).await.unwrap().into_iter().map(|e| e.action).collect();
    for a in ["sso.configured", "auth.sso_login", "user.provisioned", "user.role_changed"] {
        assert!(actions.iter().any(|x| x == a), "missing audit action {a}");
    }
    assert!(app::audit::ssr::verify(&app.state.db).await.unwrap().first_bad.is_none());

    // The tenant link starts the same flow.
    let res = app.client().get("/auth/oidc/start?tenant=acme").await;
    assert!(res.headers()["location"].to_str().unwrap().starts_with(&idp.issuer));

    // Signing out also ends the IdP session (RP-initiated logout with an id_token_hint).
    let out = alice.call("logout", &[]).await;
    let to = out.location.expect("logout redirect");
    assert!(to.starts_with(&idp.issuer), "{to}");
    assert!(to.contains("id_token_hint="), "{to}");
    assert_eq!(signed_in(&alice).await, serde_json::Value::Null);
}

async fn alice_id(app: &TestApp) -> String {
    user_id(app, "alice@acme.example").await
}

/// The payload of the ID token kept in a signed-in user's session.
async fn id_token_payload_of(app: &TestApp, user_id: &str) -> serde_json::Value {
    use base64::Engine;
    let row = entity::session::Entity::find()
        .filter(entity::session::Column::UserId.eq(user_id))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("a session");
    let data: serde_json::Value = serde_json::from_str(&row.data).unwrap();
    let token = data["oidc_id_token"].as_str().expect("the ID token is kept for logout");
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The error code of a redirect to the sign-in page.
fn sso_error(location: &str) -> String {
    let code =
        location.strip_prefix("/login?sso_error=").unwrap_or_else(|| panic!("expected an SSO error, got {location}"));
    assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "only a code travels: {location}");
    code.to_string()
}

#[tokio::test]
async fn sso_rejections_show_a_message_and_leave_no_session() {
    let app = spawn_app().await;
    // This provider puts the profile in the ID token too (the path without UserInfo).
    let idp = Idp::start_with_id_token_claims(&app.base);
    configure(&app, &idp.issuer, "noc-ops=operator", false).await;
    let sessions_with_user = || async {
        entity::session::Entity::find()
            .filter(entity::session::Column::UserId.is_not_null())
            .all(&app.state.db)
            .await
            .unwrap()
            .len()
    };
    let before = sessions_with_user().await;

    // Tampered state.
    let c = app.client();
    let authorize = start_by_email(&c, "alice@acme.example").await;
    let back = sign_in_at_idp(&c.http, &idp.issuer, &authorize, "alice").await;
    let mut url = url::Url::parse(&back).unwrap();
    let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    url.query_pairs_mut().clear();
    for (k, v) in &pairs {
        url.query_pairs_mut().append_pair(k, if k == "state" { "forged-state" } else { v });
    }
    assert_eq!(sso_error(&callback(&c, url.as_str()).await), "state_mismatch");
    assert_eq!(signed_in(&c).await, serde_json::Value::Null);

    // Missing state (and no sign-in in progress).
    assert_eq!(sso_error(&callback(&c, &format!("{}/auth/oidc/callback?code=abc", app.base)).await), "missing_state");

    // Replayed authorization code: a used code with a fresh sign-in attempt.
    let c = app.client();
    let authorize = start_by_email(&c, "alice@acme.example").await;
    let back = sign_in_at_idp(&c.http, &idp.issuer, &authorize, "alice").await;
    assert_eq!(callback(&c, &back).await, "/console");
    let payload = id_token_payload_of(&app, &alice_id(&app).await).await;
    assert_eq!(payload["email"], "alice@acme.example", "this provider puts the e-mail in the ID token");
    let used_code = url::Url::parse(&back).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let replay = app.client();
    let authorize = start_by_email(&replay, "alice@acme.example").await;
    let fresh_state =
        url::Url::parse(&authorize).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let to = callback(&replay, &format!("{}/auth/oidc/callback?code={used_code}&state={fresh_state}", app.base)).await;
    assert_eq!(sso_error(&to), "code_rejected");
    assert_eq!(signed_in(&replay).await, serde_json::Value::Null);

    // Wrong nonce: the ID token's nonce does not match the one this browser sent.
    let c = app.client();
    let authorize = start_by_email(&c, "alice@acme.example").await;
    let back = sign_in_at_idp(&c.http, &idp.issuer, &authorize, "alice").await;
    for row in entity::session::Entity::find().all(&app.state.db).await.unwrap() {
        if row.data.contains("oidc_pending") {
            let mut data: serde_json::Value = serde_json::from_str(&row.data).unwrap();
            data["oidc_pending"]["nonce"] = serde_json::json!("a-different-nonce");
            let mut am: entity::session::ActiveModel = row.into();
            am.data = Set(data.to_string());
            am.update(&app.state.db).await.unwrap();
        }
    }
    let to = callback(&c, &back).await;
    assert_eq!(sso_error(&to), "wrong_nonce");
    assert_eq!(signed_in(&c).await, serde_json::Value::Null);

    // E-mail domain not allowed (Eve reaches the IdP through the tenant link).
    let c = app.client();
    let res = c.get("/auth/oidc/start?tenant=acme").await;
    let authorize = res.headers()["location"].to_str().unwrap().to_string();
    let back = sign_in_at_idp(&c.http, &idp.issuer, &authorize, "eve").await;
    let to = callback(&c, &back).await;
    assert_eq!(sso_error(&to), "domain_not_allowed");
    assert!(
        entity::user::Entity::find()
            .filter(entity::user::Column::Email.eq("eve@evil.example"))
            .one(&app.state.db)
            .await
            .unwrap()
            .is_none()
    );

    // Only the one good sign-in above created a session.
    assert_eq!(sessions_with_user().await, before + 1);

    // Failures are audited with their reasons.
    let reasons: Vec<String> = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Action.eq("auth.sso_failed"))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.details)
        .collect();
    for r in ["state_mismatch", "missing_state", "code_rejected", "wrong_nonce", "domain_not_allowed"] {
        assert!(reasons.iter().any(|d| d.contains(r)), "no audited failure {r}: {reasons:?}");
    }
    // The detail (here: the refused domain) is in the audit trail, not in the URL.
    assert!(reasons.iter().any(|d| d.contains("domain_not_allowed") && d.contains("evil.example")), "{reasons:?}");
}

#[tokio::test]
async fn an_unreachable_idp_is_reported_plainly() {
    let app = spawn_app().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    configure(&app, &format!("http://127.0.0.1:{closed}"), "", false).await;
    let c = app.client();
    let r = c.call("login", &[("email", "alice@acme.example"), ("password", "")]).await;
    let res = c.get(&r.location.unwrap()).await;
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(sso_error(&to), "idp_unreachable");
    // "Test configuration" says the same.
    let acme = tenant_id(&app, "acme").await;
    let admin = app.login("tenant_admin@acme.example").await;
    let checks = admin.call("sso/test", &[("tenant_id", &acme)]).await;
    let discovery = checks.body.as_array().unwrap().iter().find(|c| c["name"] == "Discovery").unwrap().clone();
    assert_eq!(discovery["ok"], false);
}

fn craft(key_pem: &[u8], kid: &str, claims: serde_json::Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_rsa_pem(key_pem).unwrap()).unwrap()
}

#[tokio::test]
async fn forged_expired_and_misaddressed_tokens_are_rejected() {
    let app = spawn_app().await;
    let idp = Idp::start(&app.base);
    let r = app::sso::ssr::Resolved {
        target: tenant_id(&app, "acme").await,
        issuer: idp.issuer.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        scopes: vec!["openid".into()],
        domains: vec!["acme.example".into()],
        role_claim: None,
        role_map: Default::default(),
        default_role: app::auth::permissions::Role::Member,
    };
    let idp_key = include_bytes!("../../../end2end/oidc/test-signing-key.pem");
    let rogue_key = include_bytes!("../../../end2end/oidc/rogue-signing-key.pem");
    let now = chrono::Utc::now().timestamp();
    let claims = |aud: &str, exp: i64| serde_json::json!({"iss": idp.issuer, "sub": "alice", "aud": aud, "iat": now, "exp": exp, "nonce": "n-1", "email": "alice@acme.example"});
    // A token signed with the IdP's key and addressed to us verifies (the test's own sanity check).
    let good = craft(idp_key, "patchbay-test-key", claims(CLIENT_ID, now + 300));
    let id = app::sso::ssr::verify_id_token(&app.state, &r, &good, "n-1").await.expect("valid token");
    assert_eq!(id.email.as_deref(), Some("alice@acme.example"));
    assert_eq!(id.subject, "alice");

    let cases = [
        (craft(idp_key, "patchbay-test-key", claims("patchbay-other", now + 300)), "n-1", "wrong_audience"),
        (craft(idp_key, "patchbay-test-key", claims(CLIENT_ID, now - 600)), "n-1", "token_expired"),
        (craft(rogue_key, "patchbay-test-key", claims(CLIENT_ID, now + 300)), "n-1", "bad_signature"),
        (craft(rogue_key, "rogue-key", claims(CLIENT_ID, now + 300)), "n-1", "bad_signature"),
        (good.clone(), "another-nonce", "wrong_nonce"),
    ];
    for (token, nonce, reason) in cases {
        let err = app::sso::ssr::verify_id_token(&app.state, &r, &token, nonce).await.expect_err(reason);
        assert_eq!(err.reason(), reason, "{}", err.detail);
    }
}

#[tokio::test]
async fn sso_settings_are_guarded_validated_and_keep_the_secret_sealed() {
    let app = spawn_app().await;
    let idp = Idp::start(&app.base);
    let acme = tenant_id(&app, "acme").await;
    let globex = tenant_id(&app, "globex").await;

    // Only tenant admins (of that tenant) may read or change it.
    for who in ["member@acme.example", "auditor@acme.example", "operator@acme.example"] {
        let c = app.login(who).await;
        assert_eq!(c.call("sso/get", &[("tenant_id", &acme)]).await.status, StatusCode::FORBIDDEN, "{who}");
    }
    let globex_admin = app.login("tenant_admin@globex.example").await;
    assert_eq!(globex_admin.call("sso/get", &[("tenant_id", &acme)]).await.status, StatusCode::FORBIDDEN);
    let hijack = [
        ("tenant_id", acme.as_str()),
        ("issuer", "https://evil.example"),
        ("client_id", "x"),
        ("client_secret", "y"),
        ("scopes", "openid"),
        ("domains", "acme.example"),
        ("role_claim", ""),
        ("role_map", ""),
        ("default_role", "member"),
    ];
    assert_eq!(globex_admin.call("sso/save", &hijack).await.status, StatusCode::FORBIDDEN);
    assert_eq!(globex_admin.call("sso/test", &[("tenant_id", &acme)]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(globex_admin.call("sso/remove", &[("tenant_id", &acme)]).await.status, StatusCode::FORBIDDEN);

    // Bad input: field errors, nothing stored.
    let admin = app.login("tenant_admin@acme.example").await;
    let bad = admin
        .call(
            "sso/save",
            &[
                ("tenant_id", &acme),
                ("issuer", "ftp://nowhere"),
                ("client_id", ""),
                ("client_secret", ""),
                ("scopes", "openid"),
                ("domains", "not a domain"),
                ("role_claim", ""),
                ("role_map", "ops=root"),
                ("default_role", "member"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = &bad.body["Validation"]["fields"];
    for f in ["issuer", "client_id", "client_secret", "domains", "role_map"] {
        assert!(fields[f].is_string(), "{f}: {fields}");
    }
    assert!(entity::sso_config::Entity::find_by_id(acme.clone()).one(&app.state.db).await.unwrap().is_none());

    configure(&app, &idp.issuer, "", false).await;
    // The secret is sealed at rest and never returned.
    let row = entity::sso_config::Entity::find_by_id(acme.clone()).one(&app.state.db).await.unwrap().unwrap();
    assert!(!row.client_secret_enc.contains(CLIENT_SECRET));
    let got = admin.call("sso/get", &[("tenant_id", &acme)]).await;
    assert_eq!(got.body["has_secret"], true);
    assert!(!got.body.to_string().contains(CLIENT_SECRET));
    assert_eq!(got.body["redirect_uri"], format!("{}/auth/oidc/callback", app.base));
    for e in entity::audit_event::Entity::find().all(&app.state.db).await.unwrap() {
        assert!(!e.details.contains(CLIENT_SECRET), "secret in audit: {}", e.details);
    }
    // Saving again without a secret keeps the stored one.
    configure_without_secret(&app, &acme, &idp.issuer).await;
    assert_eq!(
        entity::sso_config::Entity::find_by_id(acme.clone())
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .client_secret_enc,
        row.client_secret_enc
    );
    // The test button reports a healthy provider.
    let checks = admin.call("sso/test", &[("tenant_id", &acme)]).await;
    assert!(checks.body.as_array().unwrap().iter().all(|c| c["ok"] == true), "{}", checks.body);

    // Another tenant cannot claim the same domain.
    let clash = app
        .login("admin@patchbay.example")
        .await
        .call(
            "sso/save",
            &[
                ("tenant_id", &globex),
                ("issuer", &idp.issuer),
                ("client_id", "x"),
                ("client_secret", "y"),
                ("scopes", "openid"),
                ("domains", "acme.example"),
                ("role_claim", ""),
                ("role_map", ""),
                ("default_role", "member"),
            ],
        )
        .await;
    assert_eq!(clash.status, StatusCode::UNPROCESSABLE_ENTITY);

    // "Require SSO": members' passwords are refused, platform admins keep a break-glass.
    let r = app.client().call("login", &[("email", "member@acme.example"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body["Forbidden"].as_str().unwrap().contains("requires single sign-on"));
    let r = app.client().call("login", &[("email", "admin@patchbay.example"), ("password", PASSWORD)]).await;
    assert!(r.status.is_success(), "{}", r.body);
}

async fn configure_without_secret(app: &TestApp, acme: &str, issuer: &str) {
    let admin = app.login("tenant_admin@acme.example").await;
    let r = admin
        .call(
            "sso/save",
            &[
                ("tenant_id", acme),
                ("issuer", issuer),
                ("client_id", CLIENT_ID),
                ("client_secret", ""),
                ("scopes", "openid email profile groups"),
                ("domains", "acme.example"),
                ("role_claim", "groups"),
                ("role_map", ""),
                ("default_role", "member"),
                ("require_sso", "on"),
            ],
        )
        .await;
    // The tenant requires SSO now, but a session that already exists keeps working.
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn platform_staff_sign_in_through_the_platform_idp() {
    let mut idp = None;
    let app = spawn_app_custom(false, |cfg, base| {
        let i = Idp::start(base);
        cfg.oidc_issuer = Some(i.issuer.clone());
        cfg.oidc_client_id = Some(CLIENT_ID.into());
        cfg.oidc_client_secret = Some(CLIENT_SECRET.into());
        idp = Some(i);
    })
    .await;
    let idp = idp.unwrap();
    app::seed::create_admin(&app.state.db, "root@acme.example", "a-long-enough-password").await.unwrap();
    let page = app.client().get("/login").await.text().await.unwrap();
    assert!(page.contains("/auth/oidc/start?platform=1"), "the sign-in page offers platform SSO");

    // A platform admin signs in and lands in the console.
    let c = app.client();
    let res = c.get("/auth/oidc/start?platform=1").await;
    let authorize = res.headers()["location"].to_str().unwrap().to_string();
    let back = sign_in_at_idp(&c.http, &idp.issuer, &authorize, "root").await;
    assert_eq!(callback(&c, &back).await, "/console");
    let v = signed_in(&c).await;
    assert_eq!(v["is_platform_admin"], true);
    assert_eq!(v["email"], "root@acme.example");

    // Someone who is not platform staff gets nothing from the platform IdP.
    let c = app.client();
    let res = c.get("/auth/oidc/start?platform=1").await;
    let authorize = res.headers()["location"].to_str().unwrap().to_string();
    let back = sign_in_at_idp(&c.http, &idp.issuer, &authorize, "alice").await;
    assert_eq!(sso_error(&callback(&c, &back).await), "not_platform_staff");
    assert_eq!(signed_in(&c).await, serde_json::Value::Null);
}

#[tokio::test]
async fn the_sign_in_page_shows_fixed_messages_for_codes_and_never_text_from_the_url() {
    let app = spawn_app().await;
    let c = app.client();
    let page = c.get("/login?sso_error=%3Cscript%3Ehello%3C%2Fscript%3E").await.text().await.unwrap();
    assert!(!page.contains("hello"), "text from the URL is rendered: {page}");
    assert!(!page.contains("<script>hello"));
    assert!(page.contains(app::sso::errors::GENERIC_MESSAGE), "an unknown code gets the generic message");
    let page = c.get("/login?sso_error=Your%20bank%20account%20is%20locked").await.text().await.unwrap();
    assert!(!page.contains("bank account"), "{page}");
    let page = c.get("/login?sso_error=missing_state").await.text().await.unwrap();
    assert!(page.contains("This sign-in link has expired or was already used. Please start again."), "{page}");
    assert!(!page.contains(app::sso::errors::GENERIC_MESSAGE));
}

#[tokio::test]
async fn userinfo_for_another_subject_is_refused() {
    let app = spawn_app().await;
    let idp = Idp::start_with_userinfo_for(&app.base, "mallory");
    configure(&app, &idp.issuer, "noc-ops=operator", false).await;
    let c = app.client();
    let authorize = start_by_email(&c, "alice@acme.example").await;
    let back = sign_in_at_idp(&c.http, &idp.issuer, &authorize, "alice").await;
    assert_eq!(sso_error(&callback(&c, &back).await), "userinfo_mismatch");
    assert_eq!(signed_in(&c).await, serde_json::Value::Null);
    assert!(
        entity::user::Entity::find()
            .filter(entity::user::Column::Email.eq("alice@acme.example"))
            .one(&app.state.db)
            .await
            .unwrap()
            .is_none(),
        "nobody was created"
    );
    let failed = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Action.eq("auth.sso_failed"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(failed.iter().any(|e| e.details.contains("userinfo_mismatch") && e.details.contains("mallory")));
}

async fn corrupt_require_sso(app: &TestApp) {
    use sea_orm::sea_query::Expr;
    entity::sso_config::Entity::update_many()
        .col_expr(entity::sso_config::Column::RequireSso, Expr::value(true))
        .filter(entity::sso_config::Column::TenantId.eq(tenant_id(app, "acme").await))
        .exec(&app.state.db)
        .await
        .unwrap();
}

/// Overwrite one column of acme's stored configuration with `value`.
async fn corrupt(app: &TestApp, column: entity::sso_config::Column, value: &str) {
    use sea_orm::sea_query::Expr;
    entity::sso_config::Entity::update_many()
        .col_expr(column, Expr::value(value))
        .filter(entity::sso_config::Column::TenantId.eq(tenant_id(app, "acme").await))
        .exec(&app.state.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_corrupt_stored_configuration_is_an_error_not_a_default() {
    let app = spawn_app().await;
    let idp = Idp::start(&app.base);
    configure(&app, &idp.issuer, "noc-ops=operator", false).await;
    let acme = tenant_id(&app, "acme").await;
    let admin = app.login("tenant_admin@acme.example").await;
    let audited_failures = || async {
        entity::audit_event::Entity::find()
            .filter(entity::audit_event::Column::Action.eq("auth.sso_failed"))
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.details)
            .collect::<Vec<_>>()
    };

    // A corrupt role map: sign-in is refused (nobody gets the default role), naming the row.
    corrupt(&app, entity::sso_config::Column::RoleMap, "{\"noc-ops\": \"operator\"").await;
    let c = app.client();
    let res = c.get("/auth/oidc/start?tenant=acme").await;
    assert_eq!(sso_error(res.headers()["location"].to_str().unwrap()), "misconfigured");
    let failures = audited_failures().await;
    assert!(
        failures.iter().any(|d| d.contains("misconfigured")
            && d.contains(&format!("sso_configs row {acme}"))
            && d.contains("role_map")),
        "{failures:?}"
    );
    // The settings page reports an error instead of showing an empty mapping.
    let got = admin.call("sso/get", &[("tenant_id", &acme)]).await;
    assert_eq!(got.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", got.body);
    assert_eq!(got.error_kind().as_deref(), Some("Internal"));

    // A corrupt domain list: home-realm discovery is an error, not "this domain has no SSO".
    configure(&app, &idp.issuer, "noc-ops=operator", false).await;
    assert_eq!(admin.call("sso/get", &[("tenant_id", &acme)]).await.status, StatusCode::OK, "saving again repairs it");
    corrupt(&app, entity::sso_config::Column::AllowedDomains, "acme.example, corp.example").await;
    let r = app.client().call("login", &[("email", "alice@acme.example"), ("password", "")]).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
    assert!(r.location.is_none());
    let res = app.client().get("/auth/oidc/start?tenant=acme").await;
    assert_eq!(sso_error(res.headers()["location"].to_str().unwrap()), "misconfigured");
    assert!(audited_failures().await.iter().any(|d| d.contains("allowed_domains")));
    // Acme does not require SSO, so its members' passwords still work; with "require SSO"
    // and a corrupt domain list, a password sign-in of that domain fails closed.
    let r = app.client().call("login", &[("email", "member@acme.example"), ("password", PASSWORD)]).await;
    assert!(r.status.is_success() || r.status.is_redirection(), "{} {}", r.status, r.body);
    corrupt_require_sso(&app).await;
    let r = app.client().call("login", &[("email", "member@acme.example"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
    // Another tenant's sign-in does not depend on acme's row.
    let r = app.client().call("login", &[("email", "tenant_admin@globex.example"), ("password", PASSWORD)]).await;
    assert!(r.status.is_success() || r.status.is_redirection(), "{} {}", r.status, r.body);

    // A default role that is not a role (the row repaired first, as an operator would).
    entity::sso_config::Entity::delete_by_id(acme.clone()).exec(&app.state.db).await.unwrap();
    configure(&app, &idp.issuer, "", false).await;
    corrupt(&app, entity::sso_config::Column::DefaultRole, "overlord").await;
    let res = app.client().get("/auth/oidc/start?tenant=acme").await;
    assert_eq!(sso_error(res.headers()["location"].to_str().unwrap()), "misconfigured");
    assert_eq!(admin.call("sso/get", &[("tenant_id", &acme)]).await.status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn plain_http_and_loopback_issuers_need_the_development_setting() {
    let app = spawn_app_custom(false, |cfg, _| cfg.oidc_allow_insecure_issuers = false).await;
    let acme = tenant_id(&app, "acme").await;
    let admin = app.login("tenant_admin@acme.example").await;
    let save = |issuer: &'static str| {
        let acme = acme.clone();
        let admin = &admin;
        async move {
            admin
                .call(
                    "sso/save",
                    &[
                        ("tenant_id", acme.as_str()),
                        ("issuer", issuer),
                        ("client_id", CLIENT_ID),
                        ("client_secret", CLIENT_SECRET),
                        ("scopes", "openid email"),
                        ("domains", "acme.example"),
                        ("role_claim", ""),
                        ("role_map", ""),
                        ("default_role", "member"),
                    ],
                )
                .await
        }
    };
    for issuer in ["http://127.0.0.1:8080", "http://login.example.com", "https://localhost:8443", "https://127.0.0.1"] {
        let r = save(issuer).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{issuer}: {}", r.body);
        let msg = r.body["Validation"]["fields"]["issuer"].as_str().unwrap_or_default().to_string();
        assert!(msg.contains("https://") && msg.contains("PATCHBAY_OIDC_ALLOW_INSECURE_ISSUERS"), "{issuer}: {msg}");
    }
    assert!(entity::sso_config::Entity::find_by_id(acme.clone()).one(&app.state.db).await.unwrap().is_none());
    assert_eq!(save("https://login.example.com/realms/acme").await.status, StatusCode::OK);

    // The platform IdP is checked at startup.
    let dir = tempfile::tempdir().unwrap();
    let cfg = server::config::Config {
        database_url: format!("sqlite://{}?mode=rwc", dir.path().join("x.db").display()),
        bind: "127.0.0.1:0".into(),
        oidc_issuer: Some("http://127.0.0.1:9".into()),
        oidc_client_id: Some(CLIENT_ID.into()),
        oidc_client_secret: Some(CLIENT_SECRET.into()),
        ..Default::default()
    };
    let err = server::startup::Application::build(cfg, false).await.err().expect("refused at startup").to_string();
    assert!(err.contains("PATCHBAY_OIDC_ISSUER") && err.contains("PATCHBAY_OIDC_ALLOW_INSECURE_ISSUERS"), "{err}");
}
