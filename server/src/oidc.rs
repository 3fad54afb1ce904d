//! The browser legs of OpenID Connect sign-in: `/auth/oidc/start` sends the browser
//! to the identity provider, `/auth/oidc/callback` finishes. Failures land on the
//! sign-in page with an error code (`/login?sso_error=<code>`, which the page maps to a
//! fixed message), are audited with their detail, and leave no session.
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use tower_sessions::Session;

use app::sso::errors::SsoErrorCode;
use app::sso::ssr::{PLATFORM, SsoError, audit_failure, complete, pending_target, start as start_flow};
use app::state::AppState;

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    tenant: Option<String>,
    platform: Option<String>,
    login_hint: Option<String>,
    next: Option<String>,
}

fn to_login(err: &SsoError) -> Response {
    // Codes are fixed lower-case identifiers: nothing to encode, nothing from the request.
    Redirect::to(&format!("/login?sso_error={}", err.code.as_str())).into_response()
}

pub async fn start(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    session: Session,
    Query(q): Query<StartQuery>,
) -> Response {
    let target = if q.platform.is_some() {
        Ok(PLATFORM.to_string())
    } else {
        match q.tenant.as_deref().map(|s| s.trim().to_lowercase()) {
            Some(slug) => {
                match entity::tenant::Entity::find().filter(entity::tenant::Column::Slug.eq(slug)).one(&state.db).await
                {
                    Ok(t) => t
                        .filter(|t| t.status != "deleted")
                        .map(|t| t.id)
                        .ok_or_else(|| SsoError::new(SsoErrorCode::UnknownTenant, "no active tenant with that slug")),
                    Err(e) => Err(SsoError::from(e)),
                }
            }
            None => Err(SsoError::new(SsoErrorCode::NoTarget, "the start link names no tenant")),
        }
    };
    let res = match target {
        Ok(t) => start_flow(&state, &session, &t, q.login_hint.as_deref(), q.next).await.map_err(|e| (Some(t), e)),
        Err(e) => Err((None, e)),
    };
    match res {
        Ok(url) => Redirect::to(&url).into_response(),
        Err((target, e)) => {
            audit_failure(&state, target.as_deref(), &e, &addr.ip().to_string()).await;
            to_login(&e)
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    session: Session,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let ip = addr.ip().to_string();
    let target = pending_target(&session).await;
    match complete(&state, &session, q.code.as_deref(), q.state.as_deref(), q.error.as_deref(), &ip).await {
        Ok(path) => Redirect::to(&path).into_response(),
        Err(e) => {
            audit_failure(&state, target.as_deref(), &e, &ip).await;
            to_login(&e)
        }
    }
}
