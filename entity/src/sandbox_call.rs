use sea_orm::entity::prelude::*;

/// Every call the sandbox backend answered, with its outcome.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sandbox_calls")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub provider_id: String,
    pub operation: String,
    pub idempotency_key: String,
    pub external_ref: Option<String>,
    /// `executed`, `replayed`, `transient`, `rejected` or `timeout`.
    pub outcome: String,
    pub detail: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
