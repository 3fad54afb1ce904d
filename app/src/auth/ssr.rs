//! Server-side authentication: the signed-in context, permission checks,
//! password hashing and sign-in with throttling.
use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{Duration, Utc};
use entity::{login_failure, membership, session, tenant, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use tower_sessions::Session;

use super::permissions::{Perm, Role, allowed, is_write};
use super::session_store::{KEY_IP, KEY_USER, KEY_USER_AGENT, session_key};
use super::{TenantChoice, TenantContext, Viewer};
use crate::audit::ssr::{Actor, NewEvent, record};
use crate::error::AppError;
use crate::state::{AppState, app_state};

pub use super::session_store::KEY_TENANT;
pub const KEY_FLASH: &str = "flash";

/// Everything a server function knows about who is calling.
#[derive(Clone)]
pub struct Ctx {
    pub state: AppState,
    /// The browser session behind this context. Contexts built for a command-line action
    /// (the demo seed, later API keys) have none: see [`Ctx::acting_as`].
    pub session: Option<Session>,
    pub user: user::Model,
    /// The tenant selected in the session, with the caller's role in it.
    pub tenant: Option<tenant::Model>,
    pub role: Option<Role>,
}

impl Ctx {
    pub fn db(&self) -> &DatabaseConnection {
        &self.state.db
    }

    /// The browser session; an error for contexts that have none.
    pub fn session(&self) -> Result<&Session, AppError> {
        self.session
            .as_ref()
            .ok_or_else(|| AppError::BadRequest("This action needs a signed-in browser session.".into()))
    }

    /// `user` acting in `tenant_id` with their role there, without a browser session: for
    /// actions run by the server itself on a user's behalf (the demo seed places its orders
    /// through the same services a signed-in user's clicks reach). `None` when the user is
    /// disabled or not a member of that tenant.
    pub async fn acting_as(state: &AppState, user: user::Model, tenant_id: &str) -> Result<Option<Ctx>, AppError> {
        if user.disabled {
            return Ok(None);
        }
        Ok(tenant_role(&state.db, &user.id, tenant_id).await?.map(|(t, r)| Ctx {
            state: state.clone(),
            session: None,
            user,
            tenant: Some(t),
            role: Some(r),
        }))
    }

    pub fn actor(&self) -> Actor {
        Actor::user(&self.user.id, &self.user.email)
    }

    pub fn can(&self, perm: Perm) -> bool {
        allowed(perm, self.user.is_platform_admin, self.role)
    }

    /// The selected tenant, or Forbidden when there is none.
    pub fn tenant(&self) -> Result<&tenant::Model, AppError> {
        self.tenant.as_ref().ok_or_else(|| AppError::Forbidden("Select a tenant first.".into()))
    }
}

/// Normalise an e-mail address for storage and comparison.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A plausible e-mail address: one `@`, something before it, a dot after it.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
        && !domain.contains('@')
        && email.len() <= 254
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Hash a password with argon2id, off the async executor.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::internal("argon2 hash", e))
    })
    .await
    .map_err(|e| AppError::internal("argon2 task", e))?
}

/// A hash of a password nobody knows, to spend the same time on unknown accounts.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1YbAg3Vw2ADxmdX0o1sUOHAbX2Q7kd9FkV+Jgoyez9s";

/// Verify a password against a stored hash (or the dummy), off the executor.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_string());
        let parsed = PasswordHash::new(&hash).map_err(|e| AppError::internal("argon2 parse", e))?;
        let ok = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(ok && real)
    })
    .await
    .map_err(|e| AppError::internal("argon2 task", e))?
}

/// Password rules, as field errors.
pub fn check_new_password(password: &str, confirm: &str) -> Option<(&'static str, String)> {
    if password.chars().count() < 12 {
        return Some(("password", "Use at least 12 characters.".into()));
    }
    if password.len() > 1024 {
        return Some(("password", "That password is too long.".into()));
    }
    if password != confirm {
        return Some(("password_confirm", "The two passwords do not match.".into()));
    }
    None
}

/// The request's parts (inside a server function).
fn parts() -> Option<http::request::Parts> {
    leptos::prelude::use_context::<http::request::Parts>()
}

