//! Mail services: queueing through the outbox and the job queue, delivery, the
//! outbox listing, preferences and signed unsubscribe links.
use base64::Engine;
use chrono::{DateTime, Utc};
use entity::{mail_outbox, mail_preference, user};
use hmac::{Hmac, Mac};
use sea_orm::sea_query::Condition;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use sha2::Sha256;

use super::templates::{Footer, Mail};
use super::transport::Envelope;
use super::{MailKind, OutboxPage, OutboxRow, PreferenceRow, SEND_MAIL, UnsubscribeView};
use crate::auth::ssr::new_id;
use crate::error::AppError;
use crate::jobs::{self as queue, JobHandler, JobPayload, Step};
use crate::state::AppState;

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks unsubscribe links: HMAC-SHA256 under a key derived from
/// `PATCHBAY_SECRET_KEY` for this one purpose. Debug shows nothing.
#[derive(Clone)]
pub struct LinkSigner {
    /// Signs new links and verifies them.
    current: HmacSha256,
    /// Verifies only: links signed under the previous secret (`PATCHBAY_SECRET_KEY_PREVIOUS`)
    /// and links from before the HKDF derivation, so a key rotation does not break the
    /// unsubscribe links already in people's mailboxes.
    verify_only: Vec<HmacSha256>,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner([redacted])")
    }
}

const TOKEN_VERSION: &str = "u1";
const LINK_LABEL: &[u8] = b"patchbay/mail-unsubscribe-links/v1";

impl LinkSigner {
    /// Derive the link key from the app secret with HKDF under its own purpose label, so it
    /// is independent of the key that seals secrets at rest.
    pub fn new(secret: &str) -> Self {
        Self {
            current: Self::key(&crate::crypto::derive_key(secret, LINK_LABEL)),
            verify_only: vec![Self::legacy(secret)],
        }
    }

    /// Also accept links signed under the previous secret during a key rotation.
    pub fn with_previous(mut self, previous: &str) -> Self {
        self.verify_only.push(Self::key(&crate::crypto::derive_key(previous, LINK_LABEL)));
        self.verify_only.push(Self::legacy(previous));
        self
    }

    fn key(key: &[u8; 32]) -> HmacSha256 {
        // HMAC pads a key shorter than the block with zeros: the same MAC as the 32 bytes.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(key);
        <HmacSha256 as hmac::digest::KeyInit>::new(&block.into())
    }

    /// The key of links sent before the HKDF derivation (SHA-256 of label and secret).
    fn legacy(secret: &str) -> HmacSha256 {
        use sha2::Digest;
        let mut h = Sha256::new();
        h.update(b"patchbay/mail-unsubscribe-links/v1\0");
        h.update(secret.as_bytes());
        Self::key(&h.finalize().into())
    }

    fn mac(&self) -> HmacSha256 {
        self.current.clone()
    }

    /// A token saying "`user_id` may unsubscribe from `kind`".
    pub fn sign(&self, user_id: &str, kind: MailKind) -> String {
        let payload = format!("{TOKEN_VERSION}.{user_id}.{}", kind.key());
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}", b64.encode(payload), b64.encode(mac.finalize().into_bytes()))
    }

    /// The (user id, kind) a token was signed for; `None` when it is not ours.
    pub fn verify(&self, token: &str) -> Option<(String, MailKind)> {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (p, s) = token.split_once('.')?;
        let payload = b64.decode(p).ok()?;
        let sig = b64.decode(s).ok()?;
        let signed_by_us = std::iter::once(&self.current).chain(&self.verify_only).any(|key| {
            let mut mac = key.clone();
            mac.update(&payload);
            mac.verify_slice(&sig).is_ok()
        });
        if !signed_by_us {
            return None;
        }
        let payload = String::from_utf8(payload).ok()?;
        let mut parts = payload.splitn(3, '.');
        if parts.next()? != TOKEN_VERSION {
            return None;
        }
        let user_id = parts.next()?.to_string();
        let kind = MailKind::parse(parts.next()?)?;
        Some((user_id, kind))
    }
}

/// Who a message goes to.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub email: String,
    /// Their account, when they have one (needed for preferences and unsubscribing).
    pub user_id: Option<String>,
    pub tenant_id: Option<String>,
}

/// The body as stored (sealed) in the outbox until it is sent.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredBody {
    text: String,
    html: String,
    unsubscribe_post_url: Option<String>,
}

/// Whether `user_id` wants mail of `kind` (mandatory kinds always).
pub async fn wants(conn: &impl ConnectionTrait, user_id: &str, kind: MailKind) -> Result<bool, AppError> {
    if kind.mandatory() {
        return Ok(true);
    }
    Ok(mail_preference::Entity::find_by_id((user_id.to_string(), kind.key().to_string()))
        .one(conn)
        .await?
        .is_none_or(|p| p.enabled))
}

