//! Webhook services: subscriptions (create, change, turn off and on, rotate the secret,
//! delete), the delivery log, test events, replays, the outbox fan-out, and housekeeping
//! (the edition's log retention, turning off a subscription that fails for 5 days).
pub mod deliver;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use entity::{edition, membership, outbox_event, tenant, user, webhook_attempt, webhook_message, webhook_subscription};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

pub use deliver::{DeliverWebhookHandler, check_url, new_secret, refused, signature};

use super::*;
use crate::audit::ssr::{Actor, NewEvent, record};
use crate::auth::permissions::Role;
use crate::auth::ssr::Ctx;
use crate::core::db::BeginWrite;
use crate::core::page::{Keyset, PageRequest};
use crate::core::scope::{Owner, Scope};
use crate::error::FieldErrors;
use crate::state::AppState;

/// A subscription fails every attempt this long before Patchbay turns it off.
pub const DISABLE_AFTER_DAYS: i64 = 5;
const MAX_URL: usize = 2048;
const MAX_DESCRIPTION: usize = 200;
/// Replays one bulk request may queue.
pub const MAX_BULK_REPLAY: u64 = 1000;

/// What a subscription form (or the API) sends.
pub struct Input {
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
}

fn fmt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The stored patterns of a subscription.
pub fn patterns_of(s: &webhook_subscription::Model) -> Result<Vec<String>, AppError> {
    serde_json::from_str(&s.event_types)
        .map_err(|e| AppError::corrupt("webhook_subscriptions", &s.id, format!("event_types: {e}")))
}

pub fn row(s: &webhook_subscription::Model) -> Result<SubscriptionRow, AppError> {
    Ok(SubscriptionRow {
        id: s.id.clone(),
        url: s.url.clone(),
        description: s.description.clone(),
        event_types: patterns_of(s)?,
        enabled: s.enabled,
        disabled_reason: s.disabled_reason.clone(),
        failing_since: s.failing_since.map(fmt),
        previous_secret_until: s.previous_secret_until.filter(|u| *u > Utc::now()).map(fmt),
        created_at: fmt(s.created_at),
    })
}

fn catalogue() -> Vec<(String, String)> {
    EVENT_TYPES.iter().map(|(t, d)| (t.to_string(), d.to_string())).collect()
}

/// Check a form; every problem is reported at once, by field.
fn validate(input: &Input, allow_private: bool) -> Result<(String, String, Vec<String>), AppError> {
    let mut fields = FieldErrors::new();
    let url = input.url.trim().to_string();
    if url.len() > MAX_URL {
        fields.insert("url".into(), format!("Keep the URL under {MAX_URL} characters."));
    } else if let Err(e) = check_url(&url, allow_private) {
        fields.insert("url".into(), e);
    }
    let description = input.description.trim().to_string();
    if description.chars().count() > MAX_DESCRIPTION {
        fields.insert("description".into(), format!("Keep the description under {MAX_DESCRIPTION} characters."));
    }
    let mut patterns = BTreeSet::new();
    for p in input.event_types.iter().flat_map(|p| p.split(',')).map(str::trim).filter(|p| !p.is_empty()) {
        if EVENT_TYPES.iter().any(|(t, _)| matches(p, t)) && (p == "*" || !p.contains('*') || p.ends_with(".*")) {
            patterns.insert(p.to_string());
        } else {
            fields.insert(
                "event_types".into(),
                format!("{p} is not an event type (see the catalogue) or a pattern like order.* or *."),
            );
        }
    }
    if patterns.is_empty() && !fields.contains_key("event_types") {
        fields.insert("event_types".into(), "Choose at least one event type.".into());
    }
    match AppError::from_fields(fields) {
        Some(e) => Err(e),
        None => Ok((url, description, patterns.into_iter().collect())),
    }
}

async fn edition_of(db: &impl ConnectionTrait, t: &tenant::Model) -> Result<edition::Model, AppError> {
    edition::Entity::find_by_id(t.edition_id.clone()).one(db).await?.ok_or_else(|| {
        AppError::internal("edition", format!("tenants row {}: edition {} is missing", t.id, t.edition_id))
    })
}

