//! Sessions record the tenant they have selected, so a tenant's "active sessions" counts
//! its own sessions only (not its members' sessions in other tenants).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Sessions::Table)
                .add_column(ColumnDef::new(Sessions::TenantId).string_len(36).null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_sessions_tenant").table(Sessions::Table).col(Sessions::TenantId).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("idx_sessions_tenant").table(Sessions::Table).to_owned()).await?;
        m.alter_table(Table::alter().table(Sessions::Table).drop_column(Sessions::TenantId).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TenantId,
}