/// The client's address as seen by this server.
pub fn client_ip() -> String {
    parts()
        .and_then(|p| {
            p.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|ci| ci.0.ip().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn user_agent() -> Option<String> {
    parts().and_then(|p| {
        p.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(300).collect())
    })
}

/// Whether this request is a plain HTML form post (no JavaScript): then errors
/// travel back in the redirect and the status must stay a redirect.
pub fn is_plain_form_post() -> bool {
    parts()
        .and_then(|p| {
            p.headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).map(|a| a.contains("text/html"))
        })
        .unwrap_or(false)
}

/// Give a server function's result its HTTP status (for API clients and tests). A page
/// that is already redirecting (the shell sends a signed-out visitor to sign in, while the
/// page's own resources fail with 401) keeps its redirect.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result
        && !is_plain_form_post()
        && let (Some(opts), Ok(code)) =
            (leptos::prelude::use_context::<leptos_axum::ResponseOptions>(), http::StatusCode::from_u16(e.status()))
    {
        let redirecting = opts.0.read().is_ok_and(|parts| parts.headers.contains_key(http::header::LOCATION));
        if !redirecting {
            opts.set_status(code);
        }
    }
    result
}

/// The session of this request.
pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| AppError::internal("session extractor", e))
}

fn session_err(e: tower_sessions::session::Error) -> AppError {
    AppError::internal("session", e)
}

/// Load the signed-in context from a session; `None` when signed out (or the
/// account was disabled or removed since).
pub async fn context_from_session(state: &AppState, session: &Session) -> Result<Option<Ctx>, AppError> {
    let Some(user_id) = session.get::<String>(KEY_USER).await.map_err(session_err)? else {
        return Ok(None);
    };
    let Some(user) = user::Entity::find_by_id(user_id).one(&state.db).await? else {
        session.flush().await.map_err(session_err)?;
        return Ok(None);
    };
    if user.disabled {
        session.flush().await.map_err(session_err)?;
        return Ok(None);
    }
    let wanted: Option<String> = session.get(KEY_TENANT).await.map_err(session_err)?;
    let (tenant, role) = match wanted {
        Some(tid) => match tenant_role(&state.db, &user.id, &tid).await? {
            Some((t, r)) => (Some(t), Some(r)),
            None => {
                session.remove::<String>(KEY_TENANT).await.map_err(session_err)?;
                (None, None)
            }
        },
        None => (None, None),
    };
    let span = tracing::Span::current();
    span.record("user_id", user.id.as_str());
    if let Some(t) = &tenant {
        span.record("tenant_id", t.id.as_str());
    }
    Ok(Some(Ctx { state: state.clone(), session: Some(session.clone()), user, tenant, role }))
}

/// The caller's tenant and role in it, if they are a member of a tenant that is not deleted.
pub async fn tenant_role(
    db: &impl ConnectionTrait,
    user_id: &str,
    tenant_id: &str,
) -> Result<Option<(tenant::Model, Role)>, AppError> {
    let Some(m) = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(t) = tenant::Entity::find_by_id(tenant_id.to_string()).one(db).await? else {
        return Ok(None);
    };
    if t.status == "deleted" {
        return Ok(None);
    }
    Ok(Role::parse(&m.role).map(|r| (t, r)))
}

/// The signed-in context, loaded once per HTTP request. A server-rendered page calls
/// several server functions (the shell's viewer and flash, then each of the page's
/// resources), and each begins with `require*`: without this, the user, membership and
/// tenant were read again for every one of them. The server provides a fresh one per
/// request (`startup.rs`); concurrent callers wait for the one load. Code that changes who
/// is signed in or which tenant is selected calls [`RequestCtx::forget`].
#[derive(Clone, Default)]
pub struct RequestCtx(Arc<std::sync::Mutex<Arc<tokio::sync::OnceCell<Option<Ctx>>>>>);