/// Queue one message: an outbox row and a `send_mail` job, in the caller's transaction
/// when `conn` is one. Returns the outbox id, or `None` when nothing will be sent
/// (SMTP is not configured, or the recipient turned this kind off: then the row is
/// kept as `suppressed`).
pub async fn queue(
    conn: &impl ConnectionTrait,
    state: &AppState,
    to: Recipient,
    mail: Mail,
) -> Result<Option<String>, AppError> {
    if state.mailer.is_none() {
        return Ok(None);
    }
    let kind = mail.kind();
    let now = Utc::now();
    let id = new_id();
    let mut row = mail_outbox::ActiveModel {
        id: Set(id.clone()),
        kind: Set(kind.key().into()),
        recipient: Set(to.email.clone()),
        user_id: Set(to.user_id.clone()),
        tenant_id: Set(to.tenant_id.clone()),
        subject: Set(mail.subject()),
        template: Set(mail.template().into()),
        body_sealed: Set(None),
        status: Set("queued".into()),
        attempts: Set(0),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
    };
    if let Some(uid) = &to.user_id
        && !wants(conn, uid, kind).await?
    {
        row.status = Set("suppressed".into());
        row.last_error = Set(Some("The recipient turned this kind of mail off.".into()));
        row.insert(conn).await?;
        return Ok(None);
    }
    let base = state.settings.public_url.trim_end_matches('/').to_string();
    let (page_url, post_url) = match (&to.user_id, kind.mandatory()) {
        (Some(uid), false) => {
            let token = state.links.sign(uid, kind);
            (Some(format!("{base}/unsubscribe/{token}")), Some(format!("{base}/mail/unsubscribe/{token}")))
        }
        _ => (None, None),
    };
    let footer = Footer {
        unsubscribe_url: page_url,
        kind_label: kind.label(),
        preferences_url: format!("{base}/account/notifications"),
    };
    let (text, html) = mail.render(&footer)?;
    let body = serde_json::to_string(&StoredBody { text, html, unsubscribe_post_url: post_url })
        .map_err(|e| AppError::internal("mail body", e))?;
    row.body_sealed = Set(Some(state.sealer.seal(&body).map_err(|e| AppError::internal("seal mail", e))?));
    row.insert(conn).await?;
    queue::enqueue(
        conn,
        &SendMail { outbox_id: id.clone() },
        to.tenant_id.as_deref(),
        Some(&id),
        &format!("mail:{id}"),
        now,
    )
    .await?;
    Ok(Some(id))
}

/// The job handler of `send_mail`: one delivery attempt of one outbox row. Idempotent:
/// a row already sent (or failed, or suppressed) is left alone.
pub async fn run_mail_job(state: &AppState, job: &entity::job::Model) -> Result<Step, AppError> {
    let SendMail { outbox_id } = queue::payload::<SendMail>(job)?;
    let Some(row) = mail_outbox::Entity::find_by_id(outbox_id.clone()).one(&state.db).await? else {
        return Ok(Step::Fail(format!("Outbox row {outbox_id} no longer exists.")));
    };
    if row.status != "queued" {
        return Ok(Step::Done);
    }
    let Some(mailer) = &state.mailer else {
        return Ok(Step::Retry("SMTP is not configured on this server (PATCHBAY_SMTP_URL).".into()));
    };
    let body: StoredBody = match row
        .body_sealed
        .as_deref()
        .ok_or_else(|| "no body".to_string())
        .and_then(|s| state.sealer.open(s))
        .and_then(|s| serde_json::from_str(&s).map_err(|e| e.to_string()))
    {
        Ok(b) => b,
        Err(e) => {
            let error = format!("Outbox row {}: the stored body cannot be read ({e}).", row.id);
            settle(state, &row, "failed", Some(error.clone())).await?;
            return Ok(Step::Fail(error));
        }
    };
    let envelope = Envelope {
        to: row.recipient.clone(),
        subject: row.subject.clone(),
        text: body.text,
        html: body.html,
        unsubscribe_post_url: body.unsubscribe_post_url,
    };
    match mailer.send(&envelope).await {
        Ok(()) => {
            settle(state, &row, "sent", None).await?;
            Ok(Step::Done)
        }
        Err(e) => {
            let last = job.attempts >= job.max_attempts;
            settle(state, &row, if last { "failed" } else { "queued" }, Some(e.clone())).await?;
            Ok(Step::Retry(e))
        }
    }
}

/// Record an attempt's outcome on the outbox row; a sent message's body is dropped.
async fn settle(
    state: &AppState,
    row: &mail_outbox::Model,
    status: &str,
    error: Option<String>,
) -> Result<(), AppError> {
    let mut am: mail_outbox::ActiveModel = row.clone().into();
    am.status = Set(status.into());
    am.attempts = Set(row.attempts + 1);
    if status == "sent" {
        am.sent_at = Set(Some(Utc::now()));
        am.body_sealed = Set(None);
        am.last_error = Set(None);
    } else {
        am.last_error = Set(error);
    }
    am.update(&state.db).await?;
    Ok(())
}

