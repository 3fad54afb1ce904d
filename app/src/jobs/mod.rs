//! The durable job queue: shared infrastructure that every domain enqueues into and that
//! knows no domain. Jobs are rows; a worker claims one under a lease (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL; on SQLite the claiming UPDATE is a single write under the
//! database's one writer lock, which gives the same "one claimer" semantics), renews the
//! lease while it works, and settles the job only while it still holds the lease. A worker
//! that dies simply stops renewing: once the lease expires, another worker claims the job
//! again. Handlers are idempotent steps, so a job that runs again after a crash continues
//! where the last one got to.
//!
//! # Adding a job kind
//! 1. Define its payload next to the code that enqueues it and implement [`JobPayload`]
//!    (`KIND` is the `jobs.kind` value, `MAX_ATTEMPTS` how often it is tried):
//!    ```ignore
//!    #[derive(Serialize, Deserialize)]
//!    pub struct SendMail { pub mail_id: String }
//!    impl JobPayload for SendMail { const KIND: &'static str = "send_mail"; const MAX_ATTEMPTS: i32 = 8; }
//!    ```
//! 2. Enqueue it with [`enqueue`] (in the caller's transaction, with an idempotency key).
//! 3. Implement [`JobHandler`] for it in the domain that does the work: `step` reads the
//!    payload with [`payload`] (the one parse point) and returns a [`Step`]; `on_failed`
//!    (optional) records what happens when the attempts run out, in the transaction that
//!    fails the job.
//! 4. Register the handler in `crate::workers::handlers()`: the one table, above the
//!    domains, that maps kinds to handlers. Workers, tests and benchmarks run jobs through
//!    `crate::workers::run_one` / `crate::workers::drain`.
#[cfg(feature = "ssr")]
mod payload;
#[cfg(feature = "ssr")]
mod queue;
#[cfg(feature = "ssr")]
mod runner;
pub mod status;

#[cfg(feature = "ssr")]
pub use payload::{JobPayload, payload};
#[cfg(feature = "ssr")]
pub use queue::{active_for, backoff, claim, enqueue, renew, requeue, run_now, set_last_error};
#[cfg(feature = "ssr")]
pub use runner::{JobHandler, Ran, Registry, Step, drain, run_one};
pub use status::JobStatus;
