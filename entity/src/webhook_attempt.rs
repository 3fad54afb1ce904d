use sea_orm::entity::prelude::*;

/// One delivery attempt of a message: what the receiver answered, or why nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub message_id: String,
    pub attempt: i32,
    pub url: String,
    pub started_at: DateTimeUtc,
    pub latency_ms: i32,
    pub status_code: Option<i32>,
    /// JSON array of `[name, value]` pairs.
    pub response_headers: String,
    /// The first 1 KB of the response body.
    pub response_body: String,
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
