//! Operational security: where `/metrics` is served, and rotating the key that seals
//! secrets at rest (`PATCHBAY_SECRET_KEY` + `PATCHBAY_SECRET_KEY_PREVIOUS`, `patchbay
//! rotate-secrets`).

use crate::common::*;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

const METRICS_TOKEN: &str = "metrics-token-for-the-tests";

async fn scrape(url: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("metrics request");
    (res.status(), res.text().await.unwrap_or_default())
}

fn looks_like_our_metrics(body: &str) {
    for needle in ["http_requests_total", "route=\"/readyz\"", "db_pool_connections", "patchbay_build_info"] {
        assert!(body.contains(needle), "{needle} missing from {body}");
    }
}

#[tokio::test]
async fn metrics_are_not_served_to_anyone_by_default() {
    let app = spawn_app().await;
    let (status, _) = scrape(&format!("{}/metrics", app.base), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = scrape(&format!("{}/metrics", app.base), Some(METRICS_TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no token is configured, so none is accepted");
    assert!(app.metrics_base.is_none());
}

#[tokio::test]
async fn metrics_on_the_main_listener_need_the_bearer_token() {
    let app = spawn_app_custom(false, |cfg, _| cfg.metrics_token = Some(METRICS_TOKEN.into())).await;
    assert_eq!(app.client().get("/readyz").await.status(), StatusCode::OK);
    let url = format!("{}/metrics", app.base);
    assert_eq!(scrape(&url, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(scrape(&url, Some("not-the-metrics-token")).await.0, StatusCode::UNAUTHORIZED);
    let res = reqwest::Client::new()
        .get(&url)
        .header("authorization", format!("Basic {METRICS_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "only a bearer token");
    let (status, body) = scrape(&url, Some(METRICS_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    looks_like_our_metrics(&body);
}

#[tokio::test]
async fn metrics_bind_serves_them_on_a_listener_of_their_own() {
    let app = spawn_app_custom(false, |cfg, _| cfg.metrics_bind = Some("127.0.0.1:0".into())).await;
    assert_eq!(app.client().get("/readyz").await.status(), StatusCode::OK);
    let own = app.metrics_base.clone().expect("a metrics listener");
    assert_ne!(own, app.base);
    let (status, body) = scrape(&format!("{own}/metrics"), None).await;
    assert_eq!(status, StatusCode::OK);
    looks_like_our_metrics(&body);
    // The main listener still does not serve them.
    assert_eq!(scrape(&format!("{}/metrics", app.base), None).await.0, StatusCode::NOT_FOUND);
    // The metrics listener serves nothing else.
    assert_eq!(scrape(&format!("{own}/healthz"), None).await.0, StatusCode::NOT_FOUND);
}

const KEY_A: &str = "key-A-the-one-being-retired-0123456789";
const KEY_B: &str = "key-B-the-new-one-9876543210-abcdefgh";

/// A value sealed the way releases before HKDF did (format v1, bare SHA-256 of the key).
fn legacy_seal(secret: &str, plaintext: &str) -> String {
    use aes_gcm::aead::{Aead, KeyInit};
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"patchbay/secrets-at-rest/v1\0");
    h.update(secret.as_bytes());
    let cipher = aes_gcm::Aes256Gcm::new(aes_gcm::Key::<aes_gcm::Aes256Gcm>::from_slice(&h.finalize()));
    let nonce = [3u8; 12];
    let mut out = nonce.to_vec();
    out.extend(cipher.encrypt(aes_gcm::Nonce::from_slice(&nonce), plaintext.as_bytes()).unwrap());
    format!("v1:{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(out))
}

/// The sealed values in the database: (acme's IdP secret, globex's IdP secret, partner token).
async fn sealed_values(app: &TestApp, provider_id: &str) -> (String, String, String) {
    let sso = |slug: &'static str| async move {
        entity::sso_config::Entity::find_by_id(tenant_id(app, slug).await)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .client_secret_enc
    };
    let partner = entity::provider_adapter::Entity::find_by_id(provider_id.to_string())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .credentials_sealed
        .unwrap();
    (sso("acme").await, sso("globex").await, partner)
}

fn rotate_secrets(app: &TestApp, previous: Option<&str>) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_patchbay"));
    cmd.arg("rotate-secrets")
        .env("PATCHBAY_DATABASE_URL", &app.database_url)
        .env("PATCHBAY_SECRET_KEY", KEY_B)
        .env("RUST_LOG", "warn")
        .env_remove("PATCHBAY_SECRET_KEY_PREVIOUS");
    if let Some(p) = previous {
        cmd.env("PATCHBAY_SECRET_KEY_PREVIOUS", p);
    }
    let out = cmd.output().expect("run patchbay rotate-secrets");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_secret_key_rotates_without_losing_sealed_secrets() {
    let app = spawn_app_custom(false, |cfg, _| cfg.secret_key = Some(KEY_A.into())).await;
    let acme = tenant_id(&app, "acme").await;
    let globex = tenant_id(&app, "globex").await;
    let admin = app.login("admin@patchbay.example").await;
    for (tenant, domain, secret) in
        [(&acme, "acme.example", "acme-idp-secret"), (&globex, "globex.example", "globex-idp-secret")]
    {
        let r = admin
            .call(
                "sso/save",
                &[
                    ("tenant_id", tenant),
                    ("issuer", "https://login.example.com/realms/x"),
                    ("client_id", "patchbay"),
                    ("client_secret", secret),
                    ("scopes", "openid email"),
                    ("domains", domain),
                    ("role_claim", ""),
                    ("role_map", ""),
                    ("default_role", "member"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    // Globex's secret dates from before HKDF: the old format, under key A.
    let mut g: entity::sso_config::ActiveModel =
        entity::sso_config::Entity::find_by_id(globex.clone()).one(&app.state.db).await.unwrap().unwrap().into();
    g.client_secret_enc = Set(legacy_seal(KEY_A, "globex-idp-secret"));
    g.update(&app.state.db).await.unwrap();
    // A partner's API token, sealed with key A.
    let provider = entity::provider::Entity::find().one(&app.state.db).await.unwrap().expect("a demo provider");
    entity::provider_adapter::ActiveModel {
        provider_id: Set(provider.id.clone()),
        adapter: Set("mef_partner".into()),
        backend: Set("partner_api".into()),
        base_url: Set(Some("https://partner.example/api".into())),
        credentials_sealed: Set(Some(app.state.sealer.seal("partner-token").unwrap())),
        latency_ms: Set(0),
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
    let plain = ["acme-idp-secret", "globex-idp-secret", "partner-token"];
    let opens_all = |sealer: &app::crypto::Sealer, values: &(String, String, String)| {
        let got = [&values.0, &values.1, &values.2].map(|v| sealer.open(v));
        got.iter().zip(plain).all(|(g, p)| g.as_deref() == Ok(p))
    };
    let before = sealed_values(&app, &provider.id).await;
    for v in [&before.0, &before.1, &before.2] {
        assert!(!plain.iter().any(|p| v.contains(p)), "sealed at rest: {v}");
    }

    // Key B is current, A is previous: every value still opens, and the app works with them.
    let a = app::crypto::Sealer::new(KEY_A);
    let b_only = app::crypto::Sealer::new(KEY_B);
    let rotating = app::crypto::Sealer::new(KEY_B).with_previous(KEY_A);
    assert!(opens_all(&a, &before));
    assert!(opens_all(&rotating, &before));
    assert!(!opens_all(&b_only, &before), "B alone cannot open values sealed with A");
    let rotated_app = spawn_app_custom(false, |cfg, _| {
        cfg.database_url = app.database_url.clone();
        cfg.secret_key = Some(KEY_B.into());
        cfg.secret_key_previous = Some(KEY_A.into());
    })
    .await;
    assert_eq!(rotated_app.state.sealer.previous_key_id(), Some(a.key_id()));
    assert!(opens_all(&rotated_app.state.sealer, &before), "the server configured with B and A opens them");

    // Without the previous key, rotate-secrets names what it cannot open and changes nothing.
    let (ok, out, err) = rotate_secrets(&app, None);
    assert!(!ok, "{out}{err}");
    assert!(out.contains("0 re-sealed, 0 already current, 3 failed"), "{out}");
    assert!(
        err.contains(&format!("sso_configs {acme}")) && err.contains(&format!("provider_adapters {}", provider.id)),
        "{err}"
    );
    assert_eq!(sealed_values(&app, &provider.id).await, before);

    // With it, every value is re-sealed with B; a second run has nothing to do.
    let (ok, out, err) = rotate_secrets(&app, Some(KEY_A));
    assert!(ok, "{out}{err}");
    assert!(out.contains(&format!("key {}: 3 re-sealed, 0 already current, 0 failed", b_only.key_id())), "{out}");
    let (ok, out, err) = rotate_secrets(&app, Some(KEY_A));
    assert!(ok, "{out}{err}");
    assert!(out.contains("0 re-sealed, 3 already current, 0 failed"), "idempotent: {out}");

    // Key A is dropped: everything opens with B alone, and no longer with A.
    let after = sealed_values(&app, &provider.id).await;
    assert!(opens_all(&b_only, &after));
    assert!(!opens_all(&a, &after));
    for v in [&after.0, &after.1, &after.2] {
        assert!(v.starts_with(&format!("v2:{}:", b_only.key_id())), "{v}");
    }

    // Each run is audited with its counts, and the chain holds.
    let runs: Vec<serde_json::Value> = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Action.eq("secrets.resealed"))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_str(&e.details).unwrap())
        .collect();
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert!(runs.iter().any(|d| d["resealed"] == 3 && d["key_id"] == b_only.key_id()), "{runs:?}");
    assert!(app::audit::ssr::verify(&app.state.db).await.unwrap().first_bad.is_none());
}

#[tokio::test]
async fn a_page_view_does_not_rewrite_an_unchanged_session_but_a_change_is_written() {
    let app = spawn_app().await;
    let uid = user_id(&app, "member@acme.example").await;
    let c = app.login("member@acme.example").await;
    let row = || async {
        entity::session::Entity::find()
            .filter(entity::session::Column::UserId.eq(uid.clone()))
            .one(&app.state.db)
            .await
            .unwrap()
            .expect("the member's session")
    };
    assert_eq!(c.get("/portal").await.status(), StatusCode::OK);
    let before = row().await;
    for path in ["/portal/orders", "/portal", "/account/sessions"] {
        assert_eq!(c.get(path).await.status(), StatusCode::OK, "{path}");
    }
    let after = row().await;
    // tower-sessions slides the idle expiry on every request; within a minute and with the
    // same data, the store leaves the row alone (a page view is not a database write).
    assert_eq!((&after.data, after.last_seen_at), (&before.data, before.last_seen_at));

    // A change is written at once: the message a plain form post leaves for the next page
    // is read back from the database by that page's request.
    let res = c
        .post_form("mail/preferences/set", &[("kind", "member_joined"), ("enabled", "on")], "/account/notifications")
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let html = c.get("/account/notifications").await.text().await.unwrap();
    assert!(html.contains(": on."), "the flash, read from the stored session: {html:.400}");
    assert!(row().await.last_seen_at > before.last_seen_at, "the changed session was written");
}

#[tokio::test]
async fn concurrent_audited_actions_in_one_tenant_all_succeed_and_the_chain_verifies() {
    // Sign-ins are audited outside any transaction of their own. Two on different pooled
    // connections once read the same sequence number of the tenant's chain, and the second
    // failed as a duplicate (409), seen in the pages benchmark.
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let base = app.base.clone();
        let email = ["tenant_admin@acme.example", "member@acme.example", "billing_admin@acme.example"][i % 3];
        tasks.push(tokio::spawn(async move {
            let c = client_for(&base);
            let r = c.call("login", &[("email", email), ("password", PASSWORD)]).await;
            (email, r.status, r.body)
        }));
    }
    for t in tasks {
        let (email, status, body) = t.await.unwrap();
        assert!(status.is_success() || status.is_redirection(), "{email}: {status} {body}");
    }
    let v = app::audit::ssr::verify(&app.state.db).await.unwrap();
    assert_eq!(v.first_bad, None, "the chains verify after concurrent appends");
    let logins = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Action.eq("auth.login"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(logins.len(), 12, "one event per sign-in");
}
