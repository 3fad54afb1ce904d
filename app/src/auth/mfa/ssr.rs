//! Multi-factor sign-in for local accounts: TOTP (RFC 6238, `totp-rs`) with the secret
//! sealed at rest, single-use recovery codes stored hashed, the second sign-in step,
//! forced enrolment (platform admins; tenants that require it) and step-up.
use crate::core::db::BeginWrite;
use chrono::{Duration, Utc};
use entity::{login_failure, membership, mfa_recovery_code, tenant_security_policy, user, user_mfa};
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use totp_rs::{Builder, Secret, Totp};
use tower_sessions::Session;

use crate::audit::ssr::{Actor, NewEvent, record};
use crate::auth::ssr::{Ctx, new_id};
use crate::error::AppError;
use crate::mail::ssr::Recipient;
use crate::mail::templates::{Mail, SecurityNoticeMail};
use crate::state::AppState;

/// A sign-in that passed the password and waits for the second factor (or enrolment).
pub const KEY_PENDING: &str = "mfa_pending";
/// The sealed secret of an enrolment that has not been confirmed yet.
pub const KEY_SETUP: &str = "mfa_setup";
/// Unix time at which this session last verified a second factor.
pub const KEY_MFA_AT: &str = "mfa_at";
/// Fresh recovery codes, shown once on the next security page.
pub const KEY_SHOW_CODES: &str = "mfa_codes";

/// How long a half-finished sign-in waits for its second step.
const PENDING_MINUTES: i64 = 10;
pub const RECOVERY_CODES: usize = 10;
const ISSUER: &str = "Patchbay";

/// The message of a refused risky action; the step-up page is where to go.
pub const STEP_UP_REQUIRED: &str =
    "This action needs a fresh second factor. Confirm it is you at /account/step-up, then try again.";
pub const STEP_UP_ENROL: &str =
    "This action needs two-factor sign-in. Set it up under Account → Security (/account/security) first.";

fn session_err(e: tower_sessions::session::Error) -> AppError {
    AppError::internal("session", e)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub user_id: String,
    /// Enrolment is required before the sign-in can finish.
    pub enrol: bool,
    pub next: Option<String>,
    pub ip: String,
    pub started: i64,
}

fn totp(secret: Secret, email: &str) -> Result<Totp, AppError> {
    Builder::new()
        .with_secret(secret)
        .with_account_name(email.replace(':', ""))
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| AppError::internal("totp", e))
}

fn secret_of(base32: &str, whose: &str) -> Result<Secret, AppError> {
    Secret::try_from_base32(base32).map_err(|e| AppError::internal("totp secret", format!("{whose}: {e}")))
}

/// The stored enrolment's generator, or `None` when the user has none.
async fn stored(state: &AppState, u: &user::Model) -> Result<Option<(user_mfa::Model, Totp)>, AppError> {
    let Some(m) = user_mfa::Entity::find_by_id(u.id.clone()).one(&state.db).await? else { return Ok(None) };
    let b32 = state
        .sealer
        .open(&m.totp_secret_sealed)
        .map_err(|e| AppError::internal("user_mfa", format!("row {}: {e}", m.user_id)))?;
    let t = totp(secret_of(&b32, &format!("user_mfa row {}", m.user_id))?, &u.email)?;
    Ok(Some((m, t)))
}

pub async fn is_enrolled(db: &impl ConnectionTrait, user_id: &str) -> Result<bool, AppError> {
    Ok(user_mfa::Entity::find_by_id(user_id.to_string()).one(db).await?.is_some())
}

/// Whether a tenant requires a second factor for its local accounts.
pub async fn tenant_requires(db: &impl ConnectionTrait, tenant_id: &str) -> Result<bool, AppError> {
    Ok(tenant_security_policy::Entity::find_by_id(tenant_id.to_string()).one(db).await?.is_some_and(|p| p.require_mfa))
}

