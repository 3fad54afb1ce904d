//! `cargo xtask bench pages`: server-rendered pages of a tenant with 10,000 services and
//! 10,000 orders, driven at 8 concurrent connections for 15 s each, beside an axum
//! hello-world handler measured the same way in the same run.
//!
//! The data goes in through the product: every quote and order is created by the
//! `quotes/create` and `orders/place` server functions (validation, pricing, audit,
//! outbox), and every service is provisioned to `active` by the job queue of a real
//! `patchbay serve` replica. Only set-up data is written directly: a `bench` edition with
//! room for 20,000 active services (editions are data) and port capacity for them all.
//!
//! Each page is then served by a fresh `patchbay serve` process with no job workers, so the
//! CPU it spends (utime + stime from /proc) is the pages' alone. Prints requests/s,
//! p50/p95/p99 latency and server CPU ms per request, and the ratio to hello-world; when a
//! release frontend build is present (`cargo xtask bench pages` makes one), the brotli and
//! gzip sizes of what a first visit to `/portal` loads. Asserts nothing about speed.
#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

const CONNECTIONS: usize = 8;
const HELLO_ENV: &str = "PAGES_BENCH_HELLO_BIND";

fn rows() -> usize {
    std::env::var("BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

fn seconds() -> u64 {
    std::env::var("BENCH_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(15)
}

struct Row {
    name: String,
    requests: usize,
    errors: usize,
    rps: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    cpu_ms: f64,
}

/// CPU time (user + system) a process has used so far, in milliseconds.
fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After "pid (comm)": field 3 is fields[0]; utime is field 14, stime field 15.
    let ticks: f64 = fields.get(11..13).map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()).unwrap_or(0.0);
    let hz = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<f64>().ok())
        .unwrap_or(100.0);
    ticks * 1000.0 / hz
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// GET `url` from `CONNECTIONS` concurrent keep-alive connections for `seconds()`.
async fn drive(name: &str, http: &reqwest::Client, url: &str, server_pid: u32) -> Row {
    // Warm up: connections open, caches filled.
    for _ in 0..CONNECTIONS {
        if let Ok(r) = http.get(url).header("accept", "text/html").send().await {
            assert!(r.status().is_success(), "{name}: GET {url} answered {}", r.status());
            let _ = r.bytes().await;
        }
    }
    let cpu0 = cpu_ms(server_pid);
    let t0 = Instant::now();
    let until = t0 + Duration::from_secs(seconds());
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let http = http.clone();
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            while Instant::now() < until {
                let s = Instant::now();
                match http.get(&url).header("accept", "text/html").send().await {
                    Ok(r) if r.status().is_success() => {
                        if r.bytes().await.is_err() {
                            errors += 1;
                        }
                    }
                    _ => errors += 1,
                }
                lat.push(s.elapsed().as_secs_f64() * 1000.0);
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("load task");
        lat.extend(l);
        errors += e;
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_ms(server_pid) - cpu0;
    lat.sort_by(f64::total_cmp);
    let requests = lat.len();
    Row {
        name: name.to_string(),
        requests,
        errors,
        rps: requests as f64 / wall,
        p50: percentile(&lat, 0.50),
        p95: percentile(&lat, 0.95),
        p99: percentile(&lat, 0.99),
        cpu_ms: cpu / requests.max(1) as f64,
    }
}

/// The baseline: axum's hello world in a process of its own, on a multi-threaded runtime.
fn hello_world_server(bind: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "Hello, World!" }));
        let listener = tokio::net::TcpListener::bind(bind).await.expect("bind hello world");
        axum::serve(listener, app).await.expect("serve hello world");
    });
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_hello_world() -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let bind = format!("127.0.0.1:{port}");
    let exe = std::env::current_exe().expect("bench executable");
    // Killed and waited for when dropped.
    let child = Child(std::process::Command::new(exe).env(HELLO_ENV, &bind).spawn().expect("start hello world"));
    let url = format!("http://{bind}/");
    for _ in 0..100 {
        if reqwest::get(&url).await.is_ok() {
            return (child, url);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("hello world did not start");
}

/// Quotes and orders through the server functions, `parallel` clients at a time.
async fn place_orders(app: &TestApp, n: usize) -> Duration {
    let (offering, a, b) = common::fixtures::cross_connect_ports(&app.state.db, 1000).await.expect("ports");
    // Set-up data: the two ports can carry every order (capacity is catalog data).
    entity::endpoint::Entity::update_many()
        .col_expr(entity::endpoint::Column::CapacityMbps, sea_orm::sea_query::Expr::value(i64::MAX / 4))
        .filter(entity::endpoint::Column::Id.is_in([a.clone(), b.clone()]))
        .exec(&app.state.db)
        .await
        .expect("port capacity");
    let parallel = 4;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..parallel {
        let c = app.login("tenant_admin@acme.example").await;
        let (offering, a, b, next) = (offering.clone(), a.clone(), b.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < n {
                let q = c
                    .call(
                        "quotes/create",
                        &[
                            ("offering_id", &offering),
                            ("a_endpoint_id", &a),
                            ("b_endpoint_id", &b),
                            ("bandwidth_mbps", "1000"),
                            ("term_months", "1"),
                            ("est_usage_gb", ""),
                        ],
                    )
                    .await;
                assert!(q.status.is_success(), "quote: {} {}", q.status, q.body);
                let qid = q.body["id"].as_str().expect("quote id").to_string();
                let o = c
                    .call(
                        "orders/place",
                        &[
                            ("quote_id", &qid),
                            ("po_number", "BENCH"),
                            ("cost_centre", ""),
                            ("description", "Benchmark connection"),
                        ],
                    )
                    .await;
                assert!(o.status.is_success(), "order: {} {}", o.status, o.body);
            }
        }));
    }
    for t in tasks {
        t.await.expect("order task");
    }
    t0.elapsed()
}

