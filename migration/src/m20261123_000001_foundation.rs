//! Accounts, tenants, editions, sessions, invitations, sign-in throttling and the audit trail.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn id(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string_len(36).not_null().primary_key().to_owned()
}
fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}
fn ts_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().to_owned()
}
fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().not_null().to_owned()
}
fn text_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Editions::Table)
                .col(id(Editions::Id))
                .col(text(Editions::Key).unique_key().to_owned())
                .col(text(Editions::Name))
                .col(ColumnDef::new(Editions::Rank).integer().not_null())
                .col(ColumnDef::new(Editions::MaxUsers).integer().not_null())
                .col(ColumnDef::new(Editions::MaxActiveServices).integer().not_null())
                .col(ColumnDef::new(Editions::Features).text().not_null())
                .col(ts(Editions::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Tenants::Table)
                .col(id(Tenants::Id))
                .col(text(Tenants::Slug).unique_key().to_owned())
                .col(text(Tenants::Name))
                .col(ColumnDef::new(Tenants::EditionId).string_len(36).not_null())
                .col(text(Tenants::Status))
                .col(text_null(Tenants::StatusReason))
                .col(ts_null(Tenants::DeletedAt))
                .col(ts(Tenants::CreatedAt))
                .col(ts(Tenants::UpdatedAt))
                .foreign_key(
                    ForeignKey::create().from(Tenants::Table, Tenants::EditionId).to(Editions::Table, Editions::Id),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(id(Users::Id))
                .col(text(Users::Email).unique_key().to_owned())
                .col(text(Users::DisplayName))
                .col(text_null(Users::PasswordHash))
                .col(ColumnDef::new(Users::Disabled).boolean().not_null().default(false))
                .col(ColumnDef::new(Users::IsPlatformAdmin).boolean().not_null().default(false))
                .col(ts(Users::CreatedAt))
                .col(ts_null(Users::LastLoginAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Memberships::Table)
                .col(id(Memberships::Id))
                .col(ColumnDef::new(Memberships::UserId).string_len(36).not_null())
                .col(ColumnDef::new(Memberships::TenantId).string_len(36).not_null())
                .col(text(Memberships::Role))
                .col(ts(Memberships::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Memberships::Table, Memberships::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Memberships::Table, Memberships::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_memberships_user_tenant")
                .table(Memberships::Table)
                .col(Memberships::UserId)
                .col(Memberships::TenantId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_memberships_tenant")
                .table(Memberships::Table)
                .col(Memberships::TenantId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(ColumnDef::new(Sessions::Id).string_len(64).not_null().primary_key())
                .col(ColumnDef::new(Sessions::Data).text().not_null())
                .col(ts(Sessions::ExpiresAt))
                .col(ColumnDef::new(Sessions::UserId).string_len(36).null())
                .col(text_null(Sessions::Ip))
                .col(text_null(Sessions::UserAgent))
                .col(ts(Sessions::CreatedAt))
                .col(ts(Sessions::LastSeenAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_sessions_user").table(Sessions::Table).col(Sessions::UserId).to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_sessions_expires").table(Sessions::Table).col(Sessions::ExpiresAt).to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Invitations::Table)
                .col(id(Invitations::Id))
                .col(ColumnDef::new(Invitations::TenantId).string_len(36).not_null())
                .col(text(Invitations::Email))
                .col(text(Invitations::Role))
                .col(text(Invitations::TokenHash).unique_key().to_owned())
                .col(ColumnDef::new(Invitations::InvitedBy).string_len(36).not_null())
                .col(ts(Invitations::ExpiresAt))
                .col(ts_null(Invitations::AcceptedAt))
                .col(ts_null(Invitations::RevokedAt))
                .col(ts(Invitations::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Invitations::Table, Invitations::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LoginFailures::Table)
                .col(ColumnDef::new(LoginFailures::Id).big_integer().not_null().auto_increment().primary_key())
                .col(text(LoginFailures::Email))
                .col(text(LoginFailures::Ip))
                .col(ts(LoginFailures::At))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_login_failures_email_at")
                .table(LoginFailures::Table)
                .col(LoginFailures::Email)
                .col(LoginFailures::At)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_login_failures_ip_at")
                .table(LoginFailures::Table)
                .col(LoginFailures::Ip)
                .col(LoginFailures::At)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditChainHeads::Table)
                .col(ColumnDef::new(AuditChainHeads::Chain).string_len(64).not_null().primary_key())
                .col(ColumnDef::new(AuditChainHeads::Seq).big_integer().not_null())
                .col(text(AuditChainHeads::Hash))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditEvents::Table)
                .col(ColumnDef::new(AuditEvents::Id).big_integer().not_null().auto_increment().primary_key())
                .col(ColumnDef::new(AuditEvents::Chain).string_len(64).not_null())
                .col(ColumnDef::new(AuditEvents::Seq).big_integer().not_null())
                .col(text(AuditEvents::At))
                .col(ColumnDef::new(AuditEvents::TenantId).string_len(36).null())
                .col(text(AuditEvents::ActorType))
                .col(text_null(AuditEvents::ActorId))
                .col(text(AuditEvents::ActorLabel))
                .col(text(AuditEvents::Action))
                .col(text(AuditEvents::ResourceType))
                .col(text_null(AuditEvents::ResourceId))
                .col(text(AuditEvents::Outcome))
                .col(ColumnDef::new(AuditEvents::Details).text().not_null())
                .col(text_null(AuditEvents::TraceId))
                .col(text(AuditEvents::PrevHash))
                .col(text(AuditEvents::Hash))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_audit_chain_seq")
                .table(AuditEvents::Table)
                .col(AuditEvents::Chain)
                .col(AuditEvents::Seq)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_audit_tenant_id")
                .table(AuditEvents::Table)
                .col(AuditEvents::TenantId)
                .col(AuditEvents::Id)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            AuditEvents::Table.into_iden(),
            AuditChainHeads::Table.into_iden(),
            LoginFailures::Table.into_iden(),
            Invitations::Table.into_iden(),
            Sessions::Table.into_iden(),
            Memberships::Table.into_iden(),
            Users::Table.into_iden(),
            Tenants::Table.into_iden(),
            Editions::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Editions {
    Table,
    Id,
    Key,
    Name,
    Rank,
    MaxUsers,
    MaxActiveServices,
    Features,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Slug,
    Name,
    EditionId,
    Status,
    StatusReason,
    DeletedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    DisplayName,
    PasswordHash,
    Disabled,
    IsPlatformAdmin,
    CreatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    UserId,
    TenantId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    Data,
    ExpiresAt,
    UserId,
    Ip,
    UserAgent,
    CreatedAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    TenantId,
    Email,
    Role,
    TokenHash,
    InvitedBy,
    ExpiresAt,
    AcceptedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Id,
    Email,
    Ip,
    At,
}

#[derive(DeriveIden)]
enum AuditChainHeads {
    Table,
    Chain,
    Seq,
    Hash,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    Chain,
    Seq,
    At,
    TenantId,
    ActorType,
    ActorId,
    ActorLabel,
    Action,
    ResourceType,
    ResourceId,
    Outcome,
    Details,
    TraceId,
    PrevHash,
    Hash,
}
