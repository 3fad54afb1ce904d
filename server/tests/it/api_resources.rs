//! The `/v1` resources beyond services: the catalog, quotes, orders and their cancellation,
//! service actions with `If-Match`, the audit trail; `Idempotency-Key` replays (also on
//! another replica), refusals of reused keys and of bodies that are not what the document
//! says; another tenant's ids answer 404.
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api::{acme_service, app, create_key, v1};
use crate::common::*;
use crate::provisioning::{customer, drain};

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    text: String,
    body: Value,
}

/// `POST` a JSON body (or none) with optional extra headers.
async fn post(base: &str, path: &str, token: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Answer {
    let mut req = reqwest::Client::new().post(format!("{base}{path}")).bearer_auth(token);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.expect("POST /v1");
    let (status, headers) = (res.status(), res.headers().clone());
    let text = res.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, headers, text, body }
}

fn header<'a>(a: &'a Answer, name: &str) -> Option<&'a str> {
    a.headers.get(name).and_then(|v| v.to_str().ok())
}

fn paths(body: &Value) -> Vec<String> {
    body["errors"].as_array().into_iter().flatten().filter_map(|e| e["path"].as_str().map(str::to_string)).collect()
}

async fn quotes_of(app: &TestApp, tenant: &str) -> u64 {
    entity::quote::Entity::find()
        .filter(entity::quote::Column::TenantId.eq(tenant))
        .count(&app.state.db)
        .await
        .expect("count quotes")
}

