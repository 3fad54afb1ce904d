//! Test support: start the real app on 127.0.0.1 against a fresh database
//! (a SQLite file in a temp dir, or a new PostgreSQL database per test when
//! `PATCHBAY_TEST_DATABASE=postgres`), HTTP clients with cookie jars, and a
//! real SMTP listener that keeps what it receives.
#![allow(dead_code)]

pub mod fixtures;
pub mod idp;

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use app::state::AppState;
use server::config::Config;
use server::startup::Application;

pub const PASSWORD: &str = "demo-password-for-tests";

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub database_url: String,
    pub mail: Option<MailSink>,
    /// `http://127.0.0.1:<port>` of the metrics listener, when the test set `metrics_bind`.
    pub metrics_base: Option<String>,
    /// PostgreSQL: (admin URL, database name), dropped with the app.
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // Drop runs inside the test's runtime; use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async {
                    if let Ok(conn) = Database::connect(&admin).await {
                        let _ = conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                        let _ = conn.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Which database the tests run on.
pub fn backend() -> &'static str {
    match std::env::var("PATCHBAY_TEST_DATABASE").as_deref() {
        Ok("postgres") => "postgres",
        _ => "sqlite",
    }
}

/// Where skipped tests are listed, one `SKIPPED:` line each (set by `cargo xtask test`,
/// which counts them in its summary).
pub const SKIP_LOG_VAR: &str = "PATCHBAY_TEST_SKIP_LOG";

/// Say loudly that `test` did not run here and why: on stderr past the test harness's
/// output capture (so it shows in a plain `cargo test` run) and in the skip log.
pub fn skip(test: &str, reason: &str) {
    use std::io::Write;
    let line = format!("SKIPPED: {test}: {reason}");
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    if let Some(path) = std::env::var_os(SKIP_LOG_VAR).filter(|p| !p.is_empty())
        && let Ok(mut log) = std::fs::OpenOptions::new().create(true).append(true).open(path)
    {
        let _ = writeln!(log, "{line}");
    }
}

/// For PostgreSQL-only tests: whether to run; on SQLite the test is reported as skipped.
pub fn postgres_only(test: &str, why: &str) -> bool {
    if backend() == "postgres" {
        return true;
    }
    skip(test, &format!("PostgreSQL only ({why}); run with PATCHBAY_TEST_DATABASE=postgres"));
    false
}

async fn fresh_database_url(dir: &tempfile::TempDir, postgres: bool) -> (String, Option<(String, String)>) {
    if postgres {
        let admin = std::env::var("PATCHBAY_TEST_POSTGRES_URL")
            .expect("PATCHBAY_TEST_DATABASE=postgres needs PATCHBAY_TEST_POSTGRES_URL");
        let name = format!("patchbay_t_{}", uuid::Uuid::new_v4().simple());
        let conn = Database::connect(&admin).await.expect("connect to PostgreSQL");
        conn.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
        conn.close().await.ok();
        let mut url = url::Url::parse(&admin).expect("postgres url");
        url.set_path(&name);
        (url.to_string(), Some((admin, name)))
    } else {
        (format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()), None)
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(false).await
}

/// Start the app; `with_mail` also starts an SMTP listener and points the app at it.
pub async fn spawn_app_with(with_mail: bool) -> TestApp {
    spawn_app_custom(with_mail, |_, _| {}).await
}

/// Start the app after `customize` has seen its configuration and base URL.
pub async fn spawn_app_custom(with_mail: bool, customize: impl FnOnce(&mut Config, &str)) -> TestApp {
    spawn_app_on(backend() == "postgres", with_mail, customize).await
}

