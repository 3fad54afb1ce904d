use sea_orm::entity::prelude::*;

/// A facility where endpoints live.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "locations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub key: String,
    pub facility: String,
    /// The company running the facility.
    pub operator: String,
    pub metro: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Pricing region: `EMEA`, `NA` or `APAC`.
    pub region: String,
    pub latitude: f64,
    pub longitude: f64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
