//! Per-edition API rate limits (token buckets: a rate per minute and a burst, one bucket
//! for reads and one for writes per tenant), and the consumption each replica reports so
//! that every replica's buckets count every replica's requests. A row is one replica's
//! running total for one bucket; replicas only ever overwrite their own rows.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn t(name: &str) -> Alias {
    Alias::new(name)
}

/// Management API limits by built-in edition (issue: Free 60/min burst 120, Standard
/// 600/min burst 1,200, Enterprise 3,000/min burst 6,000).
const LIMITS: [(&str, i32, i32); 3] = [("free", 60, 120), ("standard", 600, 1200), ("enterprise", 3000, 6000)];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (col, default) in [("api_rate_per_min", 60), ("api_burst", 120)] {
            m.alter_table(
                Table::alter()
                    .table(t("editions"))
                    .add_column(ColumnDef::new(t(col)).integer().not_null().default(default))
                    .to_owned(),
            )
            .await?;
        }
        for (key, rate, burst) in LIMITS {
            let stmt = Query::update()
                .table(t("editions"))
                .value(t("api_rate_per_min"), rate)
                .value(t("api_burst"), burst)
                .and_where(Expr::col(t("key")).eq(key))
                .to_owned();
            m.exec_stmt(stmt).await?;
        }
        m.create_table(
            Table::create()
                .table(t("rate_consumption"))
                .col(ColumnDef::new(t("replica")).string_len(64).not_null())
                .col(ColumnDef::new(t("bucket")).string_len(80).not_null())
                .col(ColumnDef::new(t("consumed")).big_integer().not_null())
                // The replica's view of the shared bucket at `updated_at`, in thousandths of a
                // request: a replica that starts using the bucket starts from it.
                .col(ColumnDef::new(t("tokens_milli")).big_integer().not_null())
                .col(ColumnDef::new(t("updated_at")).timestamp_with_time_zone().not_null())
                .primary_key(Index::create().col(t("replica")).col(t("bucket")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_rate_consumption_updated")
                .table(t("rate_consumption"))
                .col(t("updated_at"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(t("rate_consumption")).to_owned()).await?;
        for col in ["api_rate_per_min", "api_burst"] {
            m.alter_table(Table::alter().table(t("editions")).drop_column(t(col)).to_owned()).await?;
        }
        Ok(())
    }
}
