//! Provisioning: the durable job queue, services with their legs, timelines and usage,
//! the manual-intervention queue, per-provider adapter settings and the sandbox
//! backend's provider-side records.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn t(name: &str) -> Alias {
    Alias::new(name)
}
fn id(col: &str) -> ColumnDef {
    ColumnDef::new(t(col)).string_len(64).not_null().primary_key().to_owned()
}
fn serial(col: &str) -> ColumnDef {
    ColumnDef::new(t(col)).big_integer().not_null().auto_increment().primary_key().to_owned()
}
fn text(col: &str) -> ColumnDef {
    ColumnDef::new(t(col)).string().not_null().to_owned()
}
fn text_null(col: &str) -> ColumnDef {
    ColumnDef::new(t(col)).string().null().to_owned()
}
fn body(col: &str) -> ColumnDef {
    ColumnDef::new(t(col)).text().not_null().to_owned()
}
fn body_null(col: &str) -> ColumnDef {
    ColumnDef::new(t(col)).text().null().to_owned()
}
fn big(col: &str) -> ColumnDef {
    ColumnDef::new(t(col)).big_integer().not_null().to_owned()
}
fn big_null(col: &str) -> ColumnDef {
    ColumnDef::new(t(col)).big_integer().null().to_owned()
}
fn int(col: &str) -> ColumnDef {
    ColumnDef::new(t(col)).integer().not_null().to_owned()
}
fn ts(col: &str) -> ColumnDef {
    ColumnDef::new(t(col)).timestamp_with_time_zone().not_null().to_owned()
}
fn ts_null(col: &str) -> ColumnDef {
    ColumnDef::new(t(col)).timestamp_with_time_zone().null().to_owned()
}

/// Create a table; `fks` are `(column, referenced table)` pairs to that table's `id`,
/// deleted with it (a purged tenant takes its services, jobs and records along).
async fn table(m: &SchemaManager<'_>, name: &str, cols: Vec<ColumnDef>, fks: &[(&str, &str)]) -> Result<(), DbErr> {
    let mut tc = Table::create();
    tc.table(t(name));
    for mut c in cols {
        tc.col(&mut c);
    }
    for (col, to) in fks {
        tc.foreign_key(
            ForeignKey::create()
                .name(format!("fk_{name}_{col}"))
                .from(t(name), t(col))
                .to(t(to), t("id"))
                .on_delete(ForeignKeyAction::Cascade),
        );
    }
    m.create_table(tc.to_owned()).await
}

async fn index(m: &SchemaManager<'_>, name: &str, table: &str, cols: &[&str], unique: bool) -> Result<(), DbErr> {
    let mut i = Index::create();
    i.name(name).table(t(table));
    for c in cols {
        i.col(t(c));
    }
    if unique {
        i.unique();
    }
    m.create_index(i.to_owned()).await
}

