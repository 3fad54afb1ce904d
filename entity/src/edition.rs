use sea_orm::entity::prelude::*;

/// A commercial edition (Free, Standard, Enterprise): quotas and features are data.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "editions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub key: String,
    pub name: String,
    pub rank: i32,
    pub max_users: i32,
    pub max_active_services: i32,
    /// API keys a tenant may hold at once (not revoked, not expired).
    pub max_api_keys: i32,
    /// Management API token buckets (one for reads, one for writes): refill per minute.
    pub api_rate_per_min: i32,
    /// And their capacity (the burst).
    pub api_burst: i32,
    /// Webhook subscriptions a tenant may hold.
    pub max_webhooks: i32,
    /// Days the webhook delivery log is kept.
    pub webhook_log_days: i32,
    /// JSON array of feature keys, e.g. `["sso","audit_export"]`.
    pub features: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
