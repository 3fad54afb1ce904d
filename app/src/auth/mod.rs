//! Who is signed in, sign-in and sign-out, tenant switching, invitations and sessions.
pub mod mfa;
pub mod pages;
pub mod permissions;
#[cfg(feature = "ssr")]
pub mod session_store;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use permissions::{Perm, Role, allowed};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantContext {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub edition: String,
    pub role: Option<Role>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantChoice {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub role: Role,
}

/// The signed-in user, as the UI sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    pub is_platform_admin: bool,
    pub tenant: Option<TenantContext>,
    pub tenants: Vec<TenantChoice>,
}

impl Viewer {
    pub fn role(&self) -> Option<Role> {
        self.tenant.as_ref().and_then(|t| t.role)
    }
    pub fn can(&self, perm: Perm) -> bool {
        allowed(perm, self.is_platform_admin, self.role())
    }
    /// The selected tenant is suspended: show it read-only.
    pub fn read_only(&self) -> bool {
        self.tenant.as_ref().is_some_and(|t| t.status != "active")
    }
    pub fn initials(&self) -> String {
        let src = if self.display_name.trim().is_empty() { &self.email } else { &self.display_name };
        src.split_whitespace().filter_map(|w| w.chars().next()).take(2).collect::<String>().to_uppercase()
    }
}

/// The signed-in user, or `None`.
#[server(endpoint = "viewer")]
pub async fn get_viewer() -> Result<Option<Viewer>, AppError> {
    use ssr::*;
    respond(
        async {
            match current_context().await? {
                Some(ctx) => Ok(Some(viewer(&ctx).await?)),
                None => Ok(None),
            }
        }
        .await,
    )
}

/// Sign in with e-mail and password.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use ssr::*;
    respond(
        async {
            let state = crate::state::app_state()?;
            let session = session().await?;
            let to = sign_in(&state, &session, &email, password, &client_ip(), next).await?;
            leptos_axum::redirect(&to);
            Ok(())
        }
        .await,
    )
}

/// Sign out of this session.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use ssr::*;
    respond(
        async {
            let state = crate::state::app_state()?;
            let session = session().await?;
            if let Some(ctx) = context_from_session(&state, &session).await? {
                crate::audit::ssr::record(
                    ctx.db(),
                    crate::audit::ssr::NewEvent::platform(
                        ctx.actor(),
                        "auth.logout",
                        "user",
                        Some(ctx.user.id.clone()),
                        true,
                        serde_json::json!({}),
                    ),
                )
                .await?;
            }
            // Signed in through an IdP that offers sign-out: end that session too.
            let idp_logout = crate::sso::ssr::logout_url(&state, &session).await;
            session.flush().await.map_err(|e| AppError::internal("session flush", e))?;
            RequestCtx::forget();
            leptos_axum::redirect(idp_logout.as_deref().unwrap_or("/login"));
            Ok(())
        }
        .await,
    )
}

/// Select another of the user's tenants.
#[server(endpoint = "switch_tenant")]
pub async fn switch_tenant(tenant_id: String) -> Result<(), AppError> {
    use ssr::*;
    respond(
        async {
            let ctx = require_user().await?;
            let Some((t, role)) = tenant_role(ctx.db(), &ctx.user.id, &tenant_id).await? else {
                return Err(AppError::forbidden());
            };
            ctx.session()?.insert(KEY_TENANT, &t.id).await.map_err(|e| AppError::internal("session", e))?;
            RequestCtx::forget();
            leptos_axum::redirect(home_path(false, Some(role)));
            Ok(())
        }
        .await,
    )
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    pub current: bool,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
}

