//! Webhooks end to end: a subscription made over `/v1`, events of a real order delivered by
//! the job queue to a local receiver that fails the first attempts, retries with backoff,
//! signatures checked by the `standardwebhooks` npm package (not by Patchbay's code), secret
//! rotation signing with both secrets, dead-letter and replay with the same `webhook-id`,
//! the SSRF guard refusing internal addresses, and a failing subscription turned off with
//! its admins told.
use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::api::{create_key, v1};
use crate::common::*;
use crate::provisioning::{cross_connect, customer, place};

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Got {
    headers: HashMap<String, String>,
    body: String,
}

/// A local webhook receiver that answers 500 to the first `fail_first` attempts of every
/// message (by `webhook-id`), then 200.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
    fail_first: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start(fail_first: usize) -> Receiver {
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let fail = Arc::new(Mutex::new(fail_first));
        let (g, f) = (got.clone(), fail.clone());
        let handler = move |headers: http::HeaderMap, body: String| {
            let (g, f) = (g.clone(), f.clone());
            async move {
                let headers: HashMap<String, String> =
                    headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string())).collect();
                let id = headers.get("webhook-id").cloned().unwrap_or_default();
                let mut all = g.lock().expect("receiver lock");
                let before = all.iter().filter(|x| x.headers.get("webhook-id") == Some(&id)).count();
                all.push(Got { headers, body });
                if before < *f.lock().expect("fail lock") {
                    (StatusCode::INTERNAL_SERVER_ERROR, [("x-receiver", "failing")], "not yet".to_string())
                } else {
                    (StatusCode::OK, [("x-receiver", "ok")], "thanks".to_string())
                }
            }
        };
        let router = axum::Router::new().route("/hook", axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move { axum::serve(listener, router).await.expect("receiver") });
        Receiver { url: format!("http://127.0.0.1:{port}/hook"), got, fail_first: fail }
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().expect("receiver lock").clone()
    }

    fn set_fail_first(&self, n: usize) {
        *self.fail_first.lock().expect("fail lock") = n;
    }
}

/// Verify each delivery against `secret` with the `standardwebhooks` package.
fn verify(secret: &str, got: &[Got]) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/webhooks/verify.mjs");
    let cases: Vec<Value> =
        got.iter().map(|g| json!({"secret": secret, "headers": g.headers, "body": g.body})).collect();
    let mut child = Command::new("node")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run node end2end/webhooks/verify.mjs (run `npm ci` first)");
    child.stdin.take().expect("stdin").write_all(Value::from(cases).to_string().as_bytes()).expect("write cases");
    let out = child.wait_with_output().expect("verifier output");
    assert!(out.status.success(), "verifier failed: {}", String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice(&out.stdout).expect("verifier JSON")
}

