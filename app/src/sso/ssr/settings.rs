//! A tenant's IdP configuration: what the Security & SSO page and `patchbay sso set` save,
//! show, test and remove.
use crate::core::db::BeginWrite;
use std::collections::BTreeMap;

use chrono::Utc;
use entity::{sso_config, tenant};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};

use super::flow::{redirect_uri, resolve};
use super::stored::{domain_claimed_elsewhere, parse_stored};
use crate::audit::ssr::{Actor, NewEvent, record};
use crate::auth::permissions::Role;
use crate::error::{AppError, FieldErrors};
use crate::sso::mapping::{format_role_map, parse_domains, parse_role_map, parse_scopes};
use crate::sso::{SsoCheck, SsoSettings};
use crate::state::AppState;

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

/// The page's view of a stored configuration; a corrupt row is an error naming it.
pub fn settings_of(state: &AppState, cfg: Option<sso_config::Model>) -> Result<SsoSettings, AppError> {
    let redirect = redirect_uri(state);
    Ok(match cfg {
        None => SsoSettings {
            redirect_uri: redirect,
            scopes: "openid email profile".into(),
            default_role: Role::Member,
            ..Default::default()
        },
        Some(c) => {
            let stored = parse_stored(&c)?;
            SsoSettings {
                tenant_id: String::new(),
                tenant_name: String::new(),
                configured: true,
                issuer: c.issuer,
                client_id: c.client_id,
                has_secret: !c.client_secret_enc.is_empty(),
                scopes: c.scopes,
                domains: stored.domains.join(", "),
                role_claim: c.role_claim.unwrap_or_default(),
                role_map: format_role_map(&stored.role_map),
                default_role: stored.default_role,
                require_sso: c.require_sso,
                redirect_uri: redirect,
                updated_at: Some(c.updated_at.format("%Y-%m-%d %H:%M UTC").to_string()),
                updated_by: Some(c.updated_by),
                blocked: None,
            }
        }
    })
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
    if let Some(problem) = state.oidc.issuer_problem(&issuer) {
        fields.insert("issuer".into(), problem.into());
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
    for d in &domains {
        if domain_claimed_elsewhere(db, d, &t.id).await? {
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
    let txn = db.begin_write().await?;
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
    let txn = state.db.begin_write().await?;
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
        Ok(_) => push(
            "Stored configuration",
            true,
            "Readable; the client secret is stored encrypted and opens with this server's key.".into(),
        ),
        Err(e) => push("Stored configuration", false, format!("{} ({})", e.message(), e.detail)),
    }
    match state.oidc.metadata(&cfg.issuer, true).await {
        Err(e) => push("Discovery", false, format!("{} ({})", e.message(), e.detail)),
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
