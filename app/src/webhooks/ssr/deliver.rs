//! Delivering one message: the SSRF guard, Standard Webhooks signing, the HTTP attempt and
//! its log row, the retry schedule and the dead-letter, and the job that runs it all.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use entity::{webhook_attempt, webhook_message, webhook_subscription};
use hmac::{Hmac, Mac};
use rand::Rng;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, QueryFilter};
use sha2::Sha256;

use crate::core::scope::{Owner, Scope};
use crate::error::AppError;
use crate::jobs::{self as queue, JobHandler, JobPayload, Step};
use crate::state::AppState;

/// Attempts in one round (the first send, or a replay) before the message is dead-lettered.
pub const ROUND_ATTEMPTS: i32 = 10;
/// A round also ends a day after it began.
pub const ROUND_HOURS: i64 = 24;
/// A receiver gets this long to answer.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// How much of a response body the log keeps.
pub const BODY_KEPT: usize = 1024;
const HEADERS_KEPT: usize = 30;
const MAX_DELAY: Duration = Duration::from_secs(3600);

pub const DELIVER_WEBHOOK: &str = "deliver_webhook";

/// The job that delivers one message (its retries are the same job, waiting).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeliverWebhook {
    pub message_id: String,
}

impl JobPayload for DeliverWebhook {
    const KIND: &'static str = DELIVER_WEBHOOK;
    // Counts only steps that broke (a database error); failed deliveries wait and retry
    // on the message's own schedule.
    const MAX_ATTEMPTS: i32 = 5;
}

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill(&mut b);
    format!("whsec_{}", STANDARD.encode(b))
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed by the secret's bytes.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let raw = secret.strip_prefix("whsec_").ok_or("the secret does not start with whsec_")?;
    let key = STANDARD.decode(raw).map_err(|e| format!("the secret is not base64: {e}"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// Why an address may not receive webhooks (`None`: it may).
pub fn refused(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, d] = ip.octets();
    Some(match (a, b, c, d) {
        (169, 254, 169, 254) | (100, 100, 100, 200) | (192, 0, 0, 192) => "a cloud metadata address",
        (0, ..) => "an unspecified address (0.0.0.0/8)",
        (127, ..) => "a loopback address",
        (10, ..) => "a private address (10.0.0.0/8)",
        (172, 16..=31, ..) => "a private address (172.16.0.0/12)",
        (192, 168, ..) => "a private address (192.168.0.0/16)",
        (169, 254, ..) => "a link-local address",
        (100, 64..=127, ..) => "a carrier-grade NAT address (100.64.0.0/10)",
        (224..=239, ..) => "a multicast address",
        (255, 255, 255, 255) => "the broadcast address",
        (240..=255, ..) => "a reserved address (240.0.0.0/4)",
        (192, 0, 0, _) => "an IETF protocol address (192.0.0.0/24)",
        (198, 18..=19, ..) => "a benchmarking address (198.18.0.0/15)",
        (192, 0, 2, _) | (198, 51, 100, _) | (203, 0, 113, _) => "a documentation address",
        _ => return None,
    })
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refused_v4(v4).map(|_| "an IPv4-mapped address of a refused IPv4 address");
    }
    Some(match s {
        [0, 0, 0, 0, 0, 0, 0, 0] => "an unspecified address",
        [0, 0, 0, 0, 0, 0, 0, 1] => "a loopback address",
        // IPv4-compatible (deprecated) and NAT64: judged by the IPv4 address inside.
        [0, 0, 0, 0, 0, 0, hi, lo] | [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => {
            return refused_v4(embedded(hi, lo)).map(|_| "an IPv6 address embedding a refused IPv4 address");
        }
        [0x2002, hi, lo, ..] => {
            return refused_v4(embedded(hi, lo)).map(|_| "a 6to4 address embedding a refused IPv4 address");
        }
        [0x2001, 0, ..] => "a Teredo address",
        [0x2001, 0xdb8, ..] => "a documentation address",
        [x, ..] if x & 0xfe00 == 0xfc00 => "a private (unique local) address",
        [x, ..] if x & 0xffc0 == 0xfe80 => "a link-local address",
        [x, ..] if x & 0xffc0 == 0xfec0 => "a site-local address",
        [x, ..] if x & 0xff00 == 0xff00 => "a multicast address",
        _ => return None,
    })
}

/// Check a subscription's URL as written: the scheme, and a literal address's class.
/// Names are checked when they are resolved, at every delivery.
pub fn check_url(raw: &str, allow_private: bool) -> Result<url::Url, String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("This is not a URL ({e})."))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return Err("Use an https:// URL: events are sent only over TLS.".into()),
        s => return Err(format!("Use an https:// URL, not {s}://.")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("Leave credentials out of the URL; verify the signature instead.".into());
    }
    if url.fragment().is_some() {
        return Err("Leave the #fragment out of the URL.".into());
    }
    let literal = match url.host() {
        None => return Err("The URL needs a host.".into()),
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if !allow_private && (d == "localhost" || d.ends_with(".localhost")) {
                return Err("Patchbay does not deliver to localhost.".into());
            }
            None
        }
    };
    if let Some(ip) = literal
        && !allow_private
        && let Some(why) = refused(ip)
    {
        return Err(format!("Patchbay does not deliver to {ip}: it is {why}."));
    }
    Ok(url)
}

