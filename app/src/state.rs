//! Server state shared by every request (router state, also provided to Leptos as context).
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sea_orm::DatabaseConnection;

use crate::mail::Mailer;

/// Settings the app layer needs (the server's full config stays in the server crate).
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// e.g. `http://127.0.0.1:3000`; used for links in e-mail and the CSRF origin check.
    pub public_url: String,
    /// Sign-in throttling: failures per account, and per client address, in the window.
    pub max_failures_per_account: u64,
    pub max_failures_per_ip: u64,
    pub throttle_window_minutes: i64,
    /// Days a deleted tenant is kept before it is purged.
    pub tenant_purge_grace_days: i64,
    /// The platform staff's identity provider, if configured.
    pub platform_oidc: Option<crate::sso::ssr::PlatformIdp>,
    /// Background jobs: how long a claim lasts without renewal.
    pub job_lease_ms: u64,
    /// First retry delay; doubled per attempt (with jitter), capped at five minutes.
    pub job_backoff_base_ms: u64,
    /// How long provisioning waits before asking a provider for progress again.
    pub provision_poll_ms: u64,
    /// A provider call that takes longer than this counts as a transient failure.
    pub adapter_timeout_ms: u64,
    /// An open event stream reads the outbox this often even without a nudge (a safety
    /// net for a lost NOTIFY connection; nudges normally arrive at once).
    pub live_fallback_ms: u64,
    /// Development only (`PATCHBAY_DEV_MFA_OPTIONAL_FOR_ADMINS`, refused in production):
    /// platform admins may sign in without a second factor.
    pub dev_mfa_optional_for_admins: bool,
    /// Operator setting (`PATCHBAY_WEBHOOKS_ALLOW_PRIVATE`): webhooks may be delivered to
    /// loopback, private and other internal addresses, and over plain http. Off in
    /// production; the tests turn it on for their local receivers.
    pub webhooks_allow_private: bool,
    /// The first webhook retry waits about this long; each next one four times longer
    /// (with jitter), capped at an hour.
    pub webhook_retry_base_ms: u64,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:3000".into(),
            max_failures_per_account: 5,
            max_failures_per_ip: 30,
            throttle_window_minutes: 15,
            tenant_purge_grace_days: 30,
            platform_oidc: None,
            job_lease_ms: 30_000,
            job_backoff_base_ms: 5_000,
            provision_poll_ms: 2_000,
            adapter_timeout_ms: 30_000,
            live_fallback_ms: 15_000,
            dev_mfa_optional_for_admins: false,
            webhooks_allow_private: false,
            webhook_retry_base_ms: 1_000,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub leptos_options: LeptosOptions,
    pub settings: Arc<AppSettings>,
    pub mailer: Option<Mailer>,
    /// Seals secrets stored in the database (IdP client secrets).
    pub sealer: crate::crypto::Sealer,
    /// OpenID Connect discovery and key cache.
    pub oidc: crate::sso::ssr::OidcCache,
    /// Wakes live event streams (across replicas on PostgreSQL).
    pub live: crate::live::Live,
    /// Statements run on `db` since start (the connection's metric callback counts them).
    pub db_queries: Arc<std::sync::atomic::AtomicU64>,
    /// Signs unsubscribe links in e-mail.
    pub links: crate::mail::ssr::LinkSigner,
    /// API keys in memory: requests authenticate without a database query.
    pub api_keys: Arc<crate::api_keys::ssr::KeyCache>,
    /// API rate-limit buckets, kept in step across replicas by a sync task.
    pub rate: Arc<crate::api_keys::ssr::rate::RateLimiter>,
    /// The `/v1` OpenAPI document (generated in the server crate), for Portal → API reference.
    pub api_doc: Arc<serde_json::Value>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for DatabaseConnection {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}

/// The state inside a server function.
pub fn app_state() -> Result<AppState, crate::error::AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| crate::error::AppError::internal("state", "AppState missing from context"))
}

pub type SharedSettings = Arc<AppSettings>;
