//! Provisioning orchestration: the job handlers. Each call of [`step`] does one piece of
//! work, persists where it got to, and says what should happen next. Provider calls carry
//! idempotency keys derived from stable ids (`leg:<id>:provision`, `job:<id>:leg:<id>`), so
//! a step that runs again after a crash or a lost lease never orders anything twice.
//! The orchestration never names a provider: legs are planned from the offering's shape
//! and each leg's provider picks its adapter.
use std::time::Duration;

use chrono::{DurationRound, Utc};
use entity::{
    endpoint, intervention, job, location, offering, order, outbox_event, quote, service, service_event, service_leg,
    usage_record,
};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::{Map, Value, json};

use super::adapters::{self, AdapterError, Intent, Phase, Progress, ProviderAdapter};
use crate::audit::ssr::{Actor, NewEvent, record};
use crate::auth::ssr::new_id;
use crate::error::AppError;
use crate::jobs::{self, JobHandler, JobPayload, Step};
use crate::orders::machine::Status;
use crate::orders::ssr::{ProvisionOrder, transition};
use crate::state::AppState;

pub use super::machine::{InterventionStatus, LegStatus, ServiceStatus};
use super::messages;

mod actions;
mod housekeeping;
mod provision;

use actions::action_step;
pub use actions::{Action, ServiceAction, finish_action, finish_action_in};
pub use housekeeping::{meter, reconcile};
use provision::provision_step;

/// How long to wait before looking again at a leg that waits for the customer
/// (their action in the portal makes the job due at once).
const CUSTOMER_WAIT: Duration = Duration::from_secs(60);

fn system() -> Actor {
    Actor::system("provisioning")
}

/// An event for webhooks and live streams, in the caller's transaction.
pub async fn emit(
    conn: &impl ConnectionTrait,
    tenant_id: &str,
    event: &str,
    resource_id: &str,
    payload: Value,
) -> Result<(), AppError> {
    let ev = outbox_event::ActiveModel {
        tenant_id: Set(tenant_id.into()),
        event_type: Set(event.into()),
        resource_id: Set(resource_id.into()),
        payload: Set(payload.to_string()),
        created_at: Set(Utc::now()),
        delivered_at: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    crate::webhooks::ssr::fan_out(conn, &ev).await?;
    Ok(())
}

/// A line in the service's timeline.
pub async fn note(
    conn: &impl ConnectionTrait,
    svc: &service::Model,
    kind: &str,
    detail: &str,
    actor: &str,
) -> Result<(), AppError> {
    service_event::ActiveModel {
        service_id: Set(svc.id.clone()),
        tenant_id: Set(svc.tenant_id.clone()),
        kind: Set(kind.into()),
        detail: Set(detail.into()),
        actor_label: Set(actor.into()),
        at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The stored status of a service (an error naming the row when it does not parse).
pub fn service_status(s: &service::Model) -> Result<ServiceStatus, AppError> {
    ServiceStatus::stored("service", &s.id, &s.status)
}

/// The stored status of a leg (an error naming the row when it does not parse).
pub fn leg_status_of(l: &service_leg::Model) -> Result<LegStatus, AppError> {
    LegStatus::stored("service_leg", &l.id, &l.status)
}

/// What a leg keeps besides its status (`service_legs.refs`): the provider's references
/// (VLAN, BGP, keys...), what the customer has to do, and how often operations retried it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LegRefs {
    /// What the customer has to do, while the provider waits for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_step: Option<String>,
    /// Operator retries so far (each orders afresh under a new idempotency key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<i64>,
    /// The provider's references, and `manual_ref` when operations completed it by hand.
    #[serde(flatten)]
    pub references: Map<String, Value>,
}

impl LegRefs {
    /// The one parse point: references that do not parse are an error naming the leg.
    pub fn of(l: &service_leg::Model) -> Result<Self, AppError> {
        serde_json::from_str(&l.refs).map_err(|e| AppError::corrupt("service_leg", &l.id, format!("refs: {e}")))
    }

    pub fn to_text(&self) -> Result<String, AppError> {
        serde_json::to_string(self).map_err(|e| AppError::internal("leg refs", e))
    }
}

/// Provisions an order: the handler of [`ProvisionOrder`] jobs.
pub struct ProvisionOrderHandler;

#[async_trait::async_trait]
impl JobHandler for ProvisionOrderHandler {
    fn kind(&self) -> &'static str {
        ProvisionOrder::KIND
    }

    async fn step(&self, state: &AppState, j: &job::Model) -> Result<Step, AppError> {
        let order_id = jobs::payload::<ProvisionOrder>(j)?.order_id;
        match provision_step(state, j, &order_id).await {
            // Someone else moved the order meanwhile (a customer cancelled it, an operator
            // failed it): if it no longer needs provisioning, the job is done.
            Err(AppError::Conflict(m)) => {
                let o = order::Entity::find_by_id(order_id).one(&state.db).await?.ok_or(AppError::NotFound)?;
                match Status::stored(&o.id, &o.status)? {
                    Status::Queued | Status::Provisioning => Err(AppError::Conflict(m)),
                    _ => Ok(Step::Done),
                }
            }
            other => other,
        }
    }

    async fn on_failed(
        &self,
        txn: &DatabaseTransaction,
        j: &job::Model,
        error: &str,
    ) -> Result<Option<String>, AppError> {
        let oid = jobs::payload::<ProvisionOrder>(j)?.order_id;
        let svc = service_of_order(txn, &oid).await?;
        open_intervention(txn, j, &oid, svc.as_ref(), error).await
    }
}

/// Changes an active service: the handler of [`ServiceAction`] jobs.
pub struct ServiceActionHandler;

#[async_trait::async_trait]
impl JobHandler for ServiceActionHandler {
    fn kind(&self) -> &'static str {
        ServiceAction::KIND
    }

    async fn step(&self, state: &AppState, j: &job::Model) -> Result<Step, AppError> {
        action_step(state, j).await
    }

    async fn on_failed(
        &self,
        txn: &DatabaseTransaction,
        j: &job::Model,
        error: &str,
    ) -> Result<Option<String>, AppError> {
        let sid = jobs::payload::<ServiceAction>(j)?.service_id;
        let svc = service::Entity::find_by_id(sid).one(txn).await?.ok_or(AppError::NotFound)?;
        open_intervention(txn, j, &svc.order_id.clone(), Some(&svc), error).await
    }
}

