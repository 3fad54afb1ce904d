//! Webhooks: Portal → Webhooks and `/v1/webhooks`. A tenant subscribes an HTTPS endpoint to
//! event types (wildcards like `order.*`); every event the orders and provisioning domains
//! write to the outbox becomes one message per matching subscription, delivered on the job
//! queue and signed per the Standard Webhooks specification (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>` with a `whsec_`
//! secret). Failed attempts are retried with backoff, then dead-lettered; every attempt is
//! logged; messages can be replayed.
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::auth::permissions::Perm;
use crate::core::page::Page;
use crate::error::AppError;

/// The event catalogue: every type a subscription can ask for, and what it reports. Later
/// domains (incidents, config, flags, invoices) add theirs here.
pub const EVENT_TYPES: &[(&str, &str)] = &[
    ("order.submitted", "An order was placed."),
    ("order.accepted", "An order waiting for approval was approved."),
    ("order.rejected", "An order was rejected (by validation or by an approver)."),
    ("order.cancelled", "An order was cancelled."),
    ("order.queued", "An order is queued for provisioning."),
    ("order.provisioning", "Provisioning of an order started."),
    ("order.active", "Every service of an order is active."),
    ("order.failed", "An order failed."),
    ("order.suspended", "An order's services were suspended."),
    ("order.terminated", "An order's services were terminated."),
    ("service.provisioning.started", "Provisioning of a service started."),
    ("service.provider.pending", "A provider is working on a leg of a service."),
    ("service.leg.active", "A leg of a service is up at its provider."),
    ("service.leg.updated", "A provider reported progress on a leg."),
    ("service.leg.failed", "A leg failed at its provider."),
    ("service.leg.rolled_back", "A leg was released after a failure."),
    ("service.active", "A service is active."),
    ("service.failed", "A service failed and was rolled back."),
    ("service.intervention.opened", "Our operations team was asked to look at a service."),
    ("service.modified", "A service's bandwidth changed."),
    ("service.suspended", "A service was suspended."),
    ("service.resumed", "A service was resumed."),
    ("service.terminated", "A service was terminated."),
    ("inventory.drift", "A provider's inventory disagrees with a service."),
    ("billing.metering.started", "Usage metering of a service started."),
    (TEST_EVENT, "A test event, sent on request from Portal → Webhooks or the API."),
];

/// The type of the event "Send test event" sends.
pub const TEST_EVENT: &str = "webhook.test";

/// Whether `pattern` (an event type, `prefix.*` or `*`) matches `event`.
pub fn matches(pattern: &str, event: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some("") => true,
        Some(prefix) => prefix.ends_with('.') && event.starts_with(prefix),
        None => pattern == event,
    }
}

/// Overlap choices when rotating a secret (hours the old secret keeps signing too).
pub const OVERLAP_CHOICES: [(u32, &str); 4] =
    [(0, "Old secret stops now"), (1, "Both sign for 1 h"), (24, "Both sign for 24 h"), (168, "Both sign for 7 days")];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRow {
    pub id: String,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why it was turned off, when Patchbay turned it off for failing.
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed.
    pub failing_since: Option<String>,
    /// While a rotated-out secret still signs too.
    pub previous_secret_until: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhooksView {
    pub tenant_name: String,
    pub edition: String,
    pub subscriptions: Page<SubscriptionRow>,
    pub count: u64,
    pub cap: i32,
    pub log_days: i32,
    pub can_manage: bool,
    /// The catalogue: (type, description).
    pub event_types: Vec<(String, String)>,
}

/// A subscription just made (or its secret just rotated): the secret is shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedWebhook {
    pub subscription: SubscriptionRow,
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRow {
    pub attempt: i32,
    pub started_at: String,
    pub url: String,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub response_headers: Vec<(String, String)>,
    /// The first 1 KB.
    pub response_body: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRow {
    /// The `webhook-id` the receiver sees.
    pub id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i32,
    pub created_at: String,
    pub delivered_at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub body: String,
    /// Its attempts, newest first.
    pub log: Vec<AttemptRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDetail {
    pub subscription: SubscriptionRow,
    pub can_manage: bool,
    /// The messages shown: `all`, `pending`, `delivered` or `dead`.
    pub status: String,
    pub messages: Page<MessageRow>,
    pub dead: u64,
    pub pending: u64,
    pub log_days: i32,
    pub event_types: Vec<(String, String)>,
}

/// What a test delivery got back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestOutcome {
    pub message_id: String,
    pub delivered: bool,
    pub status_code: Option<i32>,
    pub error: Option<String>,
}

#[server(endpoint = "webhooks/list")]
pub async fn list_webhooks(cursor: Option<String>) -> Result<WebhooksView, AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require(Perm::IntegrationsView).await?;
            ssr::view(&ctx, &crate::core::page::PageRequest::new(cursor)).await
        }
        .await,
    )
}