/// Start the app on a fresh SQLite file or (`postgres`) a fresh PostgreSQL database.
pub async fn spawn_app_on(postgres: bool, with_mail: bool, customize: impl FnOnce(&mut Config, &str)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let (database_url, pg) = fresh_database_url(&dir, postgres).await;
    let mail = if with_mail { Some(MailSink::start().await) } else { None };
    // Bind first and keep the listener, so the public URL (links, CSRF origin) names the
    // port the app serves on, and no other process can take it in between.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("bound address").port();
    let mut cfg = Config {
        database_url: database_url.clone(),
        bind: format!("127.0.0.1:{port}"),
        public_url: Some(format!("http://127.0.0.1:{port}")),
        smtp_url: mail.as_ref().map(|m| format!("smtp://127.0.0.1:{}", m.port).into()),
        site_root: dir.path().display().to_string(),
        db_max_connections: 5,
        // The test identity provider runs on plain-http loopback.
        oidc_allow_insecure_issuers: true,
        // The demo platform admin signs in with a password only in tests; tests of
        // multi-factor sign-in turn this off in `customize`.
        dev_mfa_optional_for_admins: true,
        // Webhook receivers in tests listen on loopback, over http.
        webhooks_allow_private: true,
        webhook_retry_base_ms: 50,
        ..Config::default()
    };
    customize(&mut cfg, &format!("http://127.0.0.1:{port}"));
    let app = Application::build_on(listener, cfg, false).await.expect("build app");
    let state = app.state.clone();
    let metrics_base = app.metrics_port().map(|p| format!("http://127.0.0.1:{p}"));
    tokio::spawn(app.run_until_stopped());
    app::seed::seed_demo(&state.db, PASSWORD).await.expect("seed demo data");
    TestApp { base: format!("http://127.0.0.1:{port}"), state, database_url, mail, metrics_base, pg, _dir: dir }
}

/// The id of a tenant by slug.
pub async fn tenant_id(app: &TestApp, slug: &str) -> String {
    entity::tenant::Entity::find()
        .filter(entity::tenant::Column::Slug.eq(slug))
        .one(&app.state.db)
        .await
        .expect("query tenant")
        .expect("tenant exists")
        .id
}

/// The id of a user by e-mail.
pub async fn user_id(app: &TestApp, email: &str) -> String {
    entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq(email))
        .one(&app.state.db)
        .await
        .expect("query user")
        .expect("user exists")
        .id
}

/// The id of an offering by key.
pub async fn offering(app: &TestApp, key: &str) -> String {
    entity::offering::Entity::find()
        .filter(entity::offering::Column::Key.eq(key))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// An open endpoint of a provider and kind in a metro that sells `mbps` and has room for it.
pub async fn endpoint(app: &TestApp, provider: &str, kind: &str, metro: &str, mbps: i64) -> String {
    let p = entity::provider::Entity::find()
        .filter(entity::provider::Column::Key.eq(provider))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let locations: Vec<String> = entity::location::Entity::find()
        .filter(entity::location::Column::Metro.eq(metro))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    entity::endpoint::Entity::find()
        .filter(entity::endpoint::Column::ProviderId.eq(&p.id))
        .filter(entity::endpoint::Column::Kind.eq(kind))
        .filter(entity::endpoint::Column::LocationId.is_in(locations))
        .filter(entity::endpoint::Column::Active.eq(true))
        .order_by_asc(entity::endpoint::Column::Name)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|e| {
            let bws: Vec<i64> = serde_json::from_str(&e.bandwidths_mbps).unwrap();
            bws.contains(&mbps) && e.capacity_mbps - e.used_mbps >= mbps
        })
        .unwrap_or_else(|| panic!("no {provider} {kind} in {metro} for {mbps} Mbps"))
        .id
}

