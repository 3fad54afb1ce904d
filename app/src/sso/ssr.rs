//! OpenID Connect relying party: configuration, discovery cache, the
//! authorization-code flow with PKCE, ID-token verification, just-in-time
//! provisioning and RP-initiated logout.
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::Utc;
use entity::{edition, membership, sso_config, tenant, user};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, ProviderMetadataWithLogout, RedirectUrl, Scope, SignatureVerificationError, TokenResponse,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::mapping::{email_domain, format_role_map, map_role, parse_domains, parse_role_map, parse_scopes};
use super::{SsoCheck, SsoSettings};
use crate::audit::ssr::{Actor, NewEvent, record};
use crate::auth::permissions::Role;
use crate::auth::session_store::{KEY_IP, KEY_USER};
use crate::auth::ssr::{KEY_TENANT, home_path, new_id, normalize_email, safe_next};
use crate::crypto::Sealer;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;

const KEY_PENDING: &str = "oidc_pending";
pub const KEY_ID_TOKEN: &str = "oidc_id_token";
pub const KEY_ISSUER: &str = "oidc_issuer";
const CACHE_TTL: Duration = Duration::from_secs(600);
/// How long a started sign-in may take at the IdP.
const PENDING_MAX_AGE_SECS: i64 = 900;
pub const PLATFORM: &str = "platform";

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

/// Discovery documents (with their JWKS), cached per issuer; refreshed when stale
/// or when a token names a key the cached set does not have.
#[derive(Clone)]
pub struct OidcCache {
    entries: Arc<Mutex<HashMap<String, (Instant, ProviderMetadataWithLogout)>>>,
    http: openidconnect::reqwest::Client,
}

impl std::fmt::Debug for OidcCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OidcCache")
    }
}

impl Default for OidcCache {
    fn default() -> Self {
        Self::new()
    }
}

impl OidcCache {
    pub fn new() -> Self {
        // No redirects: an IdP answer must come from the configured URLs (no SSRF by redirect).
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self { entries: Arc::default(), http }
    }

    pub fn http(&self) -> &openidconnect::reqwest::Client {
        &self.http
    }

    pub async fn metadata(&self, issuer: &str, refresh: bool) -> Result<ProviderMetadataWithLogout, SsoError> {
        if !refresh
            && let Ok(map) = self.entries.lock()
            && let Some((at, m)) = map.get(issuer)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(m.clone());
        }
        let url = IssuerUrl::new(issuer.to_string())
            .map_err(|_| SsoError::new("bad_issuer", "The issuer URL is not valid."))?;
        let meta = ProviderMetadataWithLogout::discover_async(url, &self.http).await.map_err(|e| {
            tracing::warn!(issuer, error = %e, "OIDC discovery failed");
            SsoError::new(
                "idp_unreachable",
                format!("The identity provider at {issuer} could not be reached or did not answer correctly. Try again later or ask your administrator."),
            )
        })?;
        if let Ok(mut map) = self.entries.lock() {
            map.insert(issuer.to_string(), (Instant::now(), meta.clone()));
        }
        Ok(meta)
    }
}

/// A failed SSO step: a reason code for the audit trail and a message for the user.
#[derive(Debug, Clone)]
pub struct SsoError {
    pub reason: &'static str,
    pub message: String,
}

impl SsoError {
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self { reason, message: message.into() }
    }
}