const TABLES: &[&str] = &[
    "jobs",
    "services",
    "service_legs",
    "service_events",
    "usage_records",
    "interventions",
    "provider_adapters",
    "sandbox_resources",
    "sandbox_calls",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        table(
            m,
            "jobs",
            vec![
                id("id"),
                text("kind"),
                text_null("tenant_id"),
                text_null("resource_id"),
                body("payload"),
                text("status"),
                int("attempts"),
                int("max_attempts"),
                ts("run_at"),
                text_null("lease_owner"),
                ts_null("lease_expires_at"),
                body_null("last_error"),
                text("idempotency_key"),
                text_null("cancel_reason"),
                ts("created_at"),
                ts("updated_at"),
                ts_null("finished_at"),
            ],
            &[("tenant_id", "tenants")],
        )
        .await?;
        index(m, "ux_jobs_idempotency", "jobs", &["idempotency_key"], true).await?;
        index(m, "ix_jobs_due", "jobs", &["status", "run_at"], false).await?;
        index(m, "ix_jobs_resource", "jobs", &["resource_id"], false).await?;

        table(
            m,
            "services",
            vec![
                id("id"),
                text("tenant_id"),
                text("order_id"),
                text("number"),
                text("offering_id"),
                text("a_endpoint_id"),
                text("b_endpoint_id"),
                big("bandwidth_mbps"),
                big_null("pending_bandwidth_mbps"),
                text("status"),
                body_null("status_reason"),
                ts_null("activated_at"),
                ts_null("terminated_at"),
                ts("created_at"),
                ts("updated_at"),
            ],
            &[("tenant_id", "tenants"), ("order_id", "orders")],
        )
        .await?;
        index(m, "ux_services_order", "services", &["order_id"], true).await?;
        index(m, "ux_services_number", "services", &["number"], true).await?;
        index(m, "ix_services_tenant", "services", &["tenant_id", "status"], false).await?;

        table(
            m,
            "service_legs",
            vec![
                id("id"),
                text("service_id"),
                text("tenant_id"),
                int("seq"),
                text("role"),
                text("name"),
                text("provider_id"),
                text("adapter"),
                text_null("endpoint_id"),
                big("bandwidth_mbps"),
                text("status"),
                text_null("provider_state"),
                text_null("external_ref"),
                body("refs"),
                body_null("last_error"),
                ts("created_at"),
                ts("updated_at"),
            ],
            &[("service_id", "services"), ("provider_id", "providers")],
        )
        .await?;
        index(m, "ux_service_legs_seq", "service_legs", &["service_id", "seq"], true).await?;

        table(
            m,
            "service_events",
            vec![
                serial("id"),
                text("service_id"),
                text("tenant_id"),
                text("kind"),
                body("detail"),
                text("actor_label"),
                ts("at"),
            ],
            &[("service_id", "services")],
        )
        .await?;
        index(m, "ix_service_events_service", "service_events", &["service_id", "id"], false).await?;

        table(
            m,
            "usage_records",
            vec![
                serial("id"),
                text("tenant_id"),
                text("service_id"),
                ts("period_start"),
                ts("period_end"),
                big("mb_in"),
                big("mb_out"),
                text("source"),
                ts("created_at"),
            ],
            &[("service_id", "services")],
        )
        .await?;
        index(m, "ux_usage_period", "usage_records", &["service_id", "period_start"], true).await?;

        table(
            m,
            "interventions",
            vec![
                id("id"),
                text("tenant_id"),
                text("order_id"),
                text_null("service_id"),
                text("job_id"),
                text("job_kind"),
                body("error"),
                text("status"),
                body_null("resolution"),
                text_null("external_ref"),
                text_null("resolved_by"),
                ts("created_at"),
                ts_null("resolved_at"),
            ],
            &[("tenant_id", "tenants"), ("order_id", "orders")],
        )
        .await?;
        index(m, "ix_interventions_status", "interventions", &["status", "created_at"], false).await?;
        index(m, "ix_interventions_order", "interventions", &["order_id"], false).await?;

        table(
            m,
            "provider_adapters",
            vec![
                id("provider_id"),
                text("adapter"),
                text("backend"),
                text_null("base_url"),
                body_null("credentials_sealed"),
                int("latency_ms"),
                int("transient_pct"),
                int("permanent_pct"),
                int("timeout_pct"),
                text("customer_action"),
                ts("updated_at"),
                text_null("updated_by"),
            ],
            &[("provider_id", "providers")],
        )
        .await?;

        table(
            m,
            "sandbox_resources",
            vec![
                id("id"),
                text("provider_id"),
                text("adapter"),
                text("idempotency_key"),
                text("tenant_id"),
                text("state"),
                big("bandwidth_mbps"),
                body("details"),
                ts("created_at"),
                ts("updated_at"),
            ],
            &[],
        )
        .await?;
        index(m, "ux_sandbox_resources_key", "sandbox_resources", &["idempotency_key"], true).await?;

        table(
            m,
            "sandbox_calls",
            vec![
                serial("id"),
                text("provider_id"),
                text("operation"),
                text("idempotency_key"),
                text_null("external_ref"),
                text("outcome"),
                body_null("detail"),
                ts("at"),
            ],
            &[],
        )
        .await?;
        index(m, "ix_sandbox_calls_key", "sandbox_calls", &["idempotency_key"], false).await?;

        // Live updates replay the outbox by resource and by tenant.
        index(m, "ix_outbox_resource", "outbox_events", &["resource_id", "id"], false).await?;
        index(m, "ix_outbox_tenant", "outbox_events", &["tenant_id", "id"], false).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_outbox_tenant").table(t("outbox_events")).to_owned()).await?;
        m.drop_index(Index::drop().name("ix_outbox_resource").table(t("outbox_events")).to_owned()).await?;
        for name in TABLES.iter().rev() {
            m.drop_table(Table::drop().table(t(name)).to_owned()).await?;
        }
        Ok(())
    }
}
