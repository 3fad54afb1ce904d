use sea_orm::entity::prelude::*;

/// One effective-dated version of the prices of a region and currency.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "price_books")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub region: String,
    pub currency: String,
    pub version: i32,
    pub effective_from: DateTimeUtc,
    /// JSON object: term months to discount on the monthly fee in basis points.
    pub term_discounts_bps: String,
    pub note: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
