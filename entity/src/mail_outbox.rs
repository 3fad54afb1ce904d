use sea_orm::entity::prelude::*;

/// One outgoing e-mail: what, to whom, and how delivery went. The rendered body is
/// sealed at rest (it can carry a credential such as an invitation link) and cleared
/// once the message is sent.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// A key of the mail kind registry (`app::mail::MailKind`).
    pub kind: String,
    pub recipient: String,
    /// The recipient's account, when they have one (preferences, unsubscribe).
    pub user_id: Option<String>,
    pub tenant_id: Option<String>,
    pub subject: String,
    pub template: String,
    pub body_sealed: Option<String>,
    /// `queued`, `sent`, `failed`, or `suppressed` (the recipient unsubscribed).
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
