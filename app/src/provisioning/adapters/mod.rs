//! Provider adapters. The orchestration (`engine`) talks only to [`ProviderAdapter`];
//! which adapter serves a provider is configuration (`provider_adapters`, Console →
//! Providers), with a default per provider kind.
//!
//! Built in:
//! - `aws_dx`: AWS Direct Connect hosted connection: `ordering` → `pending` (the customer
//!   accepts the connection in their AWS account) → `available`.
//! - `azure_er`: Azure ExpressRoute circuit by service key: `NotProvisioned` (the customer
//!   confirms the service key) → `Provisioning` → `Provisioned`.
//! - `gcp_partner`: Google Cloud Partner Interconnect VLAN attachment by pairing key:
//!   `PENDING_PARTNER` → `PENDING_CUSTOMER` (the customer activates it) → `ACTIVE`.
//! - `cross_connect`: a data-centre cross-connect: `ordered` → `installing` → `complete`.
//! - `fabric`: a virtual circuit over the Patchbay fabric: `provisioning` → `active`.
//! - `mef_partner`: another provider's MEF LSO Sonata-shaped product-ordering API over HTTP.
//!
//! The cloud and data-centre adapters run on the **sandbox backend**: no cloud account is
//! reachable from here, so the provider side is simulated in `sandbox_resources` with the
//! real lifecycle, references and customer steps, and with per-provider latency and failure
//! injection. A live backend is an extension point: implement [`ProviderAdapter`] for the
//! provider's API (for AWS: `CreateHostedConnection`, `DescribeConnections`,
//! `UpdateConnection`, `DeleteConnection`; for Azure: the ExpressRoute cross-connection
//! ARM resource's `serviceProviderProvisioningState`; for Google: the partner
//! `interconnectAttachments` API) and return it from [`for_leg`] when the provider's
//! backend says so. Nothing pretends to be live: services provisioned on the sandbox show it.
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use entity::{provider, provider_adapter, sandbox_call, sandbox_resource};
use rand::Rng;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde_json::{Map, Value, json};

use crate::error::AppError;
use crate::state::AppState;

mod mef;
mod sandbox;

pub use mef::{MefPartner, SONATA_ORDERS};
pub use sandbox::sandbox_usage;
use sandbox::{Sandbox, spec};

/// Why an adapter call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdapterError {
    /// Worth retrying (timeouts, 5xx, throttling).
    Transient(String),
    /// Retrying will not help (rejected, invalid, not found).
    Permanent(String),
}

impl std::fmt::Display for AdapterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdapterError::Transient(m) => write!(f, "{m}"),
            AdapterError::Permanent(m) => write!(f, "{m}"),
        }
    }
}

impl From<AppError> for AdapterError {
    fn from(e: AppError) -> Self {
        AdapterError::Transient(e.to_string())
    }
}

impl From<sea_orm::DbErr> for AdapterError {
    fn from(e: sea_orm::DbErr) -> Self {
        AdapterError::Transient(AppError::from(e).to_string())
    }
}

/// What the orchestration asks a provider for: one leg of a service.
#[derive(Debug, Clone)]
pub struct Intent {
    pub tenant_id: String,
    pub service_number: String,
    pub leg_name: String,
    pub bandwidth_mbps: i64,
    /// The endpoint this leg attaches to (on-ramp or port), when it has one.
    pub endpoint_name: Option<String>,
    pub cloud_region: Option<String>,
    pub location: Option<String>,
}

/// Where a provider-side resource stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// The provider is working on it.
    Working,
    /// The customer must act (the text says what to do).
    AwaitingCustomer(String),
    Ready,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub external_ref: String,
    /// The provider's own state word.
    pub provider_state: String,
    pub phase: Phase,
    /// References to keep with the leg (VLAN, BGP, keys...).
    pub refs: Map<String, Value>,
}

/// Traffic over one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub mb_in: i64,
    pub mb_out: i64,
}

