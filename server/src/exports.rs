//! Audit export: the filtered set as JSON lines, and a SHA-256 manifest of exactly that file.
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tower_sessions::Session;

use app::audit::AuditFilter;
use app::audit::ssr::{NewEvent, query, record};
use app::auth::permissions::Perm;
use app::auth::ssr::context_from_session;
use app::error::AppError;
use app::state::AppState;

/// The most events one export holds.
const MAX_EVENTS: u64 = 100_000;

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    tenant: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    resource: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// Highest event id included, so the file and its manifest describe the same set.
    upto: i64,
}

struct Export {
    body: String,
    events: usize,
    filter: AuditFilter,
    upto: i64,
    by: String,
}

async fn build(state: &AppState, session: &Session, q: ExportQuery) -> Result<Export, AppError> {
    let ctx = context_from_session(state, session).await?.ok_or(AppError::Unauthorized)?;
    if !ctx.can(Perm::AuditExport) {
        return Err(AppError::forbidden());
    }
    let scope = app::core::scope::Scope::staff_or_tenant(&ctx, "audit export")?;
    if !scope.is_everyone() {
        app::core::features::require_feature(&ctx, app::core::features::Feature::AuditExport).await?;
    }
    let filter = AuditFilter {
        tenant: q.tenant,
        actor: q.actor,
        action: q.action,
        resource: q.resource,
        from: q.from,
        to: q.to,
        before: None,
    };
    app::audit::ssr::check_filter(&filter)?;
    let mut rows = query(&state.db, &scope, &filter, MAX_EVENTS, Some(q.upto)).await?;
    rows.reverse();
    let mut body = String::new();
    for r in &rows {
        let line = serde_json::json!({
            "id": r.id, "chain": r.chain, "seq": r.seq, "at": r.at, "tenant_id": r.tenant_id,
            "actor_type": r.actor_type, "actor_id": r.actor_id, "actor_label": r.actor_label,
            "action": r.action, "resource_type": r.resource_type, "resource_id": r.resource_id,
            "outcome": r.outcome, "details": r.details, "trace_id": r.trace_id,
            "prev_hash": r.prev_hash, "hash": r.hash,
        });
        body.push_str(&line.to_string());
        body.push('\n');
    }
    let events = rows.len();
    Ok(Export { body, events, filter, upto: q.upto, by: ctx.user.email.clone() })
}

pub async fn jsonl(State(state): State<AppState>, session: Session, Query(q): Query<ExportQuery>) -> Response {
    match build(&state, &session, q).await {
        Ok(e) => {
            let ctx = context_from_session(&state, &session).await.ok().flatten();
            if let Some(ctx) = ctx {
                let mut ev = NewEvent::platform(
                    ctx.actor(),
                    "audit.exported",
                    "audit",
                    None,
                    true,
                    serde_json::json!({"events": e.events, "upto": e.upto}),
                );
                ev.tenant_id =
                    if ctx.user.is_platform_admin { None } else { ctx.tenant.as_ref().map(|t| t.id.clone()) };
                if let Err(err) = record(&state.db, ev).await {
                    return err.into_response();
                }
            }
            (
                [
                    (http::header::CONTENT_TYPE, "application/x-ndjson"),
                    (http::header::CONTENT_DISPOSITION, "attachment; filename=\"audit.jsonl\""),
                ],
                e.body,
            )
                .into_response()
        }
        Err(e) => e.into_response(),
    }
}

pub async fn manifest(State(state): State<AppState>, session: Session, Query(q): Query<ExportQuery>) -> Response {
    match build(&state, &session, q).await {
        Ok(e) => {
            let sha = hex::encode(Sha256::digest(e.body.as_bytes()));
            let m = serde_json::json!({
                "file": "audit.jsonl",
                "sha256": sha,
                "bytes": e.body.len(),
                "events": e.events,
                "upto": e.upto,
                "filter": e.filter,
                "generated_at": chrono::Utc::now().to_rfc3339(),
                "generated_by": e.by,
            });
            (
                [
                    (http::header::CONTENT_TYPE, "application/json"),
                    (http::header::CONTENT_DISPOSITION, "attachment; filename=\"audit.manifest.json\""),
                ],
                serde_json::to_string_pretty(&m).unwrap_or_default(),
            )
                .into_response()
        }
        Err(e) => e.into_response(),
    }
}
