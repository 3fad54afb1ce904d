//! Indexes that match the lists' keyset orders, so a page is an index range scan of
//! `limit + 1` entries however many rows a tenant has (no scan and sort of every row).
//!
//! Each list is ordered by `(sort, id)` after its filters' equality columns; the keyset
//! condition `(sort, id) < (?, ?)` is a row-value range on the same index. Indexes these
//! replace (a prefix of the new ones) are dropped so writes do not maintain both.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (name, table, columns) created by `up`.
const CREATE: &[(&str, &str, &[&str])] = &[
    ("ix_services_tenant_created", "services", &["tenant_id", "created_at", "id"]),
    ("ix_services_tenant_status_created", "services", &["tenant_id", "status", "created_at", "id"]),
    ("ix_orders_tenant_created", "orders", &["tenant_id", "created_at", "id"]),
    ("ix_orders_tenant_status_created", "orders", &["tenant_id", "status", "created_at", "id"]),
    ("ix_quotes_tenant_created_id", "quotes", &["tenant_id", "created_at", "id"]),
    ("ix_jobs_created", "jobs", &["created_at", "id"]),
    ("ix_jobs_tenant_created", "jobs", &["tenant_id", "created_at", "id"]),
    ("ix_jobs_status_created", "jobs", &["status", "created_at", "id"]),
    ("ix_interventions_created", "interventions", &["created_at", "id"]),
    ("ix_interventions_status_created", "interventions", &["status", "created_at", "id"]),
    ("ix_interventions_tenant_created", "interventions", &["tenant_id", "created_at", "id"]),
    ("ix_audit_chain_id", "audit_events", &["chain", "id"]),
    // The overview pages count a tenant's (and the platform's) recent audit events.
    ("ix_audit_tenant_at", "audit_events", &["tenant_id", "at"]),
    ("ix_audit_at", "audit_events", &["at"]),
];

/// (name, table, columns) dropped by `up` (prefixes of the above) and restored by `down`.
const REPLACED: &[(&str, &str, &[&str])] = &[
    ("ix_services_tenant", "services", &["tenant_id", "status"]),
    ("ix_orders_tenant_status", "orders", &["tenant_id", "status"]),
    ("ix_quotes_tenant", "quotes", &["tenant_id", "created_at"]),
    ("ix_interventions_status", "interventions", &["status", "created_at"]),
];

async fn create(m: &SchemaManager<'_>, (name, table, cols): &(&str, &str, &[&str])) -> Result<(), DbErr> {
    let mut i = Index::create();
    i.name(*name).table(Alias::new(*table)).if_not_exists();
    for c in *cols {
        i.col(Alias::new(*c));
    }
    m.create_index(i.to_owned()).await
}

async fn drop(m: &SchemaManager<'_>, (name, table, _): &(&str, &str, &[&str])) -> Result<(), DbErr> {
    m.drop_index(Index::drop().name(*name).table(Alias::new(*table)).if_exists().to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for i in CREATE {
            create(m, i).await?;
        }
        for i in REPLACED {
            drop(m, i).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for i in REPLACED {
            create(m, i).await?;
        }
        for i in CREATE {
            drop(m, i).await?;
        }
        Ok(())
    }
}
