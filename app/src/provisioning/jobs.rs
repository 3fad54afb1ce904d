//! The durable job queue. Jobs are rows; a worker claims one under a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the claiming UPDATE is a single
//! write under the database's one writer lock, which gives the same "one claimer"
//! semantics), renews the lease while it works, and settles the job only while it
//! still holds the lease. A worker that dies simply stops renewing: once the lease
//! expires, another worker claims the job again. Handlers are idempotent steps, so a
//! job that runs again after a crash continues where the last one got to.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::job;
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Set, Statement,
    TransactionTrait,
};

use crate::auth::ssr::new_id;
use crate::error::AppError;
use crate::state::AppState;

pub const PROVISION_ORDER: &str = "provision_order";
pub const SERVICE_ACTION: &str = "service_action";

/// Attempts a kind gets before it lands in the manual-intervention queue.
pub fn max_attempts(kind: &str) -> i32 {
    match kind {
        PROVISION_ORDER => 6,
        SERVICE_ACTION => 5,
        crate::mail::SEND_MAIL => 6,
        _ => 3,
    }
}

/// What one step of a handler decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The job is finished.
    Done,
    /// Progress was made; run the next step now.
    Again,
    /// Waiting on the outside world (a provider, a customer): look again later. Not a failure.
    Wait(Duration),
    /// A transient failure: retry with backoff until the kind's attempts run out.
    Retry(String),
    /// A permanent failure: straight to the manual-intervention queue.
    Fail(String),
}

/// The delay before retry number `attempt` (1-based): base·2^(attempt-1), capped at five
/// minutes, with "equal jitter" (half fixed, half random) so retries of many jobs spread out.
pub fn backoff(base_ms: u64, attempt: i32) -> Duration {
    let exp = base_ms.saturating_mul(1u64 << attempt.clamp(1, 20).saturating_sub(1) as u32).min(300_000);
    let half = exp / 2;
    let jitter = if half == 0 { 0 } else { rand::thread_rng().gen_range(0..=half) };
    Duration::from_millis(half + jitter)
}

/// Queue a job. Enqueuing the same idempotency key twice returns the first job.
#[allow(clippy::too_many_arguments)]
pub async fn enqueue(
    conn: &impl ConnectionTrait,
    kind: &str,
    tenant_id: Option<&str>,
    resource_id: Option<&str>,
    payload: serde_json::Value,
    idempotency_key: &str,
    run_at: DateTime<Utc>,
) -> Result<job::Model, AppError> {
    if let Some(existing) =
        job::Entity::find().filter(job::Column::IdempotencyKey.eq(idempotency_key)).one(conn).await?
    {
        return Ok(existing);
    }
    let now = Utc::now();
    Ok(job::ActiveModel {
        id: Set(new_id()),
        kind: Set(kind.into()),
        tenant_id: Set(tenant_id.map(Into::into)),
        resource_id: Set(resource_id.map(Into::into)),
        payload: Set(payload.to_string()),
        status: Set("queued".into()),
        attempts: Set(0),
        max_attempts: Set(max_attempts(kind)),
        run_at: Set(run_at),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        last_error: Set(None),
        idempotency_key: Set(idempotency_key.into()),
        cancel_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    }
    .insert(conn)
    .await?)
}

/// Claim the next due job (queued and due, or running with an expired lease).
pub async fn claim(db: &impl ConnectionTrait, worker: &str, lease: Duration) -> Result<Option<job::Model>, AppError> {
    let now = Utc::now();
    let expires = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30));
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs \
                WHERE (status = 'queued' AND run_at <= $3) OR (status = 'running' AND lease_expires_at < $3) \
                ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id"
        }
        _ => {
            "UPDATE jobs SET status = 'running', lease_owner = ?, lease_expires_at = ?, \
             attempts = attempts + 1, updated_at = ? \
             WHERE id = (SELECT id FROM jobs \
                WHERE (status = 'queued' AND run_at <= ?) OR (status = 'running' AND lease_expires_at < ?) \
                ORDER BY run_at, id LIMIT 1) \
             RETURNING id"
        }
    };
    let values: Vec<sea_orm::Value> = match backend {
        DatabaseBackend::Postgres => vec![worker.into(), expires.into(), now.into()],
        _ => vec![worker.into(), expires.into(), now.into(), now.into(), now.into()],
    };
    let Some(row) = db.query_one_raw(Statement::from_sql_and_values(backend, sql, values)).await? else {
        return Ok(None);
    };
    let id: String = row.try_get("", "id")?;
    Ok(job::Entity::find_by_id(id).one(db).await?)
}

