use sea_orm::entity::prelude::*;

/// Provisioning work that failed for good and waits for an operator.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "interventions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub order_id: String,
    pub service_id: Option<String>,
    pub job_id: String,
    pub job_kind: String,
    pub error: String,
    /// `open`, `retried`, `completed` or `failed`.
    pub status: String,
    pub resolution: Option<String>,
    pub external_ref: Option<String>,
    pub resolved_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
