//! Transactions that write.
//!
//! SQLite starts a plain `BEGIN` deferred: the first `SELECT` takes a read snapshot and the
//! first write must then upgrade it. If another connection committed in between (the rate
//! limiter's sync, a job lease, another request), the upgrade fails at once with
//! `SQLITE_BUSY_SNAPSHOT` ("database is locked"): the busy timeout is never consulted, and the
//! request became a 500. A transaction begun here on SQLite takes the write lock with its first
//! statement instead, before it has read anything, so a concurrent writer makes it wait (for
//! the busy timeout) rather than fail. PostgreSQL is unchanged: its row locks and the domains'
//! conditional updates already serialise what must be serialised.
//!
//! Every domain begins its transactions with [`BeginWrite::begin_write`]; `clippy.toml`
//! disallows `TransactionTrait::begin` elsewhere so a new one cannot slip back to deferred.

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, TransactionTrait};

/// A statement that writes nothing but takes SQLite's write lock: an `UPDATE` acquires it
/// when it starts, whether or not a row matches. `seaql_migrations` exists in every migrated
/// database.
const TAKE_WRITE_LOCK: &str = "UPDATE seaql_migrations SET version = version WHERE 0 = 1";

pub trait BeginWrite {
    /// Begin a transaction that will write (see the module's documentation).
    fn begin_write(&self) -> impl Future<Output = Result<DatabaseTransaction, DbErr>> + Send;
}

impl BeginWrite for DatabaseConnection {
    fn begin_write(&self) -> impl Future<Output = Result<DatabaseTransaction, DbErr>> + Send {
        begin(self)
    }
}

async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    #[allow(clippy::disallowed_methods)]
    let txn = TransactionTrait::begin(db).await?;
    if txn.get_database_backend() == DbBackend::Sqlite {
        txn.execute_unprepared(TAKE_WRITE_LOCK).await?;
    }
    Ok(txn)
}