/// The outbox event types of a resource, oldest first.
pub async fn events_of(app: &TestApp, resource: &str) -> Vec<String> {
    entity::outbox_event::Entity::find()
        .filter(entity::outbox_event::Column::ResourceId.eq(resource))
        .order_by_asc(entity::outbox_event::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

/// A browser-like client: cookie jar, same-origin `Origin`, no redirect following.
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub location: Option<String>,
}

impl Reply {
    pub fn error_kind(&self) -> Option<String> {
        self.body.as_object().and_then(|o| o.keys().next().cloned())
    }
}

impl TestApp {
    pub fn client(&self) -> Client {
        client_for(&self.base)
    }

    /// A client signed in as `email` with the demo password.
    pub async fn login(&self, email: &str) -> Client {
        let c = self.client();
        let r = c.call("login", &[("email", email), ("password", PASSWORD)]).await;
        assert!(r.status.is_success() || r.status.is_redirection(), "login {email}: {} {}", r.status, r.body);
        c
    }
}

impl Client {
    /// Call a server function the way the hydrated app does (JSON answer).
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> Reply {
        let res = self
            .http
            .post(format!("{}/api/{endpoint}", self.base))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /api/{endpoint}: {e}"));
        let status = res.status();
        let location = res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply { status, body, location }
    }

    /// Submit a form the way a browser without JavaScript does.
    pub async fn post_form(&self, endpoint: &str, form: &[(&str, &str)], referer: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/{endpoint}", self.base))
            .header("accept", "text/html,application/xhtml+xml")
            .header("referer", format!("{}{referer}", self.base))
            .form(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("form POST /api/{endpoint}: {e}"))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }
}

/// A minimal SMTP server that accepts every message and keeps its raw text.
#[derive(Clone)]
pub struct MailSink {
    pub port: u16,
    pub messages: Arc<Mutex<Vec<String>>>,
    /// Connections still to refuse (`421` greeting, then close): a flaky relay.
    pub refuse: Arc<std::sync::atomic::AtomicUsize>,
}

impl MailSink {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("smtp bind");
        let port = listener.local_addr().expect("addr").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let refuse = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let store = messages.clone();
        let refusing = refuse.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let store = store.clone();
                let refusing = refusing.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    use std::sync::atomic::Ordering;
                    if refusing.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                        let _ = w.write_all(b"421 test-smtp busy, try again later\r\n").await;
                        return;
                    }
                    let mut lines = BufReader::new(r).lines();
                    let _ = w.write_all(b"220 test-smtp ready\r\n").await;
                    let mut data: Option<String> = None;
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(buf) = data.as_mut() {
                            if line == "." {
                                store.lock().expect("mail lock").push(std::mem::take(buf));
                                data = None;
                                let _ = w.write_all(b"250 queued\r\n").await;
                            } else {
                                buf.push_str(line.strip_prefix('.').unwrap_or(&line));
                                buf.push('\n');
                            }
                            continue;
                        }
                        let cmd = line.to_ascii_uppercase();
                        let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                            b"250-test-smtp\r\n250 8BITMIME\r\n"
                        } else if cmd.starts_with("DATA") {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        } else if cmd.starts_with("QUIT") {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 ok\r\n"
                        };
                        let _ = w.write_all(reply).await;
                    }
                });
            }
        });
        Self { port, messages, refuse }
    }

    /// Refuse the next `n` connections.
    pub fn refuse_next(&self, n: usize) {
        self.refuse.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// Messages received so far, with quoted-printable soft breaks undone.
    pub fn received(&self) -> Vec<String> {
        self.messages.lock().expect("mail lock").iter().map(|m| m.replace("=\n", "").replace("=3D", "=")).collect()
    }
}

/// A `patchbay serve` process of the real binary: a replica, as deployed.
pub struct Replica {
    child: std::process::Child,
    pub base: String,
    pub log: std::path::PathBuf,
}

