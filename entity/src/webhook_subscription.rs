use sea_orm::entity::prelude::*;

/// A tenant's webhook endpoint: where events of the chosen types are delivered, signed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub url: String,
    pub description: String,
    /// JSON array of patterns: event types, `prefix.*`, or `*`.
    pub event_types: String,
    pub enabled: bool,
    /// The signing secret (`whsec_…`), sealed.
    pub secret_sealed: String,
    /// The secret it replaced, which also signs until `previous_secret_until`.
    pub previous_secret_sealed: Option<String>,
    pub previous_secret_until: Option<DateTimeUtc>,
    /// Why it is disabled, when it was disabled for failing.
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed (cleared by a successful delivery).
    pub failing_since: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
