use sea_orm::entity::prelude::*;

/// The sandbox backend's provider-side record of a resource (what the provider would hold).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sandbox_resources")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub provider_id: String,
    pub adapter: String,
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub tenant_id: String,
    pub state: String,
    pub bandwidth_mbps: i64,
    pub details: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
