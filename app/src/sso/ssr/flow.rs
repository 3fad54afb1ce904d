//! The sign-in flow: authorization code with PKCE, ID-token verification, UserInfo,
//! just-in-time provisioning and RP-initiated logout.
use crate::core::db::BeginWrite;
use std::collections::BTreeMap;
use std::str::FromStr;

use base64::Engine;
use chrono::Utc;
use entity::{membership, sso_config, tenant, user};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken};
use openidconnect::{
    AccessToken, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadataWithLogout, RedirectUrl, Scope,
    SignatureVerificationError, TokenResponse,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::client::{PlatformIdp, SsoError};
use super::stored::parse_stored;
use crate::audit::ssr::{Actor, NewEvent, record};
use crate::auth::permissions::Role;
use crate::auth::session_store::{KEY_IP, KEY_USER};
use crate::auth::ssr::{KEY_TENANT, home_path, new_id, normalize_email, safe_next};
use crate::crypto::Sealer;
use crate::error::AppError;
use crate::sso::errors::SsoErrorCode as Code;
use crate::sso::mapping::{email_domain, map_role};
use crate::state::AppState;

const KEY_PENDING: &str = "oidc_pending";
pub const KEY_ID_TOKEN: &str = "oidc_id_token";
pub const KEY_ISSUER: &str = "oidc_issuer";
/// How long a started sign-in may take at the IdP.
const PENDING_MAX_AGE_SECS: i64 = 900;
/// A UserInfo answer larger than this is refused.
const USERINFO_MAX_BYTES: usize = 256 * 1024;
pub const PLATFORM: &str = "platform";

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

/// A tenant's row, typed (a corrupt column or an unreadable secret is an error naming the row).
pub(super) fn resolve(cfg: &sso_config::Model, sealer: &Sealer) -> Result<Resolved, SsoError> {
    let stored = parse_stored(cfg).map_err(|e| {
        tracing::error!(error = %e, "stored SSO configuration is corrupt");
        SsoError::new(Code::Misconfigured, e.to_string())
    })?;
    let secret = sealer.open(&cfg.client_secret_enc).map_err(|e| {
        tracing::error!(tenant = %cfg.tenant_id, error = %e, "SSO client secret cannot be opened");
        SsoError::new(
            Code::Misconfigured,
            format!("sso_configs row {}: client_secret_enc cannot be opened with this server's key", cfg.tenant_id),
        )
    })?;
    Ok(Resolved {
        target: cfg.tenant_id.clone(),
        issuer: cfg.issuer.clone(),
        client_id: cfg.client_id.clone(),
        client_secret: secret,
        scopes: cfg.scopes.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        domains: stored.domains,
        role_claim: cfg.role_claim.clone(),
        role_map: stored.role_map,
        default_role: stored.default_role,
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

async fn resolved_for(state: &AppState, target: &str) -> Result<Resolved, SsoError> {
    if target == PLATFORM {
        return state
            .settings
            .platform_oidc
            .as_ref()
            .map(resolve_platform)
            .ok_or_else(|| SsoError::new(Code::NotConfigured, "platform single sign-on is not configured"));
    }
    let cfg = sso_config::Entity::find_by_id(target.to_string())
        .one(&state.db)
        .await?
        .ok_or_else(|| SsoError::new(Code::NotConfigured, format!("tenant {target} has no SSO configuration")))?;
    resolve(&cfg, &state.sealer)
}

fn client(meta: ProviderMetadataWithLogout, r: &Resolved, redirect: &str) -> Result<OidcClient, SsoError> {
    let redirect = RedirectUrl::new(redirect.to_string())
        .map_err(|_| SsoError::new(Code::Internal, "PATCHBAY_PUBLIC_URL does not make a valid redirect URI"))?;
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

/// What a verified ID token says (any of the profile claims may be missing: strict IdPs
/// send them from UserInfo only).
#[derive(Debug, Clone)]
pub struct TokenClaims {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    /// The whole payload, for claims outside the standard set (groups).
    pub claims: serde_json::Value,
    pub id_token: String,
}

/// The verified facts about the person the IdP signed in.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub email: String,
    pub name: Option<String>,
    pub claims: serde_json::Value,
    pub id_token: String,
}

fn code_of(e: &ClaimsVerificationError) -> Code {
    match e {
        ClaimsVerificationError::Expired(_) => Code::TokenExpired,
        ClaimsVerificationError::InvalidAudience(_) => Code::WrongAudience,
        ClaimsVerificationError::InvalidNonce(_) => Code::WrongNonce,
        ClaimsVerificationError::InvalidIssuer(_) => Code::WrongIssuer,
        ClaimsVerificationError::SignatureVerification(_) => Code::BadSignature,
        _ => Code::InvalidToken,
    }
}

/// Verify an ID token against the IdP's keys (refreshing them once when the token
/// names an unknown key) and return its claims.
pub async fn verify_id_token(
    state: &AppState,
    r: &Resolved,
    token: &str,
    nonce: &str,
) -> Result<TokenClaims, SsoError> {
    let id_token =
        CoreIdToken::from_str(token).map_err(|_| SsoError::new(Code::InvalidToken, "the ID token is malformed"))?;
    let nonce = Nonce::new(nonce.to_string());
    let mut refreshed = false;
    loop {
        let meta = state.oidc.metadata(&r.issuer, refreshed).await?;
        let client = client(meta, r, &redirect_uri(state))?;
        match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => {
                return Ok(TokenClaims {
                    subject: claims.subject().as_str().to_string(),
                    email: claims.email().map(|e| normalize_email(e.as_str())),
                    email_verified: claims.email_verified(),
                    name: claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string()),
                    claims: raw_claims(token),
                    id_token: token.to_string(),
                });
            }
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey))
                if !refreshed =>
            {
                // Key rotation at the IdP: fetch the key set again, once.
                refreshed = true;
            }
            Err(e) => {
                let code = code_of(&e);
                tracing::info!(reason = code.as_str(), error = %e, "ID token rejected");
                return Err(SsoError::new(code, e.to_string()));
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

/// `email_verified` as IdPs send it: a boolean, or (some) the strings "true"/"false".
fn verified_of(v: Option<&serde_json::Value>) -> Option<bool> {
    match v? {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::String(s) if s == "true" => Some(true),
        serde_json::Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// Ask the UserInfo endpoint with the access token; its `sub` must be the ID token's.
async fn fetch_userinfo(
    state: &AppState,
    url: &str,
    access_token: &AccessToken,
    subject: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, SsoError> {
    let failed = |detail: String| {
        tracing::info!(url, detail, "UserInfo request failed");
        SsoError::new(Code::UserinfoFailed, detail)
    };
    let res = state
        .oidc
        .http()
        .get(url)
        .bearer_auth(access_token.secret())
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| failed(format!("UserInfo request failed: {e}")))?;
    if !res.status().is_success() {
        return Err(failed(format!("UserInfo answered {}", res.status())));
    }
    let json = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if !json {
        // A signed (application/jwt) answer is only sent to clients registered for one.
        return Err(failed("UserInfo did not answer with application/json".into()));
    }
    let body = res.bytes().await.map_err(|e| failed(format!("UserInfo body: {e}")))?;
    if body.len() > USERINFO_MAX_BYTES {
        return Err(failed(format!("UserInfo answer of {} bytes is too large", body.len())));
    }
    let info: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&body).map_err(|e| failed(format!("UserInfo is not a JSON object: {e}")))?;
    match info.get("sub").and_then(|s| s.as_str()) {
        Some(sub) if sub == subject => Ok(info),
        other => {
            tracing::warn!(id_token_sub = subject, userinfo_sub = ?other, "UserInfo subject mismatch");
            Err(SsoError::new(
                Code::UserinfoMismatch,
                format!("UserInfo sub {other:?} is not the ID token's sub {subject:?}"),
            ))
        }
    }
}

/// The identity from the ID token, completed from UserInfo when the token lacks the
/// e-mail, its verification, the name or the role claim (OpenID Connect Core 5.4: with
/// only scopes requested, strict IdPs such as oidc-provider return those claims from
/// UserInfo alone).
pub async fn identity_of(
    state: &AppState,
    r: &Resolved,
    meta: &ProviderMetadataWithLogout,
    token: TokenClaims,
    access_token: &AccessToken,
) -> Result<Identity, SsoError> {
    let TokenClaims { subject, mut email, mut email_verified, mut name, mut claims, id_token } = token;
    let role_claim_missing = r.role_claim.as_ref().is_some_and(|c| claims.get(c).is_none());
    let incomplete = email.is_none() || email_verified.is_none() || name.is_none() || role_claim_missing;
    match meta.userinfo_endpoint() {
        Some(url) if incomplete => {
            let info = fetch_userinfo(state, url.as_str(), access_token, &subject).await?;
            let info_email = info.get("email").and_then(|e| e.as_str()).map(normalize_email);
            let info_verified = verified_of(info.get("email_verified"));
            match &email {
                None => {
                    email = info_email;
                    email_verified = info_verified;
                }
                // The same address, its verification stated only in UserInfo.
                Some(e) if email_verified.is_none() && info_email.as_deref() == Some(e.as_str()) => {
                    email_verified = info_verified;
                }
                Some(_) => {}
            }
            if name.is_none() {
                name = info.get("name").and_then(|n| n.as_str()).map(str::to_owned);
            }
            if let serde_json::Value::Object(map) = &mut claims {
                for (k, v) in info {
                    map.entry(k).or_insert(v);
                }
            }
        }
        _ => {}
    }
    let email = email
        .ok_or_else(|| SsoError::new(Code::NoEmail, "neither the ID token nor UserInfo holds an e-mail address"))?;
    if email_verified == Some(false) {
        return Err(SsoError::new(Code::EmailUnverified, format!("{email} is not verified at the IdP")));
    }
    Ok(Identity { subject, email, name, claims, id_token })
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
        return Err(SsoError::new(Code::MissingState, "no sign-in in progress in this session"));
    };
    if returned_state != Some(pending.state.as_str()) {
        return Err(SsoError::new(Code::StateMismatch, "the returned state is not this session's"));
    }
    if Utc::now().timestamp() - pending.started_at > PENDING_MAX_AGE_SECS {
        return Err(SsoError::new(Code::PendingExpired, "the sign-in was started more than 15 minutes ago"));
    }
    if let Some(err) = error {
        return Err(SsoError::new(
            Code::IdpError,
            format!("the IdP answered error={}", err.chars().take(80).collect::<String>()),
        ));
    }
    let code = code.ok_or_else(|| SsoError::new(Code::MissingCode, "the callback has no code"))?;
    let r = resolved_for(state, &pending.target).await?;
    let meta = state.oidc.metadata(&r.issuer, false).await?;
    let client = client(meta.clone(), &r, &redirect_uri(state))?;
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|_| SsoError::new(Code::Misconfigured, "the IdP has no token endpoint"))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
        .request_async(state.oidc.http())
        .await
        .map_err(|e| {
            tracing::info!(error = %e, "code exchange failed");
            SsoError::new(Code::CodeRejected, e.to_string())
        })?;
    let id_token =
        token.id_token().ok_or_else(|| SsoError::new(Code::NoIdToken, "the token response has no id_token"))?;
    let claims = verify_id_token(state, &r, &id_token.to_string(), &pending.nonce).await?;
    let identity = identity_of(state, &r, &meta, claims, token.access_token()).await?;
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
        _ => Err(SsoError::new(Code::NotPlatformStaff, format!("{} is not an active platform admin", id.email))),
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
        return Err(SsoError::new(Code::DomainNotAllowed, format!("e-mail domain {domain} is not allowed")));
    }
    let t = tenant::Entity::find_by_id(r.target.clone())
        .one(&state.db)
        .await?
        .filter(|t| t.status != "deleted")
        .ok_or_else(|| SsoError::new(Code::TenantGone, format!("tenant {} is gone", r.target)))?;
    let role = map_role(r.role_claim.as_ref().and_then(|c| id.claims.get(c)), &r.role_map, r.default_role);
    let now = Utc::now();
    let txn = state.db.begin_write().await?;
    let existing = user::Entity::find().filter(user::Column::Email.eq(&id.email)).one(&txn).await?;
    let user_id = match existing {
        Some(u) => {
            if u.disabled {
                return Err(SsoError::new(Code::Disabled, format!("user {} is disabled", u.id)));
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
    let m = crate::core::scope::Scope::admitted(&t)
        .find::<membership::Entity>()
        .filter(membership::Column::UserId.eq(&user_id))
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
            // The same seat count as invitations (members plus open invitations), under the tenant lock.
            crate::team::ssr::add_member(&txn, &t, &user_id, &id.email, role, crate::team::ssr::JoinedBy::SingleSignOn)
                .await
                .map_err(|e| match e {
                    AppError::Conflict(_) => {
                        SsoError::new(Code::Quota, format!("{} has reached its edition's user limit", t.name))
                    }
                    other => other.into(),
                })?;
        }
    }
    txn.commit().await?;
    Ok((user_id, Some(t.id), Some(role)))
}

/// Record a failed SSO attempt: the code and the detail (for the tenant's admins and
/// platform staff; the browser only gets the code).
pub async fn audit_failure(state: &AppState, target: Option<&str>, err: &SsoError, ip: &str) {
    let detail: String = err.detail.chars().take(300).collect();
    let mut ev = NewEvent::platform(
        Actor::anonymous("sso"),
        "auth.sso_failed",
        "user",
        None,
        false,
        serde_json::json!({"reason": err.reason(), "detail": detail, "ip": ip}),
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
