use sea_orm::entity::prelude::*;

/// A user's confirmed TOTP enrolment (RFC 6238).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_mfa")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    /// The base32 secret, sealed with the app's sealer.
    pub totp_secret_sealed: String,
    /// The last time step a code was accepted for: a code is never accepted twice.
    pub last_step: i64,
    pub enabled_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