#[tokio::test]
async fn a_key_prices_quotes_orders_and_cancels_and_retries_are_replayed_not_repeated() {
    let app = app().await;
    customer(&app).await; // Acme orders without a second approver.
    let admin = app.login("tenant_admin@acme.example").await;
    let scopes = ["catalog:read", "quotes:write", "orders:read", "orders:write", "audit:read"];
    let (token, _) = create_key(&admin, "terraform", &scopes, "").await;
    let acme = tenant_id(&app, "acme").await;
    let (offering, a, b) = crate::common::fixtures::cross_connect_ports(&app.state.db, 1000).await.expect("ports");

    // The catalog, in the API's shapes.
    let (status, _, body) = v1(&app.base, "/v1/offerings", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let dc = body["items"].as_array().and_then(|i| i.iter().find(|o| o["id"] == offering)).expect("dc-dc offered");
    assert!(dc["bandwidthsMbps"].as_array().is_some_and(|b| b.contains(&json!(1000))), "{dc}");
    let (status, _, body) = v1(&app.base, "/v1/locations?limit=2", Some(&token)).await;
    assert_eq!((status, body["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(2)), "{body}");
    let next = body["pageInfo"]["nextCursor"].as_str().expect("more locations").to_string();
    let (status, _, page2) = v1(&app.base, &format!("/v1/locations?limit=2&cursor={next}"), Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{page2}");
    assert_ne!(page2["items"][0]["id"], body["items"][0]["id"], "the cursor moves on");
    let a_loc = entity::endpoint::Entity::find_by_id(a.clone()).one(&app.state.db).await.expect("q").expect("a");
    let (status, _, body) =
        v1(&app.base, &format!("/v1/endpoints?limit=200&filter=locationId:eq:{}", a_loc.location_id), Some(&token))
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["items"].as_array().expect("items");
    assert!(items.iter().all(|e| e["locationId"] == a_loc.location_id.as_str()), "{body}");
    assert!(items.iter().any(|e| e["id"] == a.as_str() && e["freeMbps"].as_i64() > Some(0)), "{body}");

    let ask =
        json!({"offeringId": offering, "aEndpointId": a, "bEndpointId": b, "bandwidthMbps": 1000, "termMonths": 12});
    let price = post(&app.base, "/v1/prices", &token, Some(&ask), &[]).await;
    assert_eq!(price.status, StatusCode::OK, "{}", price.text);
    assert_eq!(price.body["serviceable"], true, "{}", price.text);
    let total = price.body["total"]["amountMinor"].as_i64().expect("a price");
    assert!(total > 0 && price.body["total"]["currency"].is_string(), "{}", price.text);
    assert_eq!(quotes_of(&app, &acme).await, 0, "a price check keeps nothing");

    // Bodies that are not what the document says change nothing.
    let mut odd = ask.clone();
    odd["colour"] = json!("blue");
    let r = post(&app.base, "/v1/quotes", &token, Some(&odd), &[]).await;
    assert_eq!(
        (r.status, paths(&r.body)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["colour".to_string()]),
        "{}",
        r.text
    );
    let mut odd = ask.clone();
    odd["bandwidthMbps"] = json!("fast");
    let r = post(&app.base, "/v1/quotes", &token, Some(&odd), &[]).await;
    assert_eq!(paths(&r.body), ["bandwidthMbps"], "{}", r.text);
    let r = post(&app.base, "/v1/quotes", &token, Some(&json!({"offeringId": offering})), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["errors"][0]["code"], "required", "{}", r.text);
    let res = reqwest::Client::new()
        .post(format!("{}/v1/quotes", app.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"offeringId\": ")
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let res = reqwest::Client::new()
        .post(format!("{}/v1/quotes", app.base))
        .bearer_auth(&token)
        .body(ask.to_string())
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let res = reqwest::Client::new()
        .post(format!("{}/v1/quotes", app.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!("{{\"offeringId\": \"{}\"}}", "x".repeat(70_000)))
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let mut unsold = ask.clone();
    unsold["bandwidthMbps"] = json!(7);
    let r = post(&app.base, "/v1/quotes", &token, Some(&unsold), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(quotes_of(&app, &acme).await, 0, "no refused request kept a quote");

    // A refusal that depends on the key is not kept: the same Idempotency-Key then works.
    let (browser, _) = create_key(&admin, "catalog only", &["catalog:read"], "").await;
    let key = [("idempotency-key", "quote-7f3a")];
    let refused = post(&app.base, "/v1/quotes", &browser, Some(&ask), &key).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    // A quote, retried with its Idempotency-Key: the same answer, byte for byte, once.
    let first = post(&app.base, "/v1/quotes", &token, Some(&ask), &key).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.body["status"], "open");
    assert_eq!(first.body["total"]["amountMinor"].as_i64(), Some(total), "the quote keeps the price");
    assert!(first.body["validUntil"].as_str().is_some_and(|t| t.ends_with('Z')), "{}", first.text);
    let quote_id = first.body["id"].as_str().expect("id").to_string();
    assert_eq!(header(&first, "location"), Some(format!("/v1/quotes/{quote_id}").as_str()));
    let again = post(&app.base, "/v1/quotes", &token, Some(&ask), &key).await;
    assert_eq!((again.status, &again.text), (StatusCode::CREATED, &first.text), "replayed byte for byte");
    assert_eq!(header(&again, "idempotent-replayed"), Some("true"));
    assert_eq!(header(&again, "location"), header(&first, "location"));
    assert_eq!(quotes_of(&app, &acme).await, 1, "the retry made no second quote");
    let mut other = ask.clone();
    other["termMonths"] = json!(24);
    let reused = post(&app.base, "/v1/quotes", &token, Some(&other), &key).await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reused.text);
    assert!(reused.body["type"].as_str().is_some_and(|t| t.ends_with("/idempotency_key_reused")), "{}", reused.text);
    // Another replica replays it too (it learns the key within a tick).
    let other_replica = Replica::start(&app.database_url, 0, &[]).await;
    let replayed = eventually(5, || {
        let (base, token, ask) = (other_replica.base.clone(), token.clone(), ask.clone());
        async move { post(&base, "/v1/quotes", &token, Some(&ask), &key).await.status == StatusCode::CREATED }
    })
    .await;
    assert!(replayed, "the other replica answers");
    let there = post(&other_replica.base, "/v1/quotes", &token, Some(&ask), &key).await;
    assert_eq!(there.text, first.text, "replayed on another replica");
    assert_eq!(quotes_of(&app, &acme).await, 1);
    // Two processes writing one SQLite file contend for its lock: stop the second one.
    drop(other_replica);
    // While a first request is still running, a retry is told so.
    let body = ask.to_string();
    let mut h = Sha256::new();
    h.update(format!("POST /v1/quotes\n{body}").as_bytes());
    entity::idempotency_key::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        tenant_id: Set(acme.clone()),
        key: Set("running-one".into()),
        request_hash: Set(hex::encode(h.finalize())),
        state: Set("running".into()),
        status_code: Set(None),
        headers: Set(None),
        body: Set(None),
        created_at: Set(chrono::Utc::now()),
        expires_at: Set(chrono::Utc::now() + chrono::Duration::hours(24)),
    }
    .insert(&app.state.db)
    .await
    .expect("a running claim");
    let busy = post(&app.base, "/v1/quotes", &token, Some(&ask), &[("idempotency-key", "running-one")]).await;
    assert_eq!(busy.status, StatusCode::CONFLICT, "{}", busy.text);
    assert!(busy.body["type"].as_str().is_some_and(|t| t.ends_with("/idempotency_in_progress")), "{}", busy.text);

    // The quote reads back with an ETag; the list has it.
    let (status, headers, body) = v1(&app.base, &format!("/v1/quotes/{quote_id}"), Some(&token)).await;
    assert_eq!((status, &body["id"]), (StatusCode::OK, &json!(quote_id)), "{body}");
    assert!(headers.contains_key("etag"));
    let (status, _, body) = v1(&app.base, "/v1/quotes", Some(&token)).await;
    assert_eq!((status, body["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{body}");

    // An order from it: the service's field errors come back in the API's names.
    let bad = post(
        &app.base,
        "/v1/orders",
        &token,
        Some(&json!({"quoteId": quote_id, "poNumber": " ", "description": "x"})),
        &[],
    )
    .await;
    assert_eq!(
        (bad.status, paths(&bad.body)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["poNumber".to_string()]),
        "{}",
        bad.text
    );
    let new_order = json!({"quoteId": quote_id, "poNumber": "PO-API-1", "description": "Terraform-made link"});
    let placed = post(&app.base, "/v1/orders", &token, Some(&new_order), &[("idempotency-key", "order-1")]).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    assert_eq!(placed.body["status"], "queued", "{}", placed.text);
    assert_eq!(placed.body["placedBy"], "tenant_admin@acme.example", "a key places as its admin");
    let order_id = placed.body["id"].as_str().expect("id").to_string();
    let again = post(&app.base, "/v1/orders", &token, Some(&new_order), &[("idempotency-key", "order-1")]).await;
    assert_eq!(again.text, placed.text, "an order retried is the same order");
    let twice = post(&app.base, "/v1/orders", &token, Some(&new_order), &[]).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "without a key the service refuses a second order: {}", twice.text);
    let (status, _, body) = v1(&app.base, "/v1/orders?filter=status:eq:queued", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"][0]["id"], order_id.as_str(), "{body}");
    let (status, _, body) = v1(&app.base, "/v1/orders?filter=status:eq:shipped", Some(&token)).await;
    assert_eq!((status, paths(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["filter".to_string()]), "{body}");

    // Another tenant's key sees none of it: 404, never 403.
    let globex = app.login("tenant_admin@globex.example").await;
    let (theirs, _) = create_key(&globex, "globex", &scopes, "").await;
    for path in [format!("/v1/orders/{order_id}"), format!("/v1/quotes/{quote_id}")] {
        let (status, _, body) = v1(&app.base, &path, Some(&theirs)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let r = post(&app.base, &format!("/v1/orders/{order_id}/cancel"), &theirs, None, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = post(&app.base, "/v1/orders", &theirs, Some(&new_order), &[("idempotency-key", "order-1")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "Globex's same key is its own, and Acme's quote is not: {}", r.text);

    // Cancel: a stale If-Match is refused, the current one cancels.
    let (_, headers, _) = v1(&app.base, &format!("/v1/orders/{order_id}"), Some(&token)).await;
    let etag = headers["etag"].to_str().expect("etag").to_string();
    let stale =
        post(&app.base, &format!("/v1/orders/{order_id}/cancel"), &token, None, &[("if-match", "\"0000\"")]).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{}", stale.text);
    let why = json!({"reason": "changed our mind"});
    let done =
        post(&app.base, &format!("/v1/orders/{order_id}/cancel"), &token, Some(&why), &[("if-match", &etag)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.body["status"], "cancelled");
    assert_eq!(done.body["statusReason"], "changed our mind");
    assert_ne!(header(&done, "etag"), Some(etag.as_str()), "a new ETag");
    let o = entity::order::Entity::find_by_id(order_id.clone()).one(&app.state.db).await.expect("q").expect("order");
    assert_eq!(o.status, "cancelled");

    // The audit trail pages through the key's tenant only.
    let (status, _, body) = v1(&app.base, "/v1/audit-events?filter=action:eq:order.&limit=1", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"][0]["action"], "order.cancelled", "newest first: {body}");
    let cursor = body["pageInfo"]["nextCursor"].as_str().expect("more").to_string();
    let (_, _, older) =
        v1(&app.base, &format!("/v1/audit-events?filter=action:eq:order.&limit=200&cursor={cursor}"), Some(&token))
            .await;
    let actions: Vec<&str> =
        older["items"].as_array().expect("items").iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"order.queued") && actions.iter().all(|a| a.starts_with("order.")), "{actions:?}");
    let (status, _, _) = v1(&app.base, "/v1/audit-events?cursor=zzz", Some(&token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, _, theirs_audit) = v1(&app.base, "/v1/audit-events?limit=200", Some(&theirs)).await;
    assert!(!theirs_audit.to_string().contains(&order_id), "Globex's trail holds nothing of Acme's");
}

/// Run the queued jobs until the service reaches `want` (a loaded machine can make the
/// sandbox provider time out once, and the engine retries after a backoff).
async fn settle(app: &TestApp, svc: &str, token: &str, want: &str) {
    let reached = eventually(20, || async {
        drain(app).await;
        let (_, _, body) = v1(&app.base, &format!("/v1/services/{svc}"), Some(token)).await;
        body["status"] == want
    })
    .await;
    assert!(reached, "the service became {want}");
}

#[tokio::test]
async fn service_actions_need_the_current_etag_and_a_write_scope() {
    let app = app().await;
    let svc = acme_service(&app).await;
    let admin = app.login("tenant_admin@acme.example").await;
    let (reader, _) = create_key(&admin, "reader", &["services:read"], "").await;
    let (token, _) = create_key(&admin, "noc", &["services:read", "services:write"], "").await;
    let path = |action: &str| format!("/v1/services/{svc}/{action}");

    // Usage records, once the meter has run for a service active three hours
    // (before the actions below: metering restarts at a resumption).
    let s = entity::service::Entity::find_by_id(svc.clone()).one(&app.state.db).await.expect("q").expect("svc");
    let mut am: entity::service::ActiveModel = s.into();
    am.activated_at = Set(Some(chrono::Utc::now() - chrono::Duration::hours(3)));
    am.update(&app.state.db).await.expect("backdate activation");
    app::provisioning::engine::meter(&app.state, 24).await.expect("meter");
    let (usage, _) = create_key(&admin, "billing export", &["usage:read"], "").await;
    let (status, _, body) = v1(&app.base, &format!("/v1/usage-records?filter=serviceId:eq:{svc}"), Some(&usage)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["items"].as_array().expect("items");
    assert!(!items.is_empty() && items.iter().all(|r| r["serviceId"] == svc.as_str()), "{body}");
    assert!(items[0]["periodStart"].as_str().is_some_and(|t| t.ends_with('Z')) && items[0]["mbIn"].is_i64(), "{body}");
    let (status, _, _) = v1(&app.base, "/v1/usage-records", Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "usage needs usage:read");

    let r = post(&app.base, &path("suspend"), &reader, None, &[("if-match", "*")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.body["detail"].as_str().is_some_and(|d| d.contains("services:write")), "{}", r.text);
    let r = post(&app.base, &path("suspend"), &token, None, &[]).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED, "{}", r.text);
    let r = post(&app.base, &path("suspend"), &token, None, &[("if-match", "\"stale\"")]).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    let (_, headers, _) = v1(&app.base, &format!("/v1/services/{svc}"), Some(&token)).await;
    let etag = headers["etag"].to_str().expect("etag").to_string();
    let r = post(&app.base, &path("resume"), &token, None, &[("if-match", &etag)]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "an active service is not resumed: {}", r.text);
    let r =
        post(&app.base, &path("modify-bandwidth"), &token, Some(&json!({"bandwidthMbps": 7})), &[("if-match", &etag)])
            .await;
    assert_eq!(
        (r.status, paths(&r.body)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["bandwidthMbps".to_string()]),
        "{}",
        r.text
    );

    // Suspend with the current ETag, retried: one request to the engine.
    let jobs = || async { entity::job::Entity::find().count(&app.state.db).await.expect("count jobs") };
    let before = jobs().await;
    let key = [("if-match", etag.as_str()), ("idempotency-key", "suspend-1")];
    let first = post(&app.base, &path("suspend"), &token, None, &key).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text);
    let again = post(&app.base, &path("suspend"), &token, None, &key).await;
    assert_eq!((again.status, &again.text), (StatusCode::ACCEPTED, &first.text));
    assert_eq!(jobs().await, before + 1, "the retry queued nothing more");
    settle(&app, &svc, &token, "suspended").await;
    let (_, headers, _) = v1(&app.base, &format!("/v1/services/{svc}"), Some(&token)).await;
    let etag = headers["etag"].to_str().expect("etag").to_string();
    let r = post(&app.base, &path("resume"), &token, None, &[("if-match", &etag)]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    settle(&app, &svc, &token, "active").await;

    // The service's events, newest first, page by page.
    let (status, _, body) = v1(&app.base, &format!("/v1/services/{svc}/events?limit=2"), Some(&token)).await;
    assert_eq!((status, body["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(2)), "{body}");
    let cursor = body["pageInfo"]["nextCursor"].as_str().expect("more events").to_string();
    let (_, _, older) =
        v1(&app.base, &format!("/v1/services/{svc}/events?limit=200&cursor={cursor}"), Some(&token)).await;
    let first_older = older["items"][0]["id"].as_i64().expect("older event");
    assert!(first_older < body["items"][1]["id"].as_i64().expect("id"), "older events after the cursor");
    assert!(older["items"].as_array().is_some_and(|i| i.iter().all(|e| e["serviceId"] == svc.as_str())));

    // Another tenant's key: the service does not exist for it.
    let globex = app.login("tenant_admin@globex.example").await;
    let (theirs, _) = create_key(&globex, "globex", &["services:read", "services:write", "usage:read"], "").await;
    let r = post(&app.base, &path("terminate"), &theirs, None, &[("if-match", "*")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let (status, _, _) = v1(&app.base, &format!("/v1/services/{svc}/events"), Some(&theirs)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, body) = v1(&app.base, &format!("/v1/usage-records?filter=serviceId:eq:{svc}"), Some(&theirs)).await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(0), "none of Acme's usage: {body}");
    let (_, _, body) = v1(&app.base, &format!("/v1/services/{svc}"), Some(&token)).await;
    assert_eq!(body["status"], "active", "nothing changed: {body}");
}

#[tokio::test]
async fn the_api_reference_page_shows_every_operation_with_the_viewers_ids() {
    let app = app().await;
    let svc = acme_service(&app).await;
    let doc: Value =
        reqwest::get(format!("{}/v1/openapi.json", app.base)).await.expect("GET").json().await.expect("JSON");
    let member = app.login("member@acme.example").await;
    let res = member.get("/portal/api").await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("page");
    // Every operation of the document has its section, with its scope.
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (_, op) in item.as_object().expect("path item") {
            let id = op["operationId"].as_str().expect("operation id");
            assert!(html.contains(&format!("id=\"{id}\"")), "{id} ({path}) on the page");
        }
    }
    // The examples use this server's URL and the tenant's own service.
    assert!(html.contains(&format!("{}/v1/services/{svc}/suspend", app.base)), "a curl example with Acme's service");
    let at = html.find("If-Match: ").map(|i| &html[i..(i + 60).min(html.len())]);
    assert!(at.is_some_and(|s| s.contains("ETag from GET")), "If-Match shown: {at:?}");
    assert!(html.contains("Idempotency-Key"), "retries explained");
    // Globex's member sees Globex's ids, never Acme's.
    let globex = app.login("tenant_admin@globex.example").await;
    let html = globex.get("/portal/api").await.text().await.expect("page");
    assert!(!html.contains(&svc), "no Acme id on Globex's page");
}
