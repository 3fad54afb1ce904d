//! Telling a tenant's admins when API keys lose scopes: the admin a key acts for was
//! demoted, removed or disabled, so (on every replica within a tick) the key's excess
//! scopes stop working. Called inside the transaction that makes the change, so the mail
//! is queued exactly once, with the change, however many replicas there are.
use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::scopes_of;
use crate::auth::permissions::{Role, allowed};
use crate::core::scope::Scope;
use crate::error::AppError;
use crate::mail::templates::{ApiKeyScopesMail, Mail};
use crate::state::AppState;
use entity::{api_key, membership, tenant, user};

/// What happened to the admin a key acts for.
pub enum Standing {
    /// Still a member, with this role now.
    Now(Role),
    Removed,
    Disabled,
}

/// Queue a mail to each other active tenant admin naming the keys of `member` that lost
/// scopes going from the role `before` to `standing`. Returns how many keys lost scopes.
pub async fn keys_lost_scopes(
    conn: &impl ConnectionTrait,
    state: &AppState,
    scope: &Scope,
    t: &tenant::Model,
    member: &user::Model,
    before: Option<Role>,
    standing: Standing,
) -> Result<usize, AppError> {
    let keys = scope
        .find::<api_key::Entity>()
        .filter(api_key::Column::CreatedBy.eq(&member.id))
        .filter(api_key::Column::RevokedAt.is_null())
        .filter(api_key::Column::ExpiresAt.gt(Utc::now()))
        .all(conn)
        .await?;
    let role = match standing {
        Standing::Now(r) => Some(r),
        Standing::Removed | Standing::Disabled => None,
    };
    let mut lost = Vec::new();
    for k in &keys {
        // Only what worked until now and stops now (a scope lost earlier was told then).
        let gone: Vec<&str> = scopes_of(k)?
            .into_iter()
            .filter(|s| allowed(s.perm(), false, before) && !allowed(s.perm(), false, role))
            .map(|s| s.as_str())
            .collect();
        if !gone.is_empty() {
            lost.push((format!("{} (pbk_{})", k.name, k.key_id), gone.join(", ")));
        }
    }
    if lost.is_empty() {
        return Ok(0);
    }
    let change = match (standing, role) {
        (Standing::Removed, _) => "removed from the team".to_string(),
        (Standing::Disabled, _) => "disabled".to_string(),
        (Standing::Now(_), Some(r)) => format!("a {}", r.label().to_lowercase()),
        (Standing::Now(_), None) => "without a role".to_string(),
    };
    let admins: Vec<String> = scope
        .find::<membership::Entity>()
        .filter(membership::Column::Role.eq(Role::TenantAdmin.as_str()))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let admins = user::Entity::find()
        .filter(user::Column::Id.is_in(admins))
        .filter(user::Column::Disabled.eq(false))
        // The person whose standing changed is not told about their own keys here.
        .filter(user::Column::Id.ne(&member.id))
        .all(conn)
        .await?;
    let keys_url = format!("{}/portal/api-keys", state.settings.public_url.trim_end_matches('/'));
    for a in admins {
        crate::mail::ssr::queue(
            conn,
            state,
            crate::mail::ssr::Recipient {
                email: a.email.clone(),
                user_id: Some(a.id.clone()),
                tenant_id: Some(t.id.clone()),
            },
            Mail::ApiKeyScopes(ApiKeyScopesMail {
                member_email: member.email.clone(),
                change: change.clone(),
                tenant_name: t.name.clone(),
                keys: lost.clone(),
                keys_url: keys_url.clone(),
            }),
        )
        .await?;
    }
    Ok(lost.len())
}
