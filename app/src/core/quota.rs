//! Quotas are checked inside the transaction that consumes them, under a per-tenant lock.
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use crate::error::AppError;

/// Take the tenant's row lock for the rest of `txn`: a no-op update, which on PostgreSQL
/// locks the row until commit and on SQLite takes the database's write lock at once
/// (so a second transaction waits before it reads the count, instead of both counting
/// the same free slot).
pub async fn lock_tenant(txn: &DatabaseTransaction, tenant_id: &str) -> Result<(), AppError> {
    use entity::tenant;
    let res = tenant::Entity::update_many()
        .col_expr(tenant::Column::UpdatedAt, Expr::col(tenant::Column::UpdatedAt))
        .filter(tenant::Column::Id.eq(tenant_id))
        .exec(txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}
