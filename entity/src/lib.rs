//! sea-orm entities for Patchbay.
//!
//! Written in sea-orm's compact entity format so they read like the schema in
//! `migration/`; keep the two in step. Ids are UUIDv7 strings (portable across
//! SQLite and PostgreSQL, sortable by creation time), times are UTC.

pub mod api_key;
pub mod audit_chain_head;
pub mod audit_event;
pub mod edition;
pub mod endpoint;
pub mod idempotency_key;
pub mod intervention;
pub mod invitation;
pub mod job;
pub mod location;
pub mod login_failure;
pub mod mail_outbox;
pub mod mail_preference;
pub mod membership;
pub mod mfa_recovery_code;
pub mod offering;
pub mod order;
pub mod order_policy;
pub mod order_transition;
pub mod outbox_event;
pub mod price_book;
pub mod price_entry;
pub mod provider;
pub mod provider_adapter;
pub mod quote;
pub mod rate_consumption;
pub mod sandbox_call;
pub mod sandbox_resource;
pub mod service;
pub mod service_event;
pub mod service_leg;
pub mod session;
pub mod sso_config;
pub mod tenant;
pub mod tenant_security_policy;
pub mod usage_record;
pub mod user;
pub mod user_mfa;
pub mod webhook_attempt;
pub mod webhook_message;
pub mod webhook_subscription;

pub mod prelude {
    pub use super::audit_chain_head::Entity as AuditChainHead;
    pub use super::audit_event::Entity as AuditEvent;
    pub use super::edition::Entity as Edition;
    pub use super::invitation::Entity as Invitation;
    pub use super::login_failure::Entity as LoginFailure;
    pub use super::membership::Entity as Membership;
    pub use super::session::Entity as Session;
    pub use super::sso_config::Entity as SsoConfig;
    pub use super::tenant::Entity as Tenant;
    pub use super::user::Entity as User;
}
