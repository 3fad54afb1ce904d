//! Per-edition API rate limits: a token bucket per tenant for reads and one for writes,
//! headers on every authenticated answer, 429 with `Retry-After`, and one shared budget
//! across two real server processes on the same database.
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

use crate::api::{app, create_key};
use crate::common::*;

/// Acme's edition (Enterprise) set to `per_minute` with a burst of `burst`.
async fn limit_acme(app: &TestApp, per_minute: i32, burst: i32) {
    entity::edition::Entity::update_many()
        .col_expr(entity::edition::Column::ApiRatePerMin, Expr::value(per_minute))
        .col_expr(entity::edition::Column::ApiBurst, Expr::value(burst))
        .filter(entity::edition::Column::Key.eq("enterprise"))
        .exec(&app.state.db)
        .await
        .expect("edition limits");
    app.state.api_keys.refresh(&app.state.db).await.expect("refresh");
}

async fn get(http: &reqwest::Client, base: &str, token: &str) -> reqwest::Response {
    http.get(format!("{base}/v1/services")).bearer_auth(token).send().await.expect("GET /v1/services")
}

#[tokio::test]
async fn a_tenant_gets_its_burst_then_429_with_retry_after_and_reads_and_writes_apart() {
    let app = app().await;
    limit_acme(&app, 60, 5).await;
    let admin = app.login("tenant_admin@acme.example").await;
    let (token, _) = create_key(&admin, "limited", &["services:read", "quotes:write"], "").await;
    let http = reqwest::Client::new();
    let mut seen = Vec::new();
    for _ in 0..6 {
        let r = get(&http, &app.base, &token).await;
        let h = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        seen.push((r.status(), h("x-ratelimit-limit"), h("x-ratelimit-remaining"), h("retry-after")));
    }
    assert!(seen[..5].iter().all(|s| s.0 == StatusCode::OK), "the burst of 5 is served: {seen:?}");
    assert_eq!(seen[0].1.as_deref(), Some("60"), "the limit is per minute: {seen:?}");
    assert_eq!(seen[0].2.as_deref(), Some("4"));
    assert_eq!(seen[4].2.as_deref(), Some("0"));
    assert_eq!(seen[5].0, StatusCode::TOO_MANY_REQUESTS, "{seen:?}");
    assert_eq!(seen[5].3.as_deref(), Some("1"), "one request a second comes back: {seen:?}");
    let r = get(&http, &app.base, &token).await;
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // Writes have their own bucket: a quote is still considered (and refused for its body).
    let r = http
        .post(format!("{}/v1/quotes", app.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a write is not limited by the reads");
    // Another tenant is not limited by Acme's use.
    let globex = app.login("tenant_admin@globex.example").await;
    let (theirs, _) = create_key(&globex, "globex", &["services:read"], "").await;
    assert_eq!(get(&http, &app.base, &theirs).await.status(), StatusCode::OK);
    // The bucket refills: a second later one more request is served.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(get(&http, &app.base, &token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn two_replicas_share_one_budget() {
    let app = app().await;
    // 60 a minute with a burst of 20: over 3 s a tenant may make about 23 requests.
    limit_acme(&app, 60, 20).await;
    let admin = app.login("tenant_admin@acme.example").await;
    let (token, _) = create_key(&admin, "shared", &["services:read"], "").await;
    let a = Replica::start(&app.database_url, 0, &[]).await;
    let b = Replica::start(&app.database_url, 0, &[]).await;
    let http = reqwest::Client::new();
    // Both replicas know the key and have reported to each other.
    for base in [&a.base, &b.base] {
        let known = eventually(5, || {
            let (http, base, token) = (http.clone(), base.clone(), token.clone());
            async move { get(&http, &base, &token).await.status() == StatusCode::OK }
        })
        .await;
        assert!(known, "{base} serves the key");
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let start = std::time::Instant::now();
    let mut served = 2; // the two requests above
    let mut refused = 0;
    while start.elapsed() < std::time::Duration::from_secs(3) {
        for base in [&a.base, &b.base] {
            match get(&http, base, &token).await.status() {
                StatusCode::OK => served += 1,
                StatusCode::TOO_MANY_REQUESTS => refused += 1,
                other => panic!("unexpected {other}"),
            }
        }
        // Paced, not a tight loop: the other tests share these two cores.
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let elapsed = start.elapsed().as_secs_f64() + 1.0; // and the time since the first two
    let allowed = 20.0 + elapsed; // burst + one a second
    eprintln!(
        "two replicas: {served} served, {refused} refused in {elapsed:.1} s; one bucket allows {allowed:.0} ({:.2}x)",
        served as f64 / allowed
    );
    assert!(refused > 0, "the limit was reached");
    assert!(served as f64 <= allowed * 1.1 + 1.0, "{served} served; one shared bucket allows {allowed:.0}");
    assert!(served >= 20, "the burst is served across the replicas: {served}");
}
