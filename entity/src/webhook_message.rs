use sea_orm::entity::prelude::*;

/// One event for one subscription. Its id is the `webhook-id` header, the same on every
/// attempt and replay, so a receiver can drop duplicates.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub subscription_id: String,
    pub event_type: String,
    /// The exact bytes that are signed and sent.
    pub body: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    /// Attempts in all (numbering the delivery log).
    pub attempts: i32,
    /// Attempts since the current round began (first send or last replay).
    pub round_attempts: i32,
    pub round_started_at: DateTimeUtc,
    pub next_attempt_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