impl From<AppError> for SsoError {
    fn from(e: AppError) -> Self {
        SsoError::new("internal", e.to_string())
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

/// A started sign-in, kept in the session until the IdP sends the user back.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    target: String,
    state: String,
    nonce: String,
    verifier: String,
    next: Option<String>,
    started_at: i64,
}

/// Everything needed to talk to one IdP.
#[derive(Clone)]
pub struct Resolved {
    pub target: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    pub domains: Vec<String>,
    pub role_claim: Option<String>,
    pub role_map: BTreeMap<String, Role>,
    pub default_role: Role,
}

pub fn redirect_uri(state: &AppState) -> String {
    format!("{}/auth/oidc/callback", state.settings.public_url.trim_end_matches('/'))
}

fn resolve(cfg: &sso_config::Model, sealer: &Sealer) -> Result<Resolved, SsoError> {
    let secret = sealer.open(&cfg.client_secret_enc).map_err(|e| {
        tracing::error!(tenant = %cfg.tenant_id, error = %e, "SSO client secret cannot be opened");
        SsoError::new(
            "secret_unreadable",
            "Single sign-on is misconfigured for this organisation. Ask your administrator.",
        )
    })?;
    Ok(Resolved {
        target: cfg.tenant_id.clone(),
        issuer: cfg.issuer.clone(),
        client_id: cfg.client_id.clone(),
        client_secret: secret,
        scopes: cfg.scopes.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        domains: serde_json::from_str(&cfg.allowed_domains).unwrap_or_default(),
        role_claim: cfg.role_claim.clone(),
        role_map: serde_json::from_str(&cfg.role_map).unwrap_or_default(),
        default_role: Role::parse(&cfg.default_role).unwrap_or(Role::Member),
    })
}

fn resolve_platform(p: &PlatformIdp) -> Resolved {
    Resolved {
        target: PLATFORM.into(),
        issuer: p.issuer.clone(),
        client_id: p.client_id.clone(),
        client_secret: p.client_secret.clone(),
        scopes: vec!["openid".into(), "email".into(), "profile".into()],
        domains: Vec::new(),
        role_claim: None,
        role_map: BTreeMap::new(),
        default_role: Role::Member,
    }
}

/// The tenant whose SSO owns this e-mail's domain (home-realm discovery).
pub async fn tenant_for_email(
    db: &DatabaseConnection,
    email: &str,
) -> Result<Option<(tenant::Model, sso_config::Model)>, AppError> {
    let Some(domain) = email_domain(email) else { return Ok(None) };
    for cfg in sso_config::Entity::find().all(db).await? {
        let domains: Vec<String> = serde_json::from_str(&cfg.allowed_domains).unwrap_or_default();
        if domains.contains(&domain)
            && let Some(t) = tenant::Entity::find_by_id(cfg.tenant_id.clone()).one(db).await?
            && t.status != "deleted"
        {
            return Ok(Some((t, cfg)));
        }
    }
    Ok(None)
}

/// Whether password sign-in is refused for this (non platform-admin) user.
pub async fn password_refused(db: &DatabaseConnection, user: &user::Model) -> Result<Option<String>, AppError> {
    if user.is_platform_admin {
        return Ok(None);
    }
    if let Some((t, cfg)) = tenant_for_email(db, &user.email).await?
        && cfg.require_sso
    {
        return Ok(Some(t.name));
    }
    for m in membership::Entity::find().filter(membership::Column::UserId.eq(&user.id)).all(db).await? {
        if let Some(cfg) = sso_config::Entity::find_by_id(m.tenant_id.clone()).one(db).await?
            && cfg.require_sso
        {
            let name = tenant::Entity::find_by_id(m.tenant_id).one(db).await?.map(|t| t.name).unwrap_or_default();
            return Ok(Some(name));
        }
    }
    Ok(None)
}

async fn resolved_for(state: &AppState, target: &str) -> Result<Resolved, SsoError> {
    if target == PLATFORM {
        return state
            .settings
            .platform_oidc
            .as_ref()
            .map(resolve_platform)
            .ok_or_else(|| SsoError::new("not_configured", "Platform single sign-on is not configured."));
    }
    let cfg = sso_config::Entity::find_by_id(target.to_string())
        .one(&state.db)
        .await?
        .ok_or_else(|| SsoError::new("not_configured", "Single sign-on is not configured for this organisation."))?;
    resolve(&cfg, &state.sealer)
}

fn client(meta: ProviderMetadataWithLogout, r: &Resolved, redirect: &str) -> Result<OidcClient, SsoError> {
    let redirect = RedirectUrl::new(redirect.to_string())
        .map_err(|_| SsoError::new("bad_redirect", "The public URL is not valid."))?;
    Ok(CoreClient::from_provider_metadata(
        meta,
        ClientId::new(r.client_id.clone()),
        Some(ClientSecret::new(r.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

type OidcClient = openidconnect::Client<
    openidconnect::EmptyAdditionalClaims,
    openidconnect::core::CoreAuthDisplay,
    openidconnect::core::CoreGenderClaim,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJsonWebKey,
    openidconnect::core::CoreAuthPrompt,
    openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    openidconnect::core::CoreTokenResponse,
    openidconnect::core::CoreTokenIntrospectionResponse,
    openidconnect::core::CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// Start a sign-in: remember state, nonce and PKCE verifier in the session and
/// return the IdP's authorization URL.
pub async fn start(
    state: &AppState,
    session: &Session,
    target: &str,
    login_hint: Option<&str>,
    next: Option<String>,
) -> Result<String, SsoError> {
    let r = resolved_for(state, target).await?;
    let meta = state.oidc.metadata(&r.issuer, false).await?;
    let client = client(meta, &r, &redirect_uri(state))?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req =
        client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
    for s in r.scopes.iter().filter(|s| *s != "openid") {
        req = req.add_scope(Scope::new(s.clone()));
    }
    if let Some(hint) = login_hint.filter(|h| !h.is_empty() && h.len() < 255) {
        req = req.add_extra_param("login_hint", hint.to_string());
    }
    let (url, csrf, nonce) = req.set_pkce_challenge(challenge).url();
    let pending = Pending {
        target: r.target.clone(),
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        next: safe_next(next),
        started_at: Utc::now().timestamp(),
    };
    session.insert(KEY_PENDING, pending).await?;
    Ok(url.to_string())
}

/// The verified facts about the person the IdP signed in.
#[derive(Debug, Clone)]
pub struct Identity {
    pub email: String,
    pub name: Option<String>,
    pub claims: serde_json::Value,
    pub id_token: String,
}

fn describe(e: &ClaimsVerificationError) -> (&'static str, String) {
    match e {
        ClaimsVerificationError::Expired(_) => {
            ("token_expired", "The sign-in token from your identity provider has expired. Please try again.".into())
        }
        ClaimsVerificationError::InvalidAudience(_) => {
            ("wrong_audience", "The identity provider issued the sign-in token for another application.".into())
        }
        ClaimsVerificationError::InvalidNonce(_) => {
            ("wrong_nonce", "The sign-in token does not belong to this sign-in attempt.".into())
        }
        ClaimsVerificationError::InvalidIssuer(_) => {
            ("wrong_issuer", "The sign-in token comes from an unexpected issuer.".into())
        }
        ClaimsVerificationError::SignatureVerification(_) => {
            ("bad_signature", "The sign-in token's signature could not be verified.".into())
        }
        other => ("invalid_token", format!("The sign-in token was rejected ({other}).")),
    }
}

/// Verify an ID token against the IdP's keys (refreshing them once when the token
/// names an unknown key) and return the identity in it.
pub async fn verify_id_token(state: &AppState, r: &Resolved, token: &str, nonce: &str) -> Result<Identity, SsoError> {
    let id_token =
        CoreIdToken::from_str(token).map_err(|_| SsoError::new("invalid_token", "The sign-in token is malformed."))?;
    let nonce = Nonce::new(nonce.to_string());
    let mut refreshed = false;
    loop {
        let meta = state.oidc.metadata(&r.issuer, refreshed).await?;
        let client = client(meta, r, &redirect_uri(state))?;
        match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => {
                let email = claims.email().map(|e| normalize_email(e.as_str())).ok_or_else(|| {
                    SsoError::new(
                        "no_email",
                        "Your identity provider did not share your e-mail address (scope “email”).",
                    )
                })?;
                if claims.email_verified() == Some(false) {
                    return Err(SsoError::new(
                        "email_unverified",
                        "Your identity provider says your e-mail address is not verified.",
                    ));
                }
                let name = claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string());
                return Ok(Identity { email, name, claims: raw_claims(token), id_token: token.to_string() });
            }
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey))
                if !refreshed =>
            {
                // Key rotation at the IdP: fetch the key set again, once.
                refreshed = true;
            }
            Err(e) => {
                let (reason, message) = describe(&e);
                tracing::info!(reason, error = %e, "ID token rejected");
                return Err(SsoError::new(reason, message));
            }
        }
    }
}

/// The payload of an already verified JWT, for claims outside the standard set (groups).
fn raw_claims(token: &str) -> serde_json::Value {
    token
        .split('.')
        .nth(1)
        .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// Finish a sign-in at the callback. Returns where to send the user. On any
/// error no session is created.
pub async fn complete(
    state: &AppState,
    session: &Session,
    code: Option<&str>,
    returned_state: Option<&str>,
    error: Option<&str>,
    ip: &str,
) -> Result<String, SsoError> {
    let pending: Option<Pending> = session.remove(KEY_PENDING).await?;
    let Some(pending) = pending else {
        return Err(SsoError::new(
            "missing_state",
            "This sign-in link has expired or was already used. Please start again.",
        ));
    };
    if returned_state != Some(pending.state.as_str()) {
        return Err(SsoError::new(
            "state_mismatch",
            "The sign-in response did not match this browser's sign-in attempt. Please start again.",
        ));
    }
    if Utc::now().timestamp() - pending.started_at > PENDING_MAX_AGE_SECS {
        return Err(SsoError::new("pending_expired", "The sign-in took too long. Please start again."));
    }
    if let Some(err) = error {
        return Err(SsoError::new(
            "idp_error",
            format!("Your identity provider refused the sign-in ({}).", err.chars().take(80).collect::<String>()),
        ));
    }
    let code =
        code.ok_or_else(|| SsoError::new("missing_code", "The identity provider sent no authorization code."))?;
    let r = resolved_for(state, &pending.target).await?;
    let meta = state.oidc.metadata(&r.issuer, false).await?;
    let client = client(meta, &r, &redirect_uri(state))?;
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|_| SsoError::new("no_token_endpoint", "The identity provider has no token endpoint."))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
        .request_async(state.oidc.http())
        .await
        .map_err(|e| {
            tracing::info!(error = %e, "code exchange failed");
            SsoError::new("code_rejected", "The identity provider refused the authorization code (it may have been used already). Please start again.")
        })?;
    let id_token =
        token.id_token().ok_or_else(|| SsoError::new("no_id_token", "The identity provider sent no ID token."))?;
    let identity = verify_id_token(state, &r, &id_token.to_string(), &pending.nonce).await?;
    let (user_id, tenant_id, role) = if r.target == PLATFORM {
        platform_user(state, &identity).await?
    } else {
        provision(state, &r, &identity).await?
    };

    session.cycle_id().await?;
    session.insert(KEY_USER, &user_id).await?;
    session.insert(KEY_IP, ip).await?;
    if let Some(t) = &tenant_id {
        session.insert(KEY_TENANT, t).await?;
    }
    session.insert(KEY_ID_TOKEN, &identity.id_token).await?;
    session.insert(KEY_ISSUER, &pending.target).await?;
    session.save().await?;
    let mut ev = NewEvent::platform(
        Actor::user(&user_id, &identity.email),
        "auth.sso_login",
        "user",
        Some(user_id.clone()),
        true,
        serde_json::json!({"ip": ip, "issuer": r.issuer, "role": role.map(|r| r.as_str())}),
    );
    ev.tenant_id = tenant_id.clone();
    record(&state.db, ev).await?;
    let home = home_path(tenant_id.is_none(), role);
    Ok(pending.next.unwrap_or_else(|| home.to_string()))
}

/// Platform staff: an existing platform admin with this verified e-mail.
async fn platform_user(state: &AppState, id: &Identity) -> Result<(String, Option<String>, Option<Role>), SsoError> {
    let u = user::Entity::find().filter(user::Column::Email.eq(&id.email)).one(&state.db).await?;
    match u {
        Some(u) if u.is_platform_admin && !u.disabled => Ok((u.id, None, None)),
        _ => Err(SsoError::new("not_platform_staff", "This account is not a platform administrator.")),
    }
}

/// Create or update the user and their membership from the verified identity.
async fn provision(
    state: &AppState,
    r: &Resolved,
    id: &Identity,
) -> Result<(String, Option<String>, Option<Role>), SsoError> {
    let domain = email_domain(&id.email).unwrap_or_default();
    if !r.domains.contains(&domain) {
        return Err(SsoError::new(
            "domain_not_allowed",
            format!("E-mail addresses at {domain} may not sign in to this organisation."),
        ));
    }
    let t = tenant::Entity::find_by_id(r.target.clone())
        .one(&state.db)
        .await?
        .filter(|t| t.status != "deleted")
        .ok_or_else(|| SsoError::new("tenant_gone", "This organisation no longer exists."))?;
    let role = map_role(r.role_claim.as_ref().and_then(|c| id.claims.get(c)), &r.role_map, r.default_role);
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let existing = user::Entity::find().filter(user::Column::Email.eq(&id.email)).one(&txn).await?;
    let user_id = match existing {
        Some(u) => {
            if u.disabled {
                return Err(SsoError::new(
                    "disabled",
                    "This account is disabled. Ask your administrator to re-enable it.",
                ));
            }
            let uid = u.id.clone();
            let mut am: user::ActiveModel = u.into();
            if let Some(n) = id.name.clone().filter(|n| !n.trim().is_empty()) {
                am.display_name = Set(n.chars().take(100).collect());
            }
            am.last_login_at = Set(Some(now));
            am.update(&txn).await?;
            uid
        }
        None => {
            let uid = new_id();
            user::ActiveModel {
                id: Set(uid.clone()),
                email: Set(id.email.clone()),
                display_name: Set(id.name.clone().unwrap_or_else(|| id.email.clone()).chars().take(100).collect()),
                password_hash: Set(None),
                disabled: Set(false),
                is_platform_admin: Set(false),
                created_at: Set(now),
                last_login_at: Set(Some(now)),
            }
            .insert(&txn)
            .await?;
            record(
                &txn,
                NewEvent::tenant(
                    &t.id,
                    Actor::system("sso"),
                    "user.provisioned",
                    "user",
                    Some(uid.clone()),
                    serde_json::json!({"email": id.email, "role": role.as_str()}),
                ),
            )
            .await?;
            uid
        }
    };
    let m = membership::Entity::find()
        .filter(membership::Column::UserId.eq(&user_id))
        .filter(membership::Column::TenantId.eq(&t.id))
        .one(&txn)
        .await?;
    match m {
        Some(m) if m.role != role.as_str() => {
            let from = m.role.clone();
            let mut am: membership::ActiveModel = m.into();
            am.role = Set(role.as_str().into());
            am.update(&txn).await?;
            record(
                &txn,
                NewEvent::tenant(
                    &t.id,
                    Actor::system("sso"),
                    "user.role_changed",
                    "user",
                    Some(user_id.clone()),
                    serde_json::json!({"email": id.email, "from": from, "to": role.as_str(), "source": "idp"}),
                ),
            )
            .await?;
        }
        Some(_) => {}
        None => {
            let ed = edition::Entity::find_by_id(t.edition_id.clone()).one(&txn).await?;
            let members = membership::Entity::find().filter(membership::Column::TenantId.eq(&t.id)).count(&txn).await?;
            if ed.is_some_and(|e| members >= e.max_users as u64) {
                return Err(SsoError::new("quota", format!("{} has reached its edition's user limit.", t.name)));
            }
            membership::ActiveModel {
                id: Set(new_id()),
                user_id: Set(user_id.clone()),
                tenant_id: Set(t.id.clone()),
                role: Set(role.as_str().into()),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?;
            record(
                &txn,
                NewEvent::tenant(
                    &t.id,
                    Actor::system("sso"),
                    "user.added",
                    "user",
                    Some(user_id.clone()),
                    serde_json::json!({"email": id.email, "role": role.as_str(), "source": "idp"}),
                ),
            )
            .await?;
        }
    }
    txn.commit().await?;
    Ok((user_id, Some(t.id), Some(role)))
}

/// Record a failed SSO attempt.
pub async fn audit_failure(state: &AppState, target: Option<&str>, err: &SsoError, ip: &str) {
    let mut ev = NewEvent::platform(
        Actor::anonymous("sso"),
        "auth.sso_failed",
        "user",
        None,
        false,
        serde_json::json!({"reason": err.reason, "ip": ip}),
    );
    ev.tenant_id = target.filter(|t| *t != PLATFORM).map(str::to_owned);
    if let Err(e) = record(&state.db, ev).await {
        tracing::warn!(error = %e, "could not audit SSO failure");
    }
}

/// The target (tenant id or `platform`) of the sign-in in progress, if any.
pub async fn pending_target(session: &Session) -> Option<String> {
    session.get::<Pending>(KEY_PENDING).await.ok().flatten().map(|p| p.target)
}

/// Where to send the browser to end the IdP session too, if the IdP offers it.
pub async fn logout_url(state: &AppState, session: &Session) -> Option<String> {
    let id_token: String = session.get(KEY_ID_TOKEN).await.ok().flatten()?;
    let target: String = session.get(KEY_ISSUER).await.ok().flatten()?;
    let r = resolved_for(state, &target).await.ok()?;
    let meta = state.oidc.metadata(&r.issuer, false).await.ok()?;
    let end = meta.additional_metadata().end_session_endpoint.as_ref()?;
    let mut url = url::Url::parse(end.url().as_str()).ok()?;
    url.query_pairs_mut()
        .append_pair("id_token_hint", &id_token)
        .append_pair("client_id", &r.client_id)
        .append_pair("post_logout_redirect_uri", &format!("{}/login", state.settings.public_url.trim_end_matches('/')));
    Some(url.to_string())
}

// ----- configuration -----------------------------------------------------------------------

/// What an administrator submits.
#[derive(Debug, Clone, Default)]
pub struct ConfigInput {
    pub issuer: String,
    pub client_id: String,
    /// Empty keeps the stored secret.
    pub client_secret: String,
    pub scopes: String,
    pub domains: String,
    pub role_claim: String,
    pub role_map: String,
    pub default_role: String,
    pub require_sso: bool,
}

fn valid_issuer(s: &str) -> bool {
    match url::Url::parse(s) {
        Ok(u) => {
            let loopback = matches!(u.host_str(), Some("127.0.0.1") | Some("localhost") | Some("[::1]"));
            (u.scheme() == "https" || (u.scheme() == "http" && loopback))
                && u.query().is_none()
                && u.fragment().is_none()
        }
        Err(_) => false,
    }
}

pub fn settings_of(state: &AppState, cfg: Option<sso_config::Model>) -> SsoSettings {
    let redirect = redirect_uri(state);
    match cfg {
        None => SsoSettings {
            redirect_uri: redirect,
            scopes: "openid email profile".into(),
            default_role: Role::Member,
            ..Default::default()
        },
        Some(c) => SsoSettings {
            configured: true,
            issuer: c.issuer,
            client_id: c.client_id,
            has_secret: !c.client_secret_enc.is_empty(),
            scopes: c.scopes,
            domains: serde_json::from_str::<Vec<String>>(&c.allowed_domains).unwrap_or_default().join(", "),
            role_claim: c.role_claim.unwrap_or_default(),
            role_map: format_role_map(&serde_json::from_str(&c.role_map).unwrap_or_default()),
            default_role: Role::parse(&c.default_role).unwrap_or(Role::Member),
            require_sso: c.require_sso,
            redirect_uri: redirect,
            updated_at: Some(c.updated_at.format("%Y-%m-%d %H:%M UTC").to_string()),
            updated_by: Some(c.updated_by),
        },
    }
}

/// Validate and store a tenant's IdP configuration (page and CLI share this).
pub async fn save_config(
    state: &AppState,
    t: &tenant::Model,
    actor: Actor,
    input: ConfigInput,
) -> Result<(), AppError> {
    let db = &state.db;
    let existing = sso_config::Entity::find_by_id(t.id.clone()).one(db).await?;
    let mut fields = FieldErrors::new();
    let issuer = input.issuer.trim().trim_end_matches('/').to_string();
    if !valid_issuer(&issuer) {
        fields.insert(
            "issuer".into(),
            "Enter the issuer URL, like https://login.example.com/realms/acme (https required).".into(),
        );
    }
    let client_id = input.client_id.trim().to_string();
    if client_id.is_empty() || client_id.len() > 255 {
        fields.insert("client_id".into(), "Enter the client id registered at your identity provider.".into());
    }
    let secret = input.client_secret.trim().to_string();
    if secret.is_empty() && existing.is_none() {
        fields.insert("client_secret".into(), "Enter the client secret.".into());
    }
    let scopes = match parse_scopes(&input.scopes) {
        Ok(s) => s,
        Err(e) => {
            fields.insert("scopes".into(), e);
            Vec::new()
        }
    };
    let (domains, bad) = parse_domains(&input.domains);
    if !bad.is_empty() {
        fields.insert("domains".into(), format!("Not a domain: {}.", bad.join(", ")));
    } else if domains.is_empty() {
        fields.insert("domains".into(), "Enter at least one e-mail domain, like acme.example.".into());
    }
    for other in sso_config::Entity::find().filter(sso_config::Column::TenantId.ne(&t.id)).all(db).await? {
        let theirs: Vec<String> = serde_json::from_str(&other.allowed_domains).unwrap_or_default();
        if let Some(d) = domains.iter().find(|d| theirs.contains(d)) {
            fields.insert("domains".into(), format!("{d} already signs in to another organisation."));
        }
    }
    let role_map = match parse_role_map(&input.role_map) {
        Ok(m) => m,
        Err(e) => {
            fields.insert("role_map".into(), e);
            BTreeMap::new()
        }
    };
    let role_claim = input.role_claim.trim().to_string();
    if !role_map.is_empty() && role_claim.is_empty() {
        fields.insert("role_claim".into(), "Name the claim that holds the values you map (e.g. groups).".into());
    }
    let default_role = Role::parse(input.default_role.trim());
    if default_role.is_none() {
        fields.insert("default_role".into(), "Choose the role for people no mapping matches.".into());
    }
    if let Some(e) = AppError::from_fields(fields) {
        return Err(e);
    }
    let default_role = default_role.unwrap_or(Role::Member);
    let sealed = if secret.is_empty() {
        existing.as_ref().map(|c| c.client_secret_enc.clone()).unwrap_or_default()
    } else {
        state.sealer.seal(&secret).map_err(|e| AppError::internal("seal secret", e))?
    };
    let now = Utc::now();
    let txn = db.begin().await?;
    let am = sso_config::ActiveModel {
        tenant_id: Set(t.id.clone()),
        issuer: Set(issuer.clone()),
        client_id: Set(client_id.clone()),
        client_secret_enc: Set(sealed),
        scopes: Set(scopes.join(" ")),
        allowed_domains: Set(serde_json::to_string(&domains).unwrap_or_else(|_| "[]".into())),
        role_claim: Set((!role_claim.is_empty()).then_some(role_claim.clone())),
        role_map: Set(serde_json::to_string(&role_map).unwrap_or_else(|_| "{}".into())),
        default_role: Set(default_role.as_str().into()),
        require_sso: Set(input.require_sso),
        updated_by: Set(actor.label.clone()),
        created_at: Set(existing.as_ref().map(|c| c.created_at).unwrap_or(now)),
        updated_at: Set(now),
    };
    if existing.is_some() {
        am.update(&txn).await?;
    } else {
        am.insert(&txn).await?;
    }
    record(
        &txn,
        NewEvent::tenant(
            &t.id,
            actor,
            "sso.configured",
            "sso_config",
            Some(t.id.clone()),
            serde_json::json!({
                "issuer": issuer, "client_id": client_id, "secret_changed": !secret.is_empty(),
                "domains": domains, "role_claim": role_claim, "role_map": format_role_map(&role_map),
                "default_role": default_role.as_str(), "require_sso": input.require_sso,
            }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn delete_config(state: &AppState, t: &tenant::Model, actor: Actor) -> Result<(), AppError> {
    let txn = state.db.begin().await?;
    let res = sso_config::Entity::delete_by_id(t.id.clone()).exec(&txn).await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    record(
        &txn,
        NewEvent::tenant(&t.id, actor, "sso.removed", "sso_config", Some(t.id.clone()), serde_json::json!({})),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// "Test configuration": discovery, keys and capabilities, in plain words.
pub async fn test_config(state: &AppState, t: &tenant::Model, actor: Actor) -> Result<Vec<SsoCheck>, AppError> {
    let cfg = sso_config::Entity::find_by_id(t.id.clone())
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::Conflict("Save a configuration first.".into()))?;
    let mut checks = Vec::new();
    let mut push = |name: &str, ok: bool, detail: String| checks.push(SsoCheck { name: name.into(), ok, detail });
    match resolve(&cfg, &state.sealer) {
        Ok(_) => push("Client secret", true, "Stored encrypted and readable with this server's key.".into()),
        Err(e) => push("Client secret", false, e.message),
    }
    match state.oidc.metadata(&cfg.issuer, true).await {
        Err(e) => push("Discovery", false, e.message),
        Ok(meta) => {
            push(
                "Discovery",
                true,
                format!("{}/.well-known/openid-configuration answered; the issuer matches.", cfg.issuer),
            );
            let keys = meta.jwks().keys().len();
            push(
                "Signing keys (JWKS)",
                keys > 0,
                if keys > 0 {
                    format!("{keys} key(s) published.")
                } else {
                    "The provider publishes no signing keys.".into()
                },
            );
            let code = meta
                .response_types_supported()
                .iter()
                .any(|rt| rt.contains(&openidconnect::core::CoreResponseType::Code));
            push(
                "Authorization code flow",
                code,
                if code {
                    "Supported; Patchbay always adds PKCE (S256).".into()
                } else {
                    "The provider does not offer the authorization code flow.".into()
                },
            );
            let token = meta.token_endpoint().is_some();
            push("Token endpoint", token, if token { "Present.".into() } else { "Missing.".into() });
            let logout = meta.additional_metadata().end_session_endpoint.is_some();
            push(
                "Sign-out at the provider",
                true,
                if logout {
                    "Offered: signing out of Patchbay also signs out there.".into()
                } else {
                    "Not offered: signing out ends the Patchbay session only.".into()
                },
            );
        }
    }
    let all_ok = checks.iter().all(|c| c.ok);
    record(
        &state.db,
        NewEvent::tenant(
            &t.id,
            actor,
            "sso.tested",
            "sso_config",
            Some(t.id.clone()),
            serde_json::json!({"ok": all_ok}),
        ),
    )
    .await?;
    Ok(checks)
}
