//! Background housekeeping inside the server. Each pass is idempotent, so running
//! it on several replicas at once does no harm: deletes simply find nothing left.
use std::time::Duration;

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use app::error::AppError;
use app::state::AppState;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub tenants_purged: u64,
    pub sessions_expired: u64,
    pub login_failures_pruned: u64,
    pub usage_records: u64,
    /// New differences between providers' inventories and our legs.
    pub inventory_drift: u64,
    pub idempotency_keys_pruned: u64,
    pub rate_rows_pruned: u64,
    pub webhook_messages_pruned: u64,
    /// Subscriptions turned off after failing every delivery for 5 days.
    pub webhooks_disabled: u64,
}

/// One pass of every housekeeping task (tests call this directly).
pub async fn run_once(state: &AppState) -> Result<Report, AppError> {
    let tenants_purged = app::tenants::ssr::purge_deleted(&state.db, state.settings.tenant_purge_grace_days).await?;
    let sessions_expired = entity::session::Entity::delete_many()
        .filter(entity::session::Column::ExpiresAt.lt(Utc::now()))
        .exec(&state.db)
        .await?
        .rows_affected;
    let login_failures_pruned = entity::login_failure::Entity::delete_many()
        .filter(entity::login_failure::Column::At.lt(Utc::now() - chrono::Duration::days(1)))
        .exec(&state.db)
        .await?
        .rows_affected;
    let usage_records = app::provisioning::engine::meter(state, 48).await?;
    let inventory_drift = app::provisioning::engine::reconcile(state).await?;
    let idempotency_keys_pruned = crate::api::idempotency::prune(state).await?;
    let rate_rows_pruned = app::api_keys::ssr::rate::RateLimiter::prune(&state.db).await?;
    let webhook_messages_pruned = app::webhooks::ssr::prune(&state.db).await?;
    let webhooks_disabled = app::webhooks::ssr::disable_failing(state).await?;
    Ok(Report {
        tenants_purged,
        sessions_expired,
        login_failures_pruned,
        usage_records,
        inventory_drift,
        idempotency_keys_pruned,
        rate_rows_pruned,
        webhook_messages_pruned,
        webhooks_disabled,
    })
}

/// Run `run_once` every `every` until the task is aborted.
pub fn spawn(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match run_once(&state).await {
                Ok(r) if r != Report::default() => tracing::info!(?r, "housekeeping"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
            }
        }
    })
}

/// A name for this worker that is unique across replicas (host, process, slot).
pub fn worker_name(slot: usize) -> String {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "patchbay".into());
    format!("{host}:{}:{slot}:{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..6])
}

/// `count` job workers, each claiming and running one job at a time (`app::workers::run_one`).
pub fn spawn_job_workers(state: AppState, count: usize, idle: Duration) -> Vec<tokio::task::JoinHandle<()>> {
    (0..count)
        .map(|slot| {
            let state = state.clone();
            tokio::spawn(async move {
                let name = worker_name(slot);
                tracing::info!(worker = %name, "job worker started");
                loop {
                    match app::workers::run_one(&state, &name).await {
                        Ok(Some(_)) => {}
                        Ok(None) => tokio::time::sleep(idle).await,
                        Err(e) => {
                            tracing::warn!(worker = %name, error = %e, "job worker error");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            })
        })
        .collect()
}
