use sea_orm::entity::prelude::*;

/// Something a connection can attach to.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub provider_id: String,
    pub location_id: String,
    /// `cloud_onramp`, `dc_port`, `exchange_port` or `partner`.
    pub kind: String,
    pub name: String,
    /// Cloud region served by an on-ramp (e.g. `eu-west-2`).
    pub cloud_region: Option<String>,
    /// JSON array of the bandwidths (Mbps) this endpoint sells.
    pub bandwidths_mbps: String,
    pub capacity_mbps: i64,
    pub used_mbps: i64,
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
