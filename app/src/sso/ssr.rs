//! OpenID Connect relying party (server side): the HTTP client and discovery cache
//! (`client`), the sign-in flow (`flow`), the typed reading of stored configurations
//! (`stored`) and their administration (`settings`).
mod client;
mod flow;
mod settings;
mod stored;

pub use client::{OidcCache, PlatformIdp, SsoError, issuer_problem};
pub use flow::{
    Identity, KEY_ID_TOKEN, KEY_ISSUER, PLATFORM, Resolved, TokenClaims, audit_failure, complete, identity_of,
    logout_url, pending_target, redirect_uri, start, verify_id_token,
};
pub use settings::{ConfigInput, delete_config, save_config, settings_of, test_config};
pub use stored::{CorruptRow, StoredSso, parse_stored, password_refused, tenant_for_email};
