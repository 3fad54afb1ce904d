//! Building and running the application: database, migrations, router, listener.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::response::IntoResponse;
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use migration::MigratorTrait;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use secrecy::ExposeSecret;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use app::auth::session_store::DbSessionStore;
use app::mail::Mailer;
use app::state::{AppSettings, AppState};
use app::{App, shell};
use migration::Migrator;

use crate::config::Config;

/// Connect to the database (creating the SQLite file's folder when needed).
pub async fn connect(cfg: &Config) -> anyhow::Result<DatabaseConnection> {
    if cfg.is_sqlite()
        && let Some(path) = cfg.database_url.strip_prefix("sqlite://").and_then(|p| p.split('?').next())
        && let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = ConnectOptions::new(cfg.database_url.clone());
    opts.max_connections(cfg.db_max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
        });
    Ok(Database::connect(opts).await?)
}

/// Apply pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await?;
    Ok(())
}

pub fn leptos_options(cfg: &Config) -> anyhow::Result<LeptosOptions> {
    let addr: SocketAddr = cfg.bind.parse()?;
    Ok(LeptosOptions::builder()
        .output_name("patchbay")
        .site_root(cfg.site_root.clone())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .env(if cfg.is_production() { leptos_config::Env::PROD } else { leptos_config::Env::DEV })
        .build())
}

pub fn app_state(cfg: &Config, mut db: DatabaseConnection) -> anyhow::Result<AppState> {
    // Every statement is counted: exported as a metric, and read by the tests that prove a
    // page runs a bounded number of queries whatever the row count.
    let db_queries = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = db_queries.clone();
    let trace_sql = std::env::var_os("PATCHBAY_TRACE_SQL").is_some();
    db.set_metric_callback(move |info| {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if trace_sql {
            let sql: String = info.statement.sql.chars().take(600).collect();
            eprintln!("SQL {:>8}us {sql}", info.elapsed.as_micros());
        }
        metrics::counter!("patchbay_db_statements_total").increment(1);
    });
    let mailer = match &cfg.smtp_url {
        Some(url) => Some(Mailer::from_url(url.expose_secret(), &cfg.smtp_from).map_err(anyhow::Error::msg)?),
        None => None,
    };
    Ok(AppState {
        db,
        leptos_options: leptos_options(cfg)?,
        settings: Arc::new(AppSettings {
            public_url: cfg.public_url(),
            platform_oidc: match (&cfg.oidc_issuer, &cfg.oidc_client_id, &cfg.oidc_client_secret) {
                (Some(issuer), Some(client_id), Some(secret)) => Some(app::sso::ssr::PlatformIdp {
                    issuer: issuer.trim_end_matches('/').to_string(),
                    client_id: client_id.clone(),
                    client_secret: secret.expose_secret().to_string(),
                }),
                _ => None,
            },
            job_lease_ms: cfg.job_lease_ms,
            job_backoff_base_ms: cfg.job_backoff_base_ms,
            provision_poll_ms: cfg.provision_poll_ms,
            adapter_timeout_ms: cfg.adapter_timeout_ms,
            live_fallback_ms: cfg.live_fallback_ms,
            dev_mfa_optional_for_admins: cfg.dev_mfa_optional_for_admins,
            webhooks_allow_private: cfg.webhooks_allow_private,
            webhook_retry_base_ms: cfg.webhook_retry_base_ms,
            ..AppSettings::default()
        }),
        mailer,
        sealer: cfg.sealer(),
        // No silent fallback to a client without the redirect policy and timeout.
        oidc: app::sso::ssr::OidcCache::new(cfg.oidc_allow_insecure_issuers)
            .map_err(|e| anyhow::anyhow!("cannot build the OpenID Connect HTTP client: {e}"))?,
        live: app::live::Live::new(),
        db_queries,
        links: cfg.link_signer(),
        api_keys: Arc::new(app::api_keys::ssr::KeyCache::default()),
        rate: Arc::new(app::api_keys::ssr::rate::RateLimiter::default()),
        api_doc: Arc::new(serde_json::to_value(crate::api::documented().1)?),
    })
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> axum::response::Response {
    if let Err(e) = state.db.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return (http::StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response();
    }
    match Migrator::get_pending_migrations(&state.db).await {
        Ok(p) if p.is_empty() => "ready".into_response(),
        Ok(p) => (http::StatusCode::SERVICE_UNAVAILABLE, format!("{} migrations pending", p.len())).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: migration status unknown");
            (http::StatusCode::SERVICE_UNAVAILABLE, "migration status unknown").into_response()
        }
    }
}

