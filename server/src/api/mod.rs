//! The public REST API, `/v1`: API-key authentication, problem+json errors, and one module
//! per resource. Handlers call the same services the server functions call: they parse
//! and check the request, then map the service's answer to the API's shapes (camelCase,
//! RFC 3339 UTC times, `items` + `pageInfo` lists).
//!
//! A request authenticates against the in-memory key cache (`app::api_keys::ssr`): no
//! database query to find the key, its scopes, its admin's current role or its tenant.
//!
//! The OpenAPI 3.1 document (`/v1/openapi.json`) is generated from the handlers
//! (`#[utoipa::path]` on each, registered through `utoipa_axum`'s `OpenApiRouter`): a
//! resource route cannot be added without its description. The only plain routes are the
//! document itself and the problem+json 404 for unknown paths (a test checks that).
pub mod audit;
pub mod catalog;
pub mod idempotency;
pub mod list;
pub mod orders;
pub mod problem;
pub mod quotes;
pub mod services;
pub mod usage;
pub mod webhooks;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::routing::any;
use http::request::Parts;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::api_keys::ApiScope;
use app::api_keys::ssr::{Principal, Refusal};
use app::auth::ssr::Ctx;
use app::state::AppState;
pub use problem::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Patchbay API",
        version = "1",
        description = "Order, run and watch private network interconnection. JSON with camelCase fields, RFC 3339 UTC times; lists are `items` + `pageInfo {nextCursor, hasNextPage}` with `limit` (1–200) and `cursor`; errors are `application/problem+json`. Authenticate with `Authorization: Bearer <API key>` (Portal → API keys); each operation names the scope it needs."
    ),
    modifiers(&BearerKeys),
    tags(
        (name = "catalog", description = "Locations, endpoints, the products sold between them, and prices"),
        (name = "quotes", description = "Priced offers for a connection, valid for 30 days"),
        (name = "orders", description = "Orders placed from quotes, under the tenant's order policy"),
        (name = "services", description = "The tenant's service inventory and the actions on it"),
        (name = "audit", description = "The tenant's tamper-evident audit trail"),
        (name = "webhooks", description = "Signed event callbacks (Standard Webhooks): subscriptions, the delivery log and replays"),
    )
)]
struct ApiDoc;

/// The `apiKey` security scheme every operation names (with its scope).
struct BearerKeys;

impl utoipa::Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pbk_<key id>_<secret>")
                    .description(Some("An API key from Portal → API keys or `patchbay api-key create`."))
                    .build(),
            ),
        );
    }
}

/// The documented routes and their OpenAPI document.
pub fn documented() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(catalog::locations))
        .routes(routes!(catalog::endpoints))
        .routes(routes!(catalog::offerings))
        .routes(routes!(catalog::prices))
        .routes(routes!(quotes::list, quotes::create))
        .routes(routes!(quotes::get))
        .routes(routes!(orders::list, orders::create))
        .routes(routes!(orders::get))
        .routes(routes!(orders::cancel))
        .routes(routes!(services::list))
        .routes(routes!(services::get))
        .routes(routes!(services::modify_bandwidth))
        .routes(routes!(services::suspend))
        .routes(routes!(services::resume))
        .routes(routes!(services::terminate))
        .routes(routes!(usage::events))
        .routes(routes!(usage::usage))
        .routes(routes!(audit::list))
        .routes(routes!(webhooks::event_types))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::get, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::test))
        .routes(routes!(webhooks::rotate))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::replay_window))
        .routes(routes!(webhooks::replay))
        .split_for_parts()
}

pub fn router(state: AppState) -> Router<AppState> {
    let (routes, doc) = documented();
    let routes = routes
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::layer))
        .layer(axum::middleware::from_fn_with_state(state, gate));
    let doc: Arc<String> = Arc::new(doc.to_pretty_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "the OpenAPI document does not serialise");
        String::from("{}")
    }));
    routes
        .route(
            "/v1/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { ([(http::header::CONTENT_TYPE, "application/json")], doc.as_str().to_owned()) }
            }),
        )
        .route("/v1", any(not_found))
        .route("/v1/{*rest}", any(not_found))
        .method_not_allowed_fallback(method_not_allowed)
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        http::StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "This route does not take that method; the API reference lists the methods of each route.",
    )
}

async fn not_found() -> Problem {
    Problem::new(
        http::StatusCode::NOT_FOUND,
        "not-found",
        "There is no such API route. The routes are listed in the API reference.",
    )
}

/// What [`gate`] found for the request's bearer token, for the layers and handlers after it.
#[derive(Clone)]
pub struct Authenticated(pub Result<Principal, Refusal>);

/// The bearer token of a request, if it sent one.
pub fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let header = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).map(str::trim)
}

