//! Schema migrations. One file per migration; never edit one after it has landed.
pub use sea_orm_migration::prelude::*;

mod m20261123_000001_foundation;
mod m20261123_000002_sso;
mod m20261123_000003_catalog_orders;
mod m20261123_000004_provisioning;
mod m20261201_000003_mail;
mod m20261201_000004_mfa;
mod m20261201_000005_edition_features;
mod m20261201_000006_session_tenant;
mod m20261203_000001_list_indexes;
mod m20261203_000002_api_keys;
mod m20261203_000003_idempotency;
mod m20261203_000004_rate_limits;
mod m20261204_000001_webhooks;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_foundation::Migration),
            Box::new(m20261123_000002_sso::Migration),
            Box::new(m20261123_000003_catalog_orders::Migration),
            Box::new(m20261123_000004_provisioning::Migration),
            Box::new(m20261201_000003_mail::Migration),
            Box::new(m20261201_000004_mfa::Migration),
            Box::new(m20261201_000005_edition_features::Migration),
            Box::new(m20261201_000006_session_tenant::Migration),
            Box::new(m20261203_000001_list_indexes::Migration),
            Box::new(m20261203_000002_api_keys::Migration),
            Box::new(m20261203_000003_idempotency::Migration),
            Box::new(m20261203_000004_rate_limits::Migration),
            Box::new(m20261204_000001_webhooks::Migration),
        ]
    }
}
