//! Team services: members, roles, invitations, disabling and forced sign-out.
use crate::core::db::BeginWrite;
use base64::Engine;
use chrono::{Duration, Utc};
use entity::{edition, invitation, membership, tenant, user};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use sha2::{Digest, Sha256};

use super::{InvitationRow, InviteResult, MemberRow, TeamView};
use crate::audit::ssr::Actor;
use crate::audit::ssr::{NewEvent, record};
use crate::auth::InvitationDetails;
use crate::auth::permissions::{Perm, Role};
use crate::auth::ssr::{
    Ctx, check_new_password, end_all_sessions, hash_password, new_id, normalize_email, valid_email, verify_password,
};
use crate::core::page::{Keyset, Page, PageRequest};
use crate::core::quota::lock_tenant;
use crate::core::scope::Scope;
use crate::error::AppError;
use crate::mail::templates::{InvitationMail, Mail, MemberJoinedMail};

const INVITE_DAYS: i64 = 7;

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

fn fmt(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn parse_role(role: &str) -> Result<Role, AppError> {
    Role::parse(role.trim()).ok_or_else(|| AppError::field("role", "Choose one of the listed roles."))
}

/// A role read back from the database: an unknown one is corrupt data, not a member.
fn stored_role(table: &str, id: &str, role: &str) -> Result<Role, AppError> {
    Role::parse(role).ok_or_else(|| AppError::corrupt(table, id, format!("unknown role {role:?}")))
}

/// The team rows of a tenant that `require_in_tenant` admitted the caller to.
fn team(t: &tenant::Model) -> Scope {
    Scope::admitted(t)
}

/// Open invitations hold a seat until they are accepted, withdrawn or expire.
fn open_invitations(scope: &Scope) -> sea_orm::Select<invitation::Entity> {
    scope
        .find::<invitation::Entity>()
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
}

/// The tenant's edition; a tenant without one is corrupt data, not "no users allowed".
async fn edition_of(db: &impl sea_orm::ConnectionTrait, t: &tenant::Model) -> Result<edition::Model, AppError> {
    edition::Entity::find_by_id(t.edition_id.clone())
        .one(db)
        .await?
        .ok_or_else(|| AppError::corrupt("tenants", &t.id, format!("edition {} does not exist", t.edition_id)))
}

/// Refuse when the tenant's edition has no seat left. Runs under the tenant lock taken in
/// `txn`, so two requests cannot both take the last seat.
async fn ensure_seat(txn: &DatabaseTransaction, t: &tenant::Model) -> Result<(), AppError> {
    lock_tenant(txn, &t.id).await?;
    let ed = edition_of(txn, t).await?;
    let scope = team(t);
    let members = scope.count::<membership::Entity>(txn).await?;
    let invited = open_invitations(&scope).count(txn).await?;
    if members + invited >= ed.max_users.max(0) as u64 {
        return Err(AppError::Conflict(format!(
            "The {} edition allows {} users; {} are members or invited. Upgrade the edition or remove someone first.",
            ed.name,
            ed.max_users,
            members + invited
        )));
    }
    Ok(())
}

/// How someone joined a tenant (recorded with the membership's audit event).
pub enum JoinedBy<'a> {
    /// They accepted this invitation, whose seat they now take.
    Invitation(&'a invitation::Model),
    /// Single sign-on created the membership just in time.
    SingleSignOn,
}

/// Add a user to a tenant with a role: the one path for accepted invitations and for
/// single sign-on, so both count seats the same way (inside `txn`, under the tenant
/// lock). A full edition is `Conflict` with the reason. An invitation is marked accepted
/// in `txn` first, which frees the seat it held for the membership.
pub async fn add_member(
    txn: &DatabaseTransaction,
    t: &tenant::Model,
    user_id: &str,
    email: &str,
    role: Role,
    joined_by: JoinedBy<'_>,
) -> Result<membership::Model, AppError> {
    ensure_seat(txn, t).await?;
    let scope = team(t);
    if scope.find::<membership::Entity>().filter(membership::Column::UserId.eq(user_id)).one(txn).await?.is_some() {
        return Err(AppError::Conflict("This person is already a member of the tenant.".into()));
    }
    let m = membership::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user_id.to_string()),
        tenant_id: Set(t.id.clone()),
        role: Set(role.as_str().into()),
        created_at: Set(Utc::now()),
    }
    .insert(txn)
    .await?;
    let (actor, action, details) = match joined_by {
        JoinedBy::Invitation(inv) => (
            Actor::user(user_id, email),
            "invitation.accepted",
            serde_json::json!({"role": role.as_str(), "invitation": inv.id}),
        ),
        JoinedBy::SingleSignOn => (
            Actor::system("sso"),
            "user.added",
            serde_json::json!({"email": email, "role": role.as_str(), "source": "idp"}),
        ),
    };
    record(txn, NewEvent::tenant(&t.id, actor, action, "user", Some(user_id.into()), details)).await?;
    Ok(m)
}

