//! Webhooks: a tenant's subscriptions (HTTPS URL, event type patterns, signing secrets),
//! one message per subscription and event (its id is the `webhook-id` every retry repeats),
//! and one row per delivery attempt (status, latency, response headers and the first 1 KB
//! of the body). Editions cap subscriptions and say how long the delivery log is kept.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn t(name: &str) -> Alias {
    Alias::new(name)
}

/// Subscriptions and log retention (days) by built-in edition: Free 1 / 7, Standard 5 / 30,
/// Enterprise 20 / 90.
const CAPS: [(&str, i32, i32); 3] = [("free", 1, 7), ("standard", 5, 30), ("enterprise", 20, 90)];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (col, default) in [("max_webhooks", 1), ("webhook_log_days", 7)] {
            m.alter_table(
                Table::alter()
                    .table(t("editions"))
                    .add_column(ColumnDef::new(t(col)).integer().not_null().default(default))
                    .to_owned(),
            )
            .await?;
        }
        for (key, max, days) in CAPS {
            let stmt = Query::update()
                .table(t("editions"))
                .value(t("max_webhooks"), max)
                .value(t("webhook_log_days"), days)
                .and_where(Expr::col(t("key")).eq(key))
                .to_owned();
            m.exec_stmt(stmt).await?;
        }
        m.create_table(
            Table::create()
                .table(t("webhook_subscriptions"))
                .col(ColumnDef::new(t("id")).string_len(36).not_null().primary_key())
                .col(ColumnDef::new(t("tenant_id")).string_len(36).not_null())
                .col(ColumnDef::new(t("url")).string_len(2048).not_null())
                .col(ColumnDef::new(t("description")).string_len(200).not_null())
                // JSON array of patterns: event types, `order.*`, or `*`.
                .col(ColumnDef::new(t("event_types")).text().not_null())
                .col(ColumnDef::new(t("enabled")).boolean().not_null())
                .col(ColumnDef::new(t("secret_sealed")).text().not_null())
                .col(ColumnDef::new(t("previous_secret_sealed")).text().null())
                .col(ColumnDef::new(t("previous_secret_until")).timestamp_with_time_zone().null())
                .col(ColumnDef::new(t("disabled_reason")).string_len(300).null())
                // Since when every attempt has failed (cleared by a success).
                .col(ColumnDef::new(t("failing_since")).timestamp_with_time_zone().null())
                .col(ColumnDef::new(t("created_at")).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(t("updated_at")).timestamp_with_time_zone().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(t("webhook_subscriptions"), t("tenant_id"))
                        .to(t("tenants"), t("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_webhook_subscriptions_tenant")
                .table(t("webhook_subscriptions"))
                .col(t("tenant_id"))
                .col(t("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(t("webhook_messages"))
                .col(ColumnDef::new(t("id")).string_len(40).not_null().primary_key())
                .col(ColumnDef::new(t("tenant_id")).string_len(36).not_null())
                .col(ColumnDef::new(t("subscription_id")).string_len(36).not_null())
                .col(ColumnDef::new(t("event_type")).string_len(80).not_null())
                .col(ColumnDef::new(t("body")).text().not_null())
                // `pending`, `delivered` or `dead` (given up: replay sends it again).
                .col(ColumnDef::new(t("status")).string_len(16).not_null())
                .col(ColumnDef::new(t("attempts")).integer().not_null())
                // Attempts and start of the current round (a replay starts a new one).
                .col(ColumnDef::new(t("round_attempts")).integer().not_null())
                .col(ColumnDef::new(t("round_started_at")).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(t("next_attempt_at")).timestamp_with_time_zone().null())
                .col(ColumnDef::new(t("last_error")).string_len(500).null())
                .col(ColumnDef::new(t("created_at")).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(t("delivered_at")).timestamp_with_time_zone().null())
                .col(ColumnDef::new(t("updated_at")).timestamp_with_time_zone().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(t("webhook_messages"), t("subscription_id"))
                        .to(t("webhook_subscriptions"), t("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_webhook_messages_subscription")
                .table(t("webhook_messages"))
                .col(t("subscription_id"))
                .col(t("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_webhook_messages_tenant_created")
                .table(t("webhook_messages"))
                .col(t("tenant_id"))
                .col(t("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(t("webhook_attempts"))
                .col(ColumnDef::new(t("id")).string_len(36).not_null().primary_key())
                .col(ColumnDef::new(t("tenant_id")).string_len(36).not_null())
                .col(ColumnDef::new(t("message_id")).string_len(40).not_null())
                .col(ColumnDef::new(t("attempt")).integer().not_null())
                .col(ColumnDef::new(t("url")).string_len(2048).not_null())
                .col(ColumnDef::new(t("started_at")).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(t("latency_ms")).integer().not_null())
                .col(ColumnDef::new(t("status_code")).integer().null())
                // JSON array of `[name, value]` pairs.
                .col(ColumnDef::new(t("response_headers")).text().not_null())
                .col(ColumnDef::new(t("response_body")).text().not_null())
                .col(ColumnDef::new(t("error")).string_len(500).null())
                .foreign_key(
                    ForeignKey::create()
                        .from(t("webhook_attempts"), t("message_id"))
                        .to(t("webhook_messages"), t("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_webhook_attempts_message")
                .table(t("webhook_attempts"))
                .col(t("message_id"))
                .col(t("attempt"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["webhook_attempts", "webhook_messages", "webhook_subscriptions"] {
            m.drop_table(Table::drop().table(t(table)).to_owned()).await?;
        }
        for col in ["max_webhooks", "webhook_log_days"] {
            m.alter_table(Table::alter().table(t("editions")).drop_column(t(col)).to_owned()).await?;
        }
        Ok(())
    }
}
