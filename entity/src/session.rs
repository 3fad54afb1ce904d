use sea_orm::entity::prelude::*;

/// A tower-sessions record, plus the columns the "my sessions" page and forced
/// sign-out need.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// JSON object of the session's data.
    pub data: String,
    pub expires_at: DateTimeUtc,
    pub user_id: Option<String>,
    /// The tenant the session has selected, if any.
    pub tenant_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