/// Extend the lease; false when this worker no longer holds it.
pub async fn renew(db: &impl ConnectionTrait, job_id: &str, worker: &str, lease: Duration) -> Result<bool, AppError> {
    let expires = Utc::now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30));
    let res = job::Entity::update_many()
        .col_expr(job::Column::LeaseExpiresAt, Expr::value(expires))
        .filter(job::Column::Id.eq(job_id))
        .filter(job::Column::LeaseOwner.eq(worker))
        .filter(job::Column::Status.eq("running"))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// How a claimed job ends up after a run.
enum Settle {
    Succeeded,
    Requeue { at: DateTime<Utc>, error: Option<String>, count_attempt: bool },
    Failed(String),
}

/// Write the outcome, only if `worker` still holds the lease. Returns whether it did.
async fn settle(db: &impl ConnectionTrait, j: &job::Model, worker: &str, outcome: Settle) -> Result<bool, AppError> {
    let now = Utc::now();
    let mut q = job::Entity::update_many()
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(job::Column::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::UpdatedAt, Expr::value(now));
    q = match outcome {
        Settle::Succeeded => q
            .col_expr(job::Column::Status, Expr::value("succeeded"))
            .col_expr(job::Column::FinishedAt, Expr::value(now)),
        Settle::Requeue { at, error, count_attempt } => {
            let q =
                q.col_expr(job::Column::Status, Expr::value("queued")).col_expr(job::Column::RunAt, Expr::value(at));
            let q = if count_attempt { q } else { q.col_expr(job::Column::Attempts, Expr::value(j.attempts - 1)) };
            match error {
                Some(e) => q.col_expr(job::Column::LastError, Expr::value(e)),
                None => q,
            }
        }
        Settle::Failed(e) => q
            .col_expr(job::Column::Status, Expr::value("failed"))
            .col_expr(job::Column::LastError, Expr::value(e))
            .col_expr(job::Column::FinishedAt, Expr::value(now)),
    };
    let res = q
        .filter(job::Column::Id.eq(&j.id))
        .filter(job::Column::LeaseOwner.eq(worker))
        .filter(job::Column::Status.eq("running"))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// What `run_one` did, for tests, benchmarks and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub job_id: String,
    pub kind: String,
    /// `succeeded`, `queued` (will run again) or `failed`.
    pub status: String,
    pub error: Option<String>,
    /// False when the lease was lost mid-run (another worker owns the job now).
    pub settled: bool,
}

/// Aborts the lease renewer however `run_one` ends (even when its future is dropped).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Steps a single claim may run back to back before yielding the job.
const MAX_STEPS_PER_CLAIM: usize = 25;

/// Claim one due job and run it: the single-step entry point the worker loop and the
/// tests both use. `Ok(None)` when nothing is due.
pub async fn run_one(state: &AppState, worker: &str) -> Result<Option<Ran>, AppError> {
    let lease = Duration::from_millis(state.settings.job_lease_ms.max(1));
    let Some(j) = claim(&state.db, worker, lease).await? else { return Ok(None) };
    // A job that keeps killing its workers must not loop forever.
    if j.attempts > j.max_attempts {
        let error = format!(
            "Gave up after {} attempts (the last ones did not finish: the worker stopped or lost its lease).",
            j.max_attempts
        );
        return finish_failed(state, &j, worker, error).await.map(Some);
    }
    // Renew the lease in the background while the handler works; stop stepping as soon as
    // a renewal finds the lease gone (another worker owns the job now).
    let lost = Arc::new(AtomicBool::new(false));
    let _renewer = {
        let db = state.db.clone();
        let (id, w, lost) = (j.id.clone(), worker.to_string(), lost.clone());
        AbortOnDrop(tokio::spawn(async move {
            let every = lease / 3;
            loop {
                tokio::time::sleep(every).await;
                match renew(&db, &id, &w, lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        lost.store(true, Ordering::SeqCst);
                        break;
                    }
                    Err(e) => tracing::warn!(error = %e, job = %id, "lease renewal failed"),
                }
            }
        }))
    };
    let mut step = Step::Again;
    for _ in 0..MAX_STEPS_PER_CLAIM {
        if lost.load(Ordering::SeqCst) {
            tracing::warn!(job = %j.id, "lease lost; stopping");
            return Ok(Some(Ran {
                job_id: j.id.clone(),
                kind: j.kind.clone(),
                status: "running".into(),
                error: None,
                settled: false,
            }));
        }
        step = match super::engine::step(state, &j).await {
            Ok(s) => s,
            Err(AppError::Conflict(m)) | Err(AppError::Validation { message: m, .. }) => Step::Fail(m),
            Err(AppError::NotFound) => Step::Fail("The job's order or service no longer exists.".into()),
            Err(e) => Step::Retry(e.to_string()),
        };
        if step != Step::Again {
            break;
        }
    }
    let now = Utc::now();
    let ran = |status: &str, error: Option<String>, settled: bool| Ran {
        job_id: j.id.clone(),
        kind: j.kind.clone(),
        status: status.into(),
        error,
        settled,
    };
    let out = match step {
        Step::Done => ran("succeeded", None, settle(&state.db, &j, worker, Settle::Succeeded).await?),
        Step::Again => ran(
            "queued",
            None,
            settle(&state.db, &j, worker, Settle::Requeue { at: now, error: None, count_attempt: false }).await?,
        ),
        Step::Wait(d) => {
            let at = now + chrono::Duration::from_std(d).unwrap_or_default();
            ran(
                "queued",
                None,
                settle(&state.db, &j, worker, Settle::Requeue { at, error: None, count_attempt: false }).await?,
            )
        }
        Step::Retry(e) if j.attempts < j.max_attempts => {
            let at = now
                + chrono::Duration::from_std(backoff(state.settings.job_backoff_base_ms, j.attempts))
                    .unwrap_or_default();
            tracing::info!(job = %j.id, kind = %j.kind, attempt = j.attempts, error = %e, "job will retry");
            let settled =
                settle(&state.db, &j, worker, Settle::Requeue { at, error: Some(e.clone()), count_attempt: true })
                    .await?;
            ran("queued", Some(e), settled)
        }
        Step::Retry(e) => {
            finish_failed(state, &j, worker, format!("{e} (gave up after {} attempts)", j.attempts)).await?
        }
        Step::Fail(e) => finish_failed(state, &j, worker, e).await?,
    };
    if !out.settled {
        tracing::warn!(job = %j.id, "lease lost while running; another worker owns the job now");
    }
    Ok(Some(out))
}