/// The team of a tenant, for someone allowed `TeamView` there.
pub async fn list(ctx: &Ctx, t: &tenant::Model, req: &PageRequest) -> Result<TeamView, AppError> {
    let db = ctx.db();
    let scope = team(t);
    // One page of the team's accounts, A–Z by e-mail, then their memberships: a bounded
    // number of queries however big the team.
    let in_team = scope.find::<membership::Entity>().select_only().column(membership::Column::UserId).into_query();
    let accounts = user::Entity::find().filter(user::Column::Id.in_subquery(in_team));
    let page = Keyset::by_text(user::Column::Email, user::Column::Id).page(db, accounts, req).await?;
    let mut members: std::collections::HashMap<String, membership::Model> = scope
        .find::<membership::Entity>()
        .filter(membership::Column::UserId.is_in(page.items.iter().map(|u| u.id.clone())))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.user_id.clone(), m))
        .collect();
    let info = page.page_info;
    let mut rows = Vec::with_capacity(page.items.len());
    for u in page.items {
        if let Some(m) = members.remove(&u.id) {
            rows.push(MemberRow {
                role: stored_role("memberships", &m.id, &m.role)?,
                user_id: u.id,
                email: u.email,
                display_name: u.display_name,
                disabled: u.disabled,
                last_login_at: u.last_login_at.map(fmt),
                joined_at: fmt(m.created_at),
                is_self: m.user_id == ctx.user.id,
            });
        }
    }
    let invitations = scope
        .find::<invitation::Entity>()
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .order_by_desc(invitation::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|i| {
            Ok(InvitationRow {
                expired: i.expires_at < Utc::now(),
                role: stored_role("invitations", &i.id, &i.role)?,
                id: i.id,
                email: i.email,
                expires_at: fmt(i.expires_at),
                created_at: fmt(i.created_at),
            })
        })
        .collect::<Result<_, AppError>>()?;
    let max_users = edition_of(db, t).await?.max_users;
    Ok(TeamView {
        tenant_id: t.id.clone(),
        tenant_name: t.name.clone(),
        tenant_status: t.status.clone(),
        members: Page { items: rows, page_info: info },
        invitations,
        max_users,
        require_mfa: crate::auth::mfa::ssr::tenant_requires(db, &t.id).await?,
        can_manage: ctx.user.is_platform_admin
            || (t.status == "active"
                && crate::auth::permissions::allowed(
                    Perm::TeamManage,
                    false,
                    crate::auth::ssr::tenant_role(db, &ctx.user.id, &t.id).await?.map(|(_, r)| r),
                )),
    })
}

