use sea_orm::entity::prelude::*;

/// Traffic metered for an active service over one period.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_records")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: String,
    pub service_id: String,
    pub period_start: DateTimeUtc,
    pub period_end: DateTimeUtc,
    pub mb_in: i64,
    pub mb_out: i64,
    /// Where the figures came from (`sandbox` or the adapter's name).
    pub source: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
