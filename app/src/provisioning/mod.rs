//! Provisioning: services in inventory, the jobs that build and change them, the
//! manual-intervention queue, and provider adapter settings.
// `save_provider_adapter` takes the provider form's nine fields as plain arguments (so a
// no-JS form posts them as they are); the client stub `#[server]` generates repeats them.
#![allow(clippy::too_many_arguments)]
#[cfg(feature = "ssr")]
pub mod adapters;
pub mod console;
#[cfg(feature = "ssr")]
pub mod engine;
pub mod live;
pub mod machine;
pub mod messages;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRow {
    pub id: String,
    pub number: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub offering: String,
    pub a_end: String,
    pub b_end: String,
    pub bandwidth_mbps: i64,
    pub bandwidth: String,
    pub pending_bandwidth: Option<String>,
    pub order_id: String,
    pub order_number: String,
    pub providers: String,
    pub activated_at: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegRow {
    pub id: String,
    pub seq: i32,
    pub role: String,
    pub name: String,
    pub provider: String,
    pub adapter: String,
    pub sandbox: bool,
    pub status: String,
    pub provider_state: Option<String>,
    pub external_ref: Option<String>,
    /// References to show: (label, value).
    pub refs: Vec<(String, String)>,
    /// What the customer has to do, when the provider waits for them.
    pub customer_step: Option<String>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEventRow {
    pub kind: String,
    pub detail: String,
    pub who: String,
    pub when: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRow {
    pub period: String,
    pub inbound: String,
    pub outbound: String,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDetail {
    pub service: ServiceRow,
    pub legs: Vec<LegRow>,
    pub timeline: Vec<ServiceEventRow>,
    pub usage: Vec<UsageRow>,
    pub usage_total: Option<String>,
    /// Bandwidths the service can change to.
    pub bandwidth_options: Vec<i64>,
    pub can_manage: bool,
    /// A change in progress, in words.
    pub in_progress: Option<String>,
    /// The last live event id when this was read (live updates start after it).
    pub event_cursor: i64,
}

/// The order page: the order and, once provisioning has started, its service (one server
/// call for the page's one resource).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPage {
    pub order: crate::orders::OrderDetail,
    pub service: Option<ServiceDetail>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub tenant: String,
    pub resource: String,
    pub resource_link: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: String,
    pub lease: Option<String>,
    pub last_error: Option<String>,
    pub cancel_reason: Option<String>,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterventionRow {
    pub id: String,
    pub tenant: String,
    pub order_id: String,
    pub order_number: String,
    pub service_number: Option<String>,
    pub job_kind: String,
    pub error: String,
    pub status: String,
    pub resolution: Option<String>,
    pub external_ref: Option<String>,
    pub resolved_by: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderAdapterRow {
    pub provider_id: String,
    pub provider: String,
    pub kind: String,
    pub adapter: String,
    pub backend: String,
    pub base_url: String,
    pub has_credentials: bool,
    pub latency_ms: i32,
    pub transient_pct: i32,
    pub permanent_pct: i32,
    pub timeout_pct: i32,
    pub customer_action: String,
    pub updated: Option<String>,
}

/// Adapters that can be chosen for a provider: (value, label).
pub const ADAPTER_CHOICES: &[(&str, &str)] = &[
    ("aws_dx", "AWS Direct Connect (hosted connection)"),
    ("azure_er", "Azure ExpressRoute (service key)"),
    ("gcp_partner", "Google Cloud Partner Interconnect (pairing key)"),
    ("cross_connect", "Data-centre cross-connect"),
    ("fabric", "Patchbay fabric virtual circuit"),
    ("mef_partner", "Partner provider (MEF LSO Sonata API)"),
];

// ----- customer portal -----------------------------------------------------------------------

#[server(endpoint = "services/list")]
pub async fn list_services(
    status: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
) -> Result<crate::core::page::Page<ServiceRow>, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let req = crate::core::page::PageRequest::new(cursor);
            ssr::list(&require(Perm::PortalView).await?, status, q, &req).await
        }
        .await,
    )
}

#[server(endpoint = "services/get")]
pub async fn get_service(service_id: String) -> Result<ServiceDetail, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::detail(&require(Perm::PortalView).await?, &service_id).await }.await)
}

#[server(endpoint = "services/for_order")]
pub async fn service_for_order(order_id: String) -> Result<Option<ServiceDetail>, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::for_order(&require(Perm::PortalView).await?, &order_id).await }.await)
}

