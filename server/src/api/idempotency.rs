//! `Idempotency-Key` for `POST`, `PATCH` and `DELETE` under `/v1` (seed 001, API design).
//!
//! The first request with a key claims it for the key's tenant by inserting a row; the
//! database's unique index on (tenant, key) makes that claim exactly once across replicas.
//! The request runs, and its answer (status, `Content-Type`, `ETag`, `Location`, body) is
//! stored for 24 hours. A retry with the same key and the same request (a SHA-256 of
//! method, path, query and body) gets that answer back byte for byte, with
//! `Idempotent-Replayed: true`, from any replica. A retry while the first is still running
//! gets 409 `idempotency_in_progress`; the same key with another request is 422
//! `idempotency_key_reused`. A 5xx answer, and a 401, 403 or 429 (they depend on the key
//! or the moment), is not kept (the key is released), so a retry after it runs again; a
//! suspended tenant's writes claim nothing. A claim left `running` for 5 minutes (a replica died
//! mid-request) is released too: the request may then run twice only if that replica had
//! committed its change before dying, which the service's own checks (a quote is ordered
//! once) still catch.
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, SqlErr};
use sha2::{Digest, Sha256};

use app::core::scope::Scope;
use app::error::AppError;
use app::state::AppState;
use entity::idempotency_key as idem;

use super::Problem;
use super::list::MAX_BODY_BYTES;

/// How long a key is remembered.
pub const KEEP_HOURS: i64 = 24;
/// A claim still `running` after this long is taken to be abandoned.
const ABANDONED_MINUTES: i64 = 5;
/// Headers of the first answer that a replay repeats.
const KEPT_HEADERS: [http::HeaderName; 3] = [http::header::CONTENT_TYPE, http::header::ETAG, http::header::LOCATION];
/// The largest answer kept for replay (the API's answers are far smaller).
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), http::Method::POST | http::Method::PATCH | http::Method::DELETE) {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get("idempotency-key").cloned() else { return next.run(req).await };
    let key = match key.to_str().map(str::trim) {
        Ok(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| (0x21..0x7f).contains(&b)) => k.to_string(),
        _ => {
            return Problem::field(
                "Idempotency-Key",
                "invalid",
                "An Idempotency-Key is 1 to 255 visible ASCII characters (a UUID is a good choice).",
            )
            .into_response();
        }
    };
    // Which tenant the key belongs to (the gate authenticated it). Without a valid API key,
    // let the handler refuse the request.
    let Some(super::Authenticated(Ok(principal))) = req.extensions().get::<super::Authenticated>().cloned() else {
        return next.run(req).await;
    };
    // A suspended tenant's writes are refused by the handler; nothing is claimed or kept.
    if principal.tenant.status != "active" {
        return next.run(req).await;
    }
    let scope = match principal.ctx(&state).scope() {
        Ok(s) => s,
        Err(e) => return Problem::from(e).into_response(),
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return Problem::new(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            format!("Request bodies are limited to {} KiB.", MAX_BODY_BYTES / 1024),
        )
        .into_response();
    };
    let mut h = Sha256::new();
    h.update(parts.method.as_str());
    h.update(b" ");
    h.update(parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or_default());
    h.update(b"\n");
    h.update(&bytes);
    let hash = hex::encode(h.finalize());
    let row_id = match claim(&state, &scope, &key, &hash).await {
        Ok(Claim::Mine(id)) => id,
        Ok(Claim::Replay(row)) => return replay(&state, &row).unwrap_or_else(|e| Problem::from(e).into_response()),
        Ok(Claim::Running) => {
            return Problem::new(
                http::StatusCode::CONFLICT,
                "idempotency_in_progress",
                "A request with this Idempotency-Key is still running; retry in a moment to get its answer.",
            )
            .into_response();
        }
        Ok(Claim::OtherRequest) => {
            return Problem::new(
                http::StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request in the last 24 hours; use a new key for a new request.",
            )
            .into_response();
        }
        Err(e) => return Problem::from(e).into_response(),
    };
    let res = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (mut parts, body) = res.into_parts();
    let answer = axum::body::to_bytes(body, MAX_ANSWER_BYTES).await;
    let kept = match &answer {
        // Refusals that depend on the key or the moment (401, 403, 429) and server errors
        // are not kept: a retry after they are mended must run.
        Ok(b) if !parts.status.is_server_error() && !matches!(parts.status.as_u16(), 401 | 403 | 429) => {
            String::from_utf8(b.to_vec()).ok()
        }
        _ => None,
    };
    let outcome = match kept {
        Some(text) => {
            // Once more on a failure: a claim left running is re-run after 5 minutes.
            match store(&state, &scope, &row_id, parts.status, &parts.headers, text.clone()).await {
                Ok(()) => Ok(()),
                Err(_) => store(&state, &scope, &row_id, parts.status, &parts.headers, text).await,
            }
        }
        None => release(&state, &scope, &row_id).await,
    };
    if let Err(e) = outcome {
        // The answer still goes out; a retry will find the key released or running.
        tracing::warn!(error = %e, key = %key, "could not record the idempotent answer");
    }
    match answer {
        Ok(b) => {
            parts.headers.remove(http::header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(b))
        }
        Err(e) => Problem::from(AppError::internal("idempotent answer", e)).into_response(),
    }
}

