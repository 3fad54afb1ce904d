//! Server-sent events: `/events/orders/{id}` and `/events/services/{id}` stream the
//! outbox events of an order and its service as they are committed.
//!
//! The outbox is the record; [`app::live::Live`] only says "tenant T has news". Each
//! stream replays what the client missed (after `Last-Event-ID`, or `?since=`), then
//! sleeps until a nudge for its tenant (or the fallback interval, 15 s by default) and reads the outbox again. On
//! PostgreSQL, [`listen`] turns `NOTIFY` from every replica into local nudges.
use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use entity::{order, outbox_event, service};
use futures::stream::{self, Stream};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use tokio::sync::broadcast;
use tower_sessions::Session;

use app::auth::permissions::Perm;
use app::auth::ssr::context_from_session;
use app::core::scope::Scope;
use app::error::AppError;
use app::state::AppState;

#[derive(Deserialize)]
pub struct Since {
    since: Option<i64>,
}

/// What a stream follows: an order and (once it exists) its service.
#[derive(Clone)]
struct Watch {
    tenant_id: String,
    /// The watcher's tenant scope, from their session.
    scope: Scope,
    order_id: String,
    service_id: Option<String>,
}

pub async fn order_events(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<Since>,
    headers: HeaderMap,
) -> Response {
    let watch = async {
        let (tenant_id, scope) = authorise(&state, &session).await?;
        let o = scope.get::<order::Entity, _>(&state.db, id).await?;
        // The service is looked up on the first read (it may not exist yet).
        Ok(Watch { tenant_id, scope, order_id: o.id, service_id: None })
    };
    stream_or_error(watch.await, state, session, cursor(&headers, q.since)).await
}

pub async fn service_events(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<Since>,
    headers: HeaderMap,
) -> Response {
    let watch = async {
        let (tenant_id, scope) = authorise(&state, &session).await?;
        let s = scope.get::<service::Entity, _>(&state.db, id).await?;
        Ok(Watch { tenant_id, scope, order_id: s.order_id, service_id: Some(s.id) })
    };
    stream_or_error(watch.await, state, session, cursor(&headers, q.since)).await
}

async fn stream_or_error(
    watch: Result<Watch, AppError>,
    state: AppState,
    session: Session,
    since: Option<i64>,
) -> Response {
    match watch {
        Ok(w) => start(state, session, w, since).await,
        Err(e) => e.into_response(),
    }
}

/// The caller's selected tenant, if they may read its portal.
async fn authorise(state: &AppState, session: &Session) -> Result<(String, Scope), AppError> {
    let ctx = context_from_session(state, session).await?.ok_or(AppError::Unauthorized)?;
    if !ctx.can(Perm::PortalView) {
        return Err(AppError::forbidden());
    }
    Ok((ctx.tenant()?.id.clone(), ctx.scope()?))
}

/// Where to resume: the browser's `Last-Event-ID` on reconnect wins over `?since=`.
fn cursor(headers: &HeaderMap, since: Option<i64>) -> Option<i64> {
    headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok()).or(since)
}

struct StreamState {
    app: AppState,
    session: Session,
    watch: Watch,
    rx: broadcast::Receiver<String>,
    closing: tokio::sync::watch::Receiver<bool>,
    /// Events after this id are candidates; ids are assigned before commit, so an event
    /// can become visible after a higher one: the stream re-reads from its starting point
    /// and skips what it has sent (an order's events are few).
    from: i64,
    sent: HashSet<i64>,
    pending: VecDeque<outbox_event::Model>,
}