impl RequestCtx {
    fn cell(&self) -> Arc<tokio::sync::OnceCell<Option<Ctx>>> {
        match self.0.lock() {
            Ok(cell) => cell.clone(),
            // A panic elsewhere while holding the lock: load afresh rather than fail.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Drop this request's loaded context (after signing in or out, or switching tenant).
    pub fn forget() {
        if let Some(rc) = leptos::prelude::use_context::<RequestCtx>() {
            let fresh = Arc::new(tokio::sync::OnceCell::new());
            match rc.0.lock() {
                Ok(mut cell) => *cell = fresh,
                Err(poisoned) => *poisoned.into_inner() = fresh,
            }
        }
    }
}

/// The signed-in context of this request (`None` when signed out), loaded once per
/// request through [`RequestCtx`].
pub async fn current_context() -> Result<Option<Ctx>, AppError> {
    let load = || async {
        let state = app_state()?;
        let session = session().await?;
        context_from_session(&state, &session).await
    };
    match leptos::prelude::use_context::<RequestCtx>() {
        Some(rc) => Ok(rc.cell().get_or_try_init(load).await?.clone()),
        None => load().await,
    }
}

/// First line of every server function that needs a signed-in user.
pub async fn require_user() -> Result<Ctx, AppError> {
    current_context().await?.ok_or(AppError::Unauthorized)
}

/// Signed in, and allowed `perm` in the currently selected tenant (or platform admin).
pub async fn require(perm: Perm) -> Result<Ctx, AppError> {
    let ctx = require_user().await?;
    if !ctx.can(perm) {
        return Err(AppError::forbidden());
    }
    if is_write(perm)
        && let Some(t) = &ctx.tenant
        && t.status != "active"
        && !ctx.user.is_platform_admin
    {
        return Err(suspended_error(t));
    }
    Ok(ctx)
}

fn suspended_error(t: &tenant::Model) -> AppError {
    AppError::Forbidden(format!(
        "{} is suspended{}: it is read-only until it is reactivated.",
        t.name,
        t.status_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
    ))
}

/// Signed in and allowed `perm` in the named tenant: platform admins for any
/// tenant that exists, everyone else only where they hold a role that allows it.
/// Write permissions are refused while the tenant is suspended.
pub async fn require_in_tenant(perm: Perm, tenant_id: &str) -> Result<(Ctx, tenant::Model), AppError> {
    let ctx = require_user().await?;
    let (tenant, role) = if ctx.user.is_platform_admin {
        let t = tenant::Entity::find_by_id(tenant_id.to_string()).one(ctx.db()).await?.ok_or(AppError::NotFound)?;
        (t, None)
    } else {
        match tenant_role(ctx.db(), &ctx.user.id, tenant_id).await? {
            Some((t, r)) => (t, Some(r)),
            // Not a member: the same answer whether or not the tenant exists.
            None => return Err(AppError::forbidden()),
        }
    };
    if !allowed(perm, ctx.user.is_platform_admin, role) {
        return Err(AppError::forbidden());
    }
    if is_write(perm) && tenant.status != "active" && !ctx.user.is_platform_admin {
        return Err(suspended_error(&tenant));
    }
    Ok((ctx, tenant))
}

/// Whether the caller may change things in the selected tenant now: it is not suspended
/// (platform admins may always). What pages use to offer a change; `require` enforces it.
pub fn writable(ctx: &Ctx) -> bool {
    ctx.user.is_platform_admin || ctx.tenant.as_ref().is_none_or(|t| t.status == "active")
}

/// [`require_in_tenant`] for `tenant_id`, or for the tenant selected in the session when
/// `tenant_id` is empty: a portal page names no tenant, so it can load without waiting for
/// the viewer. Forbidden ("Select a tenant first.") when none is selected.
pub async fn require_in_tenant_or_selected(perm: Perm, tenant_id: &str) -> Result<(Ctx, tenant::Model), AppError> {
    if !tenant_id.is_empty() {
        return require_in_tenant(perm, tenant_id).await;
    }
    let ctx = require(perm).await?;
    let tenant = ctx.tenant()?.clone();
    Ok((ctx, tenant))
}

/// The viewer DTO for the shell.
pub async fn viewer(ctx: &Ctx) -> Result<Viewer, AppError> {
    // Two statements however many tenants the user belongs to.
    let memberships =
        membership::Entity::find().filter(membership::Column::UserId.eq(&ctx.user.id)).all(ctx.db()).await?;
    let by_id: std::collections::HashMap<String, tenant::Model> = tenant::Entity::find()
        .filter(tenant::Column::Id.is_in(memberships.iter().map(|m| m.tenant_id.clone())))
        .filter(tenant::Column::Status.ne("deleted"))
        .all(ctx.db())
        .await?
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect();
    let mut tenants = Vec::new();
    for m in memberships {
        let Some(t) = by_id.get(&m.tenant_id) else { continue };
        let role = Role::parse(&m.role).ok_or_else(|| {
            AppError::internal("membership", format!("membership {} has an unknown role {:?}", m.id, m.role))
        })?;
        tenants.push(TenantChoice { id: t.id.clone(), name: t.name.clone(), slug: t.slug.clone(), role });
    }
    tenants.sort_by(|a, b| a.name.cmp(&b.name));
    let tenant = match &ctx.tenant {
        Some(t) => {
            let edition = entity::edition::Entity::find_by_id(t.edition_id.clone())
                .one(ctx.db())
                .await?
                .map(|e| e.name)
                .unwrap_or_default();
            Some(TenantContext {
                id: t.id.clone(),
                slug: t.slug.clone(),
                name: t.name.clone(),
                status: t.status.clone(),
                status_reason: t.status_reason.clone(),
                edition,
                role: ctx.role,
            })
        }
        None => None,
    };
    Ok(Viewer {
        user_id: ctx.user.id.clone(),
        email: ctx.user.email.clone(),
        display_name: ctx.user.display_name.clone(),
        is_platform_admin: ctx.user.is_platform_admin,
        tenant,
        tenants,
    })
}

/// Where a user lands after signing in.
pub fn home_path(is_platform_admin: bool, role: Option<Role>) -> &'static str {
    match (is_platform_admin, role) {
        (true, None) => "/console",
        (_, Some(Role::Operator)) => "/console",
        _ => "/portal",
    }
}

/// Only local paths may be redirect targets.
pub fn safe_next(next: Option<String>) -> Option<String> {
    next.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n.starts_with("/api/")
            && n.len() <= 2000
            && n.chars().all(|c| c.is_ascii_graphic() && c != '\\')
    })
}

