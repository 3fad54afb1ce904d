//! Running claimed jobs: the handler trait, the table of handlers, and `run_one`, the
//! single-step entry point (workers, tests and benchmarks reach it through
//! `crate::workers`, which owns the one table).
use crate::core::db::BeginWrite;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use entity::job;
use sea_orm::DatabaseTransaction;

use super::queue::{Settle, backoff, claim, renew, settle};
use super::status::JobStatus;
use crate::error::AppError;
use crate::state::AppState;

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
    /// A permanent failure: the job fails for good (and its handler's `on_failed` runs).
    Fail(String),
}

/// The code that runs one kind of job. Steps must be idempotent: after a crash or a lost
/// lease the same step runs again.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// The `jobs.kind` this handler runs (its payload's `JobPayload::KIND`).
    fn kind(&self) -> &'static str;

    /// Do one piece of work and say what should happen next. `Conflict` and `Validation`
    /// errors fail the job for good, `NotFound` too; other errors are retried.
    async fn step(&self, state: &AppState, job: &job::Model) -> Result<Step, AppError>;

    /// The job has failed for good: record the follow-up (e.g. open a manual intervention)
    /// in `txn`, the transaction that marks the job failed. Returns the tenant whose live
    /// streams to wake once it is committed.
    async fn on_failed(
        &self,
        txn: &DatabaseTransaction,
        job: &job::Model,
        error: &str,
    ) -> Result<Option<String>, AppError> {
        let _ = (txn, job, error);
        Ok(None)
    }
}

/// The handlers, one per kind, built once (see `crate::workers::handlers`).
#[derive(Default)]
pub struct Registry {
    handlers: Vec<Box<dyn JobHandler>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add the handler of one kind.
    pub fn with(mut self, handler: impl JobHandler + 'static) -> Self {
        self.handlers.push(Box::new(handler));
        self
    }

    pub fn get(&self, kind: &str) -> Option<&dyn JobHandler> {
        self.handlers.iter().find(|h| h.kind() == kind).map(|h| h.as_ref())
    }

    /// Every registered kind, in registration order.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.handlers.iter().map(|h| h.kind()).collect()
    }
}

/// What `run_one` did, for tests, benchmarks and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub job_id: String,
    pub kind: String,
    /// `succeeded`, `queued` (will run again), `failed`, or `running` when the lease was lost.
    pub status: JobStatus,
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

async fn step(handlers: &Registry, state: &AppState, j: &job::Model) -> Step {
    let Some(handler) = handlers.get(&j.kind) else {
        return Step::Fail(format!("No worker handles jobs of kind `{}`.", j.kind));
    };
    match handler.step(state, j).await {
        Ok(s) => s,
        Err(AppError::Conflict(m)) | Err(AppError::Validation { message: m, .. }) => Step::Fail(m),
        Err(AppError::NotFound) => Step::Fail("What this job works on no longer exists.".into()),
        Err(e) => Step::Retry(e.to_string()),
    }
}

/// Claim one due job and run it with its handler from `handlers`. `Ok(None)` when nothing is due.
pub async fn run_one(state: &AppState, worker: &str, handlers: &Registry) -> Result<Option<Ran>, AppError> {
    let lease = Duration::from_millis(state.settings.job_lease_ms.max(1));
    let Some(j) = claim(&state.db, worker, lease).await? else { return Ok(None) };
    // A job that keeps killing its workers must not loop forever.
    if j.attempts > j.max_attempts {
        let error = format!(
            "Gave up after {} attempts (the last ones did not finish: the worker stopped or lost its lease).",
            j.max_attempts
        );
        return finish_failed(state, handlers, &j, worker, error).await.map(Some);
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
    let ran = |status: JobStatus, error: Option<String>, settled: bool| Ran {
        job_id: j.id.clone(),
        kind: j.kind.clone(),
        status,
        error,
        settled,
    };
    let mut next = Step::Again;
    for _ in 0..MAX_STEPS_PER_CLAIM {
        if lost.load(Ordering::SeqCst) {
            tracing::warn!(job = %j.id, "lease lost; stopping");
            return Ok(Some(ran(JobStatus::Running, None, false)));
        }
        next = step(handlers, state, &j).await;
        if next != Step::Again {
            break;
        }
    }
    let now = Utc::now();
    let out = match next {
        Step::Done => ran(JobStatus::Succeeded, None, settle(&state.db, &j, worker, Settle::Succeeded).await?),
        Step::Again => ran(
            JobStatus::Queued,
            None,
            settle(&state.db, &j, worker, Settle::Requeue { at: now, error: None, count_attempt: false }).await?,
        ),
        Step::Wait(d) => {
            let at = now + chrono::Duration::from_std(d).unwrap_or_default();
            ran(
                JobStatus::Queued,
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
            ran(JobStatus::Queued, Some(e), settled)
        }
        Step::Retry(e) => {
            let error = format!("{e} (gave up after {} attempts)", j.attempts);
            finish_failed(state, handlers, &j, worker, error).await?
        }
        Step::Fail(e) => finish_failed(state, handlers, &j, worker, e).await?,
    };
    if !out.settled {
        tracing::warn!(job = %j.id, "lease lost while running; another worker owns the job now");
    }
    Ok(Some(out))
}

/// Fail the job and run its handler's follow-up in one transaction: a crash in between
/// cannot leave a failed job that nobody is asked to look at.
async fn finish_failed(
    state: &AppState,
    handlers: &Registry,
    j: &job::Model,
    worker: &str,
    error: String,
) -> Result<Ran, AppError> {
    let txn = state.db.begin_write().await?;
    let settled = settle(&txn, j, worker, Settle::Failed(error.clone())).await?;
    let mut tenant = None;
    if settled {
        tracing::warn!(job = %j.id, kind = %j.kind, error = %error, "job failed");
        if let Some(h) = handlers.get(&j.kind) {
            tenant = h.on_failed(&txn, j, &error).await?;
        }
    }
    txn.commit().await?;
    if let Some(t) = tenant {
        state.live.wake(&state.db, &t).await;
    }
    Ok(Ran { job_id: j.id.clone(), kind: j.kind.clone(), status: JobStatus::Failed, error: Some(error), settled })
}

/// Run jobs until none is due or `limit` have run.
pub async fn drain(state: &AppState, worker: &str, limit: usize, handlers: &Registry) -> Result<Vec<Ran>, AppError> {
    let mut out = Vec::new();
    while out.len() < limit {
        match run_one(state, worker, handlers).await? {
            Some(r) => out.push(r),
            None => break,
        }
    }
    Ok(out)
}
