//! `/v1/webhooks`: subscriptions, test events, secret rotation, the delivery log and
//! replays. Every handler calls the services Portal → Webhooks calls.
use axum::Json;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use app::api_keys::ApiScope;
use app::webhooks::{AttemptRow, MessageRow, SubscriptionRow};

use super::list::{Body, List, PageQuery, QueryPairs, list_params};
use super::problem::{ProblemDoc, Refusals};
use super::{Caller, Problem};

/// A webhook subscription.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub description: String,
    /// Event types and patterns (`order.*`, `*`).
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why Patchbay turned it off (every delivery failed for 5 days).
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed.
    pub failing_since: Option<String>,
    /// While a rotated-out secret also signs.
    pub previous_secret_until: Option<String>,
    pub created_at: String,
}

impl From<SubscriptionRow> for Webhook {
    fn from(s: SubscriptionRow) -> Self {
        Webhook {
            id: s.id,
            url: s.url,
            description: s.description,
            event_types: s.event_types,
            enabled: s.enabled,
            disabled_reason: s.disabled_reason,
            failing_since: s.failing_since,
            previous_secret_until: s.previous_secret_until,
            created_at: s.created_at,
        }
    }
}

/// A subscription with its signing secret, which is shown only in this answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_…`: verify `webhook-signature` with it.
    pub secret: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewWebhook {
    /// An https:// URL.
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// Event types or patterns, e.g. `["order.*", "service.active"]`.
    pub event_types: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookChange {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// `false` turns it off; `true` turns it on after a test event is accepted.
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretRotation {
    /// Hours the old secret keeps signing too (0 to 168).
    pub overlap_hours: u32,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplayWindow {
    /// Messages created at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Messages created before this time (RFC 3339).
    pub until: Option<String>,
    /// Only messages in this state: `delivered` or `dead`.
    pub status: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Replayed {
    /// Messages queued for delivery again.
    pub queued: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestDelivery {
    /// The message's id (its `webhook-id`).
    pub message_id: String,
    pub delivered: bool,
    pub status_code: Option<i32>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub attempt: i32,
    pub started_at: String,
    pub url: String,
    /// The HTTP status, when the endpoint answered.
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    /// `[name, value]` pairs.
    pub response_headers: Vec<(String, String)>,
    /// The first 1 KB of the response body.
    pub response_body: String,
    pub error: Option<String>,
}

/// One message: an event for one subscription, with its attempts (newest first).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// The `webhook-id` header, the same on every attempt and replay.
    pub id: String,
    pub event_type: String,
    /// `pending` (being delivered or waiting to retry), `delivered` or `dead`.
    pub status: String,
    pub attempts: i32,
    pub created_at: String,
    pub delivered_at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    /// The JSON body that was signed and sent.
    pub body: String,
    pub log: Vec<Attempt>,
}

fn attempt(a: AttemptRow) -> Attempt {
    Attempt {
        attempt: a.attempt,
        started_at: a.started_at,
        url: a.url,
        status_code: a.status_code,
        latency_ms: a.latency_ms,
        response_headers: a.response_headers,
        response_body: a.response_body,
        error: a.error,
    }
}

fn delivery(m: MessageRow) -> Delivery {
    Delivery {
        id: m.id,
        event_type: m.event_type,
        status: m.status,
        attempts: m.attempts,
        created_at: m.created_at,
        delivered_at: m.delivered_at,
        next_attempt_at: m.next_attempt_at,
        last_error: m.last_error,
        body: m.body,
        log: m.log.into_iter().map(attempt).collect(),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventType {
    pub name: String,
    pub description: String,
}

/// The event catalogue: every type a subscription can ask for.
#[utoipa::path(
    get,
    path = "/v1/webhook-event-types",
    operation_id = "listWebhookEventTypes",
    tag = "webhooks",
    security(("apiKey" = ["webhooks:manage"])),
    responses(Refusals, (status = 200, description = "Every event type", body = Vec<EventType>))
)]
pub async fn event_types(caller: Caller) -> Result<Json<Vec<EventType>>, Problem> {
    caller.require(ApiScope::WebhooksManage)?;
    Ok(Json(
        app::webhooks::EVENT_TYPES
            .iter()
            .map(|(n, d)| EventType { name: n.to_string(), description: d.to_string() })
            .collect(),
    ))
}

/// The tenant's subscriptions, newest first.
#[utoipa::path(
    get,
    path = "/v1/webhooks",
    operation_id = "listWebhooks",
    tag = "webhooks",
    params(PageQuery),
    security(("apiKey" = ["webhooks:manage"])),
    responses(
        Refusals,
        (status = 200, description = "One page of subscriptions", body = List<Webhook>),
        (status = 400, description = "The cursor is not valid", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is not valid; `errors` names it", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn list(caller: Caller, QueryPairs(query): QueryPairs) -> Result<Json<List<Webhook>>, Problem> {
    caller.require(ApiScope::WebhooksManage)?;
    let p = list_params(&query, &[], &[])?;
    let v = app::webhooks::ssr::view(&caller.ctx, &p.page).await?;
    Ok(Json(List::of(v.subscriptions, Webhook::from)))
}

/// Subscribe an endpoint. The answer holds the signing secret, shown only here.
#[utoipa::path(
    post,
    path = "/v1/webhooks",
    operation_id = "createWebhook",
    tag = "webhooks",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 h")),
    request_body = NewWebhook,
    security(("apiKey" = ["webhooks:manage"])),
    responses(
        Refusals,
        (status = 201, description = "The subscription and its secret", body = WebhookWithSecret, headers(("Location" = String, description = "The subscription's URL"))),
        (status = 409, description = "The edition's subscription cap is reached", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid; `errors` names it", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn create(caller: Caller, Body(body): Body<NewWebhook>) -> Result<Response, Problem> {
    caller.require(ApiScope::WebhooksManage)?;
    let input =
        app::webhooks::ssr::Input { url: body.url, description: body.description, event_types: body.event_types };
    let made = app::webhooks::ssr::create(&caller.ctx, &input).await?;
    let location = format!("/v1/webhooks/{}", made.subscription.id);
    Ok((
        http::StatusCode::CREATED,
        [(http::header::LOCATION, location)],
        Json(WebhookWithSecret { webhook: made.subscription.into(), secret: made.secret }),
    )
        .into_response())
}

/// One subscription.
#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}",
    operation_id = "getWebhook",
    tag = "webhooks",
    params(("id" = String, Path, description = "The subscription's id")),
    security(("apiKey" = ["webhooks:manage"])),
    responses(
        Refusals,
        (status = 200, description = "The subscription", body = Webhook),
        (status = 404, description = "No such subscription in the key's tenant", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn get(caller: Caller, Path(id): Path<String>) -> Result<Json<Webhook>, Problem> {
    caller.require(ApiScope::WebhooksManage)?;
    Ok(Json(app::webhooks::ssr::get(&caller.ctx, &id).await?.into()))
}

/// Change a subscription; fields left out keep their value. `enabled: true` turns it on
/// only after a test event is accepted (409 otherwise).
#[utoipa::path(
    patch,
    path = "/v1/webhooks/{id}",
    operation_id = "updateWebhook",
    tag = "webhooks",
    params(("id" = String, Path, description = "The subscription's id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 h")),
    request_body = WebhookChange,
    security(("apiKey" = ["webhooks:manage"])),
    responses(
        Refusals,
        (status = 200, description = "The subscription as changed", body = Webhook),
        (status = 404, description = "No such subscription in the key's tenant", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "The test event before turning it on was not accepted", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid; `errors` names it", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<WebhookChange>,
) -> Result<Json<Webhook>, Problem> {
    caller.require(ApiScope::WebhooksManage)?;
    let ctx = &caller.ctx;
    let now = app::webhooks::ssr::get(ctx, &id).await?;
    if body.url.is_some() || body.description.is_some() || body.event_types.is_some() {
        let input = app::webhooks::ssr::Input {
            url: body.url.unwrap_or(now.url),
            description: body.description.unwrap_or(now.description),
            event_types: body.event_types.unwrap_or(now.event_types),
        };
        app::webhooks::ssr::update(ctx, &id, &input).await?;
    }
    if let Some(on) = body.enabled {
        app::webhooks::ssr::set_enabled(ctx, &id, on).await?;
    }
    Ok(Json(app::webhooks::ssr::get(ctx, &id).await?.into()))
}

/// Delete a subscription with its delivery log.
#[utoipa::path(
    delete,
    path = "/v1/webhooks/{id}",
    operation_id = "deleteWebhook",
    tag = "webhooks",
    params(("id" = String, Path, description = "The subscription's id")),
    security(("apiKey" = ["webhooks:manage"])),
    responses(
        Refusals,
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such subscription in the key's tenant", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn delete(caller: Caller, Path(id): Path<String>) -> Result<http::StatusCode, Problem> {
    caller.require(ApiScope::WebhooksManage)?;
    app::webhooks::ssr::delete(&caller.ctx, &id).await?;
    Ok(http::StatusCode::NO_CONTENT)
}

/// Send a signed `webhook.test` event now and report what the endpoint answered.
#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/test",
    operation_id = "testWebhook",
    tag = "webhooks",
    params(("id" = String, Path, description = "The subscription's id")),
    security(("apiKey" = ["webhooks:manage"])),
    responses(
        Refusals,
        (status = 200, description = "What the endpoint answered", body = TestDelivery),
        (status = 404, description = "No such subscription in the key's tenant", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn test(caller: Caller, Path(id): Path<String>) -> Result<Json<TestDelivery>, Problem> {
    caller.require(ApiScope::WebhooksManage)?;
    let t = app::webhooks::ssr::send_test(&caller.ctx, &id).await?;
    Ok(Json(TestDelivery {
        message_id: t.message_id,
        delivered: t.delivered,
        status_code: t.status_code,
        error: t.error,
    }))
}

/// A new signing secret (shown only in this answer); the old one also signs for the overlap.
#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/rotate-secret",
    operation_id = "rotateWebhookSecret",
    tag = "webhooks",
    params(("id" = String, Path, description = "The subscription's id")),
    request_body = SecretRotation,
    security(("apiKey" = ["webhooks:manage"])),
    responses(
        Refusals,
        (status = 200, description = "The subscription and its new secret", body = WebhookWithSecret),
        (status = 404, description = "No such subscription in the key's tenant", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "The overlap is not 0 to 168 hours", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn rotate(
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<SecretRotation>,
) -> Result<Json<WebhookWithSecret>, Problem> {
    caller.require(ApiScope::WebhooksManage)?;
    let made = app::webhooks::ssr::rotate(&caller.ctx, &id, &body.overlap_hours.to_string()).await?;
    Ok(Json(WebhookWithSecret { webhook: made.subscription.into(), secret: made.secret }))
}

/// The subscription's messages, newest first, each with its attempts.
#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}/deliveries",
    operation_id = "listWebhookDeliveries",
    tag = "webhooks",
    params(("id" = String, Path, description = "The subscription's id"), PageQuery, ("filter" = Option<String>, Query, description = "`status:eq:pending`, `delivered` or `dead` (the dead-letter list).")),
    security(("apiKey" = ["webhooks:manage"])),
    responses(
        Refusals,
        (status = 200, description = "One page of messages", body = List<Delivery>),
        (status = 400, description = "The cursor is not valid", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription in the key's tenant", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is not valid; `errors` names it", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn deliveries(
    caller: Caller,
    Path(id): Path<String>,
    QueryPairs(query): QueryPairs,
) -> Result<Json<List<Delivery>>, Problem> {
    caller.require(ApiScope::WebhooksManage)?;
    let p = list_params(&query, &["status"], &[])?;
    let status = p.eq("status").unwrap_or_else(|| "all".into());
    let page = app::webhooks::ssr::deliveries(&caller.ctx, &id, &status, &p.page).await?;
    Ok(Json(List::of(page, delivery)))
}

fn time(field: &str, v: Option<String>) -> Result<Option<chrono::DateTime<chrono::Utc>>, Problem> {
    v.map(|s| {
        chrono::DateTime::parse_from_rfc3339(&s).map(|t| t.with_timezone(&chrono::Utc)).map_err(|_| {
            Problem::from(app::error::AppError::field(field, "Give an RFC 3339 time, e.g. 2026-12-01T00:00:00Z."))
        })
    })
    .transpose()
}

/// Send again the subscription's delivered or dead messages created in a time window
/// (at most 1,000 per request).
#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/replay",
    operation_id = "replayWebhookMessages",
    tag = "webhooks",
    params(("id" = String, Path, description = "The subscription's id")),
    request_body = ReplayWindow,
    security(("apiKey" = ["webhooks:manage"])),
    responses(
        Refusals,
        (status = 202, description = "How many messages were queued", body = Replayed),
        (status = 404, description = "No such subscription in the key's tenant", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid; `errors` names it", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn replay_window(
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<ReplayWindow>,
) -> Result<Response, Problem> {
    caller.require(ApiScope::WebhooksManage)?;
    let since = time("since", body.since)?;
    let until = time("until", body.until)?;
    let status = match body.status.as_deref() {
        None => None,
        Some(s @ ("delivered" | "dead")) => Some(s),
        Some(_) => return Err(app::error::AppError::field("status", "Replay `delivered` or `dead` messages.").into()),
    };
    let queued = app::webhooks::ssr::replay_window(&caller.ctx, &id, since, until, status).await?;
    Ok((http::StatusCode::ACCEPTED, Json(Replayed { queued })).into_response())
}

/// Send one delivered or dead message again (same `webhook-id`, a fresh round of attempts).
#[utoipa::path(
    post,
    path = "/v1/webhook-messages/{id}/replay",
    operation_id = "replayWebhookMessage",
    tag = "webhooks",
    params(("id" = String, Path, description = "The message's id (`msg_…`)")),
    security(("apiKey" = ["webhooks:manage"])),
    responses(
        Refusals,
        (status = 202, description = "Queued for delivery again"),
        (status = 404, description = "No such message in the key's tenant", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "The message is still being delivered", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn replay(caller: Caller, Path(id): Path<String>) -> Result<http::StatusCode, Problem> {
    caller.require(ApiScope::WebhooksManage)?;
    app::webhooks::ssr::replay(&caller.ctx, &id).await?;
    Ok(http::StatusCode::ACCEPTED)
}