/// The signed-in user's sessions.
#[server(endpoint = "my_sessions")]
pub async fn my_sessions() -> Result<Vec<SessionInfo>, AppError> {
    use ssr::*;
    respond(
        async {
            let ctx = require_user().await?;
            let current = current_session_key(ctx.session()?);
            let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
            Ok(sessions_of(ctx.db(), &ctx.user.id)
                .await?
                .into_iter()
                .map(|s| SessionInfo {
                    current: current.as_deref() == Some(s.id.as_str()),
                    id: s.id,
                    ip: s.ip,
                    user_agent: s.user_agent,
                    created_at: fmt(s.created_at),
                    last_seen_at: fmt(s.last_seen_at),
                    expires_at: fmt(s.expires_at),
                })
                .collect())
        }
        .await,
    )
}

/// End one of the signed-in user's own sessions.
#[server(endpoint = "revoke_session")]
pub async fn revoke_session(session_id: String) -> Result<(), AppError> {
    use ssr::*;
    respond(
        async {
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            let ctx = require_user().await?;
            let res = entity::session::Entity::delete_many()
                .filter(entity::session::Column::Id.eq(&session_id))
                .filter(entity::session::Column::UserId.eq(&ctx.user.id))
                .exec(ctx.db())
                .await?;
            if res.rows_affected == 0 {
                return Err(AppError::NotFound);
            }
            crate::audit::ssr::record(
                ctx.db(),
                crate::audit::ssr::NewEvent::platform(
                    ctx.actor(),
                    "session.revoked",
                    "session",
                    Some(session_id[..12.min(session_id.len())].to_string()),
                    true,
                    serde_json::json!({}),
                ),
            )
            .await?;
            Ok(())
        }
        .await,
    )
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationDetails {
    pub email: String,
    pub tenant_name: String,
    pub role: Role,
    pub existing_account: bool,
}

/// What an invitation link is for (public: the token is the credential).
#[server(endpoint = "invitation_info")]
pub async fn invitation_info(token: String) -> Result<InvitationDetails, AppError> {
    respond_public(async { crate::team::ssr::invitation_info(&crate::state::app_state()?.db, &token).await }.await)
}

/// Accept an invitation: set a name and password (new accounts) and sign in.
#[server(endpoint = "accept_invitation")]
pub async fn accept_invitation(
    token: String,
    display_name: String,
    password: String,
    password_confirm: String,
) -> Result<(), AppError> {
    use ssr::*;
    respond(
        async {
            let state = crate::state::app_state()?;
            let session = session().await?;
            let (user_id, tenant_id, role) =
                crate::team::ssr::accept_invitation(&state, &token, &display_name, password, &password_confirm).await?;
            use sea_orm::EntityTrait;
            let user = entity::user::Entity::find_by_id(user_id.clone())
                .one(&state.db)
                .await?
                .ok_or_else(|| AppError::internal("accept invitation", format!("user {user_id} vanished")))?;
            // An existing account with a second factor (or one now required) signs in
            // through the second step like any password sign-in.
            let ip = client_ip();
            if mfa::ssr::is_enrolled(&state.db, &user.id).await? || mfa::ssr::required_for(&state, &user).await? {
                let enrol = !mfa::ssr::is_enrolled(&state.db, &user.id).await?;
                let to = mfa::ssr::begin_pending(&session, &user, &ip, None, enrol).await?;
                leptos_axum::redirect(&to);
                return Ok(());
            }
            establish(&state, &session, &user, &ip, "invitation", None, false).await?;
            session.insert(KEY_TENANT, &tenant_id).await.map_err(|e| AppError::internal("session", e))?;
            RequestCtx::forget();
            leptos_axum::redirect(home_path(false, Some(role)));
            Ok(())
        }
        .await,
    )
}

/// A one-time message left for the next page (no-JavaScript form posts).
#[server(endpoint = "flash")]
pub async fn take_flash() -> Result<Option<String>, AppError> {
    use ssr::*;
    respond(
        async {
            let session = session().await?;
            session.remove::<String>(KEY_FLASH).await.map_err(|e| AppError::internal("session", e))
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
fn respond_public<T>(r: Result<T, AppError>) -> Result<T, AppError> {
    ssr::respond(r)
}
