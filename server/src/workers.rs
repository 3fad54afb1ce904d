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
    Ok(Report { tenants_purged, sessions_expired, login_failures_pruned })
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
