use sea_orm::entity::prelude::*;

/// A priced offer, kept with the prices it was made with.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "quotes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    #[sea_orm(unique)]
    pub number: String,
    pub offering_id: String,
    pub a_endpoint_id: String,
    pub b_endpoint_id: String,
    pub bandwidth_mbps: i64,
    pub term_months: i32,
    pub currency: String,
    /// The price book version the quote was made with (its prices are kept in line_items).
    pub price_book_id: String,
    pub nrc_minor: i64,
    pub monthly_minor: i64,
    pub total_minor: i64,
    pub est_usage_gb: i64,
    /// JSON array of line items, exactly as priced.
    pub line_items: String,
    pub valid_until: DateTimeUtc,
    /// `open` or `ordered`.
    pub status: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