async fn failures_since(
    db: &DatabaseConnection,
    col: login_failure::Column,
    value: &str,
    window: Duration,
) -> Result<u64, AppError> {
    Ok(login_failure::Entity::find()
        .filter(col.eq(value))
        .filter(login_failure::Column::At.gt(Utc::now() - window))
        .count(db)
        .await?)
}

/// Audit a refused sign-in of a known account.
async fn login_failed(db: &DatabaseConnection, user: &user::Model, ip: &str, reason: &str) -> Result<(), AppError> {
    let details = serde_json::json!({"ip": ip, "reason": reason});
    let ev = NewEvent::platform(
        Actor::user(&user.id, &user.email),
        "auth.login_failed",
        "user",
        Some(user.id.clone()),
        false,
        details,
    );
    record(db, ev).await
}

/// Sign in with e-mail and password. On success the session id is rotated and
/// the user's first tenant is selected; returns the path to go to.
pub async fn sign_in(
    state: &AppState,
    session: &Session,
    email: &str,
    password: String,
    ip: &str,
    next: Option<String>,
) -> Result<String, AppError> {
    let email = normalize_email(email);
    if email.is_empty() {
        return Err(AppError::field("email", "Enter your e-mail address."));
    }
    if password.is_empty() {
        // Home-realm discovery: the e-mail's domain belongs to a tenant with SSO.
        if let Some((t, _)) = crate::sso::ssr::tenant_for_email(&state.db, &email).await? {
            let mut path = format!(
                "/auth/oidc/start?tenant={}&login_hint={}",
                crate::audit::urlencode(&t.slug),
                crate::audit::urlencode(&email)
            );
            if let Some(n) = safe_next(next) {
                path.push_str(&format!("&next={}", crate::audit::urlencode(&n)));
            }
            return Ok(path);
        }
        return Err(AppError::field(
            "password",
            "Enter your password. (Your organisation does not use single sign-on for this address.)",
        ));
    }
    let s = &state.settings;
    let window = Duration::minutes(s.throttle_window_minutes);
    if failures_since(&state.db, login_failure::Column::Email, &email, window).await? >= s.max_failures_per_account
        || failures_since(&state.db, login_failure::Column::Ip, ip, window).await? >= s.max_failures_per_ip
    {
        record(
            &state.db,
            NewEvent::platform(
                Actor::anonymous(&email),
                "auth.login_throttled",
                "user",
                None,
                false,
                serde_json::json!({"ip": ip}),
            ),
        )
        .await?;
        return Err(AppError::RateLimited(format!(
            "Too many failed sign-in attempts. Wait {} minutes and try again, or reset your password with your administrator.",
            s.throttle_window_minutes
        )));
    }

    let user = user::Entity::find().filter(user::Column::Email.eq(&email)).one(&state.db).await?;
    let ok = verify_password(password, user.as_ref().and_then(|u| u.password_hash.clone())).await?;
    let Some(user) = user.filter(|_| ok) else {
        login_failure::ActiveModel {
            email: Set(email.clone()),
            ip: Set(ip.to_string()),
            at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&state.db)
        .await?;
        record(
            &state.db,
            NewEvent::platform(
                Actor::anonymous(&email),
                "auth.login_failed",
                "user",
                None,
                false,
                serde_json::json!({"ip": ip, "reason": "bad_credentials"}),
            ),
        )
        .await?;
        return Err(AppError::Validation {
            message: "The e-mail address or password is incorrect.".into(),
            fields: [("password".to_string(), "The e-mail address or password is incorrect.".to_string())].into(),
        });
    };
    if let Some(tenant_name) = crate::sso::ssr::password_refused(&state.db, &user).await? {
        login_failed(&state.db, &user, ip, "sso_required").await?;
        return Err(AppError::Forbidden(format!(
            "{tenant_name} requires single sign-on. Leave the password empty to continue with your identity provider."
        )));
    }
    if user.disabled {
        login_failed(&state.db, &user, ip, "disabled").await?;
        return Err(AppError::Forbidden("This account is disabled. Ask your administrator to re-enable it.".into()));
    }

    // Pick the first tenant (by name) the user can use.
    let mut first: Option<(tenant::Model, Role)> = None;
    let memberships = membership::Entity::find().filter(membership::Column::UserId.eq(&user.id)).all(&state.db).await?;
    for m in memberships {
        if let Some((t, r)) = tenant_role(&state.db, &user.id, &m.tenant_id).await?
            && first.as_ref().is_none_or(|(f, _)| t.name < f.name)
        {
            first = Some((t, r));
        }
    }
    if first.is_none() && !user.is_platform_admin {
        login_failed(&state.db, &user, ip, "no_tenant").await?;
        return Err(AppError::Forbidden("Your account is not a member of any active tenant.".into()));
    }

    // A second factor: asked for when enrolled, enrolment first when required.
    let enrolled = super::mfa::ssr::is_enrolled(&state.db, &user.id).await?;
    if enrolled || super::mfa::ssr::required_for(state, &user).await? {
        return super::mfa::ssr::begin_pending(session, &user, ip, safe_next(next), !enrolled).await;
    }
    establish(state, session, &user, ip, "password", next, false).await
}

