//! API keys and the REST API (`/v1`): keys shown once and stored as hashes, bearer
//! authentication from the in-memory key cache, scopes, address allow-lists, expiry,
//! revocation on another replica, the admin's current role, edition caps, the CLI, and
//! problem+json for bad input.
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::*;
use crate::provisioning::{cross_connect, customer, drain, place};

pub(crate) async fn app() -> TestApp {
    spawn_app_custom(false, |cfg, _| cfg.provision_poll_ms = 0).await
}

/// Create a key as `c` (a tenant admin); returns (token, key row id).
pub(crate) async fn create_key(c: &Client, name: &str, scopes: &[&str], cidrs: &str) -> (String, String) {
    let mut form: Vec<(&str, &str)> = vec![("name", name), ("expires_days", "30"), ("allowed_cidrs", cidrs)];
    form.extend(scopes.iter().map(|s| ("scopes[]", *s)));
    let r = c.call("api_keys/create", &form).await;
    assert!(r.status.is_success(), "create key: {} {}", r.status, r.body);
    (r.body["token"].as_str().expect("token").to_string(), r.body["key"]["id"].as_str().expect("id").to_string())
}

pub(crate) async fn v1(app_base: &str, path: &str, token: Option<&str>) -> (StatusCode, http::HeaderMap, Value) {
    let mut req = reqwest::Client::new().get(format!("{app_base}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("GET /v1");
    let (status, headers) = (res.status(), res.headers().clone());
    let text = res.text().await.unwrap_or_default();
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// One active service for Acme; returns its id.
pub(crate) async fn acme_service(app: &TestApp) -> String {
    let c = customer(app).await;
    let conn = cross_connect(app).await;
    let order = place(&c, &conn, "1000").await;
    drain(app).await;
    entity::service::Entity::find()
        .filter(entity::service::Column::OrderId.eq(order))
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("service")
        .id
}

#[tokio::test]
async fn a_key_is_shown_once_stored_as_a_hash_and_reads_its_tenants_services() {
    let app = app().await;
    let svc = acme_service(&app).await;
    let admin = app.login("tenant_admin@acme.example").await;
    let (token, id) = create_key(&admin, "Terraform CI", &["services:read"], "").await;
    assert!(token.starts_with("pbk_"), "{token}");
    let (key_id, secret) = app::api_keys::ssr::parse_token(&token).expect("token shape");

    // Stored: the key id and a SHA-256 of the secret, never the secret.
    let row = entity::api_key::Entity::find_by_id(id.clone()).one(&app.state.db).await.expect("query").expect("row");
    assert_eq!(row.key_id, key_id);
    assert_eq!(row.secret_hash, hex::encode(Sha256::digest(secret.as_bytes())));
    let stored = serde_json::to_string(&format!("{row:?}")).expect("debug");
    assert!(!stored.contains(secret), "the secret is not stored");
    // The list shows the prefix, not the token.
    let list = admin.call("api_keys/list", &[]).await;
    assert!(list.status.is_success(), "{} {}", list.status, list.body);
    assert_eq!(list.body["keys"]["items"][0]["prefix"], format!("pbk_{key_id}"));
    assert!(!list.body.to_string().contains(secret), "the list never shows the secret");
    assert_eq!(list.body["cap"], 50, "Acme is on Enterprise: {}", list.body);

    // The key reads Acme's services, in the API's shapes.
    let (status, _, body) = v1(&app.base, "/v1/services", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(body["items"][0]["id"], svc);
    assert_eq!(body["items"][0]["bandwidthMbps"], 1000);
    assert_eq!(body["items"][0]["status"], "active");
    assert!(body["items"][0]["createdAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{body}");
    assert_eq!(body["pageInfo"]["hasNextPage"], false);
    let (status, _, body) = v1(&app.base, "/v1/services?filter=status:eq:terminated", Some(&token)).await;
    assert_eq!((status, body["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)), "{body}");

    // One service, with an ETag; a client holding it gets 304.
    let (status, headers, body) = v1(&app.base, &format!("/v1/services/{svc}"), Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["number"].as_str().map(|n| n.starts_with("SV-")), Some(true), "{body}");
    let etag = headers.get("etag").and_then(|v| v.to_str().ok()).expect("etag").to_string();
    let res = reqwest::Client::new()
        .get(format!("{}/v1/services/{svc}", app.base))
        .bearer_auth(&token)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("conditional GET");
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    // The last use is recorded within a tick, without a query per request.
    let seen = eventually(5, || {
        let admin = &admin;
        async move {
            let l = admin.call("api_keys/list", &[]).await;
            l.body["keys"]["items"][0]["last_used_at"].is_string()
        }
    })
    .await;
    assert!(seen, "last use recorded");
    let audit = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Action.eq("api_key.created"))
        .filter(entity::audit_event::Column::ResourceId.eq(&id))
        .all(&app.state.db)
        .await
        .expect("audit");
    assert_eq!(audit.len(), 1, "creating a key is audited");
}

#[tokio::test]
async fn bad_tokens_scopes_addresses_and_parameters_are_refused_as_problems() {
    let app = app().await;
    let svc = acme_service(&app).await;
    let admin = app.login("tenant_admin@acme.example").await;
    let (reader, _) = create_key(&admin, "reader", &["services:read"], "").await;
    let (orders_only, _) = create_key(&admin, "orders", &["orders:read"], "").await;
    let (elsewhere, _) = create_key(&admin, "office only", &["services:read"], "203.0.113.0/24").await;

    let problem = |headers: &http::HeaderMap| {
        headers.get("content-type").and_then(|v| v.to_str().ok()) == Some("application/problem+json")
    };
    let (status, headers, body) = v1(&app.base, "/v1/services", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(problem(&headers) && headers.get("www-authenticate").is_some(), "{headers:?}");
    assert!(body["traceId"].is_string() && body["status"] == 401, "{body}");
    let wrong = format!("{}x", &reader[..reader.len() - 1]);
    let (status, _, _) = v1(&app.base, "/v1/services", Some(&wrong)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a wrong secret");
    let (status, _, body) = v1(&app.base, "/v1/services", Some(&orders_only)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("services:read")), "names the scope: {body}");
    let (status, _, body) = v1(&app.base, "/v1/services", Some(&elsewhere)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("127.0.0.1")), "{body}");

    // Bad parameters name themselves; a bad cursor is 400; another tenant's id is 404.
    let (status, _, body) = v1(&app.base, "/v1/services?limit=0&colour=red", Some(&reader)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let paths: Vec<&str> =
        body["errors"].as_array().expect("errors").iter().filter_map(|e| e["path"].as_str()).collect();
    assert_eq!(paths, ["limit", "colour"], "{body}");
    let (status, _, _) = v1(&app.base, "/v1/services?filter=status:eq:sleeping", Some(&reader)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _, _) = v1(&app.base, "/v1/services?cursor=not-a-cursor", Some(&reader)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let globex_admin = app.login("tenant_admin@globex.example").await;
    let (globex_key, _) = create_key(&globex_admin, "globex", &["services:read"], "").await;
    let (status, _, body) = v1(&app.base, &format!("/v1/services/{svc}"), Some(&globex_key)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's service is not found: {body}");
    let (status, _, body) = v1(&app.base, "/v1/services", Some(&globex_key)).await;
    assert_eq!((status, body["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)), "{body}");
    let (status, headers, _) = v1(&app.base, "/v1/no-such-thing", Some(&reader)).await;
    assert!(status == StatusCode::NOT_FOUND && problem(&headers));
    // Odd encodings are values like any other; a wrong method is a problem too.
    let (status, headers, body) = v1(&app.base, "/v1/services?limit=%ZZ", Some(&reader)).await;
    assert!(status == StatusCode::UNPROCESSABLE_ENTITY && problem(&headers), "{status} {body}");
    let res = reqwest::Client::new()
        .delete(format!("{}/v1/services", app.base))
        .bearer_auth(&reader)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(problem(res.headers()), "{:?}", res.headers());

    // Bad input to the create form changes nothing and names each field.
    let r = admin
        .call(
            "api_keys/create",
            &[("name", ""), ("scopes[]", "root"), ("expires_days", "400"), ("allowed_cidrs", "10.0.0.0/33")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    for f in ["name", "scopes", "expires_days", "allowed_cidrs"] {
        assert!(r.body.to_string().contains(f), "{f} named: {}", r.body);
    }
    // A member may not manage keys at all.
    let member = app.login("member@acme.example").await;
    let r = member
        .call(
            "api_keys/create",
            &[("name", "x"), ("scopes[]", "services:read"), ("expires_days", "30"), ("allowed_cidrs", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

#[tokio::test]
async fn expiry_revocation_on_another_replica_and_the_admins_current_role_take_effect() {
    let app = app().await;
    acme_service(&app).await;
    let admin = app.login("tenant_admin@acme.example").await;
    // A second replica of the real binary on the same database.
    let other = Replica::start(&app.database_url, 0, &[]).await;
    let (token, id) = create_key(&admin, "rotating", &["services:read"], "").await;
    let works =
        |base: String, token: String| async move { v1(&base, "/v1/services", Some(&token)).await.0 == StatusCode::OK };
    assert!(eventually(5, || works(other.base.clone(), token.clone())).await, "the other replica learns the key");

    // Revoked here: refused there within about a second.
    let r = admin.call("api_keys/revoke", &[("key_id", &id)]).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    let t0 = std::time::Instant::now();
    let refused = eventually(5, || {
        let (base, token) = (other.base.clone(), token.clone());
        async move { v1(&base, "/v1/services", Some(&token)).await.0 == StatusCode::UNAUTHORIZED }
    })
    .await;
    assert!(refused, "revocation reaches the other replica");
    eprintln!("revocation reached the other replica after {} ms", t0.elapsed().as_millis());
    assert_eq!(v1(&app.base, "/v1/services", Some(&token)).await.0, StatusCode::UNAUTHORIZED, "and this one at once");

    // Rotation: the successor works at once, the old key for its overlap only.
    let (old, old_id) = create_key(&admin, "ci", &["services:read"], "").await;
    let r = admin.call("api_keys/rotate", &[("key_id", &old_id), ("overlap_hours", "0")]).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    let new = r.body["token"].as_str().expect("successor").to_string();
    assert_eq!(v1(&app.base, "/v1/services", Some(&new)).await.0, StatusCode::OK);
    let (status, _, body) = v1(&app.base, "/v1/services", Some(&old)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no overlap: the old key stops: {body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("expired")), "{body}");
    // One successor per key: a second rotation of the old key is refused.
    let r = admin.call("api_keys/rotate", &[("key_id", &old_id), ("overlap_hours", "168")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

    // A key acting for the operator: demoted to member, its services:write stops working.
    let (made, acts_for) = app::api_keys::ssr::create_from_cli(
        &app.state.db,
        "acme",
        Some("operator@acme.example"),
        &app::api_keys::ssr::NewKey {
            name: "noc automation".into(),
            scopes: vec!["services:read,services:write".into()],
            expires_days: "7".into(),
            allowed_cidrs: String::new(),
        },
    )
    .await
    .expect("cli key");
    assert_eq!(acts_for, "operator@acme.example");
    app.state.api_keys.refresh(&app.state.db).await.expect("refresh");
    let ip: std::net::IpAddr = "127.0.0.1".parse().expect("ip");
    let p = app.state.api_keys.authenticate(&made.token, ip).expect("valid");
    assert!(p.has(app::api_keys::ApiScope::ServicesWrite), "{:?}", p.scopes);
    let acme = tenant_id(&app, "acme").await;
    let operator = user_id(&app, "operator@acme.example").await;
    let r = admin.call("team/change_role", &[("tenant_id", &acme), ("user_id", &operator), ("role", "member")]).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    app.state.api_keys.refresh(&app.state.db).await.expect("refresh");
    let p = app.state.api_keys.authenticate(&made.token, ip).expect("still valid");
    assert!(!p.has(app::api_keys::ApiScope::ServicesWrite), "a member cannot manage services: {:?}", p.scopes);
    assert!(p.has(app::api_keys::ApiScope::ServicesRead), "reading stays: {:?}", p.scopes);
    // Removed from the tenant: the key stops.
    let r = admin.call("team/remove", &[("tenant_id", &acme), ("user_id", &operator)]).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    app.state.api_keys.refresh(&app.state.db).await.expect("refresh");
    let (status, _, body) = v1(&app.base, "/v1/services", Some(&made.token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn the_edition_caps_keys_and_the_cli_prints_a_working_key_once() {
    let app = app().await;
    let acme = tenant_id(&app, "acme").await;
    let free = entity::edition::Entity::find()
        .filter(entity::edition::Column::Key.eq("free"))
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("free edition");
    assert_eq!(free.max_api_keys, 2);
    let t = entity::tenant::Entity::find_by_id(acme.clone()).one(&app.state.db).await.expect("q").expect("acme");
    let mut am: entity::tenant::ActiveModel = t.into();
    am.edition_id = Set(free.id.clone());
    am.update(&app.state.db).await.expect("move Acme to Free");
    let admin = app.login("tenant_admin@acme.example").await;
    create_key(&admin, "one", &["services:read"], "").await;

    // The command line, as automation runs it: the key is printed once, on stdout.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_patchbay"))
        .args([
            "api-key",
            "create",
            "--tenant",
            "acme",
            "--name",
            "bootstrap",
            "--scopes",
            "services:read",
            "--expires",
            "30d",
        ])
        .env("PATCHBAY_DATABASE_URL", &app.database_url)
        .env("PATCHBAY_SITE_ROOT", std::env::temp_dir())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run patchbay api-key create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(token.starts_with("pbk_") && !token.contains('\n'), "{token}");
    let works = eventually(5, || {
        let (base, token) = (app.base.clone(), token.clone());
        async move { v1(&base, "/v1/services", Some(&token)).await.0 == StatusCode::OK }
    })
    .await;
    assert!(works, "the printed key works against the running server");
    let audited = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Action.eq("api_key.created"))
        .filter(entity::audit_event::Column::ActorType.eq("system"))
        .all(&app.state.db)
        .await
        .expect("audit");
    assert_eq!(audited.len(), 1, "the command line's key is audited");

    // Two keys is Free's cap: a third is refused with the reason, and nothing is written.
    let r = admin
        .call(
            "api_keys/create",
            &[("name", "three"), ("scopes[]", "services:read"), ("expires_days", "30"), ("allowed_cidrs", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.to_string().contains("Free edition allows 2 API keys"), "{}", r.body);
    let n = entity::api_key::Entity::find()
        .filter(entity::api_key::Column::TenantId.eq(&acme))
        .all(&app.state.db)
        .await
        .expect("keys")
        .len();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn a_suspended_tenant_still_sees_and_revokes_its_keys_but_makes_none() {
    let app = app().await;
    let acme = tenant_id(&app, "acme").await;
    let admin = app.login("tenant_admin@acme.example").await;
    let (token, id) = create_key(&admin, "leaked", &["services:read"], "").await;
    let staff = app.login("admin@patchbay.example").await;
    let r = staff.call("tenants/suspend", &[("tenant_id", &acme), ("reason", "unpaid invoices")]).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);

    let list = admin.call("api_keys/list", &[]).await;
    assert!(list.status.is_success(), "the keys stay visible: {} {}", list.status, list.body);
    assert_eq!(list.body["can_manage"], false);
    let r = admin
        .call(
            "api_keys/create",
            &[("name", "new"), ("scopes[]", "services:read"), ("expires_days", "30"), ("allowed_cidrs", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no new keys while suspended: {}", r.body);
    let r = admin.call("api_keys/rotate", &[("key_id", &id), ("overlap_hours", "0")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no rotation while suspended: {}", r.body);
    let r = admin.call("api_keys/revoke", &[("key_id", &id)]).await;
    assert!(r.status.is_success(), "a leaked key can always be stopped: {} {}", r.status, r.body);
    assert_eq!(v1(&app.base, "/v1/services", Some(&token)).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_with_its_scope_and_errors() {
    let app = app().await;
    let res = reqwest::get(format!("{}/v1/openapi.json", app.base)).await.expect("GET openapi.json");
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.expect("JSON");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "OpenAPI 3.1: {}", doc["openapi"]);
    assert_eq!(doc["components"]["securitySchemes"]["apiKey"]["scheme"], "bearer");
    let paths = doc["paths"].as_object().expect("paths");
    for p in ["/v1/services", "/v1/services/{id}", "/v1/quotes", "/v1/orders/{id}/cancel", "/v1/audit-events"] {
        assert!(paths.contains_key(p), "{p} in {:?}", paths.keys());
    }
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            let scopes = &op["security"][0]["apiKey"];
            assert!(scopes.as_array().is_some_and(|s| !s.is_empty()), "{method} {path} names its scope: {op}");
            let success = ["200", "201", "202", "204"].iter().filter(|c| op["responses"][**c].is_object()).count();
            assert_eq!(success, 1, "{method} {path} documents one success answer");
            for code in ["401", "403"] {
                assert!(op["responses"][code].is_object(), "{method} {path} documents {code}");
            }
            // Every documented route exists: without a key it is refused, not missing.
            let url = format!("{}{}", app.base, path.replace("{id}", "00000000-0000-0000-0000-000000000000"));
            let r = reqwest::Client::new()
                .request(method.to_uppercase().parse().expect("method"), url)
                .send()
                .await
                .expect("request");
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        }
    }
    let service = &doc["components"]["schemas"]["Service"]["properties"];
    assert!(service["bandwidthMbps"].is_object() && service["createdAt"].is_object(), "camelCase schema: {service}");
}

/// The API's routes go through `utoipa_axum`'s router, which registers a route with its
/// description: the only plain routes are the document and the problem+json 404s.
#[test]
fn no_api_route_is_added_without_its_description() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut plain = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("src/api") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        for line in text.lines().filter(|l| l.contains(".route(")) {
            plain.push(line.trim().to_string());
        }
    }
    plain.sort();
    assert_eq!(
        plain,
        [".route(", ".route(\"/v1\", any(not_found))", ".route(\"/v1/{*rest}\", any(not_found))"],
        "a new plain route under /v1 is not in the OpenAPI document; register it with routes!(…)"
    );
}

#[tokio::test]
async fn the_tenant_admins_are_told_when_a_demoted_admins_keys_lose_scopes() {
    let app = spawn_app_with(true).await;
    let sink = app.mail.clone().expect("mail sink");
    let acme = tenant_id(&app, "acme").await;
    let admin = app.login("tenant_admin@acme.example").await;
    // The operator's key: services:write is what a member may not do.
    let (made, _) = app::api_keys::ssr::create_from_cli(
        &app.state.db,
        "acme",
        Some("operator@acme.example"),
        &app::api_keys::ssr::NewKey {
            name: "noc runbook".into(),
            scopes: vec!["services:read,services:write".into()],
            expires_days: "7".into(),
            allowed_cidrs: String::new(),
        },
    )
    .await
    .expect("cli key");
    let operator = user_id(&app, "operator@acme.example").await;
    // A change that costs the key nothing tells nobody.
    let r =
        admin.call("team/change_role", &[("tenant_id", &acme), ("user_id", &operator), ("role", "tenant_admin")]).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    let r = admin.call("team/change_role", &[("tenant_id", &acme), ("user_id", &operator), ("role", "operator")]).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    app::workers::drain(&app.state, "test", 100).await.expect("deliver");
    assert!(sink.received().iter().all(|m| !m.contains("lost scopes")), "no key lost anything yet");

    let r = admin.call("team/change_role", &[("tenant_id", &acme), ("user_id", &operator), ("role", "member")]).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    let arrived = eventually(10, || async {
        app::workers::drain(&app.state, "test", 100).await.expect("deliver");
        sink.received().iter().any(|m| m.contains("lost scopes"))
    })
    .await;
    assert!(arrived, "the mail is delivered");
    let told: Vec<String> = sink.received().into_iter().filter(|m| m.contains("lost scopes")).collect();
    // Acme's tenant admins: the demo's tenant_admin, and nobody else.
    assert_eq!(told.len(), 1, "{told:?}");
    let m = &told[0];
    assert!(m.contains("To: tenant_admin@acme.example") || m.contains("tenant_admin@acme.example"), "{m}");
    assert!(m.contains("operator@acme.example is now a member"), "{m}");
    assert!(m.contains(&format!("noc runbook ({})", made.key.prefix)), "the key is named: {m}");
    assert!(m.contains("services:write") && !m.contains("services:read,"), "only the lost scope is named: {m}");
    assert!(m.contains("/portal/api-keys"), "{m}");
}