#[server(endpoint = "webhooks/create")]
pub async fn create_webhook(
    url: String,
    description: String,
    event_types: Option<Vec<String>>,
) -> Result<CreatedWebhook, AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require(Perm::IntegrationsManage).await?;
            let input = ssr::Input { url, description, event_types: event_types.unwrap_or_default() };
            let made = ssr::create(&ctx, &input).await?;
            flash_secret(&ctx, &made).await?;
            Ok(made)
        }
        .await,
    )
}

#[server(endpoint = "webhooks/get")]
pub async fn get_webhook(
    id: String,
    cursor: Option<String>,
    status: Option<String>,
) -> Result<WebhookDetail, AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require(Perm::IntegrationsView).await?;
            let req = crate::core::page::PageRequest::new(cursor);
            ssr::detail(&ctx, &id, status.as_deref().unwrap_or("all"), &req).await
        }
        .await,
    )
}

#[server(endpoint = "webhooks/update")]
pub async fn update_webhook(
    id: String,
    url: String,
    description: String,
    event_types: Option<Vec<String>>,
) -> Result<SubscriptionRow, AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require(Perm::IntegrationsManage).await?;
            let input = ssr::Input { url, description, event_types: event_types.unwrap_or_default() };
            ssr::update(&ctx, &id, &input).await
        }
        .await,
    )
}

/// Turn a subscription off, or on again: on again only after a test event is accepted.
#[server(endpoint = "webhooks/set_enabled")]
pub async fn set_webhook_enabled(id: String, enabled: String) -> Result<TestOutcome, AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require(Perm::IntegrationsManage).await?;
            ssr::set_enabled(&ctx, &id, enabled == "true").await
        }
        .await,
    )
}

#[server(endpoint = "webhooks/test")]
pub async fn send_test_event(id: String) -> Result<TestOutcome, AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require(Perm::IntegrationsManage).await?;
            ssr::send_test(&ctx, &id).await
        }
        .await,
    )
}

#[server(endpoint = "webhooks/rotate")]
pub async fn rotate_webhook_secret(id: String, overlap_hours: String) -> Result<CreatedWebhook, AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require(Perm::IntegrationsManage).await?;
            let made = ssr::rotate(&ctx, &id, &overlap_hours).await?;
            flash_secret(&ctx, &made).await?;
            Ok(made)
        }
        .await,
    )
}

#[server(endpoint = "webhooks/delete")]
pub async fn delete_webhook(id: String) -> Result<(), AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require(Perm::IntegrationsManage).await?;
            ssr::delete(&ctx, &id).await?;
            if is_plain_form_post() {
                leptos_axum::redirect("/portal/webhooks");
            }
            Ok(())
        }
        .await,
    )
}

/// Send one message again (same `webhook-id`), with a fresh round of attempts.
#[server(endpoint = "webhooks/replay")]
pub async fn replay_message(message_id: String) -> Result<(), AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require(Perm::IntegrationsManage).await?;
            ssr::replay(&ctx, &message_id).await
        }
        .await,
    )
}

/// Send again every dead-lettered message of a subscription created in the last
/// `within_hours` hours (empty: all of them). Returns how many.
#[server(endpoint = "webhooks/replay_dead")]
pub async fn replay_dead(id: String, within_hours: String) -> Result<u64, AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require(Perm::IntegrationsManage).await?;
            let since = match within_hours.trim() {
                "" => None,
                h => match h.parse::<i64>() {
                    Ok(h) if (1..=24 * 90).contains(&h) => Some(chrono::Utc::now() - chrono::Duration::hours(h)),
                    _ => return Err(AppError::field("within_hours", "Choose a window from 1 hour to 90 days.")),
                },
            };
            ssr::replay_window(&ctx, &id, since, None, Some("dead")).await
        }
        .await,
    )
}

/// Without JavaScript the page reloads after the form post: the secret reaches it once, in
/// the session's flash message.
#[cfg(feature = "ssr")]
async fn flash_secret(ctx: &crate::auth::ssr::Ctx, made: &CreatedWebhook) -> Result<(), AppError> {
    use crate::auth::ssr::*;
    if is_plain_form_post() {
        let msg = format!(
            "Signing secret for {}. Copy it now; it is not shown again: {}",
            made.subscription.url, made.secret
        );
        ctx.session()?.insert(KEY_FLASH, msg).await.map_err(|e| AppError::internal("session", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_types_prefixes_and_everything() {
        assert!(matches("order.submitted", "order.submitted"));
        assert!(!matches("order.submitted", "order.cancelled"));
        assert!(matches("order.*", "order.cancelled"));
        assert!(matches("service.*", "service.leg.active"));
        assert!(matches("service.leg.*", "service.leg.active"));
        assert!(!matches("service.leg.*", "service.active"));
        assert!(!matches("order.*", "orders.x"));
        assert!(!matches("ord*", "order.submitted"));
        assert!(matches("*", "anything.at.all"));
    }

    #[test]
    fn the_catalogue_names_each_type_once() {
        for (t, _) in EVENT_TYPES {
            assert_eq!(EVENT_TYPES.iter().filter(|(x, _)| x == t).count(), 1, "{t}");
        }
    }
}