/// Invite someone by e-mail with a role; e-mails the link when SMTP is configured.
pub async fn invite(ctx: &Ctx, t: &tenant::Model, email: &str, role: &str) -> Result<InviteResult, AppError> {
    let email = normalize_email(email);
    let mut fields = crate::error::FieldErrors::new();
    if !valid_email(&email) {
        fields.insert("email".into(), "Enter a valid e-mail address, like name@example.com.".into());
    }
    let role = match parse_role(role) {
        Ok(r) => Some(r),
        Err(_) => {
            fields.insert("role".into(), "Choose one of the listed roles.".into());
            None
        }
    };
    if let Some(e) = AppError::from_fields(fields) {
        return Err(e);
    }
    let role = role.ok_or_else(|| AppError::field("role", "Choose one of the listed roles."))?;
    let db = ctx.db();
    let scope = team(t);
    if let Some(u) = user::Entity::find().filter(user::Column::Email.eq(&email)).one(db).await? {
        let member = scope.find::<membership::Entity>().filter(membership::Column::UserId.eq(&u.id)).one(db).await?;
        if member.is_some() {
            return Err(AppError::field("email", "This person is already a member of the tenant."));
        }
    }

    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let now = Utc::now();
    let id = new_id();
    let txn = db.begin_write().await?;
    // A new invitation replaces any open one for the same address (and its seat).
    scope
        .update_many::<invitation::Entity>()
        .col_expr(invitation::Column::RevokedAt, sea_orm::sea_query::Expr::value(now))
        .filter(invitation::Column::Email.eq(&email))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    // Edition quota, members plus open invitations, counted under the tenant lock.
    ensure_seat(&txn, t).await?;
    invitation::ActiveModel {
        id: Set(id.clone()),
        tenant_id: Set(t.id.clone()),
        email: Set(email.clone()),
        role: Set(role.as_str().into()),
        token_hash: Set(token_hash(&token)),
        invited_by: Set(ctx.user.id.clone()),
        expires_at: Set(now + Duration::days(INVITE_DAYS)),
        accepted_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    record(
        &txn,
        NewEvent::tenant(
            &t.id,
            ctx.actor(),
            "user.invited",
            "invitation",
            Some(id),
            serde_json::json!({"email": email, "role": role.as_str()}),
        ),
    )
    .await?;
    let link = format!("{}/invite/{}", ctx.state.settings.public_url.trim_end_matches('/'), token);
    // Queued with the invitation: delivered (with retries) by the job queue.
    let queued = crate::mail::ssr::queue(
        &txn,
        &ctx.state,
        crate::mail::ssr::Recipient { email: email.clone(), user_id: None, tenant_id: Some(t.id.clone()) },
        Mail::Invitation(InvitationMail {
            inviter_name: if ctx.user.display_name.trim().is_empty() {
                ctx.user.email.clone()
            } else {
                ctx.user.display_name.clone()
            },
            tenant_name: t.name.clone(),
            role_label: role.label().into(),
            link: link.clone(),
            days: INVITE_DAYS,
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(InviteResult { email, link, emailed: queued.is_some(), email_error: None })
}

async fn open_invitation(db: &DatabaseConnection, token: &str) -> Result<invitation::Model, AppError> {
    let inv = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(token_hash(token)))
        .one(db)
        .await?
        .ok_or_else(|| AppError::Forbidden("This invitation link is not valid. Ask for a new one.".into()))?;
    if inv.accepted_at.is_some() {
        return Err(AppError::Conflict("This invitation has already been accepted. Sign in instead.".into()));
    }
    if inv.revoked_at.is_some() {
        return Err(AppError::Forbidden("This invitation was withdrawn. Ask for a new one.".into()));
    }
    if inv.expires_at < Utc::now() {
        return Err(AppError::Forbidden("This invitation has expired. Ask for a new one.".into()));
    }
    Ok(inv)
}

pub async fn invitation_info(db: &DatabaseConnection, token: &str) -> Result<InvitationDetails, AppError> {
    let inv = open_invitation(db, token).await?;
    let t = tenant::Entity::find_by_id(inv.tenant_id.clone()).one(db).await?.ok_or(AppError::NotFound)?;
    let existing = user::Entity::find().filter(user::Column::Email.eq(&inv.email)).one(db).await?;
    Ok(InvitationDetails {
        email: inv.email,
        tenant_name: t.name,
        role: stored_role("invitations", &inv.id, &inv.role)?,
        existing_account: existing.is_some_and(|u| u.password_hash.is_some()),
    })
}

/// Accept: create the account (or confirm an existing one by its password) and the membership.
pub async fn accept_invitation(
    state: &crate::state::AppState,
    token: &str,
    display_name: &str,
    password: String,
    confirm: &str,
) -> Result<(String, String, Role), AppError> {
    let db = &state.db;
    let inv = open_invitation(db, token).await?;
    let role = stored_role("invitations", &inv.id, &inv.role)?;
    let t = tenant::Entity::find_by_id(inv.tenant_id.clone()).one(db).await?.ok_or(AppError::NotFound)?;
    if t.status != "active" {
        return Err(AppError::Forbidden(format!("{} is not accepting new members right now.", t.name)));
    }
    let existing = user::Entity::find().filter(user::Column::Email.eq(&inv.email)).one(db).await?;
    let now = Utc::now();
    let user_id;
    let txn;
    match existing.filter(|u| u.password_hash.is_some()) {
        Some(u) => {
            if u.disabled {
                return Err(AppError::Forbidden("This account is disabled.".into()));
            }
            if !verify_password(password, u.password_hash.clone()).await? {
                return Err(AppError::field("password", "That is not the password of this account."));
            }
            user_id = u.id.clone();
            txn = db.begin_write().await?;
        }
        None => {
            let name = display_name.trim();
            let mut fields = crate::error::FieldErrors::new();
            if name.is_empty() || name.chars().count() > 100 {
                fields.insert("display_name".into(), "Enter your name (up to 100 characters).".into());
            }
            if let Some((f, m)) = check_new_password(&password, confirm) {
                fields.insert(f.into(), m);
            }
            if let Some(e) = AppError::from_fields(fields) {
                return Err(e);
            }
            let hash = hash_password(password).await?;
            txn = db.begin_write().await?;
            let stub = user::Entity::find().filter(user::Column::Email.eq(&inv.email)).one(&txn).await?;
            user_id = match stub {
                Some(u) => {
                    let id = u.id.clone();
                    let mut am: user::ActiveModel = u.into();
                    am.password_hash = Set(Some(hash));
                    am.display_name = Set(name.to_string());
                    am.update(&txn).await?;
                    id
                }
                None => {
                    let id = new_id();
                    user::ActiveModel {
                        id: Set(id.clone()),
                        email: Set(inv.email.clone()),
                        display_name: Set(name.to_string()),
                        password_hash: Set(Some(hash)),
                        disabled: Set(false),
                        is_platform_admin: Set(false),
                        created_at: Set(now),
                        last_login_at: Set(Some(now)),
                    }
                    .insert(&txn)
                    .await?;
                    id
                }
            };
        }
    }
    // Accepted once: a second, concurrent acceptance of the same link finds it taken.
    let taken = team(&t)
        .update_many::<invitation::Entity>()
        .col_expr(invitation::Column::AcceptedAt, sea_orm::sea_query::Expr::value(now))
        .filter(invitation::Column::Id.eq(&inv.id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if taken.rows_affected != 1 {
        return Err(AppError::Conflict("This invitation has already been used. Sign in instead.".into()));
    }
    add_member(&txn, &t, &user_id, &inv.email, role, JoinedBy::Invitation(&inv)).await?;
    // Tell the person who sent the invitation (they can turn this off).
    if let Some(inviter) = user::Entity::find_by_id(inv.invited_by.clone()).one(&txn).await?
        && !inviter.disabled
    {
        let member = user::Entity::find_by_id(user_id.clone()).one(&txn).await?;
        let member_name = member.map(|m| m.display_name).filter(|n| !n.trim().is_empty()).unwrap_or(inv.email.clone());
        crate::mail::ssr::queue(
            &txn,
            state,
            crate::mail::ssr::Recipient {
                email: inviter.email.clone(),
                user_id: Some(inviter.id.clone()),
                tenant_id: Some(t.id.clone()),
            },
            Mail::MemberJoined(MemberJoinedMail {
                member_name,
                member_email: inv.email.clone(),
                tenant_name: t.name.clone(),
                role_label: role.label().into(),
                team_url: format!("{}/portal/team", state.settings.public_url.trim_end_matches('/')),
            }),
        )
        .await?;
    }
    txn.commit().await?;
    Ok((user_id, t.id, role))
}

async fn member(
    db: &impl sea_orm::ConnectionTrait,
    t: &tenant::Model,
    user_id: &str,
) -> Result<(membership::Model, user::Model), AppError> {
    let m = team(t)
        .find::<membership::Entity>()
        .filter(membership::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let u = user::Entity::find_by_id(user_id.to_string()).one(db).await?.ok_or(AppError::NotFound)?;
    Ok((m, u))
}

/// Refuse to leave a tenant without an active tenant admin.
async fn keeps_an_admin(
    db: &impl sea_orm::ConnectionTrait,
    t: &tenant::Model,
    changing_user: &str,
) -> Result<bool, AppError> {
    let admins: Vec<String> = team(t)
        .find::<membership::Entity>()
        .filter(membership::Column::Role.eq(Role::TenantAdmin.as_str()))
        .filter(membership::Column::UserId.ne(changing_user))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let active = user::Entity::find()
        .filter(user::Column::Id.is_in(admins))
        .filter(user::Column::Disabled.eq(false))
        .count(db)
        .await?;
    Ok(active > 0)
}

pub async fn change_role(ctx: &Ctx, t: &tenant::Model, user_id: &str, role: &str) -> Result<(), AppError> {
    let role = parse_role(role)?;
    let txn = ctx.db().begin_write().await?;
    let (m, u) = member(&txn, t, user_id).await?;
    if m.role == role.as_str() {
        return Ok(());
    }
    if m.role == Role::TenantAdmin.as_str() && !keeps_an_admin(&txn, t, user_id).await? {
        return Err(AppError::Conflict(
            "A tenant needs at least one active tenant admin. Make someone else admin first.".into(),
        ));
    }
    let from = m.role.clone();
    let mut am: membership::ActiveModel = m.into();
    am.role = Set(role.as_str().into());
    am.update(&txn).await?;
    use crate::api_keys::ssr::notify::{Standing, keys_lost_scopes};
    keys_lost_scopes(&txn, &ctx.state, &team(t), t, &u, Role::parse(&from), Standing::Now(role)).await?;
    record(
        &txn,
        NewEvent::tenant(
            &t.id,
            ctx.actor(),
            "user.role_changed",
            "user",
            Some(u.id.clone()),
            serde_json::json!({"email": u.email, "from": from, "to": role.as_str()}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Disable or re-enable an account. Accounts are global, so a tenant admin may only
/// disable people who belong to no other tenant; platform admins may disable anyone.
pub async fn set_disabled(ctx: &Ctx, t: &tenant::Model, user_id: &str, disabled: bool) -> Result<(), AppError> {
    if user_id == ctx.user.id {
        return Err(AppError::Conflict("You cannot disable your own account.".into()));
    }
    let txn = ctx.db().begin_write().await?;
    let (m, u) = member(&txn, t, user_id).await?;
    if u.is_platform_admin && !ctx.user.is_platform_admin {
        return Err(AppError::forbidden());
    }
    if !ctx.user.is_platform_admin {
        let others = membership::Entity::find()
            .filter(membership::Column::UserId.eq(user_id))
            .filter(membership::Column::TenantId.ne(&t.id))
            .count(&txn)
            .await?;
        // Which other tenants (or whether any) is not this tenant's business: the
        // answer is the same advice for every account a tenant admin cannot disable.
        if others > 0 {
            return Err(AppError::Conflict(
                "You cannot disable this account from here. Remove the person from the team instead; Patchbay support can disable the account itself.".into(),
            ));
        }
    }
    if disabled && m.role == Role::TenantAdmin.as_str() && !keeps_an_admin(&txn, t, user_id).await? {
        return Err(AppError::Conflict("A tenant needs at least one active tenant admin.".into()));
    }
    let email = u.email.clone();
    if disabled {
        use crate::api_keys::ssr::notify::{Standing, keys_lost_scopes};
        keys_lost_scopes(&txn, &ctx.state, &team(t), t, &u, Role::parse(&m.role), Standing::Disabled).await?;
    }
    let mut am: user::ActiveModel = u.into();
    am.disabled = Set(disabled);
    am.update(&txn).await?;
    let ended = if disabled { end_all_sessions(&txn, user_id).await? } else { 0 };
    let action = if disabled { "user.disabled" } else { "user.enabled" };
    record(
        &txn,
        NewEvent::tenant(
            &t.id,
            ctx.actor(),
            action,
            "user",
            Some(user_id.into()),
            serde_json::json!({"email": email, "sessions_ended": ended}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn remove_member(ctx: &Ctx, t: &tenant::Model, user_id: &str) -> Result<(), AppError> {
    let txn = ctx.db().begin_write().await?;
    let (m, u) = member(&txn, t, user_id).await?;
    if m.role == Role::TenantAdmin.as_str() && !keeps_an_admin(&txn, t, user_id).await? {
        return Err(AppError::Conflict("A tenant needs at least one active tenant admin.".into()));
    }
    membership::Entity::delete_by_id(m.id.clone()).exec(&txn).await?;
    use crate::api_keys::ssr::notify::{Standing, keys_lost_scopes};
    keys_lost_scopes(&txn, &ctx.state, &team(t), t, &u, Role::parse(&m.role), Standing::Removed).await?;
    record(
        &txn,
        NewEvent::tenant(
            &t.id,
            ctx.actor(),
            "user.removed",
            "user",
            Some(user_id.into()),
            serde_json::json!({"email": u.email, "role": m.role}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn force_sign_out(ctx: &Ctx, t: &tenant::Model, user_id: &str) -> Result<u64, AppError> {
    let txn = ctx.db().begin_write().await?;
    let (_, u) = member(&txn, t, user_id).await?;
    if u.is_platform_admin && !ctx.user.is_platform_admin {
        return Err(AppError::forbidden());
    }
    let n = end_all_sessions(&txn, user_id).await?;
    record(
        &txn,
        NewEvent::tenant(
            &t.id,
            ctx.actor(),
            "user.signed_out",
            "user",
            Some(user_id.into()),
            serde_json::json!({"email": u.email, "sessions_ended": n}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(n)
}

pub async fn revoke_invitation(ctx: &Ctx, t: &tenant::Model, invitation_id: &str) -> Result<(), AppError> {
    let txn = ctx.db().begin_write().await?;
    let inv = team(t).get::<invitation::Entity, _>(&txn, invitation_id.to_string()).await?;
    if inv.accepted_at.is_some() || inv.revoked_at.is_some() {
        return Err(AppError::Conflict("That invitation is no longer open.".into()));
    }
    let email = inv.email.clone();
    let mut am: invitation::ActiveModel = inv.into();
    am.revoked_at = Set(Some(Utc::now()));
    am.update(&txn).await?;
    record(
        &txn,
        NewEvent::tenant(
            &t.id,
            ctx.actor(),
            "invitation.revoked",
            "invitation",
            Some(invitation_id.into()),
            serde_json::json!({"email": email}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