/// The `bench` edition (data, like every edition) with room for the run, for Acme.
async fn bench_edition(app: &TestApp, acme: &str) {
    let enterprise = entity::edition::Entity::find()
        .filter(entity::edition::Column::Key.eq("enterprise"))
        .one(&app.state.db)
        .await
        .expect("editions")
        .expect("enterprise edition");
    let id = app::auth::ssr::new_id();
    entity::edition::ActiveModel {
        id: Set(id.clone()),
        key: Set("bench".into()),
        name: Set("Bench".into()),
        rank: Set(enterprise.rank + 1),
        max_users: Set(enterprise.max_users),
        max_active_services: Set(2 * rows() as i32 + 100),
        max_api_keys: Set(enterprise.max_api_keys),
        // Limits high enough to be exercised but never binding in a benchmark.
        api_rate_per_min: Set(1_000_000),
        api_burst: Set(1_000_000),
        max_webhooks: Set(enterprise.max_webhooks),
        webhook_log_days: Set(enterprise.webhook_log_days),
        features: Set(enterprise.features.clone()),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(&app.state.db)
    .await
    .expect("bench edition");
    let staff = app.login("admin@patchbay.example").await;
    let r = staff.call("tenants/change_edition", &[("tenant_id", acme), ("edition_id", &id)]).await;
    assert!(r.status.is_success(), "change edition: {} {}", r.status, r.body);
}

/// The URL of the services page after following "Next page" past row `past`.
async fn deep_services_page(c: &Client, past: usize) -> String {
    let mut path = "/portal/services".to_string();
    let mut rows_before = 0;
    while rows_before <= past {
        let html = c.get(&path).await.text().await.unwrap_or_default();
        rows_before += html.matches("href=\"/portal/services/").count();
        let next = html
            .split("rel=\"next\"")
            .next()
            .filter(|_| html.contains("rel=\"next\""))
            .and_then(|before| before.rsplit("href=\"").next())
            .and_then(|h| h.split('"').next())
            .map(|h| h.replace("&amp;", "&"));
        match next {
            Some(n) => path = n,
            None => break,
        }
    }
    path
}

fn first_visit_sizes() -> Option<Vec<(String, usize, usize, usize)>> {
    let pkg = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/site/pkg");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&pkg).ok()? {
        let path = entry.ok()?.path();
        let name = path.file_name()?.to_string_lossy().to_string();
        if !(name.ends_with(".wasm") || name.ends_with(".js") || name.ends_with(".css")) {
            continue;
        }
        let bytes = std::fs::read(&path).ok()?;
        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
            w.write_all(&bytes).ok()?;
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&bytes).ok()?;
        let gz = gz.finish().ok()?;
        out.push((name, bytes.len(), br.len(), gz.len()));
    }
    out.sort();
    Some(out)
}