fn peer(extensions: &http::Extensions) -> IpAddr {
    extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Whether a request only reads: GET and HEAD, and the one POST that computes without
/// keeping anything (a price check).
fn reads(method: &http::Method, path: &str) -> bool {
    matches!(*method, http::Method::GET | http::Method::HEAD | http::Method::OPTIONS) || path == "/v1/prices"
}

/// Authenticate once per request (from memory), then apply the tenant's rate limit: a
/// token bucket for reads and one for writes, sized by the edition. Every authenticated
/// answer carries `X-RateLimit-Limit` (requests per minute), `X-RateLimit-Remaining` and
/// `X-RateLimit-Reset` (seconds until the bucket is full); a refusal is 429 with
/// `Retry-After`. See `app::api_keys::ssr::rate` for how replicas share the buckets.
async fn gate(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use app::api_keys::ssr::rate::Class;
    use axum::response::IntoResponse;
    let Some(token) = bearer(req.headers()).map(str::to_string) else { return next.run(req).await };
    let result = state.api_keys.authenticate(&token, peer(req.extensions()));
    let class = if reads(req.method(), req.uri().path()) { Class::Read } else { Class::Write };
    let decision = result.as_ref().ok().map(|p| state.rate.check(&p.tenant.id, class, p.limits));
    req.extensions_mut().insert(Authenticated(result));
    let mut res = match decision {
        Some(d) if !d.allowed => {
            let mut res = Problem::new(
                http::StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                format!(
                    "Your edition allows {} {} requests a minute; retry after {} s.",
                    d.limit,
                    if class == Class::Read { "read" } else { "write" },
                    d.retry_after_secs
                ),
            )
            .into_response();
            res.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from(d.retry_after_secs));
            res
        }
        _ => next.run(req).await,
    };
    if let Some(d) = decision {
        let h = res.headers_mut();
        h.insert("x-ratelimit-limit", http::HeaderValue::from(d.limit));
        h.insert("x-ratelimit-remaining", http::HeaderValue::from(d.remaining));
        h.insert("x-ratelimit-reset", http::HeaderValue::from(d.reset_secs));
    }
    res
}

/// An authenticated API request: the key, and the context its services run in.
pub struct Caller {
    pub principal: Principal,
    pub ctx: Ctx,
}

impl Caller {
    /// Refuse unless the key holds `scope` (and its admin's role still allows it).
    pub fn require(&self, scope: ApiScope) -> Result<(), Problem> {
        if self.principal.has(scope) {
            return Ok(());
        }
        Err(Problem::new(
            http::StatusCode::FORBIDDEN,
            "missing-scope",
            format!(
                "This API key lacks the {} scope{}.",
                scope.as_str(),
                if self.principal.key.scopes.contains(&scope) {
                    " that its admin's current role allows (the role changed since the key was made)"
                } else {
                    ""
                }
            ),
        ))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let unauthorized = |detail: &str| Problem::new(http::StatusCode::UNAUTHORIZED, "unauthorized", detail);
        let invalid = |detail: &str| Problem::new(http::StatusCode::UNAUTHORIZED, "invalid-token", detail);
        let token =
            bearer(&parts.headers).ok_or_else(|| unauthorized("Send an API key as `Authorization: Bearer <key>`."))?;
        let ip = peer(&parts.extensions);
        // The gate authenticated it already; a route outside the gate authenticates here.
        let found = match parts.extensions.get::<Authenticated>() {
            Some(a) => a.0.clone(),
            None => state.api_keys.authenticate(token, ip),
        };
        match found {
            Ok(principal) => {
                // A suspended tenant is read-only: every method that changes something is
                // refused here, so no handler can forget it.
                if !reads(&parts.method, parts.uri.path()) && principal.tenant.status != "active" {
                    return Err(Problem::new(
                        http::StatusCode::FORBIDDEN,
                        "tenant-suspended",
                        format!(
                            "{} is {}: it is read-only until it is reactivated.",
                            principal.tenant.name, principal.tenant.status
                        ),
                    ));
                }
                let span = tracing::Span::current();
                span.record("tenant_id", principal.tenant.id.as_str());
                span.record("user_id", principal.user.id.as_str());
                let ctx = principal.ctx(state);
                Ok(Caller { principal, ctx })
            }
            Err(Refusal::Invalid) => Err(invalid("The API key is not valid: unknown, revoked or mistyped.")),
            Err(Refusal::Expired) => {
                Err(invalid("The API key has expired. Create or rotate a key in Portal → API keys."))
            }
            Err(Refusal::Address) => Err(Problem::new(
                http::StatusCode::FORBIDDEN,
                "address-not-allowed",
                format!("This API key may not be used from {ip}."),
            )),
            Err(Refusal::OwnerGone) => Err(Problem::new(
                http::StatusCode::FORBIDDEN,
                "key-owner-gone",
                "The admin this API key acts for is no longer an active member of the tenant; a tenant admin can create a new key.",
            )),
        }
    }
}