impl Replica {
    /// Start a replica on `database_url` with `workers` job workers (0: `--no-workers`).
    pub async fn start(database_url: &str, workers: usize, env: &[(&str, &str)]) -> Replica {
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
        let base = format!("http://127.0.0.1:{port}");
        let log = std::env::temp_dir().join(format!("patchbay-replica-{port}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_patchbay"));
        cmd.arg("serve");
        if workers == 0 {
            cmd.arg("--no-workers");
        }
        cmd.env("PATCHBAY_DATABASE_URL", database_url)
            .env("PATCHBAY_BIND", format!("127.0.0.1:{port}"))
            .env("PATCHBAY_PUBLIC_URL", &base)
            .env("PATCHBAY_SITE_ROOT", std::env::temp_dir())
            .env("PATCHBAY_WORKERS", workers.to_string())
            .env("PATCHBAY_PROVISION_POLL_MS", "0")
            .env("PATCHBAY_WORKER_IDLE_MS", "20")
            .env("PATCHBAY_DB_MAX_CONNECTIONS", "8")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(out);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start patchbay");
        let replica = Replica { child, base, log };
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = http.get(format!("{}/healthz", replica.base)).send().await
                && r.status().is_success()
            {
                return replica;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("replica did not start; see {}", replica.log.display());
    }

    /// SIGKILL: no shutdown, no cleanup, leases left behind.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The replica's process id (the pages benchmark reads its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A browser-like client of this replica.
    pub fn client(&self) -> Client {
        client_for(&self.base)
    }

    /// SIGTERM, then wait up to `secs` for the process to exit; returns whether it did.
    pub async fn terminate(&mut self, secs: u64) -> bool {
        let _ = std::process::Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        eventually(secs, || {
            let exited = matches!(self.child.try_wait(), Ok(Some(_)));
            async move { exited }
        })
        .await
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A browser-like client of the server at `base`.
pub fn client_for(base: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", base.parse().expect("origin"));
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .default_headers(headers)
        .build()
        .expect("client");
    Client { http, base: base.to_string() }
}

/// Poll `check` every 50 ms until it returns true or `secs` pass; returns whether it did.
pub async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// Read server-sent events until `until` arrives (or `secs` pass); returns (id, type) pairs.
pub async fn read_events(
    c: &Client,
    path: &str,
    last_event_id: Option<&str>,
    until: &str,
    secs: u64,
) -> Vec<(i64, String)> {
    collect_events(open_events(c, path, last_event_id, secs).await, until, secs).await
}

/// Open an event stream. When this returns, the server has answered 200, and it answers
/// only after subscribing to news and fixing where the stream starts: whatever is committed
/// from now on reaches this stream. Wait for this instead of sleeping.
pub async fn open_events(c: &Client, path: &str, last_event_id: Option<&str>, secs: u64) -> reqwest::Response {
    let mut req = c
        .http
        .get(format!("{}{path}", c.base))
        .header("accept", "text/event-stream")
        .timeout(std::time::Duration::from_secs(secs + 5));
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    let res = req.send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(res.status(), StatusCode::OK, "GET {path}");
    res
}

/// Read an open event stream until `until` arrives, the stream ends, or `secs` pass;
/// returns the (id, type) pairs seen.
pub async fn collect_events(res: reqwest::Response, until: &str, secs: u64) -> Vec<(i64, String)> {
    collect_events_to_end(res, until, secs).await.0
}

/// How reading an event stream stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamEnd {
    /// The awaited event arrived.
    Until,
    /// The server ended the stream.
    Closed,
    /// The connection broke (e.g. the server process exited).
    Broken,
    /// The reader's deadline passed with the stream still open.
    Deadline,
}

/// Like [`collect_events`], also saying how reading stopped.
pub async fn collect_events_to_end(
    mut res: reqwest::Response,
    until: &str,
    secs: u64,
) -> (Vec<(i64, String)>, StreamEnd) {
    let mut buf = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let chunk = match tokio::time::timeout_at(deadline, res.chunk()).await {
            Ok(Ok(Some(chunk))) => chunk,
            Ok(Ok(None)) => return (out, StreamEnd::Closed),
            Ok(Err(_)) => return (out, StreamEnd::Broken),
            Err(_) => return (out, StreamEnd::Deadline),
        };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let id = block.lines().find_map(|l| l.strip_prefix("id:")).map(|v| v.trim().parse::<i64>().unwrap());
            let data = block.lines().find_map(|l| l.strip_prefix("data:")).map(|v| v.trim().to_string());
            if let (Some(id), Some(data)) = (id, data) {
                let v: Value = serde_json::from_str(&data).unwrap();
                let t = v["type"].as_str().unwrap().to_string();
                let done = t == until;
                out.push((id, t));
                if done {
                    return (out, StreamEnd::Until);
                }
            }
        }
    }
}