async fn start(app: AppState, session: Session, watch: Watch, since: Option<i64>) -> Response {
    // Subscribe before reading, so nothing committed in between is missed.
    let rx = app.live.subscribe();
    let closing = app.live.closing();
    let from = match since {
        Some(n) => n.max(0),
        // A fresh connection starts from now.
        None => app::provisioning::ssr::event_cursor(&app.db, &watch.tenant_id).await.unwrap_or(0),
    };
    let st = StreamState { app, session, watch, rx, closing, from, sent: HashSet::new(), pending: VecDeque::new() };
    Sse::new(events(st)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

fn events(st: StreamState) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(st, |mut st| async move {
        loop {
            if let Some(e) = st.pending.pop_front() {
                st.sent.insert(e.id);
                let data = serde_json::json!({
                    "type": e.event_type,
                    "resource_id": e.resource_id,
                    "at": e.created_at.to_rfc3339(),
                    "payload": serde_json::from_str::<serde_json::Value>(&e.payload).unwrap_or_default(),
                });
                return Some((Ok(Event::default().id(e.id.to_string()).data(data.to_string())), st));
            }
            match read(&mut st).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "event stream read failed"),
            }
            // Nothing new: wait for a nudge for this tenant, the fallback interval, or shutdown.
            let tenant = st.watch.tenant_id.clone();
            let fallback = Duration::from_millis(st.app.settings.live_fallback_ms.max(100));
            let mut closing = st.closing.clone();
            let shutdown = async move {
                loop {
                    let stop = *closing.borrow_and_update();
                    if stop || closing.changed().await.is_err() {
                        return;
                    }
                }
            };
            let nudged = async {
                loop {
                    match st.rx.recv().await {
                        Ok(t) if t == tenant => return true,
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Lagged(_)) => return true,
                        Err(broadcast::error::RecvError::Closed) => return false,
                    }
                }
            };
            tokio::select! {
                _ = shutdown => return None,
                r = tokio::time::timeout(fallback, nudged) => match r {
                    Ok(false) => return None,
                    Ok(true) => continue,
                    // A quiet spell: make sure the listener may still listen.
                    Err(_) => {
                        if authorise(&st.app, &st.session).await.ok().map(|(t, _)| t).as_deref() != Some(st.watch.tenant_id.as_str()) {
                            return None;
                        }
                    }
                },
            }
        }
    })
}

/// Load outbox events after the cursor into `pending`; true when there were any.
async fn read(st: &mut StreamState) -> Result<bool, AppError> {
    if st.watch.service_id.is_none() {
        st.watch.service_id = service::Entity::find()
            .filter(service::Column::OrderId.eq(&st.watch.order_id))
            .one(&st.app.db)
            .await?
            .map(|s| s.id);
    }
    let mut ids = Condition::any().add(outbox_event::Column::ResourceId.eq(&st.watch.order_id));
    if let Some(s) = &st.watch.service_id {
        ids = ids.add(outbox_event::Column::ResourceId.eq(s));
    }
    let rows = st
        .watch
        .scope
        .find::<outbox_event::Entity>()
        .filter(outbox_event::Column::Id.gt(st.from))
        .filter(ids)
        .order_by_asc(outbox_event::Column::Id)
        .all(&st.app.db)
        .await?;
    let new: Vec<_> = rows.into_iter().filter(|r| !st.sent.contains(&r.id)).collect();
    if new.is_empty() {
        return Ok(false);
    }
    st.pending.extend(new);
    Ok(true)
}

/// PostgreSQL: relay `NOTIFY patchbay_live` from every replica to this replica's streams.
/// Reconnects after a lost connection; streams meanwhile fall back to their 15 s look.
pub fn listen(state: AppState, url: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sea_orm::sqlx::postgres::PgListener::connect(&url).await {
                Ok(mut l) => {
                    if let Err(e) = l.listen(app::live::CHANNEL).await {
                        tracing::warn!(error = %e, "LISTEN failed");
                    } else {
                        loop {
                            match l.recv().await {
                                Ok(n) => state.live.deliver(n.payload()),
                                Err(e) => {
                                    tracing::warn!(error = %e, "live listener lost its connection");
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "live listener cannot connect"),
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    })
}
