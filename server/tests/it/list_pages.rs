//! List pages page in the database: the queries one page runs do not grow with the
//! number of rows, cursors walk every row exactly once, and filters stay in the URL.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use crate::common::*;
use reqwest::StatusCode;

/// Statements the server ran to answer one GET (the fewest of three tries, so a stray
/// background statement cannot inflate the figure).
async fn queries_for(app: &TestApp, c: &Client, path: &str) -> u64 {
    let mut best = u64::MAX;
    for _ in 0..3 {
        let before = app.state.db_queries.load(Ordering::SeqCst);
        let res = c.get(path).await;
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::OK, "GET {path}: {body:.300}");
        best = best.min(app.state.db_queries.load(Ordering::SeqCst) - before);
    }
    best
}

async fn add_orders(app: &TestApp, n: usize) {
    let acme = tenant_id(app, "acme").await;
    let (offering, a, b) = crate::common::fixtures::cross_connect_ports(&app.state.db, 1000).await.expect("ports");
    crate::common::fixtures::queue_orders(&app.state.db, &acme, (&offering, &a, &b), 1000, n).await.expect("orders");
}

#[tokio::test]
async fn list_pages_run_the_same_number_of_queries_at_10_and_at_1000_rows() {
    let app = spawn_app().await;
    let customer = app.login("tenant_admin@acme.example").await;
    let staff = app.login("admin@patchbay.example").await;
    let pages: [(&Client, &str); 10] = [
        (&customer, "/portal/locations"),
        (&customer, "/portal/orders"),
        (&customer, "/portal/orders?status=queued"),
        (&customer, "/portal/quotes"),
        (&customer, "/portal/team"),
        (&staff, "/console/tenants"),
        (&staff, "/console/audit"),
        (&staff, "/console/jobs"),
        (&staff, "/console/interventions?status=all"),
        (&staff, "/console/catalog"),
    ];

    add_orders(&app, 10).await;
    let mut small = Vec::new();
    for (c, path) in pages {
        small.push(queries_for(&app, c, path).await);
    }
    add_orders(&app, 990).await;
    for ((c, path), at_10) in pages.into_iter().zip(small) {
        let at_1000 = queries_for(&app, c, path).await;
        println!("{path}: {at_10} statements at 10 rows, {at_1000} at 1,000");
        assert!(at_10 > 0, "{path}: no statements counted; is the metric callback installed?");
        // Exactly the same: a per-row lookup would add at least 40 statements between a
        // page of 10 rows and a full page of 50, and a page built twice by the shell (as
        // before the shell rendered its outlet outside the viewer's Suspense) would repeat
        // its resources' statements.
        assert_eq!(at_1000, at_10, "{path}: the statements per page changed with the rows ({at_10} → {at_1000})");
    }
}

/// Cursor links of a list page, in order, by following "Next page" from `first`.
async fn walk(c: &Client, first: &str, marker: &str) -> (Vec<String>, usize) {
    let mut seen = Vec::new();
    let mut next = Some(first.to_string());
    let mut pages = 0;
    while let Some(path) = next.take() {
        pages += 1;
        assert!(pages < 100, "more pages than rows: {path}");
        let res = c.get(&path).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        let html = res.text().await.unwrap_or_default();
        seen.extend(
            html.match_indices(marker)
                .map(|(i, _)| html[i + marker.len()..].split('"').next().unwrap_or_default().to_string()),
        );
        next = html
            .split("rel=\"next\"")
            .next()
            .filter(|_| html.contains("rel=\"next\""))
            .and_then(|before| before.rsplit("href=\"").next())
            .and_then(|h| h.split('"').next())
            .map(|h| h.replace("&amp;", "&"));
    }
    (seen, pages)
}

#[tokio::test]
async fn following_next_page_links_shows_every_order_once_and_keeps_the_filter() {
    let app = spawn_app().await;
    add_orders(&app, 120).await;
    let c = app.login("tenant_admin@acme.example").await;
    let (ids, pages) = walk(&c, "/portal/orders?status=queued", "href=\"/portal/orders/").await;
    assert_eq!(pages, 3, "120 orders at 50 a page");
    let unique: BTreeSet<_> = ids.iter().collect();
    assert_eq!(ids.len(), 120, "every order shown");
    assert_eq!(unique.len(), 120, "no order shown twice");

    let html = c.get("/portal/orders?status=queued").await.text().await.unwrap_or_default();
    assert!(html.contains("Showing 50 of 120 orders"), "the pager says where it stands");
    assert!(
        html.contains("status=queued&amp;cursor=") || html.contains("status=queued&cursor="),
        "the next link keeps the filter"
    );

    let res = c.get("/portal/orders?cursor=not-a-cursor").await;
    let html = res.text().await.unwrap_or_default();
    assert!(html.contains("not valid (unknown cursor)"), "a bad cursor says so: {html:.200}");
}

