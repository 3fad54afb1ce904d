use sea_orm::entity::prelude::*;

/// A key for the public REST API, owned by a tenant or (no `tenant_id`) the platform.
/// The token is `pbk_<key_id>_<secret>`; only a SHA-256 of the secret is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: Option<String>,
    pub name: String,
    /// The public part of the token, which finds the row.
    #[sea_orm(unique)]
    pub key_id: String,
    /// Hex SHA-256 of the secret part of the token.
    pub secret_hash: String,
    /// JSON array of scope names, e.g. `["services:read"]`.
    pub scopes: String,
    /// JSON array of CIDR blocks requests must come from; empty means anywhere.
    pub allowed_cidrs: String,
    /// The admin the key acts for: it never does more than their current role allows.
    pub created_by: String,
    pub created_by_email: String,
    pub expires_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<DateTimeUtc>,
    pub revoked_by: Option<String>,
    /// The key this one succeeded by rotation.
    pub rotated_from: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Goes up by one with every change to the row (the key cache's change detector).
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