/// Fail the job and open its manual intervention in one transaction: a crash in between
/// cannot leave a failed job that nobody is asked to look at.
async fn finish_failed(state: &AppState, j: &job::Model, worker: &str, error: String) -> Result<Ran, AppError> {
    let txn = state.db.begin().await?;
    let settled = settle(&txn, j, worker, Settle::Failed(error.clone())).await?;
    let mut tenant = None;
    if settled {
        tracing::warn!(job = %j.id, kind = %j.kind, error = %error, "job failed; manual intervention");
        tenant = super::engine::on_failed(&txn, j, &error).await?;
    }
    txn.commit().await?;
    if let Some(t) = tenant {
        state.live.wake(&state.db, &t).await;
    }
    Ok(Ran { job_id: j.id.clone(), kind: j.kind.clone(), status: "failed".into(), error: Some(error), settled })
}

/// Run jobs until none is due (tests and benchmarks drive the queue with this).
pub async fn drain(state: &AppState, worker: &str, limit: usize) -> Result<Vec<Ran>, AppError> {
    let mut out = Vec::new();
    while out.len() < limit {
        match run_one(state, worker).await? {
            Some(r) => out.push(r),
            None => break,
        }
    }
    Ok(out)
}

/// Make a queued job due now (operators' "retry now", and customer actions that end a wait).
pub async fn run_now(db: &impl ConnectionTrait, job_id: &str) -> Result<bool, AppError> {
    let res = job::Entity::update_many()
        .col_expr(job::Column::RunAt, Expr::value(Utc::now()))
        .col_expr(job::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(job::Column::Id.eq(job_id))
        .filter(job::Column::Status.eq("queued"))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Put a failed or cancelled job back in the queue with fresh attempts.
pub async fn requeue(db: &impl ConnectionTrait, job_id: &str) -> Result<bool, AppError> {
    let now = Utc::now();
    let res = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value("queued"))
        .col_expr(job::Column::Attempts, Expr::value(0))
        .col_expr(job::Column::RunAt, Expr::value(now))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .col_expr(job::Column::FinishedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::CancelReason, Expr::value(Option::<String>::None))
        .filter(job::Column::Id.eq(job_id))
        .filter(job::Column::Status.is_in(["failed", "cancelled"]))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// The live job working on `resource_id` (an order or service), if any.
pub async fn active_for(db: &impl ConnectionTrait, resource_id: &str) -> Result<Option<job::Model>, AppError> {
    Ok(job::Entity::find()
        .filter(job::Column::ResourceId.eq(resource_id))
        .filter(job::Column::Status.is_in(["queued", "running"]))
        .one(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        for attempt in 1..=6 {
            let full = 1000u64 << (attempt - 1);
            for _ in 0..50 {
                let d = backoff(1000, attempt).as_millis() as u64;
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d} not in [{}, {full}]", full / 2);
            }
        }
        assert!(backoff(1000, 30).as_millis() <= 300_000);
        assert_eq!(backoff(0, 3), Duration::ZERO);
    }

    #[test]
    fn provisioning_gets_more_attempts_than_unknown_kinds() {
        assert!(max_attempts(PROVISION_ORDER) > max_attempts("other"));
    }
}