/// Resolves a host for a delivery and keeps only the addresses that may receive webhooks;
/// the connection goes to one of those (reqwest connects to what the resolver returns,
/// with no second lookup), so a name that re-resolves elsewhere cannot slip past.
struct GuardedResolver;

#[derive(Debug)]
struct Refusal(String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = all.iter().copied().filter(|a| refused(a.ip()).is_none()).collect();
            if allowed.is_empty() {
                // The tenant sees only that the name was refused: which internal address a
                // name has is not theirs to learn. The detail goes to the operator's log.
                let why: Vec<String> =
                    all.iter().map(|a| format!("{} is {}", a.ip(), refused(a.ip()).unwrap_or("allowed"))).collect();
                tracing::info!(%host, addresses = %why.join(", "), "webhook delivery refused by the SSRF guard");
                return Err(Box::new(Refusal(format!(
                    "refused {host}: it resolves only to addresses Patchbay does not deliver to (internal, private or reserved)"
                ))) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client of deliveries: no redirects, no proxies, a 5 s timeout, and (unless the
/// operator allows private receivers) the guarded resolver.
fn client(allow_private: bool) -> Result<&'static reqwest::Client, AppError> {
    static GUARDED: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    static OPEN: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    let cell = if allow_private { &OPEN } else { &GUARDED };
    cell.get_or_init(|| {
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .user_agent("Patchbay-Webhooks/1.0");
        if !allow_private {
            b = b.dns_resolver(Arc::new(GuardedResolver));
        }
        b.build().map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| AppError::internal("webhook HTTP client", e))
}

/// The wait before retry `n` of a round (1-based): about 1 s, 4 s, 16 s, 64 s, … (from a
/// base of 1 s), ±25 % jitter, at most an hour.
pub fn retry_delay(base_ms: u64, n: i32) -> Duration {
    let exp = base_ms.saturating_mul(4u64.saturating_pow(n.clamp(1, 20) as u32 - 1));
    let ms = Ord::min(exp, MAX_DELAY.as_millis() as u64);
    let jitter = rand::thread_rng().gen_range(0.75..1.25);
    Ord::min(Duration::from_millis((ms as f64 * jitter) as u64), MAX_DELAY)
}

/// The secrets that sign now: the current one, and the previous one during its overlap.
fn signing_secrets(state: &AppState, sub: &webhook_subscription::Model) -> Result<Vec<String>, AppError> {
    let open = |sealed: &str| {
        state
            .sealer
            .open(sealed)
            .map_err(|e| AppError::corrupt("webhook_subscriptions", &sub.id, format!("secret: {e}")))
    };
    let mut out = vec![open(&sub.secret_sealed)?];
    if let (Some(prev), Some(until)) = (&sub.previous_secret_sealed, sub.previous_secret_until)
        && until > Utc::now()
    {
        out.push(open(prev)?);
    }
    Ok(out)
}

/// What one attempt got.
pub struct Attempted {
    pub delivered: bool,
    pub status_code: Option<i32>,
    pub error: Option<String>,
}

/// Send `msg` to `sub` once and log the attempt (and count it on the message). Does not
/// decide what happens next.
pub async fn attempt(
    state: &AppState,
    sub: &webhook_subscription::Model,
    msg: &webhook_message::Model,
) -> Result<Attempted, AppError> {
    let number = msg.attempts + 1;
    let started_at = Utc::now();
    let started = Instant::now();
    let timestamp = started_at.timestamp();
    let signatures = signing_secrets(state, sub)?
        .iter()
        .map(|s| signature(s, &msg.id, timestamp, &msg.body))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AppError::corrupt("webhook_subscriptions", &sub.id, format!("secret: {e}")))?;
    let allow_private = state.settings.webhooks_allow_private;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut body = String::new();
    let (status_code, error) = match check_url(&sub.url, allow_private) {
        Err(e) => (None, Some(e)),
        Ok(url) => {
            let trace =
                format!("00-{}-{}-01", uuid::Uuid::new_v4().simple(), &uuid::Uuid::new_v4().simple().to_string()[..16]);
            let sent = client(allow_private)?
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", &msg.id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signatures.join(" "))
                .header("patchbay-event-type", &msg.event_type)
                .header("patchbay-tenant-id", &msg.tenant_id)
                .header("patchbay-attempt", number.to_string())
                .header("traceparent", trace)
                .body(msg.body.clone())
                .send()
                .await;
            match sent {
                Err(e) => (None, Some(describe(&e))),
                Ok(mut resp) => {
                    let code = resp.status().as_u16() as i32;
                    headers = resp
                        .headers()
                        .iter()
                        .take(HEADERS_KEPT)
                        .map(|(k, v)| {
                            (k.to_string(), String::from_utf8_lossy(v.as_bytes()).chars().take(200).collect())
                        })
                        .collect();
                    let mut bytes = Vec::new();
                    let mut read_error = None;
                    while bytes.len() < BODY_KEPT {
                        match resp.chunk().await {
                            Ok(Some(c)) => bytes.extend_from_slice(&c),
                            Ok(None) => break,
                            Err(e) => {
                                read_error = Some(describe(&e));
                                break;
                            }
                        }
                    }
                    bytes.truncate(BODY_KEPT);
                    body = String::from_utf8_lossy(&bytes).into_owned();
                    let error = if (200..300).contains(&code) {
                        None
                    } else {
                        Some(read_error.unwrap_or_else(|| format!("The endpoint answered {code}.")))
                    };
                    (Some(code), error)
                }
            }
        }
    };
    let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    let error = error.map(|e| e.chars().take(500).collect::<String>());
    webhook_attempt::ActiveModel {
        id: Set(crate::core::new_id()),
        tenant_id: Set(msg.tenant_id.clone()),
        message_id: Set(msg.id.clone()),
        attempt: Set(number),
        url: Set(sub.url.clone()),
        started_at: Set(started_at),
        latency_ms: Set(latency_ms),
        status_code: Set(status_code),
        response_headers: Set(serde_json::json!(headers).to_string()),
        response_body: Set(body),
        error: Set(error.clone()),
    }
    .insert(&state.db)
    .await?;
    let scope = Scope::worker(Owner::Tenant(msg.tenant_id.clone()));
    scope
        .update_many::<webhook_message::Entity>()
        .col_expr(webhook_message::Column::Attempts, Expr::col(webhook_message::Column::Attempts).add(1))
        .col_expr(webhook_message::Column::RoundAttempts, Expr::col(webhook_message::Column::RoundAttempts).add(1))
        .col_expr(webhook_message::Column::LastError, Expr::value(error.clone()))
        .col_expr(webhook_message::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(webhook_message::Column::Id.eq(&msg.id))
        .exec(&state.db)
        .await?;
    Ok(Attempted { delivered: error.is_none(), status_code, error })
}

/// reqwest's error and its causes, in one line ("connection refused", "refused host: …").
fn describe(e: &reqwest::Error) -> String {
    let mut out = if e.is_timeout() {
        format!("No answer within {} s.", TIMEOUT.as_secs())
    } else if e.is_connect() {
        "Could not connect".to_string()
    } else {
        "The request failed".to_string()
    };
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut seen = Vec::new();
    while let Some(s) = src {
        let text = s.to_string();
        if !seen.contains(&text) {
            seen.push(text);
        }
        src = s.source();
    }
    if !seen.is_empty() && !e.is_timeout() {
        out = format!("{out}: {}", seen.join(": "));
    }
    out
}

/// Settle a message after an attempt: delivered, another try at `next`, or dead.
async fn settle(
    conn: &impl ConnectionTrait,
    msg: &webhook_message::Model,
    status: &str,
    next: Option<DateTime<Utc>>,
) -> Result<(), AppError> {
    let now = Utc::now();
    let scope = Scope::worker(Owner::Tenant(msg.tenant_id.clone()));
    let mut q = scope
        .update_many::<webhook_message::Entity>()
        .col_expr(webhook_message::Column::Status, Expr::value(status))
        .col_expr(webhook_message::Column::NextAttemptAt, Expr::value(next))
        .col_expr(webhook_message::Column::UpdatedAt, Expr::value(now));
    if status == "delivered" {
        q = q
            .col_expr(webhook_message::Column::DeliveredAt, Expr::value(Some(now)))
            .col_expr(webhook_message::Column::LastError, Expr::value(Option::<String>::None));
    }
    q.filter(webhook_message::Column::Id.eq(&msg.id)).exec(conn).await?;
    Ok(())
}

/// A success clears the subscription's failing streak; a failure starts one.
async fn streak(conn: &impl ConnectionTrait, sub: &webhook_subscription::Model, ok: bool) -> Result<(), AppError> {
    let scope = Scope::worker(Owner::Tenant(sub.tenant_id.clone()));
    let q = scope.update_many::<webhook_subscription::Entity>().filter(webhook_subscription::Column::Id.eq(&sub.id));
    if ok {
        q.col_expr(webhook_subscription::Column::FailingSince, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(webhook_subscription::Column::FailingSince.is_not_null())
            .exec(conn)
            .await?;
    } else {
        q.col_expr(webhook_subscription::Column::FailingSince, Expr::value(Some(Utc::now())))
            .filter(webhook_subscription::Column::FailingSince.is_null())
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// One attempt now, outside the queue (a test event): delivered or dead, no retries.
pub async fn deliver_now(
    state: &AppState,
    sub: &webhook_subscription::Model,
    msg: &webhook_message::Model,
) -> Result<Attempted, AppError> {
    let a = attempt(state, sub, msg).await?;
    settle(&state.db, msg, if a.delivered { "delivered" } else { "dead" }, None).await?;
    streak(&state.db, sub, a.delivered).await?;
    Ok(a)
}

/// Give up on a message: dead, with the reason (a replay sends it again).
pub async fn give_up(conn: &impl ConnectionTrait, tenant_id: &str, msg_id: &str, error: &str) -> Result<(), AppError> {
    Scope::worker(Owner::Tenant(tenant_id.to_string()))
        .update_many::<webhook_message::Entity>()
        .col_expr(webhook_message::Column::Status, Expr::value("dead"))
        .col_expr(webhook_message::Column::LastError, Expr::value(error.chars().take(500).collect::<String>()))
        .col_expr(webhook_message::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(webhook_message::Column::Id.eq(msg_id))
        .filter(webhook_message::Column::Status.eq("pending"))
        .exec(conn)
        .await?;
    Ok(())
}

/// Queue a delivery job for a message; `round` keeps each (re)play's job apart from earlier
/// ones (a finished job with the same key would otherwise be returned, and nothing would run).
pub async fn enqueue(conn: &impl ConnectionTrait, msg_id: &str, tenant_id: &str, round: &str) -> Result<(), AppError> {
    queue::enqueue(
        conn,
        &DeliverWebhook { message_id: msg_id.to_string() },
        Some(tenant_id),
        Some(msg_id),
        &format!("webhook:{msg_id}:{round}"),
        Utc::now(),
    )
    .await?;
    Ok(())
}

pub struct DeliverWebhookHandler;

#[async_trait::async_trait]
impl JobHandler for DeliverWebhookHandler {
    fn kind(&self) -> &'static str {
        DELIVER_WEBHOOK
    }

    async fn step(&self, state: &AppState, job: &entity::job::Model) -> Result<Step, AppError> {
        let DeliverWebhook { message_id } = queue::payload::<DeliverWebhook>(job)?;
        let tenant = job.tenant_id.clone().ok_or_else(|| AppError::corrupt("job", &job.id, "no tenant"))?;
        let scope = Scope::worker(Owner::Tenant(tenant));
        // Gone with its subscription, or settled already (a step that ran twice).
        let Some(msg) = scope.find_by_id::<webhook_message::Entity, _>(&state.db, message_id).await? else {
            return Ok(Step::Done);
        };
        if msg.status != "pending" {
            return Ok(Step::Done);
        }
        let now = Utc::now();
        if let Some(at) = msg.next_attempt_at
            && at > now + chrono::Duration::milliseconds(20)
        {
            return Ok(Step::Wait((at - now).to_std().unwrap_or_default()));
        }
        let Some(sub) =
            scope.find_by_id::<webhook_subscription::Entity, _>(&state.db, msg.subscription_id.clone()).await?
        else {
            return Ok(Step::Done);
        };
        if !sub.enabled {
            scope
                .update_many::<webhook_message::Entity>()
                .col_expr(webhook_message::Column::Status, Expr::value("dead"))
                .col_expr(
                    webhook_message::Column::LastError,
                    Expr::value("Not sent: the subscription is disabled. Replay it once it is enabled again."),
                )
                .col_expr(webhook_message::Column::UpdatedAt, Expr::value(now))
                .filter(webhook_message::Column::Id.eq(&msg.id))
                .exec(&state.db)
                .await?;
            return Ok(Step::Done);
        }
        let a = attempt(state, &sub, &msg).await?;
        streak(&state.db, &sub, a.delivered).await?;
        if a.delivered {
            settle(&state.db, &msg, "delivered", None).await?;
            return Ok(Step::Done);
        }
        let round = msg.round_attempts + 1;
        let out_of_time = Utc::now() - msg.round_started_at >= chrono::Duration::hours(ROUND_HOURS);
        if round >= ROUND_ATTEMPTS || out_of_time {
            settle(&state.db, &msg, "dead", None).await?;
            tracing::info!(message = %msg.id, subscription = %sub.id, attempts = round, "webhook message dead-lettered");
            return Ok(Step::Done);
        }
        let delay = retry_delay(state.settings.webhook_retry_base_ms, round);
        let next = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
        settle(&state.db, &msg, "pending", Some(next)).await?;
        Ok(Step::Wait(delay))
    }

    /// A step that kept breaking (a secret that cannot be opened, the database): the
    /// message is dead, with the reason, instead of pending for ever.
    async fn on_failed(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        job: &entity::job::Model,
        error: &str,
    ) -> Result<Option<String>, AppError> {
        if let (Ok(DeliverWebhook { message_id }), Some(tenant)) =
            (queue::payload::<DeliverWebhook>(job), job.tenant_id.as_deref())
        {
            give_up(txn, tenant, &message_id, error).await?;
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_standard_webhooks_test_vector() {
        // The example of the Standard Webhooks specification.
        let sig = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig.as_deref(), Ok("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
        assert!(signature("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, "{}").is_err());
        assert!(new_secret().starts_with("whsec_"));
        assert_ne!(new_secret(), new_secret());
    }

    #[test]
    fn refuses_every_internal_address_class() {
        for ip in [
            "127.0.0.1",
            "127.255.0.1",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.10.10",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "198.18.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "fec0::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2001:db8::1",
            "2001::1",
        ] {
            let parsed: IpAddr = ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"));
            assert!(refused(parsed).is_some(), "{ip} should be refused");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            let parsed: IpAddr = ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"));
            assert_eq!(refused(parsed), None, "{ip} should be allowed");
        }
    }

    #[test]
    fn urls_need_https_and_no_internal_literal() {
        assert!(check_url("https://hooks.example.com/patchbay", false).is_ok());
        assert!(check_url("http://hooks.example.com/", false).is_err());
        assert!(check_url("http://hooks.example.com/", true).is_ok());
        assert!(check_url("ftp://hooks.example.com/", true).is_err());
        assert!(check_url("https://user:pw@hooks.example.com/", false).is_err());
        for u in [
            "https://127.0.0.1/",
            "https://2130706433/",
            "https://0x7f.1/",
            "https://[::1]/",
            "https://[::ffff:7f00:1]/",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/",
            "https://api.localhost/",
            "https://localhost./",
        ] {
            assert!(check_url(u, false).is_err(), "{u} should be refused");
        }
        assert!(check_url("http://127.0.0.1:9/", true).is_ok());
    }

    #[test]
    fn retries_back_off_by_four_up_to_an_hour() {
        for (n, base) in [(1, 1000.0), (2, 4000.0), (3, 16000.0), (4, 64000.0)] {
            let d = retry_delay(1000, n).as_millis() as f64;
            assert!((0.75 * base..=1.25 * base).contains(&d), "retry {n}: {d} ms");
        }
        assert!(retry_delay(1000, 9) <= MAX_DELAY);
        assert!(retry_delay(1000, 9) >= Duration::from_secs(2700));
    }
}