/// Whether this user must have a second factor: platform admins always (unless the
/// development-only `PATCHBAY_DEV_MFA_OPTIONAL_FOR_ADMINS` is on), and members of a
/// tenant whose policy requires it.
pub async fn required_for(state: &AppState, u: &user::Model) -> Result<bool, AppError> {
    if u.is_platform_admin && !state.settings.dev_mfa_optional_for_admins {
        return Ok(true);
    }
    let tenants: Vec<String> = membership::Entity::find()
        .filter(membership::Column::UserId.eq(&u.id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| m.tenant_id)
        .collect();
    if tenants.is_empty() {
        return Ok(false);
    }
    Ok(tenant_security_policy::Entity::find()
        .filter(tenant_security_policy::Column::TenantId.is_in(tenants))
        .filter(tenant_security_policy::Column::RequireMfa.eq(true))
        .count(&state.db)
        .await?
        > 0)
}

/// Park a password sign-in until the second step; returns where to go.
pub async fn begin_pending(
    session: &Session,
    u: &user::Model,
    ip: &str,
    next: Option<String>,
    enrol: bool,
) -> Result<String, AppError> {
    let p = Pending { user_id: u.id.clone(), enrol, next, ip: ip.into(), started: Utc::now().timestamp() };
    // A new sign-in has started: whoever was signed in here is not any more.
    session.remove_value(crate::auth::session_store::KEY_USER).await.map_err(session_err)?;
    session.remove_value(crate::auth::ssr::KEY_TENANT).await.map_err(session_err)?;
    session.remove_value(KEY_MFA_AT).await.map_err(session_err)?;
    session.insert(KEY_PENDING, &p).await.map_err(session_err)?;
    session.save().await.map_err(session_err)?;
    Ok(if enrol { "/login/mfa/setup".into() } else { "/login/mfa".into() })
}

/// The half-finished sign-in of this session, if it has not expired.
pub async fn pending(session: &Session) -> Result<Option<Pending>, AppError> {
    let p: Option<Pending> = session.get(KEY_PENDING).await.map_err(session_err)?;
    Ok(p.filter(|p| Utc::now().timestamp() - p.started <= PENDING_MINUTES * 60))
}

fn expired() -> AppError {
    AppError::Forbidden("Your sign-in has expired. Sign in again with your password.".into())
}

pub async fn mark_verified(session: &Session) -> Result<(), AppError> {
    session.insert(KEY_MFA_AT, Utc::now().timestamp()).await.map_err(session_err)
}

fn hash_code(code: &str) -> String {
    let norm: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
    hex::encode(Sha256::digest(format!("patchbay-recovery:{norm}").as_bytes()))
}

/// Ten random codes like `k7m2p-x9q4r` (50 bits each).
fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..RECOVERY_CODES)
        .map(|_| {
            let s: String = (0..10).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
            format!("{}-{}", &s[..5], &s[5..])
        })
        .collect()
}

/// What a valid second factor was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Totp,
    RecoveryCode,
}

async fn throttled(state: &AppState, email: &str) -> Result<(), AppError> {
    let s = &state.settings;
    let n = login_failure::Entity::find()
        .filter(login_failure::Column::Email.eq(email))
        .filter(login_failure::Column::At.gt(Utc::now() - Duration::minutes(s.throttle_window_minutes)))
        .count(&state.db)
        .await?;
    if n >= s.max_failures_per_account {
        return Err(AppError::RateLimited(format!(
            "Too many wrong codes. Wait {} minutes and try again.",
            s.throttle_window_minutes
        )));
    }
    Ok(())
}

