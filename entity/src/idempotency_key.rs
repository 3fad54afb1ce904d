use sea_orm::entity::prelude::*;

/// A tenant's `Idempotency-Key` for 24 hours: the request's hash and, once it finished,
/// the answer that retries get back byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub key: String,
    /// Hex SHA-256 of method, path and query, and body.
    pub request_hash: String,
    /// `running` or `done`.
    pub state: String,
    pub status_code: Option<i32>,
    /// JSON array of `[name, value]` pairs: the answer's headers that are replayed.
    pub headers: Option<String>,
    pub body: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
