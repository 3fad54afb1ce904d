//! Outgoing mail: one outbox row per message (sent through the job queue), and each
//! user's notification preferences.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(MailOutbox::Table)
                .col(ColumnDef::new(MailOutbox::Id).string_len(36).not_null().primary_key())
                .col(ColumnDef::new(MailOutbox::Kind).string().not_null())
                .col(ColumnDef::new(MailOutbox::Recipient).string().not_null())
                .col(ColumnDef::new(MailOutbox::UserId).string_len(36).null())
                .col(ColumnDef::new(MailOutbox::TenantId).string_len(36).null())
                .col(ColumnDef::new(MailOutbox::Subject).string().not_null())
                .col(ColumnDef::new(MailOutbox::Template).string().not_null())
                .col(ColumnDef::new(MailOutbox::BodySealed).text().null())
                .col(ColumnDef::new(MailOutbox::Status).string().not_null())
                .col(ColumnDef::new(MailOutbox::Attempts).integer().not_null().default(0))
                .col(ColumnDef::new(MailOutbox::LastError).text().null())
                .col(ColumnDef::new(MailOutbox::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(MailOutbox::SentAt).timestamp_with_time_zone().null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_mail_outbox_created")
                .table(MailOutbox::Table)
                .col(MailOutbox::CreatedAt)
                .col(MailOutbox::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(MailPreferences::Table)
                .col(ColumnDef::new(MailPreferences::UserId).string_len(36).not_null())
                .col(ColumnDef::new(MailPreferences::Kind).string().not_null())
                .col(ColumnDef::new(MailPreferences::Enabled).boolean().not_null())
                .col(ColumnDef::new(MailPreferences::UpdatedAt).timestamp_with_time_zone().not_null())
                .primary_key(Index::create().col(MailPreferences::UserId).col(MailPreferences::Kind))
                .foreign_key(
                    ForeignKey::create()
                        .from(MailPreferences::Table, MailPreferences::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(MailPreferences::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(MailOutbox::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Id,
    Kind,
    Recipient,
    UserId,
    TenantId,
    Subject,
    Template,
    BodySealed,
    Status,
    Attempts,
    LastError,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum MailPreferences {
    Table,
    UserId,
    Kind,
    Enabled,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
