use sea_orm::entity::prelude::*;

/// A connection in a tenant's inventory, created when its order is provisioned.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "services")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    #[sea_orm(unique)]
    pub order_id: String,
    #[sea_orm(unique)]
    pub number: String,
    pub offering_id: String,
    pub a_endpoint_id: String,
    pub b_endpoint_id: String,
    pub bandwidth_mbps: i64,
    /// A bandwidth change in progress.
    pub pending_bandwidth_mbps: Option<i64>,
    /// `provisioning`, `active`, `suspended`, `terminating`, `terminated`, `failed`.
    pub status: String,
    pub status_reason: Option<String>,
    pub activated_at: Option<DateTimeUtc>,
    pub terminated_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