/// The whole HTTP application.
pub fn router(state: AppState, cfg: &Config) -> Router {
    let options = state.leptos_options.clone();
    let routes = generate_route_list(App);
    let https = cfg.public_url().starts_with("https://");
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name("patchbay_session")
        .with_secure(https)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(cfg.session_idle_hours)));
    let ctx_state = state.clone();
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(|m| m.as_str().to_owned())
                .unwrap_or_else(|| req.uri().path().to_owned());
            let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            tracing::info_span!(
                "request",
                method = %req.method(),
                route = %route,
                request_id = %request_id,
                status = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
                tenant_id = tracing::field::Empty,
                user_id = tracing::field::Empty,
            )
        })
        .on_response(|res: &http::Response<_>, latency: Duration, span: &tracing::Span| {
            span.record("status", res.status().as_u16());
            span.record("latency_ms", latency.as_millis() as u64);
            tracing::info!(parent: span, "response");
        });
    crate::metrics::handle();
    // Event streams live for as long as the page is open: no request timeout for them.
    let streams = Router::new()
        .route("/events/orders/{id}", get(crate::live::order_events))
        .route("/events/services/{id}", get(crate::live::service_events));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", crate::metrics::main_listener_route(cfg.metrics_token.as_ref()))
        .route("/exports/audit.jsonl", get(crate::exports::jsonl))
        .route("/exports/audit.manifest.json", get(crate::exports::manifest))
        .route("/auth/oidc/start", get(crate::oidc::start))
        .route("/auth/oidc/callback", get(crate::oidc::callback))
        .merge(crate::api::router(state.clone()))
        .route(
            "/mail/unsubscribe/{token}",
            axum::routing::post(app::mail::ssr::unsubscribe_post).get(app::mail::ssr::unsubscribe_get),
        )
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(ctx_state.clone());
                // One signed-in context per request, however many server functions it runs.
                provide_context(app::auth::ssr::RequestCtx::default());
            },
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn(crate::fn_status::fix_status))
        // No request may hang forever (an SSR render waiting on something that never
        // resolves answers 408 instead). The event streams are merged in after this layer.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .merge(streams)
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::csrf::guard))
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(trace)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    /// `PATCHBAY_METRICS_BIND`: `/metrics` on a listener of its own.
    metrics: Option<(tokio::net::TcpListener, Router)>,
    pub state: AppState,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Bind `cfg.bind`, connect, migrate. `workers`: run background housekeeping in this process.
    pub async fn build(cfg: Config, workers: bool) -> anyhow::Result<Self> {
        cfg.validate()?;
        let listener = tokio::net::TcpListener::bind(&cfg.bind).await?;
        Self::build_on(listener, cfg, workers).await
    }

    /// Like [`Application::build`], serving on a listener the caller has bound (tests bind
    /// `127.0.0.1:0` and put the port in `public_url` first, so no port is bound twice).
    pub async fn build_on(listener: tokio::net::TcpListener, cfg: Config, workers: bool) -> anyhow::Result<Self> {
        cfg.validate()?;
        let db = connect(&cfg).await?;
        migrate(&db).await?;
        let state = app_state(&cfg, db)?;
        let metrics = match &cfg.metrics_bind {
            Some(addr) => Some((
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| anyhow::anyhow!("PATCHBAY_METRICS_BIND={addr}: {e}"))?,
                crate::metrics::own_listener_router(state.clone()),
            )),
            None => None,
        };
        let router = router(state.clone(), &cfg);
        let mut tasks = Vec::new();
        // Every replica serves the API: its key cache is loaded before the first request and
        // kept current whether or not this process runs job workers.
        state.api_keys.refresh(&state.db).await.map_err(|e| anyhow::anyhow!("loading API keys: {e}"))?;
        tasks.push(tokio::spawn(app::api_keys::ssr::run_refresher(state.api_keys.clone(), state.db.clone())));
        tasks.push(tokio::spawn(app::api_keys::ssr::rate::run_sync(state.rate.clone(), state.db.clone())));
        if !cfg.is_sqlite() {
            tasks.push(crate::live::listen(state.clone(), cfg.database_url.clone()));
        }
        if workers {
            tasks.push(crate::workers::spawn(state.clone(), Duration::from_secs(60)));
            tasks.extend(crate::workers::spawn_job_workers(
                state.clone(),
                cfg.workers,
                Duration::from_millis(cfg.worker_idle_ms.max(10)),
            ));
        }
        Ok(Self { listener, router, metrics, state, workers: tasks })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The port of the metrics listener, when `PATCHBAY_METRICS_BIND` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().and_then(|(l, _)| l.local_addr().ok()).map(|a| a.port())
    }

    /// Serve until SIGINT/SIGTERM, then finish in-flight requests.
    pub async fn run_until_stopped(mut self) -> std::io::Result<()> {
        let live = self.state.live.clone();
        if let Some((listener, router)) = self.metrics.take() {
            self.workers.push(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            }));
        }
        let res = axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                shutdown_signal().await;
                // Event streams never end by themselves: close them so in-flight requests can finish.
                live.close();
            })
            .await;
        for w in self.workers {
            w.abort();
        }
        res
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
