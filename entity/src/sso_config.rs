use sea_orm::entity::prelude::*;

/// A tenant's OpenID Connect identity provider.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_configs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    pub issuer: String,
    pub client_id: String,
    /// AES-256-GCM sealed with a key derived from `PATCHBAY_SECRET_KEY`; never shown again.
    pub client_secret_enc: String,
    /// Space-separated, always including `openid`.
    pub scopes: String,
    /// JSON array of lower-case e-mail domains.
    pub allowed_domains: String,
    /// ID-token claim holding groups or roles, e.g. `groups`.
    pub role_claim: Option<String>,
    /// JSON object: claim value → Patchbay role.
    pub role_map: String,
    pub default_role: String,
    /// Refuse password sign-in for this tenant's members (platform admins excepted).
    pub require_sso: bool,
    pub updated_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
