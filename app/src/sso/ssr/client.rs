//! The OpenID Connect HTTP client and discovery cache, the issuer policy, and the error
//! type of a failed sign-in step.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::{IssuerUrl, ProviderMetadataWithLogout};

use crate::error::AppError;
use crate::sso::errors::SsoErrorCode;

const CACHE_TTL: Duration = Duration::from_secs(600);
/// How long one request to an identity provider may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The platform-wide IdP for platform staff (from configuration).
#[derive(Clone)]
pub struct PlatformIdp {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for PlatformIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformIdp")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.is_unspecified(),
        None => false,
    }
}

/// Why an issuer URL is not acceptable, or `None` when it is. Without `allow_insecure`
/// (the development setting `PATCHBAY_OIDC_ALLOW_INSECURE_ISSUERS`) only `https://` issuers
/// on a non-loopback host are accepted.
pub fn issuer_problem(issuer: &str, allow_insecure: bool) -> Option<&'static str> {
    let Ok(u) = url::Url::parse(issuer) else {
        return Some("Enter the issuer URL, like https://login.example.com/realms/acme.");
    };
    if !matches!(u.scheme(), "https" | "http") || u.host().is_none() || u.query().is_some() || u.fragment().is_some() {
        return Some("Enter the issuer URL, like https://login.example.com/realms/acme (no query or fragment).");
    }
    if (u.scheme() == "http" || is_loopback(&u)) && !allow_insecure {
        return Some(
            "Use an https:// issuer on a public host. Plain-http and loopback issuers are accepted only in development, when the server runs with PATCHBAY_OIDC_ALLOW_INSECURE_ISSUERS=true.",
        );
    }
    None
}

/// Discovery documents (with their JWKS), cached per issuer; refreshed when stale
/// or when a token names a key the cached set does not have.
#[derive(Clone)]
pub struct OidcCache {
    entries: Arc<Mutex<HashMap<String, (Instant, ProviderMetadataWithLogout)>>>,
    http: openidconnect::reqwest::Client,
    allow_insecure_issuers: bool,
}

impl std::fmt::Debug for OidcCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcCache").field("allow_insecure_issuers", &self.allow_insecure_issuers).finish()
    }
}

impl OidcCache {
    /// The client refuses redirects (an IdP answer must come from the configured URLs: no
    /// SSRF by redirect) and times out. Failing to build it is a startup error, never a
    /// fallback to a client without these guards.
    pub fn new(allow_insecure_issuers: bool) -> Result<Self, openidconnect::reqwest::Error> {
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()?;
        Ok(Self { entries: Arc::default(), http, allow_insecure_issuers })
    }

    pub fn http(&self) -> &openidconnect::reqwest::Client {
        &self.http
    }

    /// Whether plain-http and loopback issuers are accepted (development only).
    pub fn allows_insecure_issuers(&self) -> bool {
        self.allow_insecure_issuers
    }

    pub fn issuer_problem(&self, issuer: &str) -> Option<&'static str> {
        issuer_problem(issuer, self.allow_insecure_issuers)
    }

    pub async fn metadata(&self, issuer: &str, refresh: bool) -> Result<ProviderMetadataWithLogout, SsoError> {
        // Stored configurations were checked when saved; check again, as the setting may
        // have been turned off since.
        if let Some(problem) = self.issuer_problem(issuer) {
            return Err(SsoError::new(SsoErrorCode::Misconfigured, format!("issuer {issuer} refused: {problem}")));
        }
        if !refresh
            && let Ok(map) = self.entries.lock()
            && let Some((at, m)) = map.get(issuer)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(m.clone());
        }
        let url = IssuerUrl::new(issuer.to_string())
            .map_err(|_| SsoError::new(SsoErrorCode::Misconfigured, format!("issuer {issuer} is not a URL")))?;
        let meta = ProviderMetadataWithLogout::discover_async(url, &self.http).await.map_err(|e| {
            tracing::warn!(issuer, error = %e, "OIDC discovery failed");
            SsoError::new(SsoErrorCode::IdpUnreachable, format!("discovery at {issuer} failed"))
        })?;
        if let Ok(mut map) = self.entries.lock() {
            map.insert(issuer.to_string(), (Instant::now(), meta.clone()));
        }
        Ok(meta)
    }
}

/// A failed SSO step: the code (audited, and all the browser is told) and a detail for
/// the log and the audit trail.
#[derive(Debug, Clone)]
pub struct SsoError {
    pub code: SsoErrorCode,
    pub detail: String,
}

impl SsoError {
    pub fn new(code: SsoErrorCode, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into() }
    }

    /// The reason code, as audited.
    pub fn reason(&self) -> &'static str {
        self.code.as_str()
    }

    /// What the sign-in page says.
    pub fn message(&self) -> &'static str {
        self.code.message()
    }
}

impl From<AppError> for SsoError {
    fn from(e: AppError) -> Self {
        SsoError::new(SsoErrorCode::Internal, e.to_string())
    }
}

impl From<sea_orm::DbErr> for SsoError {
    fn from(e: sea_orm::DbErr) -> Self {
        AppError::from(e).into()
    }
}

impl From<tower_sessions::session::Error> for SsoError {
    fn from(e: tower_sessions::session::Error) -> Self {
        AppError::internal("session", e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::issuer_problem;

    #[test]
    fn only_https_public_issuers_without_the_development_setting() {
        assert_eq!(issuer_problem("https://login.example.com/realms/acme", false), None);
        for insecure in [
            "http://login.example.com",
            "http://127.0.0.1:8080",
            "https://localhost",
            "https://127.0.0.1",
            "https://[::1]:9000",
        ] {
            let p = issuer_problem(insecure, false).unwrap_or_else(|| panic!("{insecure} accepted"));
            assert!(p.contains("PATCHBAY_OIDC_ALLOW_INSECURE_ISSUERS"), "{p}");
            assert_eq!(issuer_problem(insecure, true), None, "{insecure} with the development setting");
        }
        for bad in ["ftp://x.example", "not a url", "https://x.example/?a=b", "https://x.example/#f"] {
            assert!(issuer_problem(bad, true).is_some(), "{bad}");
        }
    }
}