#[tokio::test]
async fn the_team_pages_by_email_with_the_whole_team_counted() {
    use sea_orm::{ActiveModelTrait, Set};
    let app = spawn_app().await;
    let acme = tenant_id(&app, "acme").await;
    let now = chrono::Utc::now();
    for i in 0..60 {
        let id = format!("bulk-user-{i:03}");
        entity::user::ActiveModel {
            id: Set(id.clone()),
            email: Set(format!("bulk{i:03}@acme.example")),
            display_name: Set(format!("Bulk {i}")),
            password_hash: Set(None),
            disabled: Set(false),
            is_platform_admin: Set(false),
            created_at: Set(now),
            last_login_at: Set(None),
        }
        .insert(&app.state.db)
        .await
        .unwrap();
        entity::membership::ActiveModel {
            id: Set(format!("bulk-membership-{i:03}")),
            user_id: Set(id),
            tenant_id: Set(acme.clone()),
            role: Set("member".into()),
            created_at: Set(now),
        }
        .insert(&app.state.db)
        .await
        .unwrap();
    }
    let admin = app.login("tenant_admin@acme.example").await;
    let first = admin.call("team/list", &[("tenant_id", &acme)]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let members = &first.body["members"];
    let total = members["page_info"]["total"].as_u64().unwrap();
    assert!(total >= 66, "60 added plus the seeded team: {total}");
    let page1: Vec<String> =
        members["items"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap().to_string()).collect();
    assert_eq!(page1.len(), 50);
    let mut sorted = page1.clone();
    sorted.sort();
    assert_eq!(page1, sorted, "A–Z by e-mail");
    let cursor = members["page_info"]["nextCursor"].as_str().expect("a next page").to_string();
    let second = admin.call("team/list", &[("tenant_id", &acme), ("cursor", &cursor)]).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let page2: Vec<String> = second.body["members"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(page1.len() + page2.len(), total as usize, "two pages hold the whole team");
    assert!(page2.iter().all(|e| e > page1.last().unwrap()), "the second page continues after the first");
    // The page itself shows the count of the whole team and a link to the next page.
    let html = admin.get("/portal/team").await.text().await.unwrap();
    assert!(html.contains(&format!("Members ({total} of")), "the heading counts the whole team");
    assert!(html.contains("rel=\"next\""), "a next-page link");
    let bad = admin.call("team/list", &[("tenant_id", &acme), ("cursor", "not-a-cursor")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
}

#[tokio::test]
async fn the_jobs_filter_takes_every_registered_kind_and_refuses_others() {
    // With an SMTP relay, so the invitation below queues a send_mail job.
    let app = spawn_app_custom(true, |_, _| {}).await;
    let acme = tenant_id(&app, "acme").await;
    let admin = app.login("tenant_admin@acme.example").await;
    let r =
        admin.call("team/invite", &[("tenant_id", &acme), ("email", "jobs@acme.example"), ("role", "member")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let staff = app.login("admin@patchbay.example").await;
    let mail = staff.call("jobs/list", &[("status", ""), ("kind", "send_mail")]).await;
    assert_eq!(mail.status, StatusCode::OK, "{}", mail.body);
    let items = mail.body["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.iter().all(|j| j["kind"] == "send_mail"), "{}", mail.body);
    let bad = staff.call("jobs/list", &[("status", ""), ("kind", "no_such_kind")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body["Validation"]["fields"].is_object(), "a field-level error: {}", bad.body);
    let bad = staff.call("jobs/list", &[("status", "exploded"), ("kind", "")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body["Validation"]["fields"].is_object(), "a field-level error: {}", bad.body);
}

/// Every id a paged server function returns, following `nextCursor` to the end.
async fn walk_json(c: &Client, endpoint: &str, form: &[(&str, &str)], rows: &str, id: &str) -> (Vec<String>, u64) {
    let (mut seen, mut cursor) = (Vec::new(), None::<String>);
    for _ in 0..100 {
        let mut args = form.to_vec();
        if let Some(c) = &cursor {
            args.push(("cursor", c));
        }
        let r = c.call(endpoint, &args).await;
        assert_eq!(r.status, StatusCode::OK, "{endpoint}: {}", r.body);
        let info = &r.body["page_info"];
        let total = info["total"].as_u64().unwrap_or_default();
        let items = if rows.is_empty() { &r.body["items"] } else { &r.body[rows] };
        seen.extend(items.as_array().into_iter().flatten().map(|x| x[id].as_str().unwrap_or_default().to_string()));
        cursor = info["nextCursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            return (seen, total);
        }
    }
    panic!("{endpoint}: more pages than rows");
}

#[tokio::test]
async fn locations_and_endpoints_page_in_the_database_and_keep_their_filters() {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, PaginatorTrait};
    let app = spawn_app().await;
    // Catalog set-up data: 70 more facilities in one metro, each with one port.
    let provider = entity::provider::Entity::find().one(&app.state.db).await.unwrap().unwrap();
    for i in 0..70 {
        let loc = entity::location::ActiveModel {
            id: Set(format!("bench-loc-{i:03}")),
            key: Set(format!("bench-{i:03}")),
            facility: Set(format!("Bench {i:03}")),
            operator: Set("Bench".into()),
            metro: Set("Benchville".into()),
            country: Set("BV".into()),
            region: Set("EMEA".into()),
            latitude: Set(0.0),
            longitude: Set(0.0),
            created_at: Set(chrono::Utc::now()),
        }
        .insert(&app.state.db)
        .await
        .unwrap();
        entity::endpoint::ActiveModel {
            id: Set(format!("bench-ep-{i:03}")),
            provider_id: Set(provider.id.clone()),
            location_id: Set(loc.id),
            kind: Set("dc_port".into()),
            name: Set(format!("Bench {i:03} port")),
            cloud_region: Set(None),
            bandwidths_mbps: Set("[1000]".into()),
            capacity_mbps: Set(10_000),
            used_mbps: Set(0),
            active: Set(true),
            created_at: Set(chrono::Utc::now()),
        }
        .insert(&app.state.db)
        .await
        .unwrap();
    }
    let c = app.login("tenant_admin@acme.example").await;
    let locations = entity::location::Entity::find().count(&app.state.db).await.unwrap();

    // Every facility once, over pages of 50, A–Z by metro; the total on every page.
    let (keys, total) = walk_json(&c, "catalog/locations", &[], "rows", "key").await;
    assert_eq!(total, locations);
    assert_eq!(keys.len() as u64, locations, "every location once");
    assert_eq!(keys.iter().collect::<BTreeSet<_>>().len(), keys.len(), "no location twice");
    // A filter narrows in the database and holds across pages.
    let (keys, total) = walk_json(&c, "catalog/locations", &[("metro", "Benchville")], "rows", "key").await;
    assert_eq!((keys.len(), total), (70, 70));
    assert!(keys.iter().all(|k| k.starts_with("bench-")));
    let r = c.call("catalog/locations", &[("metro", "Benchville"), ("kind", "cloud_onramp")]).await;
    assert_eq!(r.body["page_info"]["total"], 0, "no on-ramps in Benchville: {}", r.body);
    let r = c.call("catalog/locations", &[("provider", "no-such-provider")]).await;
    assert_eq!(r.body["page_info"]["total"], 0, "an unknown provider matches nothing");
    // The page without JavaScript: the filter stays in the next-page link.
    let html = c.get("/portal/locations?metro=Benchville").await.text().await.unwrap();
    assert!(html.contains("Showing 50 of 70 locations"), "{html:.300}");
    assert!(html.contains("metro=Benchville&amp;cursor="), "the next link keeps the filter");

    // The console's endpoint list pages the same way.
    let staff = app.login("admin@patchbay.example").await;
    let endpoints = entity::endpoint::Entity::find().count(&app.state.db).await.unwrap();
    let (ids, total) = walk_json(&staff, "catalog/admin/endpoints", &[], "", "id").await;
    assert_eq!((ids.len() as u64, total), (endpoints, endpoints));
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len(), "no endpoint twice");
    assert_eq!(c.call("catalog/admin/endpoints", &[]).await.status, StatusCode::FORBIDDEN, "customers may not");
}