enum Claim {
    /// This request holds the key now (the row id).
    Mine(String),
    Replay(idem::Model),
    Running,
    OtherRequest,
}

async fn claim(state: &AppState, scope: &Scope, key: &str, hash: &str) -> Result<Claim, AppError> {
    let tenant = app::core::scope::owner_value(scope)?
        .ok_or_else(|| AppError::internal("idempotency", "an API key's scope has no tenant"))?;
    // Twice at most: the second time after releasing an expired or abandoned claim.
    for _ in 0..2 {
        let now = Utc::now();
        let id = uuid::Uuid::now_v7().to_string();
        let row = idem::ActiveModel {
            id: Set(id.clone()),
            tenant_id: Set(tenant.clone()),
            key: Set(key.to_string()),
            request_hash: Set(hash.to_string()),
            state: Set("running".into()),
            status_code: Set(None),
            headers: Set(None),
            body: Set(None),
            created_at: Set(now),
            expires_at: Set(now + Duration::hours(KEEP_HOURS)),
        };
        match row.insert(&state.db).await {
            Ok(_) => return Ok(Claim::Mine(id)),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
            Err(e) => return Err(e.into()),
        }
        let Some(held) = scope.find::<idem::Entity>().filter(idem::Column::Key.eq(key)).one(&state.db).await? else {
            continue; // released meanwhile
        };
        let abandoned = held.state == "running" && held.created_at < now - Duration::minutes(ABANDONED_MINUTES);
        if held.expires_at <= now || abandoned {
            scope.delete_many::<idem::Entity>().filter(idem::Column::Id.eq(&held.id)).exec(&state.db).await?;
            continue;
        }
        return Ok(if held.request_hash != hash {
            Claim::OtherRequest
        } else if held.state == "done" {
            Claim::Replay(held)
        } else {
            Claim::Running
        });
    }
    Ok(Claim::Running)
}

async fn store(
    state: &AppState,
    scope: &Scope,
    id: &str,
    status: http::StatusCode,
    headers: &http::HeaderMap,
    body: String,
) -> Result<(), AppError> {
    let kept: Vec<(String, String)> = KEPT_HEADERS
        .iter()
        .filter_map(|n| headers.get(n).and_then(|v| v.to_str().ok()).map(|v| (n.as_str().to_string(), v.to_string())))
        .collect();
    let kept = serde_json::to_string(&kept).map_err(|e| AppError::internal("idempotency headers", e))?;
    scope
        .update_many::<idem::Entity>()
        .filter(idem::Column::Id.eq(id))
        .col_expr(idem::Column::State, sea_orm::sea_query::Expr::value("done"))
        .col_expr(idem::Column::StatusCode, sea_orm::sea_query::Expr::value(i32::from(status.as_u16())))
        .col_expr(idem::Column::Headers, sea_orm::sea_query::Expr::value(kept))
        // Sealed like every secret at rest: an answer can hold one (a webhook's signing secret).
        .col_expr(
            idem::Column::Body,
            sea_orm::sea_query::Expr::value(
                state.sealer.seal(&body).map_err(|e| AppError::internal("seal the idempotent answer", e))?,
            ),
        )
        .exec(&state.db)
        .await?;
    Ok(())
}

async fn release(state: &AppState, scope: &Scope, id: &str) -> Result<(), AppError> {
    scope.delete_many::<idem::Entity>().filter(idem::Column::Id.eq(id)).exec(&state.db).await?;
    Ok(())
}

/// The first answer again, byte for byte. Corrupt stored data is an error naming the row.
fn replay(state: &AppState, row: &idem::Model) -> Result<Response, AppError> {
    let corrupt = |what: &str| AppError::corrupt("idempotency_keys", &row.id, what);
    let status = row
        .status_code
        .and_then(|c| u16::try_from(c).ok())
        .and_then(|c| http::StatusCode::from_u16(c).ok())
        .ok_or_else(|| corrupt("status_code"))?;
    let headers: Vec<(String, String)> =
        serde_json::from_str(row.headers.as_deref().ok_or_else(|| corrupt("headers missing"))?)
            .map_err(|e| corrupt(&format!("headers: {e}")))?;
    let sealed = row.body.as_deref().ok_or_else(|| corrupt("body missing"))?;
    let body = state.sealer.open(sealed).map_err(|e| corrupt(&format!("body: {e}")))?;
    let mut res = (status, body).into_response();
    res.headers_mut().remove(http::header::CONTENT_TYPE);
    for (name, value) in headers {
        let name = http::HeaderName::try_from(name).map_err(|e| corrupt(&format!("header name: {e}")))?;
        let value = http::HeaderValue::try_from(value).map_err(|e| corrupt(&format!("header value: {e}")))?;
        res.headers_mut().insert(name, value);
    }
    res.headers_mut().insert("idempotent-replayed", http::HeaderValue::from_static("true"));
    Ok(res)
}

/// Forget keys older than 24 hours (housekeeping; idempotent across replicas).
pub async fn prune(state: &AppState) -> Result<u64, AppError> {
    // Housekeeping acts for every tenant at once: expiry is not tenant data.
    Ok(idem::Entity::delete_many().filter(idem::Column::ExpiresAt.lt(Utc::now())).exec(&state.db).await?.rows_affected)
}
