use sea_orm::entity::prelude::*;

/// One replica's running total of requests for one rate-limit bucket (`<tenant id>:read`
/// or `<tenant id>:write`). Each replica overwrites only its own rows.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rate_consumption")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub replica: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub bucket: String,
    pub consumed: i64,
    /// This replica's view of the shared bucket at `updated_at`, in thousandths of a request.
    pub tokens_milli: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
