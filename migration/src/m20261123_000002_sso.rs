//! Per-tenant OpenID Connect single sign-on configuration.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(SsoConfigs::Table)
                .col(ColumnDef::new(SsoConfigs::TenantId).string_len(36).not_null().primary_key())
                .col(ColumnDef::new(SsoConfigs::Issuer).string().not_null())
                .col(ColumnDef::new(SsoConfigs::ClientId).string().not_null())
                .col(ColumnDef::new(SsoConfigs::ClientSecretEnc).text().not_null())
                .col(ColumnDef::new(SsoConfigs::Scopes).string().not_null())
                .col(ColumnDef::new(SsoConfigs::AllowedDomains).text().not_null())
                .col(ColumnDef::new(SsoConfigs::RoleClaim).string().null())
                .col(ColumnDef::new(SsoConfigs::RoleMap).text().not_null())
                .col(ColumnDef::new(SsoConfigs::DefaultRole).string().not_null())
                .col(ColumnDef::new(SsoConfigs::RequireSso).boolean().not_null().default(false))
                .col(ColumnDef::new(SsoConfigs::UpdatedBy).string().not_null())
                .col(ColumnDef::new(SsoConfigs::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(SsoConfigs::UpdatedAt).timestamp_with_time_zone().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(SsoConfigs::Table, SsoConfigs::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(SsoConfigs::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum SsoConfigs {
    Table,
    TenantId,
    Issuer,
    ClientId,
    ClientSecretEnc,
    Scopes,
    AllowedDomains,
    RoleClaim,
    RoleMap,
    DefaultRole,
    RequireSso,
    UpdatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}
