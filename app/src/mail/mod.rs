//! Outgoing e-mail: the kind registry (which kinds are mandatory), the outbox that
//! records every message, per-user notification preferences and signed unsubscribe
//! links. Mail is rendered with askama templates (`app/templates/mail/`, HTML
//! auto-escaped) and sent by the durable job queue with retries.
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod templates;
#[cfg(feature = "ssr")]
pub mod transport;

#[cfg(feature = "ssr")]
pub use transport::Mailer;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The job kind that delivers one outbox row.
pub const SEND_MAIL: &str = "send_mail";

/// Every kind of mail Patchbay sends. Mandatory kinds cannot be turned off and carry
/// no unsubscribe link; later issues add their kinds here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MailKind {
    /// An invitation to join a tenant.
    Invitation,
    /// A change to the security of one's own account (second factor on or off, a
    /// recovery code used).
    SecurityNotice,
    /// Someone accepted an invitation you sent.
    MemberJoined,
    /// API keys of the tenant lost scopes because the admin they act for was demoted,
    /// removed or disabled (to the tenant's admins).
    ApiKeyScopes,
    /// A webhook subscription was disabled after failing every delivery for days (to the
    /// tenant's admins).
    WebhookDisabled,
}

impl MailKind {
    pub const ALL: [MailKind; 5] = [
        MailKind::Invitation,
        MailKind::SecurityNotice,
        MailKind::MemberJoined,
        MailKind::ApiKeyScopes,
        MailKind::WebhookDisabled,
    ];

    pub fn key(self) -> &'static str {
        match self {
            MailKind::Invitation => "invitation",
            MailKind::SecurityNotice => "security_notice",
            MailKind::MemberJoined => "member_joined",
            MailKind::ApiKeyScopes => "api_key_scopes",
            MailKind::WebhookDisabled => "webhook_disabled",
        }
    }

    pub fn parse(s: &str) -> Option<MailKind> {
        Self::ALL.into_iter().find(|k| k.key() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            MailKind::Invitation => "Invitations",
            MailKind::SecurityNotice => "Security notices",
            MailKind::MemberJoined => "New team members",
            MailKind::ApiKeyScopes => "API keys that lost scopes",
            MailKind::WebhookDisabled => "Webhooks disabled for failing",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            MailKind::Invitation => "An invitation to join a tenant.",
            MailKind::SecurityNotice => "Changes to how you sign in, such as two-factor sign-in turned on or off.",
            MailKind::MemberJoined => "Someone you invited has joined the tenant.",
            MailKind::ApiKeyScopes => {
                "An API key stopped being allowed something because the admin it acts for changed role or left."
            }
            MailKind::WebhookDisabled => "A webhook endpoint failed every delivery for five days and was turned off.",
        }
    }

    /// Mandatory mail is always sent: it is needed to use or protect the account.
    pub fn mandatory(self) -> bool {
        matches!(
            self,
            MailKind::Invitation | MailKind::SecurityNotice | MailKind::ApiKeyScopes | MailKind::WebhookDisabled
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRow {
    pub id: String,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxPage {
    pub rows: Vec<OutboxRow>,
    /// Query-string cursor of the next (older) page, when there is one.
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferenceRow {
    pub kind: MailKind,
    pub label: String,
    pub description: String,
    pub mandatory: bool,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsubscribeView {
    pub email: String,
    pub kind_label: String,
    pub subscribed: bool,
}

/// Console → Mail: what was sent, to whom, and how it went (platform staff only).
#[server(endpoint = "mail/outbox")]
pub async fn mail_outbox(before: Option<String>) -> Result<OutboxPage, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let ctx = require(Perm::MailOutboxView).await?;
            ssr::outbox_page(ctx.db(), before.as_deref(), 50).await
        }
        .await,
    )
}

/// The signed-in user's notification settings.
#[server(endpoint = "mail/preferences")]
pub async fn my_mail_preferences() -> Result<Vec<PreferenceRow>, AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require_user().await?;
            ssr::preferences(ctx.db(), &ctx.user.id).await
        }
        .await,
    )
}

/// Turn a non-mandatory kind on or off for the signed-in user (a checkbox posts
/// `enabled=on`; an unchecked box posts nothing).
#[server(endpoint = "mail/preferences/set")]
pub async fn set_mail_preference(kind: String, enabled: Option<String>) -> Result<(), AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require_user().await?;
            let kind = MailKind::parse(&kind).ok_or_else(|| AppError::field("kind", "Unknown kind of mail."))?;
            let on = enabled.as_deref().is_some_and(|v| v == "on" || v == "true");
            ssr::set_preference(ctx.db(), &ctx.user.id, kind, on).await?;
            if is_plain_form_post() {
                let msg = format!("{}: {}.", kind.label(), if on { "on" } else { "off" });
                ctx.session()?.insert(KEY_FLASH, msg).await.map_err(|e| AppError::internal("session", e))?;
            }
            Ok(())
        }
        .await,
    )
}

/// What an unsubscribe link is for (public: the signed token is the credential).
#[server(endpoint = "mail/unsubscribe_info")]
pub async fn unsubscribe_info(token: String) -> Result<UnsubscribeView, AppError> {
    crate::auth::ssr::respond(
        async {
            let state = crate::state::app_state()?;
            ssr::unsubscribe_info(&state, &token).await
        }
        .await,
    )
}