/// Portal → Webhooks: one page of subscriptions and what the edition allows.
pub async fn view(ctx: &Ctx, req: &PageRequest) -> Result<WebhooksView, AppError> {
    let t = ctx.tenant()?;
    let db = ctx.db();
    let scope = ctx.scope()?;
    let page = Keyset::newest(webhook_subscription::Column::CreatedAt, webhook_subscription::Column::Id)
        .page(db, scope.find::<webhook_subscription::Entity>(), req)
        .await?;
    let ed = edition_of(db, t).await?;
    let info = page.page_info;
    let items = page.items.iter().map(row).collect::<Result<Vec<_>, _>>()?;
    Ok(WebhooksView {
        tenant_name: t.name.clone(),
        edition: ed.name.clone(),
        subscriptions: Page { items, page_info: info },
        count: scope.count::<webhook_subscription::Entity>(db).await?,
        cap: ed.max_webhooks,
        log_days: ed.webhook_log_days,
        can_manage: crate::auth::ssr::writable(ctx) && ctx.can(Perm::IntegrationsManage),
        event_types: catalogue(),
    })
}

/// Create a subscription; returns it with its secret (shown once).
pub async fn create(ctx: &Ctx, input: &Input) -> Result<CreatedWebhook, AppError> {
    let t = ctx.tenant()?;
    let (url, description, patterns) = validate(input, ctx.state.settings.webhooks_allow_private)?;
    let secret = new_secret();
    let sealed = ctx.state.sealer.seal(&secret).map_err(|e| AppError::internal("seal webhook secret", e))?;
    let scope = ctx.scope()?;
    let txn = ctx.db().begin_write().await?;
    crate::core::quota::lock_tenant(&txn, &t.id).await?;
    let ed = edition_of(&txn, t).await?;
    let count = scope.count::<webhook_subscription::Entity>(&txn).await?;
    if count >= ed.max_webhooks.max(0) as u64 {
        return Err(AppError::Conflict(format!(
            "The {} edition allows {} webhook subscriptions and this tenant has {count}. Delete one you no longer use, or ask us about a larger edition.",
            ed.name, ed.max_webhooks
        )));
    }
    let now = Utc::now();
    let m = webhook_subscription::ActiveModel {
        id: Set(crate::core::new_id()),
        tenant_id: Set(t.id.clone()),
        url: Set(url.clone()),
        description: Set(description.clone()),
        event_types: Set(serde_json::json!(patterns).to_string()),
        enabled: Set(true),
        secret_sealed: Set(sealed),
        previous_secret_sealed: Set(None),
        previous_secret_until: Set(None),
        disabled_reason: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    record(
        &txn,
        NewEvent::tenant(
            &t.id,
            ctx.actor(),
            "webhook.created",
            "webhook_subscription",
            Some(m.id.clone()),
            serde_json::json!({"url": url, "description": description, "event_types": patterns}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(CreatedWebhook { subscription: row(&m)?, secret })
}

async fn owned(
    ctx: &Ctx,
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<(Scope, webhook_subscription::Model), AppError> {
    let scope = ctx.scope()?;
    let s =
        scope.find_by_id::<webhook_subscription::Entity, _>(conn, id.to_string()).await?.ok_or(AppError::NotFound)?;
    Ok((scope, s))
}

/// Change the URL, description and event types.
pub async fn update(ctx: &Ctx, id: &str, input: &Input) -> Result<SubscriptionRow, AppError> {
    let (url, description, patterns) = validate(input, ctx.state.settings.webhooks_allow_private)?;
    let txn = ctx.db().begin_write().await?;
    let (_, s) = owned(ctx, &txn, id).await?;
    let mut am: webhook_subscription::ActiveModel = s.clone().into();
    am.url = Set(url.clone());
    am.description = Set(description.clone());
    am.event_types = Set(serde_json::json!(patterns).to_string());
    am.updated_at = Set(Utc::now());
    let m = am.update(&txn).await?;
    record(
        &txn,
        NewEvent::tenant(
            &s.tenant_id,
            ctx.actor(),
            "webhook.updated",
            "webhook_subscription",
            Some(s.id.clone()),
            serde_json::json!({"url": url, "description": description, "event_types": patterns, "previous_url": s.url}),
        ),
    )
    .await?;
    txn.commit().await?;
    row(&m)
}

/// Turn off, or on again after a test event is accepted.
pub async fn set_enabled(ctx: &Ctx, id: &str, enabled: bool) -> Result<TestOutcome, AppError> {
    let (scope, s) = owned(ctx, ctx.db(), id).await?;
    let outcome = if enabled {
        let test = send_test_to(ctx, &s).await?;
        if !test.delivered {
            return Err(AppError::Conflict(format!(
                "The test event was not accepted ({}), so the subscription stays off. Fix the endpoint and try again.",
                test.error.as_deref().unwrap_or("no answer")
            )));
        }
        test
    } else {
        TestOutcome { message_id: String::new(), delivered: false, status_code: None, error: None }
    };
    let txn = ctx.db().begin_write().await?;
    let mut q = scope
        .update_many::<webhook_subscription::Entity>()
        .col_expr(webhook_subscription::Column::Enabled, Expr::value(enabled))
        .col_expr(webhook_subscription::Column::UpdatedAt, Expr::value(Utc::now()));
    if enabled {
        q = q
            .col_expr(webhook_subscription::Column::DisabledReason, Expr::value(Option::<String>::None))
            .col_expr(webhook_subscription::Column::FailingSince, Expr::value(Option::<DateTime<Utc>>::None));
    }
    q.filter(webhook_subscription::Column::Id.eq(&s.id)).exec(&txn).await?;
    record(
        &txn,
        NewEvent::tenant(
            &s.tenant_id,
            ctx.actor(),
            if enabled { "webhook.enabled" } else { "webhook.disabled" },
            "webhook_subscription",
            Some(s.id.clone()),
            serde_json::json!({"url": s.url, "test_message": outcome.message_id}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Make a message for `sub` (not queued) with this body.
async fn new_message(
    conn: &impl ConnectionTrait,
    sub: &webhook_subscription::Model,
    event_type: &str,
    body: String,
) -> Result<webhook_message::Model, AppError> {
    let now = Utc::now();
    Ok(webhook_message::ActiveModel {
        id: Set(format!("msg_{}", uuid::Uuid::now_v7().simple())),
        tenant_id: Set(sub.tenant_id.clone()),
        subscription_id: Set(sub.id.clone()),
        event_type: Set(event_type.to_string()),
        body: Set(body),
        status: Set("pending".into()),
        attempts: Set(0),
        round_attempts: Set(0),
        round_started_at: Set(now),
        next_attempt_at: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        delivered_at: Set(None),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?)
}

/// The JSON every receiver gets: `{type, version, id, timestamp, tenantId, data}`, with the
/// event's fields in camelCase like the rest of the API.
pub fn envelope(
    event_id: &str,
    event_type: &str,
    tenant_id: &str,
    at: DateTime<Utc>,
    data: serde_json::Value,
) -> String {
    serde_json::json!({
        "type": event_type,
        "version": 1,
        "id": event_id,
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "tenantId": tenant_id,
        "data": camel(data),
    })
    .to_string()
}

fn camel(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let mut out = String::with_capacity(k.len());
                    let mut up = false;
                    for c in k.chars() {
                        if c == '_' {
                            up = true;
                        } else if up {
                            out.extend(c.to_uppercase());
                            up = false;
                        } else {
                            out.push(c);
                        }
                    }
                    (out, camel(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(camel).collect()),
        v => v,
    }
}

async fn send_test_to(ctx: &Ctx, s: &webhook_subscription::Model) -> Result<TestOutcome, AppError> {
    let now = Utc::now();
    let body = envelope(
        &format!("evt_test_{}", uuid::Uuid::now_v7().simple()),
        TEST_EVENT,
        &s.tenant_id,
        now,
        serde_json::json!({"subscription_id": s.id, "sent_by": ctx.user.email, "message": "A test event from Patchbay."}),
    );
    let msg = new_message(ctx.db(), s, TEST_EVENT, body).await?;
    let a = match deliver::deliver_now(&ctx.state, s, &msg).await {
        Ok(a) => a,
        Err(e) => {
            deliver::give_up(ctx.db(), &msg.tenant_id, &msg.id, &e.to_string()).await?;
            return Err(e);
        }
    };
    Ok(TestOutcome { message_id: msg.id, delivered: a.delivered, status_code: a.status_code, error: a.error })
}

/// "Send test event": one signed `webhook.test` delivery now, logged like any other.
pub async fn send_test(ctx: &Ctx, id: &str) -> Result<TestOutcome, AppError> {
    let (_, s) = owned(ctx, ctx.db(), id).await?;
    send_test_to(ctx, &s).await
}

/// A new secret; the old one keeps signing too for `overlap_hours` (0 to 168).
pub async fn rotate(ctx: &Ctx, id: &str, overlap_hours: &str) -> Result<CreatedWebhook, AppError> {
    let hours = match overlap_hours.trim().parse::<i64>() {
        Ok(h) if (0..=168).contains(&h) => h,
        _ => return Err(AppError::field("overlap_hours", "Choose an overlap from none to 7 days.")),
    };
    let secret = new_secret();
    let sealed = ctx.state.sealer.seal(&secret).map_err(|e| AppError::internal("seal webhook secret", e))?;
    let txn = ctx.db().begin_write().await?;
    let (_, s) = owned(ctx, &txn, id).await?;
    let mut am: webhook_subscription::ActiveModel = s.clone().into();
    am.secret_sealed = Set(sealed);
    if hours > 0 {
        am.previous_secret_sealed = Set(Some(s.secret_sealed.clone()));
        am.previous_secret_until = Set(Some(Utc::now() + Duration::hours(hours)));
    } else {
        am.previous_secret_sealed = Set(None);
        am.previous_secret_until = Set(None);
    }
    am.updated_at = Set(Utc::now());
    let m = am.update(&txn).await?;
    record(
        &txn,
        NewEvent::tenant(
            &s.tenant_id,
            ctx.actor(),
            "webhook.secret_rotated",
            "webhook_subscription",
            Some(s.id.clone()),
            serde_json::json!({"url": s.url, "overlap_hours": hours}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(CreatedWebhook { subscription: row(&m)?, secret })
}

/// Delete a subscription with its messages and log.
pub async fn delete(ctx: &Ctx, id: &str) -> Result<(), AppError> {
    let txn = ctx.db().begin_write().await?;
    let (scope, s) = owned(ctx, &txn, id).await?;
    let messages = Query::select()
        .column(webhook_message::Column::Id)
        .from(webhook_message::Entity)
        .and_where(webhook_message::Column::SubscriptionId.eq(&s.id))
        .to_owned();
    scope
        .delete_many::<webhook_attempt::Entity>()
        .filter(webhook_attempt::Column::MessageId.in_subquery(messages))
        .exec(&txn)
        .await?;
    scope
        .delete_many::<webhook_message::Entity>()
        .filter(webhook_message::Column::SubscriptionId.eq(&s.id))
        .exec(&txn)
        .await?;
    scope
        .delete_many::<webhook_subscription::Entity>()
        .filter(webhook_subscription::Column::Id.eq(&s.id))
        .exec(&txn)
        .await?;
    record(
        &txn,
        NewEvent::tenant(
            &s.tenant_id,
            ctx.actor(),
            "webhook.deleted",
            "webhook_subscription",
            Some(s.id.clone()),
            serde_json::json!({"url": s.url}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

fn attempt_row(a: webhook_attempt::Model) -> Result<AttemptRow, AppError> {
    let headers: Vec<(String, String)> = serde_json::from_str(&a.response_headers)
        .map_err(|e| AppError::corrupt("webhook_attempts", &a.id, format!("response_headers: {e}")))?;
    Ok(AttemptRow {
        attempt: a.attempt,
        started_at: fmt(a.started_at),
        url: a.url,
        status_code: a.status_code,
        latency_ms: a.latency_ms,
        response_headers: headers,
        response_body: a.response_body,
        error: a.error,
    })
}

/// Messages of a subscription, newest first, each with its attempts (two queries per page).
pub async fn messages(
    conn: &impl ConnectionTrait,
    scope: &Scope,
    subscription_id: &str,
    status: &str,
    req: &PageRequest,
) -> Result<Page<MessageRow>, AppError> {
    let mut q =
        scope.find::<webhook_message::Entity>().filter(webhook_message::Column::SubscriptionId.eq(subscription_id));
    match status {
        "all" => {}
        "pending" | "delivered" | "dead" => q = q.filter(webhook_message::Column::Status.eq(status)),
        _ => return Err(AppError::field("status", "Show all, pending, delivered or dead messages.")),
    }
    let page =
        Keyset::newest(webhook_message::Column::CreatedAt, webhook_message::Column::Id).page(conn, q, req).await?;
    let ids: Vec<String> = page.items.iter().map(|m| m.id.clone()).collect();
    let mut logs: HashMap<String, Vec<AttemptRow>> = HashMap::new();
    for a in scope
        .find::<webhook_attempt::Entity>()
        .filter(webhook_attempt::Column::MessageId.is_in(ids))
        .order_by_desc(webhook_attempt::Column::Attempt)
        .all(conn)
        .await?
    {
        logs.entry(a.message_id.clone()).or_default().push(attempt_row(a)?);
    }
    Ok(page.map(|m| MessageRow {
        log: logs.remove(&m.id).unwrap_or_default(),
        id: m.id,
        event_type: m.event_type,
        status: m.status,
        attempts: m.attempts,
        created_at: fmt(m.created_at),
        delivered_at: m.delivered_at.map(fmt),
        next_attempt_at: m.next_attempt_at.map(fmt),
        last_error: m.last_error,
        body: m.body,
    }))
}

/// Portal → Webhooks → one subscription: its settings and its delivery log.
pub async fn detail(ctx: &Ctx, id: &str, status: &str, req: &PageRequest) -> Result<WebhookDetail, AppError> {
    let t = ctx.tenant()?;
    let db = ctx.db();
    let (scope, s) = owned(ctx, db, id).await?;
    let messages = messages(db, &scope, &s.id, status, req).await?;
    let count = |st: &'static str| {
        let scope = scope.clone();
        let id = s.id.clone();
        async move {
            use sea_orm::PaginatorTrait;
            scope
                .find::<webhook_message::Entity>()
                .filter(webhook_message::Column::SubscriptionId.eq(id))
                .filter(webhook_message::Column::Status.eq(st))
                .count(db)
                .await
        }
    };
    Ok(WebhookDetail {
        subscription: row(&s)?,
        can_manage: crate::auth::ssr::writable(ctx) && ctx.can(Perm::IntegrationsManage),
        status: status.to_string(),
        messages,
        dead: count("dead").await?,
        pending: count("pending").await?,
        log_days: edition_of(db, t).await?.webhook_log_days,
        event_types: catalogue(),
    })
}

/// Send a delivered or dead message again: same id and body, a fresh round of attempts.
pub async fn replay(ctx: &Ctx, message_id: &str) -> Result<(), AppError> {
    let scope = ctx.scope()?;
    let txn = ctx.db().begin_write().await?;
    let m = scope
        .find_by_id::<webhook_message::Entity, _>(&txn, message_id.to_string())
        .await?
        .ok_or(AppError::NotFound)?;
    if m.status == "pending" {
        return Err(AppError::Conflict("This message is still being delivered; wait for it to finish.".into()));
    }
    restart(&txn, &scope, &m).await?;
    record(
        &txn,
        NewEvent::tenant(
            &m.tenant_id,
            ctx.actor(),
            "webhook.replayed",
            "webhook_message",
            Some(m.id.clone()),
            serde_json::json!({"subscription_id": m.subscription_id, "event_type": m.event_type}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

async fn restart(conn: &impl ConnectionTrait, scope: &Scope, m: &webhook_message::Model) -> Result<bool, AppError> {
    let now = Utc::now();
    let res = scope
        .update_many::<webhook_message::Entity>()
        .col_expr(webhook_message::Column::Status, Expr::value("pending"))
        .col_expr(webhook_message::Column::RoundAttempts, Expr::value(0))
        .col_expr(webhook_message::Column::RoundStartedAt, Expr::value(now))
        .col_expr(webhook_message::Column::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(webhook_message::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_message::Column::Id.eq(&m.id))
        .filter(webhook_message::Column::Status.ne("pending"))
        .exec(conn)
        .await?;
    if res.rows_affected == 1 {
        deliver::enqueue(conn, &m.id, &m.tenant_id, &crate::core::new_id()).await?;
    }
    Ok(res.rows_affected == 1)
}

/// Replay the subscription's messages created in `[since, until)` (`status`: only those in
/// it, e.g. `dead`); at most [`MAX_BULK_REPLAY`] per call. Returns how many were queued.
pub async fn replay_window(
    ctx: &Ctx,
    id: &str,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    status: Option<&str>,
) -> Result<u64, AppError> {
    let txn = ctx.db().begin_write().await?;
    let (scope, s) = owned(ctx, &txn, id).await?;
    let mut q = scope
        .find::<webhook_message::Entity>()
        .filter(webhook_message::Column::SubscriptionId.eq(&s.id))
        .filter(webhook_message::Column::Status.ne("pending"));
    if let Some(st) = status {
        q = q.filter(webhook_message::Column::Status.eq(st));
    }
    if let Some(t) = since {
        q = q.filter(webhook_message::Column::CreatedAt.gte(t));
    }
    if let Some(t) = until {
        q = q.filter(webhook_message::Column::CreatedAt.lt(t));
    }
    let found = q.order_by_asc(webhook_message::Column::CreatedAt).limit(MAX_BULK_REPLAY).all(&txn).await?;
    let mut n = 0;
    for m in &found {
        if restart(&txn, &scope, m).await? {
            n += 1;
        }
    }
    record(
        &txn,
        NewEvent::tenant(
            &s.tenant_id,
            ctx.actor(),
            "webhook.replayed",
            "webhook_subscription",
            Some(s.id.clone()),
            serde_json::json!({"messages": n, "since": since, "until": until, "status": status}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(n)
}

/// Turn an outbox event into one queued message per enabled subscription that asked for
/// its type, in the transaction that wrote the event (so it is fanned out exactly once,
/// with the change it reports).
pub async fn fan_out(conn: &impl ConnectionTrait, ev: &outbox_event::Model) -> Result<usize, AppError> {
    let scope = Scope::worker(Owner::Tenant(ev.tenant_id.clone()));
    let subs = scope
        .find::<webhook_subscription::Entity>()
        .filter(webhook_subscription::Column::Enabled.eq(true))
        .all(conn)
        .await?;
    let mut n = 0;
    let data: serde_json::Value = serde_json::from_str(&ev.payload)
        .map_err(|e| AppError::corrupt("outbox_events", &ev.id.to_string(), format!("payload: {e}")))?;
    for s in subs {
        if !patterns_of(&s)?.iter().any(|p| matches(p, &ev.event_type)) {
            continue;
        }
        let body = envelope(&format!("evt_{}", ev.id), &ev.event_type, &ev.tenant_id, ev.created_at, data.clone());
        let m = new_message(conn, &s, &ev.event_type, body).await?;
        deliver::enqueue(conn, &m.id, &m.tenant_id, "0").await?;
        n += 1;
    }
    outbox_event::Entity::update_many()
        .col_expr(outbox_event::Column::DeliveredAt, Expr::value(Some(Utc::now())))
        .filter(outbox_event::Column::Id.eq(ev.id))
        .exec(conn)
        .await?;
    Ok(n)
}

/// Housekeeping: forget messages older than the tenant's edition keeps them.
pub async fn prune(db: &sea_orm::DatabaseConnection) -> Result<u64, AppError> {
    let mut n = 0;
    for ed in edition::Entity::find().all(db).await? {
        let cutoff = Utc::now() - Duration::days(i64::from(ed.webhook_log_days.max(1)));
        let tenants = Query::select()
            .column(tenant::Column::Id)
            .from(tenant::Entity)
            .and_where(tenant::Column::EditionId.eq(&ed.id))
            .to_owned();
        let old = Query::select()
            .column(webhook_message::Column::Id)
            .from(webhook_message::Entity)
            .and_where(webhook_message::Column::CreatedAt.lt(cutoff))
            .and_where(webhook_message::Column::Status.ne("pending"))
            .and_where(webhook_message::Column::TenantId.in_subquery(tenants.clone()))
            .to_owned();
        webhook_attempt::Entity::delete_many()
            .filter(webhook_attempt::Column::MessageId.in_subquery(old))
            .exec(db)
            .await?;
        n += webhook_message::Entity::delete_many()
            .filter(webhook_message::Column::CreatedAt.lt(cutoff))
            .filter(webhook_message::Column::Status.ne("pending"))
            .filter(webhook_message::Column::TenantId.in_subquery(tenants))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(n)
}

/// Housekeeping: turn off subscriptions that have failed every attempt for
/// [`DISABLE_AFTER_DAYS`] days, and tell the tenant's admins. Returns how many.
pub async fn disable_failing(state: &AppState) -> Result<u64, AppError> {
    let cutoff = Utc::now() - Duration::days(DISABLE_AFTER_DAYS);
    let failing = webhook_subscription::Entity::find()
        .filter(webhook_subscription::Column::Enabled.eq(true))
        .filter(webhook_subscription::Column::FailingSince.lt(cutoff))
        .all(&state.db)
        .await?;
    let mut n = 0;
    for s in failing {
        let scope = Scope::worker(Owner::Tenant(s.tenant_id.clone()));
        let txn = state.db.begin_write().await?;
        let reason = format!(
            "Turned off by Patchbay: every delivery failed for {DISABLE_AFTER_DAYS} days (since {}).",
            s.failing_since.map(fmt).unwrap_or_default()
        );
        let res = scope
            .update_many::<webhook_subscription::Entity>()
            .col_expr(webhook_subscription::Column::Enabled, Expr::value(false))
            .col_expr(webhook_subscription::Column::DisabledReason, Expr::value(reason.clone()))
            .col_expr(webhook_subscription::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(webhook_subscription::Column::Id.eq(&s.id))
            .filter(webhook_subscription::Column::Enabled.eq(true))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            continue;
        }
        let last_error = scope
            .find::<webhook_message::Entity>()
            .filter(webhook_message::Column::SubscriptionId.eq(&s.id))
            .filter(webhook_message::Column::LastError.is_not_null())
            .order_by_desc(webhook_message::Column::UpdatedAt)
            .one(&txn)
            .await?
            .and_then(|m| m.last_error)
            .unwrap_or_else(|| "(none recorded)".into());
        record(
            &txn,
            NewEvent::tenant(
                &s.tenant_id,
                Actor::system("webhooks"),
                "webhook.disabled",
                "webhook_subscription",
                Some(s.id.clone()),
                serde_json::json!({"url": s.url, "reason": reason}),
            ),
        )
        .await?;
        tell_admins(&txn, state, &scope, &s, &last_error).await?;
        txn.commit().await?;
        n += 1;
    }
    Ok(n)
}

async fn tell_admins(
    conn: &impl ConnectionTrait,
    state: &AppState,
    scope: &Scope,
    s: &webhook_subscription::Model,
    last_error: &str,
) -> Result<(), AppError> {
    use crate::mail::templates::{Mail, WebhookDisabledMail};
    let Some(t) = tenant::Entity::find_by_id(s.tenant_id.clone()).one(conn).await? else {
        return Ok(());
    };
    let admins: Vec<String> = scope
        .find::<membership::Entity>()
        .filter(membership::Column::Role.eq(Role::TenantAdmin.as_str()))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let admins = user::Entity::find()
        .filter(user::Column::Id.is_in(admins))
        .filter(user::Column::Disabled.eq(false))
        .all(conn)
        .await?;
    let webhooks_url = format!("{}/portal/webhooks/{}", state.settings.public_url.trim_end_matches('/'), s.id);
    for a in admins {
        crate::mail::ssr::queue(
            conn,
            state,
            crate::mail::ssr::Recipient {
                email: a.email.clone(),
                user_id: Some(a.id.clone()),
                tenant_id: Some(t.id.clone()),
            },
            Mail::WebhookDisabled(WebhookDisabledMail {
                tenant_name: t.name.clone(),
                url: s.url.clone(),
                description: if s.description.is_empty() { "no description".into() } else { s.description.clone() },
                failing_since: s.failing_since.map(fmt).unwrap_or_default(),
                last_error: last_error.to_string(),
                webhooks_url: webhooks_url.clone(),
            }),
        )
        .await?;
    }
    Ok(())
}

/// One subscription of the caller's tenant.
pub async fn get(ctx: &Ctx, id: &str) -> Result<SubscriptionRow, AppError> {
    let (_, s) = owned(ctx, ctx.db(), id).await?;
    row(&s)
}

/// The delivery log of one subscription (the API's list).
pub async fn deliveries(ctx: &Ctx, id: &str, status: &str, req: &PageRequest) -> Result<Page<MessageRow>, AppError> {
    let (scope, s) = owned(ctx, ctx.db(), id).await?;
    messages(ctx.db(), &scope, &s.id, status, req).await
}
