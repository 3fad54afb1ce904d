use sea_orm::entity::prelude::*;

/// The price of one offering at one bandwidth in one book.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "price_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub price_book_id: String,
    pub offering_id: String,
    pub bandwidth_mbps: i64,
    /// Money is integer minor units of the book's currency.
    pub nrc_minor: i64,
    pub mrc_minor: i64,
    pub usage_per_gb_minor: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