fn main() {
    if let Ok(bind) = std::env::var(HELLO_ENV) {
        hello_world_server(&bind);
        return;
    }
    let n = rows();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let results = rt.block_on(async {
        let app = spawn_app_on(false, false, |_, _| {}).await;
        let acme = tenant_id(&app, "acme").await;
        bench_edition(&app, &acme).await;
        eprintln!("seeding {n} orders through quotes/create and orders/place…");
        let placed = place_orders(&app, n).await;
        eprintln!("  placed in {:.1} s; provisioning them with a 4-worker replica…", placed.as_secs_f64());
        let t0 = Instant::now();
        {
            let _workers = Replica::start(&app.database_url, 4, &[]).await;
            let active = eventually(3600, || async {
                entity::service::Entity::find()
                    .filter(entity::service::Column::Status.eq("active"))
                    .count(&app.state.db)
                    .await
                    .unwrap_or(0) as usize
                    >= n
            })
            .await;
            assert!(active, "the services did not all become active");
        }
        eprintln!("  {n} services active in {:.1} s", t0.elapsed().as_secs_f64());
        let services = entity::service::Entity::find().count(&app.state.db).await.expect("count");
        let orders = entity::order::Entity::find().count(&app.state.db).await.expect("count");

        let server = Replica::start(
            &app.database_url,
            0,
            &[("RUST_LOG", "info"), ("PATCHBAY_DEV_MFA_OPTIONAL_FOR_ADMINS", "true")],
        )
        .await;
        let pid = server.pid();
        let customer = server.client();
        let r = customer.call("login", &[("email", "tenant_admin@acme.example"), ("password", PASSWORD)]).await;
        assert!(r.status.is_success() || r.status.is_redirection(), "login: {}", r.status);
        let staff = server.client();
        let r = staff.call("login", &[("email", "admin@patchbay.example"), ("password", PASSWORD)]).await;
        assert!(r.status.is_success() || r.status.is_redirection(), "staff login: {}", r.status);
        let deep = deep_services_page(&customer, 2_500).await;
        let one_service = entity::service::Entity::find().one(&app.state.db).await.expect("service").expect("one");
        let one_order = entity::order::Entity::find().one(&app.state.db).await.expect("order").expect("one");
        let (hello, hello_url) = start_hello_world().await;
        let plain = reqwest::Client::new();

        let mut rows = vec![drive("hello world (axum, baseline)", &plain, &hello_url, hello.0.id()).await];
        drop(hello);
        let pages: Vec<(String, &Client, String)> = vec![
            ("/login (anonymous)".into(), &customer, "/login".into()),
            ("/portal".into(), &customer, "/portal".into()),
            ("/portal/services".into(), &customer, "/portal/services".into()),
            ("/portal/services?status=active".into(), &customer, "/portal/services?status=active".into()),
            ("/portal/services (past row 2,500)".into(), &customer, deep.clone()),
            ("/portal/services/:id".into(), &customer, format!("/portal/services/{}", one_service.id)),
            ("/portal/orders".into(), &customer, "/portal/orders".into()),
            ("/portal/orders/:id".into(), &customer, format!("/portal/orders/{}", one_order.id)),
            ("/console/jobs".into(), &staff, "/console/jobs".into()),
        ];
        for (name, c, path) in pages {
            let url = format!("{}{}", server.base, path);
            rows.push(drive(&name, &c.http, &url, pid).await);
        }
        (rows, services, orders, deep)
    });
    let (rows, services, orders, deep) = results;
    let base = &rows[0];
    println!();
    println!(
        "Pages: {services} services, {orders} orders in one tenant (SQLite, release build); {CONNECTIONS} connections, {} s per row; server logs at info",
        seconds()
    );
    println!("deep page: {deep}");
    println!(
        "{:<36} {:>8} {:>6} {:>9} {:>8} {:>8} {:>8} {:>9} {:>11}",
        "page", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "CPU ms", "CPU × base"
    );
    for r in &rows {
        println!(
            "{:<36} {:>8} {:>6} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>9.3} {:>11.0}",
            r.name,
            r.requests,
            r.errors,
            r.rps,
            r.p50,
            r.p95,
            r.p99,
            r.cpu_ms,
            r.cpu_ms / base.cpu_ms.max(1e-6)
        );
    }
    match first_visit_sizes() {
        Some(files) if !files.is_empty() => {
            println!();
            println!("What a first visit to /portal loads (target/site/pkg):");
            println!("{:<28} {:>12} {:>12} {:>12}", "file", "bytes", "brotli", "gzip");
            let (mut t, mut tb, mut tg) = (0, 0, 0);
            for (name, raw, br, gz) in files {
                println!("{name:<28} {raw:>12} {br:>12} {gz:>12}");
                (t, tb, tg) = (t + raw, tb + br, tg + gz);
            }
            println!("{:<28} {t:>12} {tb:>12} {tg:>12}", "total");
        }
        _ => println!("\n(no target/site/pkg: run `cargo xtask bench pages` to build the release frontend first)"),
    }
}
