//! Write transactions and concurrent writers. On SQLite a deferred transaction that read
//! before another connection committed could not write any more (`SQLITE_BUSY_SNAPSHOT`,
//! returned at once, whatever the busy timeout): a revoke or a role change became a 500
//! whenever the rate limiter's sync or a job lease wrote in between. `begin_write` takes the
//! write lock first, so the other writer waits instead.

use std::time::Duration;

use crate::common::*;
use app::core::db::BeginWrite;
use entity::tenant;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[tokio::test]
async fn a_write_transaction_that_read_first_still_commits_while_another_connection_writes() {
    let app = spawn_app().await;
    let acme = tenant_id(&app, "acme").await;
    let globex = tenant_id(&app, "globex").await;

    let txn = app.state.db.begin_write().await.expect("begin");
    let before = tenant::Entity::find_by_id(&acme).one(&txn).await.expect("read Acme").expect("Acme exists");

    // Another pooled connection writes while the transaction is open.
    let db = app.state.db.clone();
    let other = tokio::spawn(async move {
        tenant::Entity::update_many()
            .col_expr(tenant::Column::Name, Expr::value("Globex (renamed)"))
            .filter(tenant::Column::Id.eq(globex))
            .exec(&db)
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    tenant::Entity::update_many()
        .col_expr(tenant::Column::Name, Expr::value(format!("{} (renamed)", before.name)))
        .filter(tenant::Column::Id.eq(&acme))
        .exec(&txn)
        .await
        .expect("the transaction's write after its read succeeds");
    txn.commit().await.expect("commit");
    let other = other.await.expect("join").expect("the other connection's write succeeds too");
    assert_eq!(other.rows_affected, 1);

    let names: Vec<String> = tenant::Entity::find()
        .all(&app.state.db)
        .await
        .expect("tenants")
        .into_iter()
        .map(|t| t.name)
        .filter(|n| n.ends_with("(renamed)"))
        .collect();
    assert_eq!(names.len(), 2, "both renames landed: {names:?}");
}
