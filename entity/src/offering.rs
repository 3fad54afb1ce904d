use sea_orm::entity::prelude::*;

/// A product: which endpoints it joins, at which bandwidths and terms.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "offerings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub key: String,
    pub name: String,
    /// `cloud_dc`, `dc_dc`, `cloud_cloud` or `partner`.
    pub kind: String,
    /// JSON arrays of endpoint kinds allowed at each end.
    pub a_kinds: String,
    pub b_kinds: String,
    /// JSON array of bandwidth tiers (Mbps).
    pub bandwidths_mbps: String,
    /// JSON array of terms (months).
    pub terms_months: String,
    pub usage_based: bool,
    /// Made of legs (cloud to cloud over the fabric).
    pub composite: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
