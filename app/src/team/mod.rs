//! Users and roles of a tenant: the Portal's Team page and the Console's tenant detail.
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::permissions::Role;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    pub last_login_at: Option<String>,
    pub joined_at: String,
    pub is_self: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationRow {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub expires_at: String,
    pub created_at: String,
    pub expired: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamView {
    pub tenant_id: String,
    pub tenant_name: String,
    pub tenant_status: String,
    /// One page of members, A–Z by e-mail (`page_info.total` is the whole team).
    pub members: crate::core::page::Page<MemberRow>,
    pub invitations: Vec<InvitationRow>,
    pub max_users: i32,
    pub can_manage: bool,
    /// The tenant requires two-factor sign-in for local accounts.
    pub require_mfa: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteResult {
    pub email: String,
    pub link: String,
    pub emailed: bool,
    pub email_error: Option<String>,
}

/// An empty `tenant_id` means the tenant selected in the session (the portal's page).
#[server(endpoint = "team/list")]
pub async fn list_team(tenant_id: String, cursor: Option<String>) -> Result<TeamView, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let (ctx, t) = require_in_tenant_or_selected(Perm::TeamView, &tenant_id).await?;
            ssr::list(&ctx, &t, &crate::core::page::PageRequest::new(cursor)).await
        }
        .await,
    )
}

#[server(endpoint = "team/invite")]
pub async fn invite_user(tenant_id: String, email: String, role: String) -> Result<InviteResult, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let (ctx, t) = require_in_tenant(Perm::TeamManage, &tenant_id).await?;
            let res = ssr::invite(&ctx, &t, &email, &role).await?;
            if is_plain_form_post() {
                // Without JavaScript the page reloads: carry the link to it in the session.
                let msg = format!("Invitation created for {}. Link: {}", res.email, res.link);
                ctx.session()?.insert(KEY_FLASH, msg).await.map_err(|e| AppError::internal("session", e))?;
            }
            Ok(res)
        }
        .await,
    )
}

#[server(endpoint = "team/change_role")]
pub async fn change_role(tenant_id: String, user_id: String, role: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let (ctx, t) = require_in_tenant(Perm::TeamManage, &tenant_id).await?;
            ssr::change_role(&ctx, &t, &user_id, &role).await
        }
        .await,
    )
}

#[server(endpoint = "team/set_disabled")]
pub async fn set_user_disabled(tenant_id: String, user_id: String, disabled: bool) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let (ctx, t) = require_in_tenant(Perm::TeamManage, &tenant_id).await?;
            ssr::set_disabled(&ctx, &t, &user_id, disabled).await
        }
        .await,
    )
}

#[server(endpoint = "team/remove")]
pub async fn remove_member(tenant_id: String, user_id: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let (ctx, t) = require_in_tenant(Perm::TeamManage, &tenant_id).await?;
            ssr::remove_member(&ctx, &t, &user_id).await
        }
        .await,
    )
}

#[server(endpoint = "team/force_sign_out")]
pub async fn force_sign_out(tenant_id: String, user_id: String) -> Result<u64, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let (ctx, t) = require_in_tenant(Perm::TeamManage, &tenant_id).await?;
            ssr::force_sign_out(&ctx, &t, &user_id).await
        }
        .await,
    )
}

#[server(endpoint = "team/revoke_invitation")]
pub async fn revoke_invitation(tenant_id: String, invitation_id: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let (ctx, t) = require_in_tenant(Perm::TeamManage, &tenant_id).await?;
            ssr::revoke_invitation(&ctx, &t, &invitation_id).await
        }
        .await,
    )
}
