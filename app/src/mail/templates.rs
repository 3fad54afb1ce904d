//! Mail templates (askama, checked at compile time). `.html` templates are
//! auto-escaped (`& < > " '`), `.txt` templates are plain text. Each kind has a text
//! and an HTML part sharing one data struct and the footer (with the unsubscribe
//! link for non-mandatory kinds).
use askama::Template;

use super::MailKind;
use crate::error::AppError;

/// The part of every mail below the message.
pub struct Footer {
    pub unsubscribe_url: Option<String>,
    pub kind_label: &'static str,
    pub preferences_url: String,
}

pub struct InvitationMail {
    pub inviter_name: String,
    pub tenant_name: String,
    pub role_label: String,
    pub link: String,
    pub days: i64,
}

pub struct SecurityNoticeMail {
    pub display_name: String,
    pub email: String,
    pub headline: String,
    pub detail: String,
    pub when: String,
}

pub struct MemberJoinedMail {
    pub member_name: String,
    pub member_email: String,
    pub tenant_name: String,
    pub role_label: String,
    pub team_url: String,
}

pub struct ApiKeyScopesMail {
    pub member_email: String,
    /// "a member", "removed from the team", "disabled".
    pub change: String,
    pub tenant_name: String,
    /// (key name and prefix, the scopes it lost).
    pub keys: Vec<(String, String)>,
    pub keys_url: String,
}

pub struct WebhookDisabledMail {
    pub tenant_name: String,
    pub url: String,
    pub description: String,
    /// When it started failing, and the last error.
    pub failing_since: String,
    pub last_error: String,
    pub webhooks_url: String,
}

macro_rules! parts {
    ($data:ty, $html:ident, $html_path:literal, $txt:ident, $txt_path:literal) => {
        #[derive(Template)]
        #[template(path = $html_path)]
        struct $html<'a> {
            d: &'a $data,
            f: &'a Footer,
        }
        #[derive(Template)]
        #[template(path = $txt_path)]
        struct $txt<'a> {
            d: &'a $data,
            f: &'a Footer,
        }
    };
}

parts!(InvitationMail, InvitationHtml, "mail/invitation.html", InvitationTxt, "mail/invitation.txt");
parts!(
    SecurityNoticeMail,
    SecurityNoticeHtml,
    "mail/security_notice.html",
    SecurityNoticeTxt,
    "mail/security_notice.txt"
);
parts!(MemberJoinedMail, MemberJoinedHtml, "mail/member_joined.html", MemberJoinedTxt, "mail/member_joined.txt");
parts!(ApiKeyScopesMail, ApiKeyScopesHtml, "mail/api_key_scopes.html", ApiKeyScopesTxt, "mail/api_key_scopes.txt");
parts!(
    WebhookDisabledMail,
    WebhookDisabledHtml,
    "mail/webhook_disabled.html",
    WebhookDisabledTxt,
    "mail/webhook_disabled.txt"
);

/// One message of a registered kind, before rendering.
pub enum Mail {
    Invitation(InvitationMail),
    SecurityNotice(SecurityNoticeMail),
    MemberJoined(MemberJoinedMail),
    ApiKeyScopes(ApiKeyScopesMail),
    WebhookDisabled(WebhookDisabledMail),
}

fn rendered(r: askama::Result<String>) -> Result<String, AppError> {
    r.map_err(|e| AppError::internal("mail template", e))
}

impl Mail {
    pub fn kind(&self) -> MailKind {
        match self {
            Mail::Invitation(_) => MailKind::Invitation,
            Mail::SecurityNotice(_) => MailKind::SecurityNotice,
            Mail::MemberJoined(_) => MailKind::MemberJoined,
            Mail::ApiKeyScopes(_) => MailKind::ApiKeyScopes,
            Mail::WebhookDisabled(_) => MailKind::WebhookDisabled,
        }
    }

    pub fn template(&self) -> &'static str {
        match self {
            Mail::Invitation(_) => "mail/invitation",
            Mail::SecurityNotice(_) => "mail/security_notice",
            Mail::MemberJoined(_) => "mail/member_joined",
            Mail::ApiKeyScopes(_) => "mail/api_key_scopes",
            Mail::WebhookDisabled(_) => "mail/webhook_disabled",
        }
    }

    pub fn subject(&self) -> String {
        match self {
            Mail::Invitation(d) => format!("You are invited to {} on Patchbay", d.tenant_name),
            Mail::SecurityNotice(d) => format!("Patchbay security notice: {}", d.headline),
            Mail::MemberJoined(d) => format!("{} joined {} on Patchbay", d.member_name, d.tenant_name),
            Mail::ApiKeyScopes(d) => format!("{} API key(s) of {} lost scopes", d.keys.len(), d.tenant_name),
            Mail::WebhookDisabled(d) => format!("A webhook of {} was disabled after failing for 5 days", d.tenant_name),
        }
    }

    /// The text and HTML parts.
    pub fn render(&self, f: &Footer) -> Result<(String, String), AppError> {
        Ok(match self {
            Mail::Invitation(d) => {
                (rendered(InvitationTxt { d, f }.render())?, rendered(InvitationHtml { d, f }.render())?)
            }
            Mail::SecurityNotice(d) => {
                (rendered(SecurityNoticeTxt { d, f }.render())?, rendered(SecurityNoticeHtml { d, f }.render())?)
            }
            Mail::MemberJoined(d) => {
                (rendered(MemberJoinedTxt { d, f }.render())?, rendered(MemberJoinedHtml { d, f }.render())?)
            }
            Mail::ApiKeyScopes(d) => {
                (rendered(ApiKeyScopesTxt { d, f }.render())?, rendered(ApiKeyScopesHtml { d, f }.render())?)
            }
            Mail::WebhookDisabled(d) => {
                (rendered(WebhookDisabledTxt { d, f }.render())?, rendered(WebhookDisabledHtml { d, f }.render())?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn footer(unsub: Option<&str>) -> Footer {
        Footer {
            unsubscribe_url: unsub.map(Into::into),
            kind_label: "New team members",
            preferences_url: "https://p.example/account/notifications".into(),
        }
    }

    #[test]
    fn html_parts_escape_every_special_character_and_text_parts_keep_them() {
        let m = Mail::Invitation(InvitationMail {
            inviter_name: "O'Brien <b>&\"co\"".into(),
            tenant_name: "Acme".into(),
            role_label: "Member".into(),
            link: "https://p.example/invite/abc".into(),
            days: 7,
        });
        let (text, html) = m.render(&footer(None)).unwrap();
        assert!(html.contains("O&#39;Brien &#60;b&#62;&#38;&#34;co&#34;"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(text.contains("O'Brien <b>&\"co\""), "{text}");
        assert!(!html.contains("Unsubscribe"), "mandatory mail has no unsubscribe link");
    }

    #[test]
    fn non_mandatory_mail_has_an_unsubscribe_link_in_both_parts() {
        let m = Mail::MemberJoined(MemberJoinedMail {
            member_name: "Ann".into(),
            member_email: "ann@a.example".into(),
            tenant_name: "Acme".into(),
            role_label: "Member".into(),
            team_url: "https://p.example/portal/team".into(),
        });
        let (text, html) = m.render(&footer(Some("https://p.example/unsubscribe/t0k"))).unwrap();
        assert!(text.contains("Unsubscribe from New team members: https://p.example/unsubscribe/t0k"), "{text}");
        assert!(html.contains("href=\"https://p.example/unsubscribe/t0k\""), "{html}");
    }
}
