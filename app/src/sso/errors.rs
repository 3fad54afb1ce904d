//! Why a single sign-on attempt failed: a fixed set of codes, each with a fixed message for
//! the sign-in page. The browser is sent to `/login?sso_error=<code>`; the page shows the
//! code's message and never text taken from the URL (an unknown code gets one generic
//! message). Details (the IdP's own error, the refused domain) go to the log and the audit
//! trail, not into the URL.

macro_rules! codes {
    ($($variant:ident = $code:literal => $message:literal,)*) => {
        /// A reason a sign-in failed, as audited (`auth.sso_failed`) and sent to the sign-in page.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum SsoErrorCode {
            $($variant,)*
        }

        impl SsoErrorCode {
            pub const ALL: &'static [SsoErrorCode] = &[$(SsoErrorCode::$variant,)*];

            /// The code as it appears in the URL and the audit trail.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(SsoErrorCode::$variant => $code,)*
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($code => Some(SsoErrorCode::$variant),)*
                    _ => None,
                }
            }

            /// What the sign-in page says.
            pub fn message(self) -> &'static str {
                match self {
                    $(SsoErrorCode::$variant => $message,)*
                }
            }
        }
    };
}

codes! {
    UnknownTenant = "unknown_tenant" => "We do not know that organisation.",
    NoTarget = "no_target" => "Say which organisation to sign in to.",
    NotConfigured = "not_configured" => "Single sign-on is not configured for this organisation.",
    Misconfigured = "misconfigured" => "Single sign-on is misconfigured for this organisation. Ask your administrator.",
    IdpUnreachable = "idp_unreachable" => "The identity provider could not be reached or did not answer correctly. Try again later or ask your administrator.",
    MissingState = "missing_state" => "This sign-in link has expired or was already used. Please start again.",
    StateMismatch = "state_mismatch" => "The sign-in response did not match this browser's sign-in attempt. Please start again.",
    PendingExpired = "pending_expired" => "The sign-in took too long. Please start again.",
    IdpError = "idp_error" => "Your identity provider refused the sign-in.",
    MissingCode = "missing_code" => "The identity provider sent no authorization code.",
    CodeRejected = "code_rejected" => "The identity provider refused the authorization code (it may have been used already). Please start again.",
    NoIdToken = "no_id_token" => "The identity provider sent no ID token.",
    InvalidToken = "invalid_token" => "The sign-in token from your identity provider was rejected.",
    TokenExpired = "token_expired" => "The sign-in token from your identity provider has expired. Please try again.",
    WrongAudience = "wrong_audience" => "The identity provider issued the sign-in token for another application.",
    WrongNonce = "wrong_nonce" => "The sign-in token does not belong to this sign-in attempt.",
    WrongIssuer = "wrong_issuer" => "The sign-in token comes from an unexpected issuer.",
    BadSignature = "bad_signature" => "The sign-in token's signature could not be verified.",
    UserinfoFailed = "userinfo_failed" => "Your identity provider did not answer the request for your profile. Please try again later.",
    UserinfoMismatch = "userinfo_mismatch" => "Your identity provider's profile answer is for a different account than the sign-in token. The sign-in was refused.",
    NoEmail = "no_email" => "Your identity provider did not share your e-mail address (scope “email”).",
    EmailUnverified = "email_unverified" => "Your identity provider says your e-mail address is not verified.",
    DomainNotAllowed = "domain_not_allowed" => "Your e-mail address's domain may not sign in to this organisation.",
    TenantGone = "tenant_gone" => "This organisation no longer exists.",
    Disabled = "disabled" => "This account is disabled. Ask your administrator to re-enable it.",
    Quota = "quota" => "This organisation has reached its edition's user limit. Ask your administrator.",
    NotPlatformStaff = "not_platform_staff" => "This account is not a platform administrator.",
    Internal = "internal" => "Something went wrong on our side. Please try again.",
}

/// The sign-in page's message for whatever `sso_error` holds.
pub const GENERIC_MESSAGE: &str = "Single sign-on did not complete. Please try again, or ask your administrator.";

pub fn login_message(code: &str) -> &'static str {
    SsoErrorCode::parse(code).map(SsoErrorCode::message).unwrap_or(GENERIC_MESSAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_text_gets_the_generic_message() {
        for c in SsoErrorCode::ALL {
            assert_eq!(SsoErrorCode::parse(c.as_str()), Some(*c));
            assert!(c.as_str().chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'), "{}", c.as_str());
        }
        assert_eq!(login_message("state_mismatch"), SsoErrorCode::StateMismatch.message());
        assert_eq!(login_message("<script>hello</script>"), GENERIC_MESSAGE);
        assert_eq!(login_message("The identity provider at evil.example says hi"), GENERIC_MESSAGE);
    }
}
