//! Writing and claiming job rows. Every status change here is one statement whose filter
//! is what the machine ([`super::status::can`]) allows, so a stale caller changes nothing.
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::job;
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Set, Statement,
};

use super::payload::JobPayload;
use super::status::{JobStatus, from_which};
use crate::auth::ssr::new_id;
use crate::error::AppError;

/// The delay before retry number `attempt` (1-based): base·2^(attempt-1), capped at five
/// minutes, with "equal jitter" (half fixed, half random) so retries of many jobs spread out.
pub fn backoff(base_ms: u64, attempt: i32) -> Duration {
    let exp = base_ms.saturating_mul(1u64 << attempt.clamp(1, 20).saturating_sub(1) as u32).min(300_000);
    let half = exp / 2;
    let jitter = if half == 0 { 0 } else { rand::thread_rng().gen_range(0..=half) };
    Duration::from_millis(half + jitter)
}

/// Queue a job of `P`'s kind. Enqueuing the same idempotency key twice returns the first job.
pub async fn enqueue<P: JobPayload>(
    conn: &impl ConnectionTrait,
    payload: &P,
    tenant_id: Option<&str>,
    resource_id: Option<&str>,
    idempotency_key: &str,
    run_at: DateTime<Utc>,
) -> Result<job::Model, AppError> {
    if let Some(existing) =
        job::Entity::find().filter(job::Column::IdempotencyKey.eq(idempotency_key)).one(conn).await?
    {
        return Ok(existing);
    }
    let body = serde_json::to_string(payload).map_err(|e| AppError::internal("job payload", e))?;
    let now = Utc::now();
    Ok(job::ActiveModel {
        id: Set(new_id()),
        kind: Set(P::KIND.into()),
        tenant_id: Set(tenant_id.map(Into::into)),
        resource_id: Set(resource_id.map(Into::into)),
        payload: Set(body),
        status: Set(JobStatus::Queued.as_str().into()),
        attempts: Set(0),
        max_attempts: Set(P::MAX_ATTEMPTS),
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
    let (queued, running) = (JobStatus::Queued.as_str(), JobStatus::Running.as_str());
    let sql = match backend {
        DatabaseBackend::Postgres => format!(
            "UPDATE jobs SET status = '{running}', lease_owner = $1, lease_expires_at = $2, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs \
                WHERE (status = '{queued}' AND run_at <= $3) OR (status = '{running}' AND lease_expires_at < $3) \
                ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id"
        ),
        _ => format!(
            "UPDATE jobs SET status = '{running}', lease_owner = ?, lease_expires_at = ?, \
             attempts = attempts + 1, updated_at = ? \
             WHERE id = (SELECT id FROM jobs \
                WHERE (status = '{queued}' AND run_at <= ?) OR (status = '{running}' AND lease_expires_at < ?) \
                ORDER BY run_at, id LIMIT 1) \
             RETURNING id"
        ),
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
        .filter(job::Column::Status.eq(JobStatus::Running.as_str()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// How a claimed job ends up after a run.
pub(super) enum Settle {
    Succeeded,
    Requeue { at: DateTime<Utc>, error: Option<String>, count_attempt: bool },
    Failed(String),
}

/// Write the outcome, only if `worker` still holds the lease. Returns whether it did.
pub(super) async fn settle(
    db: &impl ConnectionTrait,
    j: &job::Model,
    worker: &str,
    outcome: Settle,
) -> Result<bool, AppError> {
    let now = Utc::now();
    let mut q = job::Entity::update_many()
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(job::Column::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::UpdatedAt, Expr::value(now));
    q = match outcome {
        Settle::Succeeded => q
            .col_expr(job::Column::Status, Expr::value(JobStatus::Succeeded.as_str()))
            .col_expr(job::Column::FinishedAt, Expr::value(now)),
        Settle::Requeue { at, error, count_attempt } => {
            let q = q
                .col_expr(job::Column::Status, Expr::value(JobStatus::Queued.as_str()))
                .col_expr(job::Column::RunAt, Expr::value(at));
            let q = if count_attempt { q } else { q.col_expr(job::Column::Attempts, Expr::value(j.attempts - 1)) };
            match error {
                Some(e) => q.col_expr(job::Column::LastError, Expr::value(e)),
                None => q,
            }
        }
        Settle::Failed(e) => q
            .col_expr(job::Column::Status, Expr::value(JobStatus::Failed.as_str()))
            .col_expr(job::Column::LastError, Expr::value(e))
            .col_expr(job::Column::FinishedAt, Expr::value(now)),
    };
    // Only a running job settles (every outcome above is legal from running).
    let res = q
        .filter(job::Column::Id.eq(&j.id))
        .filter(job::Column::LeaseOwner.eq(worker))
        .filter(job::Column::Status.eq(JobStatus::Running.as_str()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Record what went wrong on a job that goes on (for staff: the jobs console shows it).
pub async fn set_last_error(db: &impl ConnectionTrait, job_id: &str, error: &str) -> Result<(), AppError> {
    job::Entity::update_many()
        .col_expr(job::Column::LastError, Expr::value(error))
        .filter(job::Column::Id.eq(job_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Make a queued job due now (operators' "retry now", and customer actions that end a wait).
pub async fn run_now(db: &impl ConnectionTrait, job_id: &str) -> Result<bool, AppError> {
    let res = job::Entity::update_many()
        .col_expr(job::Column::RunAt, Expr::value(Utc::now()))
        .col_expr(job::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(job::Column::Id.eq(job_id))
        .filter(job::Column::Status.eq(JobStatus::Queued.as_str()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Put a failed or cancelled job back in the queue with fresh attempts.
pub async fn requeue(db: &impl ConnectionTrait, job_id: &str) -> Result<bool, AppError> {
    let now = Utc::now();
    let finished: Vec<&str> = from_which(JobStatus::Queued)
        .into_iter()
        .filter(|s| JobStatus::parse(s).is_some_and(|s| s.is_finished()))
        .collect();
    let res = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Queued.as_str()))
        .col_expr(job::Column::Attempts, Expr::value(0))
        .col_expr(job::Column::RunAt, Expr::value(now))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .col_expr(job::Column::FinishedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::CancelReason, Expr::value(Option::<String>::None))
        .filter(job::Column::Id.eq(job_id))
        .filter(job::Column::Status.is_in(finished))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// The live job working on `resource_id` (an order or service), if any.
pub async fn active_for(db: &impl ConnectionTrait, resource_id: &str) -> Result<Option<job::Model>, AppError> {
    Ok(job::Entity::find()
        .filter(job::Column::ResourceId.eq(resource_id))
        .filter(job::Column::Status.is_in([JobStatus::Queued.as_str(), JobStatus::Running.as_str()]))
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
}