fn fmt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A cursor is `<created_at as RFC 3339 with microseconds>~<id>` of the last row shown.
fn encode_cursor(r: &mail_outbox::Model) -> String {
    format!("{}~{}", r.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true), r.id)
}

fn decode_cursor(s: &str) -> Result<(DateTime<Utc>, String), AppError> {
    let bad = || AppError::field("before", "That page link is not valid; start from the first page.");
    let (t, id) = s.split_once('~').ok_or_else(bad)?;
    let t = DateTime::parse_from_rfc3339(t).map_err(|_| bad())?.with_timezone(&Utc);
    Ok((t, id.to_string()))
}

/// A page of the outbox, newest first, keyset-paginated on (created_at, id).
pub async fn outbox_page(
    conn: &impl ConnectionTrait,
    before: Option<&str>,
    limit: u64,
) -> Result<OutboxPage, AppError> {
    let mut q = mail_outbox::Entity::find()
        .order_by_desc(mail_outbox::Column::CreatedAt)
        .order_by_desc(mail_outbox::Column::Id)
        .limit(limit + 1);
    if let Some(c) = before.filter(|c| !c.is_empty()) {
        let (t, id) = decode_cursor(c)?;
        q = q.filter(
            Condition::any()
                .add(mail_outbox::Column::CreatedAt.lt(t))
                .add(Condition::all().add(mail_outbox::Column::CreatedAt.eq(t)).add(mail_outbox::Column::Id.lt(id))),
        );
    }
    let mut rows = q.all(conn).await?;
    let next = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(encode_cursor)
    } else {
        None
    };
    Ok(OutboxPage {
        rows: rows
            .into_iter()
            .map(|r| OutboxRow {
                id: r.id,
                kind: r.kind,
                recipient: r.recipient,
                subject: r.subject,
                status: r.status,
                attempts: r.attempts,
                last_error: r.last_error,
                created_at: fmt(r.created_at),
                sent_at: r.sent_at.map(fmt),
            })
            .collect(),
        next,
    })
}

/// Every kind with the user's choice (mandatory kinds shown as always on).
pub async fn preferences(conn: &impl ConnectionTrait, user_id: &str) -> Result<Vec<PreferenceRow>, AppError> {
    let stored = mail_preference::Entity::find().filter(mail_preference::Column::UserId.eq(user_id)).all(conn).await?;
    Ok(MailKind::ALL
        .into_iter()
        .map(|k| PreferenceRow {
            kind: k,
            label: k.label().into(),
            description: k.description().into(),
            mandatory: k.mandatory(),
            enabled: k.mandatory() || stored.iter().find(|p| p.kind == k.key()).is_none_or(|p| p.enabled),
        })
        .collect())
}

/// Store a choice; mandatory kinds cannot be turned off.
pub async fn set_preference(
    conn: &impl ConnectionTrait,
    user_id: &str,
    kind: MailKind,
    enabled: bool,
) -> Result<(), AppError> {
    if kind.mandatory() {
        return Err(AppError::field(
            "kind",
            format!("{} are always sent: they are needed to use and protect your account.", kind.label()),
        ));
    }
    let now = Utc::now();
    let key = (user_id.to_string(), kind.key().to_string());
    match mail_preference::Entity::find_by_id(key).one(conn).await? {
        Some(p) => {
            let mut am: mail_preference::ActiveModel = p.into();
            am.enabled = Set(enabled);
            am.updated_at = Set(now);
            am.update(conn).await?;
        }
        None => {
            mail_preference::ActiveModel {
                user_id: Set(user_id.into()),
                kind: Set(kind.key().into()),
                enabled: Set(enabled),
                updated_at: Set(now),
            }
            .insert(conn)
            .await?;
        }
    }
    Ok(())
}

fn bad_link() -> AppError {
    AppError::Forbidden("This unsubscribe link is not valid. Change your e-mail settings after signing in.".into())
}

/// What a link unsubscribes from.
pub async fn unsubscribe_info(state: &AppState, token: &str) -> Result<UnsubscribeView, AppError> {
    let (user_id, kind) = state.links.verify(token).ok_or_else(bad_link)?;
    let u = user::Entity::find_by_id(user_id.clone()).one(&state.db).await?.ok_or_else(bad_link)?;
    Ok(UnsubscribeView {
        email: u.email,
        kind_label: kind.label().into(),
        subscribed: wants(&state.db, &user_id, kind).await?,
    })
}