/// Check a six-digit code or a recovery code for `u`. A TOTP code is accepted once (its
/// time step is remembered); a recovery code once ever. Wrong codes count towards the
/// account's sign-in throttle and are audited.
pub async fn verify(state: &AppState, u: &user::Model, code: &str, ip: &str) -> Result<Factor, AppError> {
    let code = code.trim();
    if code.is_empty() {
        return Err(AppError::field("code", "Enter the code from your authenticator app, or a recovery code."));
    }
    throttled(state, &u.email).await?;
    let Some((m, t)) = stored(state, u).await? else {
        return Err(AppError::Conflict("Two-factor sign-in is not set up for this account.".into()));
    };
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()) {
        if let Some(step) = t.check(&digits, Utc::now().timestamp().max(0) as u64) {
            let step = step as i64;
            // Only a later step than the last accepted one: a code never works twice.
            let res = user_mfa::Entity::update_many()
                .col_expr(user_mfa::Column::LastStep, Expr::value(step))
                .filter(user_mfa::Column::UserId.eq(&m.user_id))
                .filter(user_mfa::Column::LastStep.lt(step))
                .exec(&state.db)
                .await?;
            if res.rows_affected == 1 {
                return Ok(Factor::Totp);
            }
        }
    } else {
        let res = mfa_recovery_code::Entity::update_many()
            .col_expr(mfa_recovery_code::Column::UsedAt, Expr::value(Utc::now()))
            .filter(mfa_recovery_code::Column::UserId.eq(&u.id))
            .filter(mfa_recovery_code::Column::CodeHash.eq(hash_code(code)))
            .filter(mfa_recovery_code::Column::UsedAt.is_null())
            .exec(&state.db)
            .await?;
        if res.rows_affected == 1 {
            let left = mfa_recovery_code::Entity::find()
                .filter(mfa_recovery_code::Column::UserId.eq(&u.id))
                .filter(mfa_recovery_code::Column::UsedAt.is_null())
                .count(&state.db)
                .await?;
            audit(state, u, "auth.mfa_recovery_used", serde_json::json!({"ip": ip, "left": left})).await?;
            notify(
                state,
                u,
                "A recovery code was used",
                &format!("Someone signed in with one of your recovery codes; {left} are left. Each code works once."),
            )
            .await?;
            return Ok(Factor::RecoveryCode);
        }
    }
    login_failure::ActiveModel {
        email: Set(u.email.clone()),
        ip: Set(ip.to_string()),
        at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    audit(state, u, "auth.mfa_failed", serde_json::json!({"ip": ip})).await?;
    Err(AppError::field("code", "That code is not valid. Codes change every 30 seconds and work once."))
}

async fn audit(state: &AppState, u: &user::Model, action: &str, details: serde_json::Value) -> Result<(), AppError> {
    let ok = !action.ends_with("_failed");
    record(&state.db, NewEvent::platform(Actor::user(&u.id, &u.email), action, "user", Some(u.id.clone()), ok, details))
        .await
}

/// A mandatory security notice to the account's own address.
async fn notify(state: &AppState, u: &user::Model, headline: &str, detail: &str) -> Result<(), AppError> {
    crate::mail::ssr::queue(
        &state.db,
        state,
        Recipient { email: u.email.clone(), user_id: Some(u.id.clone()), tenant_id: None },
        Mail::SecurityNotice(SecurityNoticeMail {
            display_name: if u.display_name.is_empty() { u.email.clone() } else { u.display_name.clone() },
            email: u.email.clone(),
            headline: headline.into(),
            detail: detail.into(),
            when: Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        }),
    )
    .await?;
    Ok(())
}

/// The secret being enrolled in this session (a new one the first time), as base32
/// and `otpauth://` URI.
pub async fn setup_secret(state: &AppState, session: &Session, u: &user::Model) -> Result<(String, String), AppError> {
    let sealed: Option<String> = session.get(KEY_SETUP).await.map_err(session_err)?;
    let b32 = match sealed.and_then(|s| state.sealer.open(&s).ok()) {
        Some(b) => b,
        None => {
            let b = Secret::generate().to_base32();
            let s = state.sealer.seal(&b).map_err(|e| AppError::internal("seal", e))?;
            session.insert(KEY_SETUP, s).await.map_err(session_err)?;
            b
        }
    };
    let t = totp(secret_of(&b32, "enrolment in this session")?, &u.email)?;
    let uri = t.to_url().map_err(|e| AppError::internal("totp url", e))?;
    Ok((b32, uri))
}