async fn legs_of(conn: &impl ConnectionTrait, service_id: &str) -> Result<Vec<service_leg::Model>, AppError> {
    Ok(service_leg::Entity::find()
        .filter(service_leg::Column::ServiceId.eq(service_id))
        .order_by_asc(service_leg::Column::Seq)
        .all(conn)
        .await?)
}

pub async fn service_of_order(conn: &impl ConnectionTrait, order_id: &str) -> Result<Option<service::Model>, AppError> {
    Ok(service::Entity::find().filter(service::Column::OrderId.eq(order_id)).one(conn).await?)
}

/// Reserve (positive) or release (negative) port capacity at both ends.
async fn reserve(conn: &impl ConnectionTrait, svc: &service::Model, mbps: i64) -> Result<(), AppError> {
    let ids = if svc.a_endpoint_id == svc.b_endpoint_id {
        vec![svc.a_endpoint_id.clone()]
    } else {
        vec![svc.a_endpoint_id.clone(), svc.b_endpoint_id.clone()]
    };
    endpoint::Entity::update_many()
        .col_expr(endpoint::Column::UsedMbps, Expr::col(endpoint::Column::UsedMbps).add(mbps))
        .filter(endpoint::Column::Id.is_in(ids))
        .exec(conn)
        .await?;
    Ok(())
}

/// A provider call bounded by the adapter timeout.
async fn bounded<T>(
    state: &AppState,
    f: impl std::future::Future<Output = Result<T, AdapterError>>,
) -> Result<T, AdapterError> {
    match tokio::time::timeout(Duration::from_millis(Ord::max(state.settings.adapter_timeout_ms, 1)), f).await {
        Ok(r) => r,
        Err(_) => Err(AdapterError::Transient(format!(
            "The provider did not answer within {} s.",
            state.settings.adapter_timeout_ms / 1000
        ))),
    }
}

/// A job failed for good: open a manual intervention (in the caller's transaction, the one
/// that marks the job failed). Returns the tenant to wake once committed.
async fn open_intervention(
    txn: &DatabaseTransaction,
    j: &job::Model,
    order_id: &str,
    svc: Option<&service::Model>,
    error: &str,
) -> Result<Option<String>, AppError> {
    let order_id = order_id.to_string();
    let Some(tenant_id) = j.tenant_id.clone() else { return Ok(None) };
    intervention::ActiveModel {
        id: Set(new_id()),
        tenant_id: Set(tenant_id.clone()),
        order_id: Set(order_id.clone()),
        service_id: Set(svc.map(|s| s.id.clone())),
        job_id: Set(j.id.clone()),
        job_kind: Set(j.kind.clone()),
        error: Set(error.into()),
        status: Set(InterventionStatus::Open.as_str().into()),
        resolution: Set(None),
        external_ref: Set(None),
        resolved_by: Set(None),
        created_at: Set(Utc::now()),
        resolved_at: Set(None),
    }
    .insert(txn)
    .await?;
    if let Some(svc) = svc {
        note(txn, svc, "intervention", "Our operations team has been asked to look at this.", "provisioning").await?;
        emit(
            txn,
            &tenant_id,
            "service.intervention.opened",
            &svc.id,
            json!({"service_id": svc.id, "order_id": order_id}),
        )
        .await?;
    }
    record(
        txn,
        NewEvent::tenant(
            &tenant_id,
            system(),
            "job.failed",
            "job",
            Some(j.id.clone()),
            json!({"kind": j.kind, "order_id": order_id}),
        ),
    )
    .await?;
    Ok(Some(tenant_id))
}
