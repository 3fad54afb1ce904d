//! `Idempotency-Key` records for the REST API: one row per (tenant, key) for 24 hours, with
//! a SHA-256 of the request (method, path, query, body) and, once the first request has
//! finished, its answer (status, the headers that matter, body) to replay byte for byte.
//! The unique index is what makes a key claimable exactly once across replicas.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn t(name: &str) -> Alias {
    Alias::new(name)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let s = |c: &str| ColumnDef::new(t(c)).string().not_null().to_owned();
        let ts = |c: &str| ColumnDef::new(t(c)).timestamp_with_time_zone().not_null().to_owned();
        m.create_table(
            Table::create()
                .table(t("idempotency_keys"))
                .col(ColumnDef::new(t("id")).string_len(64).not_null().primary_key())
                .col(ColumnDef::new(t("tenant_id")).string_len(36).not_null())
                .col(s("key"))
                .col(s("request_hash"))
                // `running` until the first request's answer is stored, then `done`.
                .col(s("state"))
                .col(ColumnDef::new(t("status_code")).integer().null())
                .col(ColumnDef::new(t("headers")).text().null())
                .col(ColumnDef::new(t("body")).text().null())
                .col(ts("created_at"))
                .col(ts("expires_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_idempotency_keys_tenant_id")
                        .from(t("idempotency_keys"), t("tenant_id"))
                        .to(t("tenants"), t("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_idempotency_keys_tenant_key")
                .table(t("idempotency_keys"))
                .col(t("tenant_id"))
                .col(t("key"))
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_idempotency_keys_expires")
                .table(t("idempotency_keys"))
                .col(t("expires_at"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(t("idempotency_keys")).to_owned()).await
    }
}