/// The one interface provisioning uses. Every mutating call carries an idempotency
/// key: calling again with the same key must not create or change anything twice.
#[async_trait]
pub trait ProviderAdapter: Send + Sync {
    fn name(&self) -> &'static str;
    /// Local checks before anything is ordered.
    fn validate(&self, intent: &Intent) -> Result<(), AdapterError>;
    async fn provision(&self, intent: &Intent, key: &str) -> Result<Progress, AdapterError>;
    async fn status(&self, external_ref: &str) -> Result<Progress, AdapterError>;
    async fn modify_bandwidth(&self, external_ref: &str, mbps: i64, key: &str) -> Result<(), AdapterError>;
    async fn suspend(&self, external_ref: &str, key: &str) -> Result<(), AdapterError>;
    async fn resume(&self, external_ref: &str, key: &str) -> Result<(), AdapterError>;
    async fn terminate(&self, external_ref: &str, key: &str) -> Result<(), AdapterError>;
    /// The provider's view of this tenant's resources: `(external_ref, provider_state)`.
    async fn sync_inventory(&self, tenant_id: &str) -> Result<Vec<(String, String)>, AdapterError>;
    /// Traffic over a period, when the provider reports it.
    async fn usage(
        &self,
        external_ref: &str,
        from: chrono::DateTime<Utc>,
        to: chrono::DateTime<Utc>,
    ) -> Result<Option<Usage>, AdapterError>;
    /// Sandbox only: perform the customer's step (accept, confirm, activate) for them.
    async fn customer_action(&self, external_ref: &str) -> Result<(), AdapterError> {
        let _ = external_ref;
        Err(AdapterError::Permanent("This provider has no customer step to perform here.".into()))
    }
}

// ----- settings ----------------------------------------------------------------------------

/// The adapter a provider uses when nobody has chosen one.
pub fn default_adapter(p: &provider::Model) -> &'static str {
    match (p.kind.as_str(), p.key.as_str()) {
        (_, "aws") => "aws_dx",
        (_, "azure") => "azure_er",
        (_, "gcp") => "gcp_partner",
        ("carrier", _) => "fabric",
        _ => "cross_connect",
    }
}

/// Effective settings of a provider (its row, or the defaults).
pub fn settings_of(p: &provider::Model, row: Option<provider_adapter::Model>) -> provider_adapter::Model {
    row.unwrap_or_else(|| provider_adapter::Model {
        provider_id: p.id.clone(),
        adapter: default_adapter(p).into(),
        backend: "sandbox".into(),
        base_url: None,
        credentials_sealed: None,
        latency_ms: 0,
        transient_pct: 0,
        permanent_pct: 0,
        timeout_pct: 0,
        customer_action: "manual".into(),
        updated_at: p.created_at,
        updated_by: None,
    })
}

/// The adapter a leg was ordered through (its provider's settings, the leg's adapter): a
/// provider switched to another adapter later still manages the legs it already holds.
pub async fn for_leg(
    state: &AppState,
    provider_id: &str,
    adapter_name: &str,
) -> Result<Box<dyn ProviderAdapter>, AppError> {
    let p = provider::Entity::find_by_id(provider_id.to_string()).one(&state.db).await?.ok_or(AppError::NotFound)?;
    let row = provider_adapter::Entity::find_by_id(provider_id.to_string()).one(&state.db).await?;
    let mut cfg = settings_of(&p, row);
    cfg.adapter = adapter_name.to_string();
    let timeout = Duration::from_millis(state.settings.adapter_timeout_ms.max(1));
    if cfg.adapter == "mef_partner" {
        let base = cfg.base_url.clone().filter(|u| !u.is_empty()).ok_or_else(|| {
            AppError::Conflict(format!("{} uses the partner API but has no base URL configured.", p.name))
        })?;
        let token = match &cfg.credentials_sealed {
            Some(sealed) => Some(state.sealer.open(sealed).map_err(|_| {
                AppError::Conflict(format!(
                    "{}'s partner API credentials cannot be read with this server's secret key; enter them again.",
                    p.name
                ))
            })?),
            None => None,
        };
        return Ok(Box::new(MefPartner::new(&base, token, timeout)?));
    }
    let spec = spec(&cfg.adapter)
        .ok_or_else(|| AppError::Conflict(format!("{} names an unknown adapter `{}`.", p.name, cfg.adapter)))?;
    Ok(Box::new(Sandbox { spec, db: state.db.clone(), cfg, timeout }))
}
