use sea_orm::entity::prelude::*;

/// How a provider is reached: which adapter, which backend, and the sandbox's injected
/// latency and failures. A provider without a row uses its adapter's defaults.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provider_adapters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub provider_id: String,
    pub adapter: String,
    /// `sandbox` or `partner_api`.
    pub backend: String,
    pub base_url: Option<String>,
    /// Sealed with the server's secret key; never returned.
    pub credentials_sealed: Option<String>,
    pub latency_ms: i32,
    pub transient_pct: i32,
    pub permanent_pct: i32,
    pub timeout_pct: i32,
    /// `manual` (the customer acts in the portal) or `auto` (the sandbox acts for them).
    pub customer_action: String,
    pub updated_at: DateTimeUtc,
    pub updated_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
