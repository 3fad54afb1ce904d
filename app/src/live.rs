//! Live updates: a wake-up signal that tells open event streams "something changed in
//! tenant T; read the outbox". The outbox table is the record; this is only the nudge.
//!
//! SQLite (one process): an in-process broadcast channel. PostgreSQL (many replicas):
//! `NOTIFY patchbay_live` after commit; every replica's listener (started by the server)
//! re-broadcasts it locally, so a stream on any replica hears changes made on any other.
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use tokio::sync::{broadcast, watch};

pub const CHANNEL: &str = "patchbay_live";

#[derive(Clone)]
pub struct Live {
    tx: broadcast::Sender<String>,
    /// Set when the server shuts down: open streams end so graceful shutdown can finish.
    closing: watch::Sender<bool>,
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

impl Live {
    pub fn new() -> Self {
        Self { tx: broadcast::channel(1024).0, closing: watch::channel(false).0 }
    }

    /// End every open stream (the server is shutting down).
    pub fn close(&self) {
        let _ = self.closing.send(true);
    }

    /// Resolves when the server shuts down.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Streams subscribe here; each message is a tenant id.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.tx.subscribe()
    }

    /// Deliver a signal received from another replica (or from this one) to local streams.
    pub fn deliver(&self, tenant_id: &str) {
        let _ = self.tx.send(tenant_id.to_string());
    }

    /// Announce, after commit, that `tenant_id` has new outbox events.
    pub async fn wake(&self, db: &DatabaseConnection, tenant_id: &str) {
        if db.get_database_backend() == DatabaseBackend::Postgres {
            let stmt = Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), tenant_id.into()],
            );
            match db.execute_raw(stmt).await {
                Ok(_) => return,
                // Local streams still hear it; other replicas catch up on their next poll.
                Err(e) => tracing::warn!(error = %e, "NOTIFY failed"),
            }
        }
        self.deliver(tenant_id);
    }
}