/// Turn off the kind a link names, for the user it names; audited.
pub async fn unsubscribe(state: &AppState, token: &str) -> Result<(), AppError> {
    let (user_id, kind) = state.links.verify(token).ok_or_else(bad_link)?;
    let u = user::Entity::find_by_id(user_id.clone()).one(&state.db).await?.ok_or_else(bad_link)?;
    set_preference(&state.db, &user_id, kind, false).await?;
    crate::audit::ssr::record(
        &state.db,
        crate::audit::ssr::NewEvent::platform(
            crate::audit::ssr::Actor::user(&u.id, &u.email),
            "mail.unsubscribed",
            "user",
            Some(u.id.clone()),
            true,
            serde_json::json!({"kind": kind.key(), "via": "link"}),
        ),
    )
    .await
}

/// `POST /mail/unsubscribe/{token}`: RFC 8058 one-click unsubscribe (mail clients post
/// `List-Unsubscribe=One-Click`), and the confirm page's plain form. Needs no session.
pub async fn unsubscribe_post(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
    headers: http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let browser =
        headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    match unsubscribe(&state, &token).await {
        Ok(()) if browser => axum::response::Redirect::to(&format!("/unsubscribe/{token}?done=1")).into_response(),
        Ok(()) => (http::StatusCode::OK, "Unsubscribed.").into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /mail/unsubscribe/{token}` (someone opened the header's URL): the confirm page.
pub async fn unsubscribe_get(axum::extract::Path(token): axum::extract::Path<String>) -> axum::response::Redirect {
    axum::response::Redirect::to(&format!("/unsubscribe/{token}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_and_tampering_is_refused() {
        let s = LinkSigner::new("one secret");
        let t = s.sign("user-1", MailKind::MemberJoined);
        assert_eq!(s.verify(&t), Some(("user-1".to_string(), MailKind::MemberJoined)));
        assert_eq!(LinkSigner::new("another secret").verify(&t), None);
        // A rotation: the new secret with the old one as previous still accepts the link,
        // and signs new links with the new key only.
        let rotated = LinkSigner::new("another secret").with_previous("one secret");
        assert_eq!(rotated.verify(&t), Some(("user-1".to_string(), MailKind::MemberJoined)));
        assert_eq!(s.verify(&rotated.sign("user-1", MailKind::MemberJoined)), None);
        // Links mailed before the HKDF derivation keep working.
        let before = LinkSigner { current: LinkSigner::legacy("one secret"), verify_only: Vec::new() };
        let old_link = before.sign("user-1", MailKind::MemberJoined);
        assert_ne!(old_link, t);
        assert_eq!(s.verify(&old_link), Some(("user-1".to_string(), MailKind::MemberJoined)));
        let (p, sig) = t.split_once('.').unwrap();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let forged = format!("{}.{sig}", b64.encode("u1.user-2.member_joined"));
        assert_eq!(s.verify(&forged), None);
        assert_eq!(s.verify(p), None);
        assert_eq!(s.verify("garbage"), None);
    }

    #[test]
    fn cursors_round_trip() {
        let t = Utc::now();
        let (back, id) =
            decode_cursor(&format!("{}~abc", t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))).unwrap();
        assert_eq!(id, "abc");
        assert_eq!(back.timestamp_micros(), t.timestamp_micros());
        assert!(decode_cursor("nonsense").is_err());
    }
}

/// The payload of a `send_mail` job: one outbox row to deliver.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SendMail {
    pub outbox_id: String,
}

impl JobPayload for SendMail {
    const KIND: &'static str = SEND_MAIL;
    const MAX_ATTEMPTS: i32 = 6;
}

/// Delivers queued mail (registered in `crate::workers`).
pub struct SendMailHandler;

#[async_trait::async_trait]
impl JobHandler for SendMailHandler {
    fn kind(&self) -> &'static str {
        SEND_MAIL
    }

    async fn step(&self, state: &AppState, job: &entity::job::Model) -> Result<Step, AppError> {
        run_mail_job(state, job).await
    }

    /// Out of attempts: a message still queued (no SMTP server configured, or one that
    /// never answered) is marked failed with the last error, in the transaction that
    /// fails the job, so the outbox page never shows it waiting forever.
    async fn on_failed(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        job: &entity::job::Model,
        error: &str,
    ) -> Result<Option<String>, AppError> {
        let SendMail { outbox_id } = queue::payload::<SendMail>(job)?;
        mail_outbox::Entity::update_many()
            .col_expr(mail_outbox::Column::Status, sea_orm::sea_query::Expr::value("failed"))
            .col_expr(mail_outbox::Column::LastError, sea_orm::sea_query::Expr::value(error.to_string()))
            .filter(mail_outbox::Column::Id.eq(&outbox_id))
            .filter(mail_outbox::Column::Status.eq("queued"))
            .exec(txn)
            .await?;
        Ok(None)
    }
}