/// Confirm an enrolment with a code from the new secret: store it sealed, replace the
/// recovery codes, mark this session verified. Returns the recovery codes (shown once).
pub async fn confirm_setup(
    state: &AppState,
    session: &Session,
    u: &user::Model,
    code: &str,
) -> Result<Vec<String>, AppError> {
    if is_enrolled(&state.db, &u.id).await? {
        return Err(AppError::Conflict("Two-factor sign-in is already on for this account.".into()));
    }
    throttled(state, &u.email).await?;
    let sealed: Option<String> = session.get(KEY_SETUP).await.map_err(session_err)?;
    let Some(sealed) = sealed else {
        return Err(AppError::Conflict("Start again: reload the page to get a new secret.".into()));
    };
    let b32 = state.sealer.open(&sealed).map_err(|e| AppError::internal("session setup secret", e))?;
    let t = totp(secret_of(&b32, "enrolment in this session")?, &u.email)?;
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(step) = t.check(&digits, Utc::now().timestamp().max(0) as u64) else {
        return Err(AppError::field("code", "That code does not match. Check the secret and your device's clock."));
    };
    let codes = new_recovery_codes();
    let now = Utc::now();
    let txn = state.db.begin_write().await?;
    user_mfa::ActiveModel {
        user_id: Set(u.id.clone()),
        totp_secret_sealed: Set(state.sealer.seal(&b32).map_err(|e| AppError::internal("seal", e))?),
        last_step: Set(step as i64),
        enabled_at: Set(now),
    }
    .insert(&txn)
    .await?;
    mfa_recovery_code::Entity::delete_many().filter(mfa_recovery_code::Column::UserId.eq(&u.id)).exec(&txn).await?;
    for c in &codes {
        mfa_recovery_code::ActiveModel {
            id: Set(new_id()),
            user_id: Set(u.id.clone()),
            code_hash: Set(hash_code(c)),
            used_at: Set(None),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    session.remove::<String>(KEY_SETUP).await.map_err(session_err)?;
    mark_verified(session).await?;
    audit(state, u, "auth.mfa_enabled", serde_json::json!({"method": "totp"})).await?;
    notify(
        state,
        u,
        "Two-factor sign-in was turned on",
        "From now on, signing in asks for a code from your authenticator app.",
    )
    .await?;
    Ok(codes)
}

/// Turn the second factor off: needs the password (when the account has one) and a
/// current code or recovery code.
pub async fn disable(ctx: &Ctx, password: String, code: &str, ip: &str) -> Result<(), AppError> {
    let state = &ctx.state;
    let u = &ctx.user;
    if let Some(hash) = u.password_hash.clone()
        && !crate::auth::ssr::verify_password(password, Some(hash)).await?
    {
        return Err(AppError::field("password", "The password is incorrect."));
    }
    verify(state, u, code, ip).await?;
    let txn = state.db.begin_write().await?;
    user_mfa::Entity::delete_by_id(u.id.clone()).exec(&txn).await?;
    mfa_recovery_code::Entity::delete_many().filter(mfa_recovery_code::Column::UserId.eq(&u.id)).exec(&txn).await?;
    txn.commit().await?;
    audit(state, u, "auth.mfa_disabled", serde_json::json!({"ip": ip})).await?;
    notify(state, u, "Two-factor sign-in was turned off", "Signing in now needs only your password.").await
}

/// Unused recovery codes of a user.
pub async fn recovery_left(db: &impl ConnectionTrait, user_id: &str) -> Result<u64, AppError> {
    Ok(mfa_recovery_code::Entity::find()
        .filter(mfa_recovery_code::Column::UserId.eq(user_id))
        .filter(mfa_recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await?)
}

/// Finish a parked sign-in with its second factor; returns where to go.
pub async fn complete_pending(state: &AppState, session: &Session, code: &str, ip: &str) -> Result<String, AppError> {
    let p = pending(session).await?.ok_or_else(expired)?;
    if p.enrol {
        return Err(AppError::Conflict("Set up two-factor sign-in first.".into()));
    }
    let u = user::Entity::find_by_id(p.user_id.clone()).one(&state.db).await?.ok_or_else(expired)?;
    if u.disabled {
        return Err(AppError::Forbidden("This account is disabled. Ask your administrator to re-enable it.".into()));
    }
    let factor = verify(state, &u, code, ip).await?;
    session.remove::<Pending>(KEY_PENDING).await.map_err(session_err)?;
    let method = if factor == Factor::Totp { "password+totp" } else { "password+recovery_code" };
    crate::auth::ssr::establish(state, session, &u, ip, method, p.next, true).await
}

/// The user a pending enrolment is for.
pub async fn pending_enrolment_user(state: &AppState, session: &Session) -> Result<(Pending, user::Model), AppError> {
    let p = pending(session).await?.filter(|p| p.enrol).ok_or_else(expired)?;
    let u = user::Entity::find_by_id(p.user_id.clone()).one(&state.db).await?.ok_or_else(expired)?;
    if u.disabled {
        return Err(AppError::Forbidden("This account is disabled. Ask your administrator to re-enable it.".into()));
    }
    Ok((p, u))
}

/// Step-up: refuse unless this session verified a second factor within `within`.
/// Apply it to the riskiest actions (edition changes today; approvals, kill-switches
/// and key creation as they arrive).
pub async fn require_fresh_mfa(ctx: &Ctx, within: std::time::Duration) -> Result<(), AppError> {
    if !is_enrolled(ctx.db(), &ctx.user.id).await? {
        if ctx.user.is_platform_admin && ctx.state.settings.dev_mfa_optional_for_admins {
            return Ok(());
        }
        return Err(AppError::Forbidden(STEP_UP_ENROL.into()));
    }
    // A context without a browser session has verified no second factor.
    let at: Option<i64> = match &ctx.session {
        Some(s) => s.get(KEY_MFA_AT).await.map_err(session_err)?,
        None => None,
    };
    let fresh = at.is_some_and(|t| Utc::now().timestamp() - t <= within.as_secs() as i64);
    if fresh { Ok(()) } else { Err(AppError::Forbidden(STEP_UP_REQUIRED.into())) }
}

/// How fresh a second factor must be for the riskiest actions.
pub const STEP_UP_WINDOW: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// A tenant admin's setting: require a second factor for the tenant's local accounts.
pub async fn set_policy(ctx: &Ctx, tenant_id: &str, require: bool) -> Result<(), AppError> {
    let now = Utc::now();
    match tenant_security_policy::Entity::find_by_id(tenant_id.to_string()).one(ctx.db()).await? {
        Some(p) => {
            let mut am: tenant_security_policy::ActiveModel = p.into();
            am.require_mfa = Set(require);
            am.updated_by = Set(ctx.user.id.clone());
            am.updated_at = Set(now);
            am.update(ctx.db()).await?;
        }
        None => {
            tenant_security_policy::ActiveModel {
                tenant_id: Set(tenant_id.into()),
                require_mfa: Set(require),
                updated_by: Set(ctx.user.id.clone()),
                updated_at: Set(now),
            }
            .insert(ctx.db())
            .await?;
        }
    }
    record(
        ctx.db(),
        NewEvent::tenant(
            tenant_id,
            ctx.actor(),
            "tenant.mfa_policy_changed",
            "tenant",
            Some(tenant_id.to_string()),
            serde_json::json!({"require_mfa": require}),
        ),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_distinct_and_hash_the_same_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut d = codes.clone();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), RECOVERY_CODES);
        let c = &codes[0];
        assert_eq!(hash_code(c), hash_code(&c.to_uppercase().replace('-', " ")));
        assert_ne!(hash_code(&codes[0]), hash_code(&codes[1]));
    }
}
