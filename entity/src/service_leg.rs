use sea_orm::entity::prelude::*;

/// One provider-side part of a service, provisioned by that provider's adapter.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service_legs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub service_id: String,
    pub tenant_id: String,
    pub seq: i32,
    /// `connection`, `a_onramp`, `fabric` or `b_onramp`.
    pub role: String,
    pub name: String,
    pub provider_id: String,
    pub adapter: String,
    pub endpoint_id: Option<String>,
    pub bandwidth_mbps: i64,
    /// `pending`, `provisioning`, `awaiting_customer`, `active`, `suspended`, `failed`,
    /// `rolled_back` or `terminated`.
    pub status: String,
    /// The provider's own word for the state (e.g. `pending` for AWS, `Provisioning` for Azure).
    pub provider_state: Option<String>,
    pub external_ref: Option<String>,
    /// JSON object: VLAN, BGP ASN and peer addresses, service or pairing keys.
    pub refs: String,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