#[server(endpoint = "orders/page")]
pub async fn get_order_page(order_id: String) -> Result<OrderPage, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::order_page(&require(Perm::PortalView).await?, &order_id).await }.await)
}

#[server(endpoint = "services/change_bandwidth")]
pub async fn change_bandwidth(service_id: String, bandwidth_mbps: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async { ssr::change_bandwidth(&require(Perm::ServiceManage).await?, &service_id, &bandwidth_mbps, None).await }
            .await,
    )
}

#[server(endpoint = "services/suspend")]
pub async fn suspend_service(service_id: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async { ssr::simple_action(&require(Perm::ServiceManage).await?, &service_id, "suspend", None, None).await }
            .await,
    )
}

#[server(endpoint = "services/resume")]
pub async fn resume_service(service_id: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async { ssr::simple_action(&require(Perm::ServiceManage).await?, &service_id, "resume", None, None).await }
            .await,
    )
}

#[server(endpoint = "services/terminate")]
pub async fn terminate_service(service_id: String, confirm: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            ssr::simple_action(&require(Perm::ServiceManage).await?, &service_id, "terminate", Some(&confirm), None)
                .await
        }
        .await,
    )
}

/// Sandbox only: do the customer's step at the provider (accept the AWS hosted connection,
/// confirm the Azure service key, activate the Google pairing key).
#[server(endpoint = "services/customer_step")]
pub async fn sandbox_customer_step(service_id: String, leg_id: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::customer_step(&require(Perm::ServiceManage).await?, &service_id, &leg_id).await }.await)
}

// ----- console -------------------------------------------------------------------------------

#[server(endpoint = "jobs/list")]
pub async fn list_jobs(
    status: Option<String>,
    kind: Option<String>,
    cursor: Option<String>,
) -> Result<crate::core::page::Page<JobRow>, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    let req = crate::core::page::PageRequest::new(cursor);
    respond(async { ssr::list_jobs(&require(Perm::JobsManage).await?, status, kind, &req).await }.await)
}

#[server(endpoint = "jobs/retry")]
pub async fn retry_job(job_id: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::retry_job(&require(Perm::JobsManage).await?, &job_id).await }.await)
}

#[server(endpoint = "jobs/cancel")]
pub async fn cancel_job(job_id: String, reason: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::cancel_job(&require(Perm::JobsManage).await?, &job_id, &reason).await }.await)
}

#[server(endpoint = "interventions/list")]
pub async fn list_interventions(
    status: Option<String>,
    cursor: Option<String>,
) -> Result<crate::core::page::Page<InterventionRow>, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    let req = crate::core::page::PageRequest::new(cursor);
    respond(async { ssr::list_interventions(&require(Perm::JobsManage).await?, status, &req).await }.await)
}

#[server(endpoint = "interventions/retry")]
pub async fn retry_intervention(intervention_id: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::retry_intervention(&require(Perm::JobsManage).await?, &intervention_id).await }.await)
}

#[server(endpoint = "interventions/complete")]
pub async fn complete_intervention(
    intervention_id: String,
    external_ref: String,
    note: String,
) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            ssr::complete_intervention(&require(Perm::JobsManage).await?, &intervention_id, &external_ref, &note).await
        }
        .await,
    )
}

#[server(endpoint = "interventions/fail")]
pub async fn fail_intervention(intervention_id: String, reason: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::fail_intervention(&require(Perm::JobsManage).await?, &intervention_id, &reason).await }.await)
}

#[server(endpoint = "providers/adapters")]
pub async fn list_provider_adapters() -> Result<Vec<ProviderAdapterRow>, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::list_adapters(&require(Perm::CatalogManage).await?).await }.await)
}

#[server(endpoint = "providers/save_adapter")]
pub async fn save_provider_adapter(
    provider_id: String,
    adapter: String,
    latency_ms: String,
    transient_pct: String,
    permanent_pct: String,
    timeout_pct: String,
    customer_action: String,
    base_url: String,
    credentials: String,
) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let ctx = require(Perm::CatalogManage).await?;
            let input = ssr::AdapterInput {
                adapter,
                latency_ms,
                transient_pct,
                permanent_pct,
                timeout_pct,
                customer_action,
                base_url,
                credentials,
            };
            ssr::save_adapter(&ctx, &provider_id, input).await
        }
        .await,
    )
}