/// Finish a sign-in: rotate the session id, sign the user in, select their first
/// tenant (by name), audit; returns the path to go to. `mfa_verified`: a second factor
/// was checked just now (fresh for step-up).
pub async fn establish(
    state: &AppState,
    session: &Session,
    user: &user::Model,
    ip: &str,
    method: &str,
    next: Option<String>,
    mfa_verified: bool,
) -> Result<String, AppError> {
    let mut first: Option<(tenant::Model, Role)> = None;
    let memberships = membership::Entity::find().filter(membership::Column::UserId.eq(&user.id)).all(&state.db).await?;
    for m in memberships {
        if let Some((t, r)) = tenant_role(&state.db, &user.id, &m.tenant_id).await?
            && first.as_ref().is_none_or(|(f, _)| t.name < f.name)
        {
            first = Some((t, r));
        }
    }
    if first.is_none() && !user.is_platform_admin {
        return Err(AppError::Forbidden("Your account is not a member of any active tenant.".into()));
    }
    RequestCtx::forget();
    session.cycle_id().await.map_err(session_err)?;
    session.insert(KEY_USER, &user.id).await.map_err(session_err)?;
    session.insert(KEY_IP, ip).await.map_err(session_err)?;
    if let Some(ua) = user_agent() {
        session.insert(KEY_USER_AGENT, ua).await.map_err(session_err)?;
    }
    if let Some((t, _)) = &first {
        session.insert(KEY_TENANT, &t.id).await.map_err(session_err)?;
    }
    if mfa_verified {
        super::mfa::ssr::mark_verified(session).await?;
    }
    // Persist now, so the session row exists when the response is sent.
    session.save().await.map_err(session_err)?;

    let mut am: user::ActiveModel = user.clone().into();
    am.last_login_at = Set(Some(Utc::now()));
    am.update(&state.db).await?;
    login_failure::Entity::delete_many().filter(login_failure::Column::Email.eq(&user.email)).exec(&state.db).await?;
    let tenant_id = first.as_ref().map(|(t, _)| t.id.clone());
    let mut ev = NewEvent::platform(
        Actor::user(&user.id, &user.email),
        "auth.login",
        "user",
        Some(user.id.clone()),
        true,
        serde_json::json!({"ip": ip, "method": method}),
    );
    ev.tenant_id = tenant_id;
    record(&state.db, ev).await?;
    let home = home_path(user.is_platform_admin, first.map(|(_, r)| r)).to_string();
    Ok(safe_next(next).unwrap_or(home))
}

/// Delete every session of a user (forced sign-out); returns how many ended.
pub async fn end_all_sessions(db: &impl ConnectionTrait, user_id: &str) -> Result<u64, AppError> {
    Ok(session::Entity::delete_many().filter(session::Column::UserId.eq(user_id)).exec(db).await?.rows_affected)
}

/// This session's storage key.
pub fn current_session_key(session: &Session) -> Option<String> {
    session.id().map(|id| session_key(&id))
}

/// The signed-in user's live sessions, newest first.
pub async fn sessions_of(db: &DatabaseConnection, user_id: &str) -> Result<Vec<session::Model>, AppError> {
    Ok(session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::ExpiresAt.gt(Utc::now()))
        .order_by_desc(session::Column::LastSeenAt)
        .all(db)
        .await?)
}