async fn send(
    method: reqwest::Method,
    base: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{base}{path}")).bearer_auth(token);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Run due jobs until `done` holds (or 20 s pass).
async fn work_until(app: &TestApp, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..400 {
        app::workers::drain(&app.state, "test-worker", 200).await.expect("run jobs");
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn deliveries(app: &TestApp, token: &str, sub: &str, filter: &str) -> Vec<Value> {
    let (status, body) =
        send(reqwest::Method::GET, &app.base, &format!("/v1/webhooks/{sub}/deliveries?limit=200{filter}"), token, None)
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn order_events_are_signed_retried_and_verified_by_the_standard_library() {
    let app = spawn_app_custom(false, |cfg, _| cfg.provision_poll_ms = 0).await;
    let admin = app.login("tenant_admin@acme.example").await;
    let (token, _) = create_key(&admin, "hooks", &["webhooks:manage"], "").await;
    let rx = Receiver::start(2).await;

    // Refused first: a bad pattern, no types, an unknown field; nothing is made.
    let (status, body) = send(
        reqwest::Method::POST,
        &app.base,
        "/v1/webhooks",
        &token,
        Some(json!({"url": rx.url, "eventTypes": ["orders.*", "nonsense"]})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) =
        send(reqwest::Method::POST, &app.base, "/v1/webhooks", &token, Some(json!({"url": rx.url, "eventTypes": []})))
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, _, list) = v1(&app.base, "/v1/webhooks", Some(&token)).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");

    let (status, made) = send(
        reqwest::Method::POST,
        &app.base,
        "/v1/webhooks",
        &token,
        Some(json!({"url": rx.url, "description": "ticketing", "eventTypes": ["order.*"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let sub = made["id"].as_str().expect("id").to_string();
    let secret = made["secret"].as_str().expect("secret shown once").to_string();
    assert!(secret.starts_with("whsec_"));
    let (_, _, shown) = v1(&app.base, &format!("/v1/webhooks/{sub}"), Some(&token)).await;
    assert_eq!(shown["secret"], Value::Null, "the secret is not shown again: {shown}");
    assert_eq!(shown["eventTypes"], json!(["order.*"]));

    // A real order: its events become messages; each fails twice, then is accepted.
    let c = customer(&app).await;
    let conn = cross_connect(&app).await;
    let order = place(&c, &conn, "1000").await;
    let delivered = work_until(&app, || {
        let got = rx.got();
        let ids: std::collections::BTreeSet<_> =
            got.iter().filter_map(|g| g.headers.get("webhook-id").cloned()).collect();
        !ids.is_empty()
            && ids.iter().all(|id| got.iter().filter(|g| g.headers.get("webhook-id") == Some(id)).count() >= 3)
    })
    .await;
    assert!(delivered, "every message is retried until accepted: {:?}", rx.got().len());
    let log = deliveries(&app, &token, &sub, "").await;
    let types: Vec<&str> = log.iter().filter_map(|m| m["eventType"].as_str()).collect();
    assert!(types.contains(&"order.submitted"), "{types:?}");
    assert!(types.iter().all(|t| t.starts_with("order.")), "only order events: {types:?}");
    let submitted = log.iter().find(|m| m["eventType"] == "order.submitted").expect("submitted");
    assert_eq!(submitted["status"], "delivered", "{submitted}");
    assert_eq!(submitted["attempts"], 3);
    let codes: Vec<i64> =
        submitted["log"].as_array().expect("log").iter().filter_map(|a| a["statusCode"].as_i64()).collect();
    assert_eq!(codes, vec![200, 500, 500], "newest first");
    assert_eq!(submitted["log"][1]["responseBody"], "not yet");
    assert!(submitted["log"][0]["responseHeaders"].to_string().contains("x-receiver"), "{submitted}");
    let body: Value = serde_json::from_str(submitted["body"].as_str().expect("body")).expect("JSON body");
    assert_eq!((body["type"].as_str(), body["version"].as_i64()), (Some("order.submitted"), Some(1)));
    assert_eq!(body["data"]["orderId"], order, "camelCase data naming the order: {body}");

    // The same id and body on every attempt, attempts numbered, every one verified.
    let msg = submitted["id"].as_str().expect("message id");
    let attempts: Vec<Got> =
        rx.got().into_iter().filter(|g| g.headers.get("webhook-id").map(String::as_str) == Some(msg)).collect();
    assert_eq!(attempts.len(), 3);
    let numbers: Vec<&str> =
        attempts.iter().filter_map(|g| g.headers.get("patchbay-attempt").map(String::as_str)).collect();
    assert_eq!(numbers, ["1", "2", "3"]);
    assert!(attempts.iter().all(|g| g.body == attempts[0].body));
    let acme = tenant_id(&app, "acme").await;
    assert_eq!(attempts[0].headers.get("patchbay-tenant-id"), Some(&acme));
    assert_eq!(attempts[0].headers.get("patchbay-event-type").map(String::as_str), Some("order.submitted"));
    assert!(attempts[0].headers.get("traceparent").is_some_and(|t| t.starts_with("00-") && t.len() == 55));
    let all = rx.got();
    assert!(verify(&secret, &all).iter().all(|r| r == &Value::Bool(true)), "{:?}", verify(&secret, &all));
    let other = app::webhooks::ssr::new_secret();
    assert!(verify(&other, &all[..1]).iter().all(|r| r != &Value::Bool(true)), "a wrong secret does not verify");

    // Rotation with an overlap: both secrets sign, so receivers holding either accept.
    let (status, rotated) = send(
        reqwest::Method::POST,
        &app.base,
        &format!("/v1/webhooks/{sub}/rotate-secret"),
        &token,
        Some(json!({"overlapHours": 24})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_secret = rotated["secret"].as_str().expect("new secret").to_string();
    assert!(rotated["previousSecretUntil"].is_string(), "{rotated}");
    rx.set_fail_first(0);
    let (status, test) =
        send(reqwest::Method::POST, &app.base, &format!("/v1/webhooks/{sub}/test"), &token, None).await;
    assert_eq!((status, &test["delivered"]), (StatusCode::OK, &json!(true)), "{test}");
    let last = rx.got().pop().expect("test delivery");
    assert_eq!(last.headers["webhook-signature"].split(' ').count(), 2, "two signatures during the overlap");
    assert_eq!(verify(&secret, std::slice::from_ref(&last)), vec![json!(true)]);
    assert_eq!(verify(&new_secret, std::slice::from_ref(&last)), vec![json!(true)]);
    let (status, _) = send(
        reqwest::Method::POST,
        &app.base,
        &format!("/v1/webhooks/{sub}/rotate-secret"),
        &token,
        Some(json!({"overlapHours": 0})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    send(reqwest::Method::POST, &app.base, &format!("/v1/webhooks/{sub}/test"), &token, None).await;
    let last = rx.got().pop().expect("second test");
    assert_eq!(verify(&new_secret, std::slice::from_ref(&last)), vec![json!("No matching signature found")]);

    // Another tenant's key sees none of it.
    let globex = app.login("tenant_admin@globex.example").await;
    let (other_token, _) = create_key(&globex, "hooks", &["webhooks:manage"], "").await;
    for path in [format!("/v1/webhooks/{sub}"), format!("/v1/webhooks/{sub}/deliveries")] {
        let (status, _, _) = v1(&app.base, &path, Some(&other_token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) =
        send(reqwest::Method::POST, &app.base, &format!("/v1/webhook-messages/{msg}/replay"), &other_token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_dead_lettered_then_replayed_with_the_same_id() {
    // No backoff, so the ten attempts of a round run at once.
    let app = spawn_app_custom(false, |cfg, _| cfg.webhook_retry_base_ms = 0).await;
    let admin = app.login("tenant_admin@acme.example").await;
    let (token, _) = create_key(&admin, "hooks", &["webhooks:manage"], "").await;
    let rx = Receiver::start(usize::MAX).await;
    let (status, made) = send(
        reqwest::Method::POST,
        &app.base,
        "/v1/webhooks",
        &token,
        Some(json!({"url": rx.url, "eventTypes": ["service.*"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let sub = made["id"].as_str().expect("id").to_string();
    let acme = tenant_id(&app, "acme").await;
    // An event as the provisioning engine writes it (with the change it reports).
    app::provisioning::engine::emit(&app.state.db, &acme, "service.active", "svc-1", json!({"service_id": "svc-1"}))
        .await
        .expect("emit");
    app::provisioning::engine::emit(&app.state.db, &acme, "order.active", "ord-1", json!({"order_id": "ord-1"}))
        .await
        .expect("emit an event the subscription did not ask for");
    assert!(work_until(&app, || rx.got().len() >= 10).await, "ten attempts: {}", rx.got().len());
    let dead = deliveries(&app, &token, &sub, "&filter=status:eq:dead").await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!((dead[0]["attempts"].as_i64(), dead[0]["eventType"].as_str()), (Some(10), Some("service.active")));
    assert_eq!(rx.got().len(), 10, "nothing more after the dead-letter");
    let (_, _, shown) = v1(&app.base, &format!("/v1/webhooks/{sub}"), Some(&token)).await;
    assert!(shown["failingSince"].is_string(), "{shown}");

    // Fixed: the replay sends the same message again, and the streak ends.
    rx.set_fail_first(0);
    let msg = dead[0]["id"].as_str().expect("id").to_string();
    let (status, _) =
        send(reqwest::Method::POST, &app.base, &format!("/v1/webhook-messages/{msg}/replay"), &token, None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, again) =
        send(reqwest::Method::POST, &app.base, &format!("/v1/webhook-messages/{msg}/replay"), &token, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "still pending: {again}");
    assert!(work_until(&app, || rx.got().len() >= 11).await);
    let last = rx.got().pop().expect("replayed");
    assert_eq!(last.headers.get("webhook-id"), Some(&msg), "same webhook-id on replay");
    assert_eq!(last.headers.get("patchbay-attempt").map(String::as_str), Some("11"));
    let all = deliveries(&app, &token, &sub, "").await;
    assert_eq!(all[0]["status"], "delivered", "{all:?}");
    let (_, _, shown) = v1(&app.base, &format!("/v1/webhooks/{sub}"), Some(&token)).await;
    assert_eq!(shown["failingSince"], Value::Null);

    // Bulk replay of a window picks delivered messages too when asked.
    let (status, r) = send(
        reqwest::Method::POST,
        &app.base,
        &format!("/v1/webhooks/{sub}/replay"),
        &token,
        Some(json!({"since": "2020-01-01T00:00:00Z", "status": "delivered"})),
    )
    .await;
    assert_eq!((status, r["queued"].as_i64()), (StatusCode::ACCEPTED, Some(1)), "{r}");
    let (status, r) = send(
        reqwest::Method::POST,
        &app.base,
        &format!("/v1/webhooks/{sub}/replay"),
        &token,
        Some(json!({"since": "yesterday"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
}

#[tokio::test]
async fn the_ssrf_guard_refuses_internal_addresses_and_plain_http() {
    let app = spawn_app_custom(false, |cfg, _| cfg.webhooks_allow_private = false).await;
    let admin = app.login("tenant_admin@acme.example").await;
    let (token, _) = create_key(&admin, "hooks", &["webhooks:manage"], "").await;
    for url in [
        "http://hooks.example.com/",
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[fe80::1]/",
        "https://localhost/",
        "https://2130706433/",
    ] {
        let (status, body) = send(
            reqwest::Method::POST,
            &app.base,
            "/v1/webhooks",
            &token,
            Some(json!({"url": url, "eventTypes": ["*"]})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert!(body.to_string().contains("url"), "{url}: the error names the field: {body}");
    }
    // A name is checked when it is resolved, at delivery: one that resolves to loopback is
    // refused before anything is sent (the machine's hosts file maps these to 127.0.0.1).
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let name = hosts
        .lines()
        .filter(|l| l.starts_with("127."))
        .flat_map(|l| l.split_whitespace().skip(1))
        .find(|n| !n.contains("localhost"));
    let Some(name) = name else {
        return skip("the_ssrf_guard_refuses_internal_addresses_and_plain_http", "no loopback name in /etc/hosts");
    };
    let (status, made) = send(
        reqwest::Method::POST,
        &app.base,
        "/v1/webhooks",
        &token,
        Some(json!({"url": format!("https://{name}:9/hook"), "eventTypes": ["*"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let sub = made["id"].as_str().expect("id");
    let (status, test) =
        send(reqwest::Method::POST, &app.base, &format!("/v1/webhooks/{sub}/test"), &token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(test["delivered"], false);
    let error = test["error"].as_str().unwrap_or_default();
    assert!(error.contains("refused") && error.contains("does not deliver to"), "{test}");
    assert!(!error.contains("127.0.0.1"), "the address a name has is not shown to the tenant: {test}");
}

#[tokio::test]
async fn a_subscription_failing_for_five_days_is_turned_off_and_needs_a_test_to_return() {
    let app = spawn_app_with(true).await;
    let admin = app.login("tenant_admin@acme.example").await;
    let (token, _) = create_key(&admin, "hooks", &["webhooks:manage"], "").await;
    let rx = Receiver::start(usize::MAX).await;
    let (_, made) = send(
        reqwest::Method::POST,
        &app.base,
        "/v1/webhooks",
        &token,
        Some(json!({"url": rx.url, "eventTypes": ["order.*"]})),
    )
    .await;
    let sub = made["id"].as_str().expect("id").to_string();
    let (_, test) = send(reqwest::Method::POST, &app.base, &format!("/v1/webhooks/{sub}/test"), &token, None).await;
    assert_eq!(test["delivered"], false, "{test}");
    entity::webhook_subscription::Entity::update_many()
        .col_expr(
            entity::webhook_subscription::Column::FailingSince,
            Expr::value(chrono::Utc::now() - chrono::Duration::days(6)),
        )
        .filter(entity::webhook_subscription::Column::Id.eq(&sub))
        .exec(&app.state.db)
        .await
        .expect("age the streak");
    let report = server::workers::run_once(&app.state).await.expect("housekeeping");
    assert_eq!(report.webhooks_disabled, 1);
    let (_, _, shown) = v1(&app.base, &format!("/v1/webhooks/{sub}"), Some(&token)).await;
    assert_eq!(shown["enabled"], false, "{shown}");
    assert!(shown["disabledReason"].as_str().is_some_and(|r| r.contains("5 days")), "{shown}");
    app::workers::drain(&app.state, "test-worker", 100).await.expect("send mail");
    let mail = app.mail.as_ref().expect("mail sink");
    assert!(
        eventually(10, || async { mail.received().iter().any(|m| m.contains("was disabled after failing")) }).await,
        "the tenant admins are told"
    );

    // Turning it on sends a test first: refused while the endpoint still fails.
    let (status, body) =
        send(reqwest::Method::PATCH, &app.base, &format!("/v1/webhooks/{sub}"), &token, Some(json!({"enabled": true})))
            .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    rx.set_fail_first(0);
    let (status, body) =
        send(reqwest::Method::PATCH, &app.base, &format!("/v1/webhooks/{sub}"), &token, Some(json!({"enabled": true})))
            .await;
    assert_eq!((status, &body["enabled"]), (StatusCode::OK, &json!(true)), "{body}");
    assert_eq!(body["disabledReason"], Value::Null);
}
