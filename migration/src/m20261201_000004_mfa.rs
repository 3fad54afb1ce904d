//! Multi-factor sign-in: a TOTP enrolment per user (secret sealed at rest), single-use
//! recovery codes (hashed), and a tenant's policy requiring MFA for local accounts.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(UserMfa::Table)
                .col(ColumnDef::new(UserMfa::UserId).string_len(36).not_null().primary_key())
                .col(ColumnDef::new(UserMfa::TotpSecretSealed).text().not_null())
                .col(ColumnDef::new(UserMfa::LastStep).big_integer().not_null().default(0))
                .col(ColumnDef::new(UserMfa::EnabledAt).timestamp_with_time_zone().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(UserMfa::Table, UserMfa::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(MfaRecoveryCodes::Table)
                .col(ColumnDef::new(MfaRecoveryCodes::Id).string_len(36).not_null().primary_key())
                .col(ColumnDef::new(MfaRecoveryCodes::UserId).string_len(36).not_null())
                .col(ColumnDef::new(MfaRecoveryCodes::CodeHash).string().not_null())
                .col(ColumnDef::new(MfaRecoveryCodes::UsedAt).timestamp_with_time_zone().null())
                .col(ColumnDef::new(MfaRecoveryCodes::CreatedAt).timestamp_with_time_zone().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(MfaRecoveryCodes::Table, MfaRecoveryCodes::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_mfa_recovery_user")
                .table(MfaRecoveryCodes::Table)
                .col(MfaRecoveryCodes::UserId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(TenantSecurityPolicies::Table)
                .col(ColumnDef::new(TenantSecurityPolicies::TenantId).string_len(36).not_null().primary_key())
                .col(ColumnDef::new(TenantSecurityPolicies::RequireMfa).boolean().not_null().default(false))
                .col(ColumnDef::new(TenantSecurityPolicies::UpdatedBy).string_len(36).not_null())
                .col(ColumnDef::new(TenantSecurityPolicies::UpdatedAt).timestamp_with_time_zone().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(TenantSecurityPolicies::Table, TenantSecurityPolicies::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(TenantSecurityPolicies::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(MfaRecoveryCodes::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(UserMfa::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum UserMfa {
    Table,
    UserId,
    TotpSecretSealed,
    LastStep,
    EnabledAt,
}

#[derive(DeriveIden)]
enum MfaRecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TenantSecurityPolicies {
    Table,
    TenantId,
    RequireMfa,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}
