//! Prometheus metrics: request counts and latency by matched route and status,
//! database pool gauges and build info.
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use app::state::AppState;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Install the process-wide recorder once (several apps in one test process share it).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
                )
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            metrics::gauge!("patchbay_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            Some(handle)
        })
        .as_ref()
}

pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route =
        req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(start.elapsed().as_secs_f64());
    res
}

pub async fn render(State(state): State<AppState>) -> Response {
    let db = &state.db;
    let (size, idle) = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let p = db.get_postgres_connection_pool();
            (p.size(), p.num_idle() as u32)
        }
        _ => {
            let p = db.get_sqlite_connection_pool();
            (p.size(), p.num_idle() as u32)
        }
    };
    metrics::gauge!("db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("db_pool_connections", "state" => "in_use").set(f64::from(size.saturating_sub(idle)));
    match handle() {
        Some(h) => ([(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], h.render()).into_response(),
        None => (http::StatusCode::SERVICE_UNAVAILABLE, "metrics recorder unavailable").into_response(),
    }
}

fn digest(s: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(s).into()
}

/// `/metrics` on the main listener: only with `Authorization: Bearer <PATCHBAY_METRICS_TOKEN>`;
/// without a configured token it does not exist there (404).
pub fn main_listener_route(token: Option<&secrecy::SecretString>) -> axum::routing::MethodRouter<AppState> {
    use secrecy::ExposeSecret;
    match token {
        None => axum::routing::get(|| async { http::StatusCode::NOT_FOUND }),
        Some(t) => {
            // Compare digests, so the comparison's time says nothing about the token.
            let want = digest(t.expose_secret().as_bytes());
            axum::routing::get(move |state: State<AppState>, headers: http::HeaderMap| async move {
                let given = headers
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(|t| digest(t.trim().as_bytes()));
                if given == Some(want) {
                    render(state).await
                } else {
                    (
                        http::StatusCode::UNAUTHORIZED,
                        [(http::header::WWW_AUTHENTICATE, "Bearer")],
                        "metrics need a bearer token",
                    )
                        .into_response()
                }
            })
        }
    }
}

/// The metrics listener's router (`PATCHBAY_METRICS_BIND`): `/metrics` only, open, as the
/// address is meant to be private (loopback or an internal network).
pub fn own_listener_router(state: AppState) -> axum::Router {
    axum::Router::new().route("/metrics", axum::routing::get(render)).with_state(state)
}
