//! Outgoing e-mail over SMTP (lettre). Configured by `PATCHBAY_SMTP_URL`, e.g.
//! `smtp://127.0.0.1:2525` (plain), `smtps://user:pass@host` or
//! `smtp://user:pass@host:587?tls=required`. Callers do not send directly: they queue
//! through [`super::ssr::queue`], and the job queue calls [`Mailer::send`] with retries.
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

/// `List-Unsubscribe: <https://…>` (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.trim().trim_start_matches('<').trim_end_matches('>').to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

/// One message ready to send.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Envelope {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The one-click unsubscribe URL (non-mandatory kinds only).
    pub unsubscribe_post_url: Option<String>,
}

impl Mailer {
    pub fn from_url(url: &str, from: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("invalid SMTP URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        let from = from.parse().map_err(|e| format!("invalid sender address: {e}"))?;
        Ok(Self { transport, from })
    }

    /// One delivery attempt (the job queue retries).
    pub async fn send(&self, m: &Envelope) -> Result<(), String> {
        let to: Mailbox = m.to.parse().map_err(|e| format!("invalid recipient: {e}"))?;
        let mut b = Message::builder().from(self.from.clone()).to(to).subject(m.subject.clone());
        if let Some(url) = &m.unsubscribe_post_url {
            b = b.header(ListUnsubscribe(url.clone())).header(ListUnsubscribePost);
        }
        let msg = b
            .multipart(MultiPart::alternative_plain_html(m.text.clone(), m.html.clone()))
            .map_err(|e| format!("could not build message: {e}"))?;
        self.transport.send(msg).await.map_err(|e| format!("SMTP delivery failed: {e}"))?;
        Ok(())
    }
}
