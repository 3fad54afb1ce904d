//! Multi-factor sign-in: the second sign-in step, enrolment, recovery codes, step-up
//! and the tenant policy. Server functions here; services in `ssr`.
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupInfo {
    pub email: String,
    /// Base32, to type into an authenticator app.
    pub secret: String,
    pub otpauth_uri: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityView {
    pub enrolled: bool,
    pub recovery_codes_left: u64,
    /// Present while not enrolled: the secret to enrol.
    pub setup: Option<SetupInfo>,
    /// Recovery codes just created: shown this once.
    pub new_codes: Option<Vec<String>>,
    /// Two-factor sign-in is required for this account (it cannot be turned off).
    pub required: bool,
}

/// The second sign-in step: a code (or a recovery code) after the password.
#[server(endpoint = "login/mfa")]
pub async fn login_mfa(code: String) -> Result<(), AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let state = crate::state::app_state()?;
            let session = session().await?;
            let to = ssr::complete_pending(&state, &session, &code, &client_ip()).await?;
            leptos_axum::redirect(&to);
            Ok(())
        }
        .await,
    )
}

/// The secret for a forced enrolment during sign-in (password checked, not signed in yet).
#[server(endpoint = "login/mfa/setup_info")]
pub async fn pending_setup() -> Result<SetupInfo, AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let state = crate::state::app_state()?;
            let session = session().await?;
            let (_, u) = ssr::pending_enrolment_user(&state, &session).await?;
            let (secret, otpauth_uri) = ssr::setup_secret(&state, &session, &u).await?;
            Ok(SetupInfo { email: u.email, secret, otpauth_uri })
        }
        .await,
    )
}

/// Confirm an enrolment with a code: for the signed-in user, or for a sign-in that
/// requires enrolment (which it then finishes). The recovery codes are shown once on
/// the security page.
#[server(endpoint = "mfa/confirm")]
pub async fn confirm_mfa(code: String) -> Result<Vec<String>, AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let state = crate::state::app_state()?;
            let session = session().await?;
            let codes = match context_from_session(&state, &session).await? {
                Some(ctx) => ssr::confirm_setup(&state, &session, &ctx.user, &code).await?,
                None => {
                    let (p, u) = ssr::pending_enrolment_user(&state, &session).await?;
                    let codes = ssr::confirm_setup(&state, &session, &u, &code).await?;
                    session.remove_value(ssr::KEY_PENDING).await.map_err(|e| AppError::internal("session", e))?;
                    establish(&state, &session, &u, &client_ip(), "password+totp_enrolment", p.next, true).await?;
                    codes
                }
            };
            session.insert(ssr::KEY_SHOW_CODES, &codes).await.map_err(|e| AppError::internal("session", e))?;
            leptos_axum::redirect("/account/security");
            Ok(codes)
        }
        .await,
    )
}

/// Account → Security: the state of the second factor (one call for the page).
#[server(endpoint = "mfa/overview")]
pub async fn security_overview() -> Result<SecurityView, AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require_user().await?;
            let enrolled = ssr::is_enrolled(ctx.db(), &ctx.user.id).await?;
            let setup = if enrolled {
                None
            } else {
                let (secret, otpauth_uri) = ssr::setup_secret(&ctx.state, ctx.session()?, &ctx.user).await?;
                Some(SetupInfo { email: ctx.user.email.clone(), secret, otpauth_uri })
            };
            let new_codes: Option<Vec<String>> =
                ctx.session()?.remove(ssr::KEY_SHOW_CODES).await.map_err(|e| AppError::internal("session", e))?;
            Ok(SecurityView {
                enrolled,
                recovery_codes_left: ssr::recovery_left(ctx.db(), &ctx.user.id).await?,
                setup,
                new_codes,
                required: ssr::required_for(&ctx.state, &ctx.user).await?,
            })
        }
        .await,
    )
}

/// Turn the second factor off (password and a current code).
#[server(endpoint = "mfa/disable")]
pub async fn disable_mfa(password: String, code: String) -> Result<(), AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require_user().await?;
            if ssr::required_for(&ctx.state, &ctx.user).await? {
                return Err(AppError::Forbidden(
                    "Two-factor sign-in is required for this account and cannot be turned off.".into(),
                ));
            }
            ssr::disable(&ctx, password, &code, &client_ip()).await?;
            if is_plain_form_post() {
                ctx.session()?
                    .insert(KEY_FLASH, "Two-factor sign-in is off.")
                    .await
                    .map_err(|e| AppError::internal("session", e))?;
            }
            Ok(())
        }
        .await,
    )
}

/// Step-up: confirm a second factor now, then go back to `next`.
#[server(endpoint = "mfa/step_up")]
pub async fn mfa_step_up(code: String, next: Option<String>) -> Result<(), AppError> {
    use crate::auth::ssr::*;
    respond(
        async {
            let ctx = require_user().await?;
            ssr::verify(&ctx.state, &ctx.user, &code, &client_ip()).await?;
            ssr::mark_verified(ctx.session()?).await?;
            leptos_axum::redirect(&safe_next(next).unwrap_or_else(|| "/account/security".into()));
            Ok(())
        }
        .await,
    )
}

/// A tenant admin's policy: require two-factor sign-in for the tenant's local accounts.
#[server(endpoint = "mfa/tenant_policy")]
pub async fn set_mfa_policy(tenant_id: String, require_mfa: Option<String>) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let (ctx, t) = require_in_tenant(Perm::TeamManage, &tenant_id).await?;
            let on = require_mfa.as_deref().is_some_and(|v| v == "on" || v == "true");
            ssr::set_policy(&ctx, &t.id, on).await?;
            if is_plain_form_post() {
                let msg = if on {
                    "Two-factor sign-in is now required for local accounts."
                } else {
                    "Two-factor sign-in is now optional."
                };
                ctx.session()?.insert(KEY_FLASH, msg).await.map_err(|e| AppError::internal("session", e))?;
            }
            Ok(())
        }
        .await,
    )
}
