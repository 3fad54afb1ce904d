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
    TransactionTrait,
};
use serde_json::{Map, Value, json};

use super::adapters::{self, AdapterError, Intent, Phase, Progress, ProviderAdapter};
use super::jobs::{self, PROVISION_ORDER, SERVICE_ACTION, Step};
use crate::audit::ssr::{Actor, NewEvent, record};
use crate::auth::ssr::new_id;
use crate::error::AppError;
use crate::orders::machine::Status;
use crate::orders::ssr::transition;
use crate::state::AppState;

/// How long to wait before looking again at a leg that waits for the customer
/// (their action in the portal makes the job due at once).
const CUSTOMER_WAIT: Duration = Duration::from_secs(60);

fn system() -> Actor {
    Actor::system("provisioning")
}

/// Queue provisioning for an order that has just become `queued` (in the caller's transaction).
pub async fn enqueue_provisioning(txn: &DatabaseTransaction, o: &order::Model) -> Result<job::Model, AppError> {
    jobs::enqueue(
        txn,
        PROVISION_ORDER,
        Some(&o.tenant_id),
        Some(&o.id),
        json!({ "order_id": o.id }),
        &format!("provision:{}", o.id),
        Utc::now(),
    )
    .await
}

/// An event for webhooks and live streams, in the caller's transaction.
pub async fn emit(
    conn: &impl ConnectionTrait,
    tenant_id: &str,
    event: &str,
    resource_id: &str,
    payload: Value,
) -> Result<(), AppError> {
    outbox_event::ActiveModel {
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

fn payload_str(j: &job::Model, key: &str) -> Result<String, AppError> {
    let v: Value = serde_json::from_str(&j.payload).map_err(|e| AppError::internal("job payload", e))?;
    v.get(key)
        .and_then(|x| x.as_str())
        .map(Into::into)
        .ok_or_else(|| AppError::Conflict(format!("The job's payload has no {key}.")))
}

/// Run one step of a job.
pub async fn step(state: &AppState, j: &job::Model) -> Result<Step, AppError> {
    match j.kind.as_str() {
        PROVISION_ORDER => {
            let order_id = payload_str(j, "order_id")?;
            match provision_step(state, &order_id).await {
                // Someone else moved the order meanwhile (a customer cancelled it, an operator
                // failed it): if it no longer needs provisioning, the job is done.
                Err(AppError::Conflict(m)) => {
                    let o = order::Entity::find_by_id(order_id).one(&state.db).await?.ok_or(AppError::NotFound)?;
                    match Status::parse(&o.status) {
                        Some(Status::Queued | Status::Provisioning) => Err(AppError::Conflict(m)),
                        _ => Ok(Step::Done),
                    }
                }
                other => other,
            }
        }
        SERVICE_ACTION => action_step(state, j).await,
        crate::mail::SEND_MAIL => crate::mail::ssr::run_mail_job(state, j).await,
        other => Ok(Step::Fail(format!("No worker handles jobs of kind `{other}`."))),
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

async fn provision_step(state: &AppState, order_id: &str) -> Result<Step, AppError> {
    let o = order::Entity::find_by_id(order_id.to_string()).one(&state.db).await?.ok_or(AppError::NotFound)?;
    match Status::parse(&o.status) {
        Some(Status::Queued | Status::Provisioning) => {}
        // Cancelled, failed by an operator, or already done: nothing left to do.
        _ => return Ok(Step::Done),
    }
    let Some(svc) = service_of_order(&state.db, &o.id).await? else {
        return start(state, o).await;
    };
    if svc.status == "rolling_back" {
        return rollback_step(state, o, svc).await;
    }
    let legs = legs_of(&state.db, &svc.id).await?;
    match legs.into_iter().find(|l| l.status != "active") {
        Some(leg) => leg_step(state, &svc, leg).await,
        None => activate(state, o, svc).await,
    }
}

/// Where each leg attaches, in dependency order.
struct LegPlan {
    role: &'static str,
    name: String,
    provider_id: String,
    endpoint: Option<endpoint::Model>,
}

async fn plan(
    conn: &impl ConnectionTrait,
    off: &offering::Model,
    a: &endpoint::Model,
    b: &endpoint::Model,
) -> Result<Vec<LegPlan>, AppError> {
    let name = |e: &endpoint::Model| e.name.clone();
    if off.composite {
        // Cloud A on-ramp, the fabric between them, cloud B on-ramp.
        let fabric = entity::provider::Entity::find()
            .filter(entity::provider::Column::Kind.eq("carrier"))
            .order_by_asc(entity::provider::Column::CreatedAt)
            .one(conn)
            .await?
            .ok_or_else(|| AppError::Conflict("No fabric provider is configured for composite services.".into()))?;
        return Ok(vec![
            LegPlan {
                role: "a_onramp",
                name: format!("A side: {}", name(a)),
                provider_id: a.provider_id.clone(),
                endpoint: Some(a.clone()),
            },
            LegPlan {
                role: "fabric",
                name: format!("Fabric: {}", fabric.name),
                provider_id: fabric.id,
                endpoint: None,
            },
            LegPlan {
                role: "b_onramp",
                name: format!("B side: {}", name(b)),
                provider_id: b.provider_id.clone(),
                endpoint: Some(b.clone()),
            },
        ]);
    }
    // One leg, ordered from whoever delivers the far end: the cloud on a cloud connection,
    // the partner on a partner connection, the A-side facility for a cross-connect.
    let e = if b.kind == "cloud_onramp" || off.kind == "partner" { b } else { a };
    Ok(vec![LegPlan {
        role: "connection",
        name: name(e),
        provider_id: e.provider_id.clone(),
        endpoint: Some(e.clone()),
    }])
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

/// Create the service and its legs, reserve capacity, move the order to provisioning.
async fn start(state: &AppState, mut o: order::Model) -> Result<Step, AppError> {
    let q = quote::Entity::find_by_id(o.quote_id.clone()).one(&state.db).await?.ok_or(AppError::NotFound)?;
    let off = offering::Entity::find_by_id(q.offering_id.clone()).one(&state.db).await?.ok_or(AppError::NotFound)?;
    let a = endpoint::Entity::find_by_id(q.a_endpoint_id.clone()).one(&state.db).await?.ok_or(AppError::NotFound)?;
    let b = endpoint::Entity::find_by_id(q.b_endpoint_id.clone()).one(&state.db).await?.ok_or(AppError::NotFound)?;
    let legs = plan(&state.db, &off, &a, &b).await?;
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let svc = service::ActiveModel {
        id: Set(new_id()),
        tenant_id: Set(o.tenant_id.clone()),
        order_id: Set(o.id.clone()),
        number: Set(crate::catalog::ssr::number("SV")),
        offering_id: Set(off.id.clone()),
        a_endpoint_id: Set(a.id.clone()),
        b_endpoint_id: Set(b.id.clone()),
        bandwidth_mbps: Set(q.bandwidth_mbps),
        pending_bandwidth_mbps: Set(None),
        status: Set("provisioning".into()),
        status_reason: Set(None),
        activated_at: Set(None),
        terminated_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    for (i, l) in legs.iter().enumerate() {
        let adapter_name = {
            let p = entity::provider::Entity::find_by_id(l.provider_id.clone())
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound)?;
            let row = entity::provider_adapter::Entity::find_by_id(l.provider_id.clone()).one(&txn).await?;
            adapters::settings_of(&p, row).adapter
        };
        service_leg::ActiveModel {
            id: Set(new_id()),
            service_id: Set(svc.id.clone()),
            tenant_id: Set(o.tenant_id.clone()),
            seq: Set(i as i32 + 1),
            role: Set(l.role.into()),
            name: Set(l.name.clone()),
            provider_id: Set(l.provider_id.clone()),
            adapter: Set(adapter_name),
            endpoint_id: Set(l.endpoint.as_ref().map(|e| e.id.clone())),
            bandwidth_mbps: Set(q.bandwidth_mbps),
            status: Set("pending".into()),
            provider_state: Set(None),
            external_ref: Set(None),
            refs: Set("{}".into()),
            last_error: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    reserve(&txn, &svc, q.bandwidth_mbps).await?;
    transition(&txn, &mut o, Status::Provisioning, &system(), None).await?;
    let detail = if legs.len() > 1 {
        format!(
            "Provisioning started: {} legs, in this order: {}.",
            legs.len(),
            legs.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(" → ")
        )
    } else {
        format!("Provisioning started with {}.", legs[0].name)
    };
    note(&txn, &svc, "provisioning", &detail, "provisioning").await?;
    emit(
        &txn,
        &o.tenant_id,
        "service.provisioning.started",
        &svc.id,
        json!({"service_id": svc.id, "number": svc.number, "order_id": o.id}),
    )
    .await?;
    txn.commit().await?;
    state.live.wake(&state.db, &o.tenant_id).await;
    Ok(Step::Again)
}

async fn intent_for(state: &AppState, svc: &service::Model, leg: &service_leg::Model) -> Result<Intent, AppError> {
    let (mut endpoint_name, mut cloud_region, mut location) = (None, None, None);
    if let Some(eid) = &leg.endpoint_id
        && let Some(e) = endpoint::Entity::find_by_id(eid.clone()).one(&state.db).await?
    {
        let loc = location::Entity::find_by_id(e.location_id.clone()).one(&state.db).await?;
        endpoint_name = Some(e.name);
        cloud_region = e.cloud_region;
        location = loc.map(|l| format!("{} ({})", l.facility, l.metro));
    }
    Ok(Intent {
        tenant_id: svc.tenant_id.clone(),
        service_number: svc.number.clone(),
        leg_name: leg.name.clone(),
        bandwidth_mbps: leg.bandwidth_mbps,
        endpoint_name,
        cloud_region,
        location,
    })
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

/// The provision call's idempotency key; an operator's retry of a rejected leg starts afresh.
fn provision_key(leg: &service_leg::Model) -> String {
    let refs: Map<String, Value> = serde_json::from_str(&leg.refs).unwrap_or_default();
    match refs.get("retry").and_then(|v| v.as_i64()) {
        Some(n) if n > 0 => format!("leg:{}:provision:{n}", leg.id),
        _ => format!("leg:{}:provision", leg.id),
    }
}

async fn leg_step(state: &AppState, svc: &service::Model, leg: service_leg::Model) -> Result<Step, AppError> {
    let adapter = adapters::for_leg(state, &leg.provider_id, &leg.adapter).await?;
    let result = match (leg.status.as_str(), leg.external_ref.clone()) {
        ("provisioning" | "awaiting_customer", Some(r)) => bounded(state, adapter.status(&r)).await,
        _ => {
            let intent = intent_for(state, svc, &leg).await?;
            match adapter.validate(&intent) {
                Err(e) => Err(e),
                Ok(()) => bounded(state, adapter.provision(&intent, &provision_key(&leg))).await,
            }
        }
    };
    match result {
        Ok(p) => apply_progress(state, svc, leg, p).await,
        Err(AdapterError::Transient(m)) => Ok(Step::Retry(format!("{}: {m}", leg.name))),
        Err(AdapterError::Permanent(m)) => leg_failed(state, svc, leg, m).await,
    }
}

fn leg_status(p: &Phase) -> &'static str {
    match p {
        Phase::Working => "provisioning",
        Phase::AwaitingCustomer(_) => "awaiting_customer",
        Phase::Ready => "active",
        Phase::Failed(_) => "failed",
    }
}

async fn apply_progress(
    state: &AppState,
    svc: &service::Model,
    leg: service_leg::Model,
    p: Progress,
) -> Result<Step, AppError> {
    if let Phase::Failed(reason) = &p.phase {
        return leg_failed(state, svc, leg, reason.clone()).await;
    }
    let status = leg_status(&p.phase);
    let mut refs: Map<String, Value> = serde_json::from_str(&leg.refs).unwrap_or_default();
    refs.extend(p.refs.clone());
    match &p.phase {
        Phase::AwaitingCustomer(text) => refs.insert("customer_step".into(), json!(text)),
        _ => refs.remove("customer_step"),
    };
    let changed = leg.status != status
        || leg.provider_state.as_deref() != Some(p.provider_state.as_str())
        || leg.external_ref.as_deref() != Some(p.external_ref.as_str());
    let txn = state.db.begin().await?;
    let mut am: service_leg::ActiveModel = leg.clone().into();
    am.status = Set(status.into());
    am.provider_state = Set(Some(p.provider_state.clone()));
    am.external_ref = Set(Some(p.external_ref.clone()));
    am.refs = Set(Value::Object(refs).to_string());
    am.last_error = Set(None);
    am.updated_at = Set(Utc::now());
    am.update(&txn).await?;
    if changed {
        let (kind, event, detail) = match &p.phase {
            Phase::AwaitingCustomer(text) => {
                ("provider.pending", "service.provider.pending", format!("{}: {} — {text}", leg.name, p.provider_state))
            }
            Phase::Ready => (
                "leg.active",
                "service.leg.active",
                format!("{}: {} ({}).", leg.name, p.provider_state, p.external_ref),
            ),
            _ => (
                "provider.request",
                "service.leg.updated",
                format!("{}: {} ({}).", leg.name, p.provider_state, p.external_ref),
            ),
        };
        note(&txn, svc, kind, &detail, "provisioning").await?;
        emit(&txn, &svc.tenant_id, event, &svc.id, json!({"service_id": svc.id, "order_id": svc.order_id, "leg": leg.seq, "status": status, "provider_state": p.provider_state})).await?;
    }
    txn.commit().await?;
    if changed {
        state.live.wake(&state.db, &svc.tenant_id).await;
    }
    Ok(match p.phase {
        Phase::Ready => Step::Again,
        Phase::AwaitingCustomer(_) => Step::Wait(CUSTOMER_WAIT),
        _ => Step::Wait(Duration::from_millis(state.settings.provision_poll_ms)),
    })
}

/// A leg failed for good. A composite rolls back what it already holds; a single leg
/// goes to the operators.
async fn leg_failed(
    state: &AppState,
    svc: &service::Model,
    leg: service_leg::Model,
    reason: String,
) -> Result<Step, AppError> {
    let composite = legs_of(&state.db, &svc.id).await?.len() > 1;
    let txn = state.db.begin().await?;
    let mut am: service_leg::ActiveModel = leg.clone().into();
    am.status = Set("failed".into());
    am.last_error = Set(Some(reason.clone()));
    am.updated_at = Set(Utc::now());
    am.update(&txn).await?;
    let why = format!("Leg {} ({}) failed: {reason}", leg.seq, leg.name);
    if composite {
        let mut s: service::ActiveModel = svc.clone().into();
        s.status = Set("rolling_back".into());
        s.status_reason = Set(Some(why.clone()));
        s.updated_at = Set(Utc::now());
        s.update(&txn).await?;
        note(&txn, svc, "rollback", &format!("{why}. Rolling back the legs already provisioned."), "provisioning")
            .await?;
    } else {
        note(&txn, svc, "leg.failed", &why, "provisioning").await?;
    }
    emit(
        &txn,
        &svc.tenant_id,
        "service.leg.failed",
        &svc.id,
        json!({"service_id": svc.id, "order_id": svc.order_id, "leg": leg.seq, "reason": reason}),
    )
    .await?;
    txn.commit().await?;
    state.live.wake(&state.db, &svc.tenant_id).await;
    Ok(if composite { Step::Again } else { Step::Fail(why) })
}

/// Undo one provisioned leg per step (last first); when none is left, fail the order.
async fn rollback_step(state: &AppState, mut o: order::Model, svc: service::Model) -> Result<Step, AppError> {
    let legs = legs_of(&state.db, &svc.id).await?;
    let holding = |l: &&service_leg::Model| {
        l.external_ref.is_some()
            && matches!(l.status.as_str(), "provisioning" | "awaiting_customer" | "active" | "failed")
    };
    if let Some(leg) = legs.iter().rev().find(holding).cloned() {
        // A leg that failed at the provider may still exist there: release it too.
        let Some(r) = leg.external_ref.clone() else { return Ok(Step::Again) };
        let adapter = adapters::for_leg(state, &leg.provider_id, &leg.adapter).await?;
        match bounded(state, adapter.terminate(&r, &format!("leg:{}:rollback", leg.id))).await {
            Ok(()) => {}
            Err(AdapterError::Transient(m)) => return Ok(Step::Retry(format!("Rolling back {}: {m}", leg.name))),
            Err(AdapterError::Permanent(m)) if leg.status == "failed" => {
                tracing::info!(leg = %leg.id, error = %m, "failed leg had nothing to release");
            }
            Err(AdapterError::Permanent(m)) => return Ok(Step::Fail(format!("Rolling back {}: {m}", leg.name))),
        }
        let txn = state.db.begin().await?;
        let was_failed = leg.status == "failed";
        let mut am: service_leg::ActiveModel = leg.clone().into();
        am.status = Set(if was_failed { "failed".into() } else { "rolled_back".into() });
        am.external_ref = Set(if was_failed { None } else { leg.external_ref.clone() });
        am.updated_at = Set(Utc::now());
        am.update(&txn).await?;
        if !was_failed {
            note(&txn, &svc, "rollback", &format!("{}: released {r}.", leg.name), "provisioning").await?;
            emit(
                &txn,
                &svc.tenant_id,
                "service.leg.rolled_back",
                &svc.id,
                json!({"service_id": svc.id, "order_id": svc.order_id, "leg": leg.seq}),
            )
            .await?;
        }
        txn.commit().await?;
        state.live.wake(&state.db, &svc.tenant_id).await;
        return Ok(Step::Again);
    }
    let reason = svc.status_reason.clone().unwrap_or_else(|| "Provisioning failed.".into());
    let txn = state.db.begin().await?;
    service_leg::Entity::update_many()
        .col_expr(service_leg::Column::Status, Expr::value("cancelled"))
        .filter(service_leg::Column::ServiceId.eq(&svc.id))
        .filter(service_leg::Column::Status.eq("pending"))
        .exec(&txn)
        .await?;
    let mut s: service::ActiveModel = svc.clone().into();
    s.status = Set("failed".into());
    s.updated_at = Set(Utc::now());
    let svc = s.update(&txn).await?;
    reserve(&txn, &svc, -svc.bandwidth_mbps).await?;
    transition(&txn, &mut o, Status::Failed, &system(), Some(reason.clone())).await?;
    note(&txn, &svc, "failed", &format!("Rolled back. {reason}"), "provisioning").await?;
    emit(
        &txn,
        &svc.tenant_id,
        "service.failed",
        &svc.id,
        json!({"service_id": svc.id, "order_id": o.id, "reason": reason}),
    )
    .await?;
    txn.commit().await?;
    state.live.wake(&state.db, &svc.tenant_id).await;
    Ok(Step::Done)
}

async fn activate(state: &AppState, mut o: order::Model, svc: service::Model) -> Result<Step, AppError> {
    let txn = state.db.begin().await?;
    let now = Utc::now();
    let mut s: service::ActiveModel = svc.clone().into();
    s.status = Set("active".into());
    s.status_reason = Set(None);
    s.activated_at = Set(Some(now));
    s.updated_at = Set(now);
    let svc = s.update(&txn).await?;
    transition(&txn, &mut o, Status::Active, &system(), None).await?;
    note(&txn, &svc, "active", "Service active. Usage metering started.", "provisioning").await?;
    emit(
        &txn,
        &svc.tenant_id,
        "service.active",
        &svc.id,
        json!({"service_id": svc.id, "number": svc.number, "order_id": o.id}),
    )
    .await?;
    emit(
        &txn,
        &svc.tenant_id,
        "billing.metering.started",
        &svc.id,
        json!({"service_id": svc.id, "from": now.to_rfc3339()}),
    )
    .await?;
    txn.commit().await?;
    state.live.wake(&state.db, &svc.tenant_id).await;
    Ok(Step::Done)
}

/// A job failed for good: open a manual intervention (in the caller's transaction, the one
/// that marks the job failed). Returns the tenant to wake once committed.
pub async fn on_failed(txn: &DatabaseTransaction, j: &job::Model, error: &str) -> Result<Option<String>, AppError> {
    let (order_id, svc) = match j.kind.as_str() {
        PROVISION_ORDER => {
            let oid = payload_str(j, "order_id")?;
            let svc = service_of_order(txn, &oid).await?;
            (oid, svc)
        }
        SERVICE_ACTION => {
            let sid = payload_str(j, "service_id")?;
            let svc = service::Entity::find_by_id(sid).one(txn).await?.ok_or(AppError::NotFound)?;
            (svc.order_id.clone(), Some(svc))
        }
        _ => return Ok(None),
    };
    let Some(tenant_id) = j.tenant_id.clone() else { return Ok(None) };
    intervention::ActiveModel {
        id: Set(new_id()),
        tenant_id: Set(tenant_id.clone()),
        order_id: Set(order_id.clone()),
        service_id: Set(svc.as_ref().map(|s| s.id.clone())),
        job_id: Set(j.id.clone()),
        job_kind: Set(j.kind.clone()),
        error: Set(error.into()),
        status: Set("open".into()),
        resolution: Set(None),
        external_ref: Set(None),
        resolved_by: Set(None),
        created_at: Set(Utc::now()),
        resolved_at: Set(None),
    }
    .insert(txn)
    .await?;
    if let Some(svc) = &svc {
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
            json!({"kind": j.kind, "error": error, "order_id": order_id}),
        ),
    )
    .await?;
    Ok(Some(tenant_id))
}

// ----- changes to active services -----------------------------------------------------------

/// The action a `service_action` job performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Modify,
    Suspend,
    Resume,
    Terminate,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Modify => "modify",
            Action::Suspend => "suspend",
            Action::Resume => "resume",
            Action::Terminate => "terminate",
        }
    }
    pub fn parse(s: &str) -> Option<Action> {
        [Action::Modify, Action::Suspend, Action::Resume, Action::Terminate].into_iter().find(|a| a.as_str() == s)
    }
}

/// The action a `service_action` job carries.
pub fn job_action(j: &job::Model) -> Option<Action> {
    payload_str(j, "action").ok().as_deref().and_then(Action::parse)
}

async fn action_step(state: &AppState, j: &job::Model) -> Result<Step, AppError> {
    let sid = payload_str(j, "service_id")?;
    let action = job_action(j).ok_or_else(|| AppError::Conflict("Unknown service action.".into()))?;
    let svc = service::Entity::find_by_id(sid).one(&state.db).await?.ok_or(AppError::NotFound)?;
    // Already done (a worker finished the change, then stopped before settling the job).
    let done = match action {
        Action::Modify => svc.pending_bandwidth_mbps.is_none(),
        Action::Suspend => svc.status == "suspended",
        Action::Resume => svc.status == "active",
        Action::Terminate => svc.status == "terminated",
    };
    if done {
        return Ok(Step::Done);
    }
    let legs = legs_of(&state.db, &svc.id).await?;
    let mbps = svc.pending_bandwidth_mbps.unwrap_or(svc.bandwidth_mbps);
    // Every leg the provider holds gets the change; keys make repeats harmless.
    for leg in legs.iter().filter(|l| l.external_ref.is_some() && matches!(l.status.as_str(), "active" | "suspended")) {
        let Some(r) = leg.external_ref.as_deref() else { continue };
        let adapter: Box<dyn ProviderAdapter> = adapters::for_leg(state, &leg.provider_id, &leg.adapter).await?;
        let key = format!("job:{}:leg:{}", j.id, leg.id);
        let call = match action {
            Action::Modify if leg.role == "fabric" || leg.bandwidth_mbps != mbps => {
                bounded(state, adapter.modify_bandwidth(r, mbps, &key)).await
            }
            Action::Modify => Ok(()),
            Action::Suspend => bounded(state, adapter.suspend(r, &key)).await,
            Action::Resume => bounded(state, adapter.resume(r, &key)).await,
            Action::Terminate => bounded(state, adapter.terminate(r, &key)).await,
        };
        match call {
            Ok(()) => {}
            Err(AdapterError::Transient(m)) => return Ok(Step::Retry(format!("{}: {m}", leg.name))),
            Err(AdapterError::Permanent(m)) => return Ok(Step::Fail(format!("{}: {m}", leg.name))),
        }
    }
    finish_action(state, &svc, action, mbps, &Actor::system("provisioning")).await?;
    Ok(Step::Done)
}

/// Record a completed service action (by the worker, or by an operator who did it by hand).
pub async fn finish_action(
    state: &AppState,
    svc: &service::Model,
    action: Action,
    mbps: i64,
    actor: &Actor,
) -> Result<(), AppError> {
    let txn = state.db.begin().await?;
    let now = Utc::now();
    let mut o = order::Entity::find_by_id(svc.order_id.clone()).one(&txn).await?.ok_or(AppError::NotFound)?;
    let mut s: service::ActiveModel = svc.clone().into();
    s.pending_bandwidth_mbps = Set(None);
    s.updated_at = Set(now);
    let (event, detail, leg_status) = match action {
        Action::Modify => {
            s.bandwidth_mbps = Set(mbps);
            reserve(&txn, svc, mbps - svc.bandwidth_mbps).await?;
            ("service.modified", format!("Bandwidth changed from {} to {} Mbps.", svc.bandwidth_mbps, mbps), None)
        }
        Action::Suspend => {
            s.status = Set("suspended".into());
            transition(&txn, &mut o, Status::Suspended, actor, None).await?;
            (
                "service.suspended",
                "Service suspended: traffic stopped, the connection is kept.".to_string(),
                Some("suspended"),
            )
        }
        Action::Resume => {
            s.status = Set("active".into());
            transition(&txn, &mut o, Status::Active, actor, None).await?;
            ("service.resumed", "Service resumed.".to_string(), Some("active"))
        }
        Action::Terminate => {
            s.status = Set("terminated".into());
            s.terminated_at = Set(Some(now));
            reserve(&txn, svc, -svc.bandwidth_mbps).await?;
            transition(&txn, &mut o, Status::Terminated, actor, None).await?;
            (
                "service.terminated",
                "Service terminated; its capacity has been released.".to_string(),
                Some("terminated"),
            )
        }
    };
    let svc2 = s.update(&txn).await?;
    let mut legs = service_leg::Entity::update_many().col_expr(service_leg::Column::UpdatedAt, Expr::value(now));
    if action == Action::Modify {
        legs = legs.col_expr(service_leg::Column::BandwidthMbps, Expr::value(mbps));
    }
    if let Some(st) = leg_status {
        legs = legs.col_expr(service_leg::Column::Status, Expr::value(st));
    }
    legs.filter(service_leg::Column::ServiceId.eq(&svc.id))
        .filter(service_leg::Column::Status.is_in(["active", "suspended"]))
        .exec(&txn)
        .await?;
    note(&txn, &svc2, action.as_str(), &detail, &actor.label).await?;
    emit(&txn, &svc.tenant_id, event, &svc.id, json!({"service_id": svc.id, "order_id": svc.order_id, "bandwidth_mbps": svc2.bandwidth_mbps, "status": svc2.status})).await?;
    txn.commit().await?;
    state.live.wake(&state.db, &svc.tenant_id).await;
    Ok(())
}

// ----- metering ------------------------------------------------------------------------------

/// Write usage records for every complete hour of every active service (at most `max_hours`
/// per service per pass). Records are unique per service and hour, so replicas racing
/// here write each hour once.
pub async fn meter(state: &AppState, max_hours: i64) -> Result<u64, AppError> {
    let now = Utc::now();
    let hour = chrono::Duration::hours(1);
    let mut written = 0;
    let services = service::Entity::find().filter(service::Column::Status.eq("active")).all(&state.db).await?;
    for svc in services {
        let Some(activated) = svc.activated_at else { continue };
        let last = usage_record::Entity::find()
            .filter(usage_record::Column::ServiceId.eq(&svc.id))
            .order_by_desc(usage_record::Column::PeriodStart)
            .one(&state.db)
            .await?;
        // Metering restarts at the top of the hour after a resume: suspended hours carry no traffic.
        let resumed = service_event::Entity::find()
            .filter(service_event::Column::ServiceId.eq(&svc.id))
            .filter(service_event::Column::Kind.eq("resume"))
            .order_by_desc(service_event::Column::Id)
            .one(&state.db)
            .await?
            .map(|e| e.at);
        let mut from = match &last {
            Some(r) => r.period_end,
            None => activated.duration_trunc(hour).unwrap_or(activated),
        };
        if let Some(at) = resumed {
            let next_hour = at.duration_trunc(hour).unwrap_or(at) + hour;
            if next_hour > from {
                from = next_hour;
            }
        }
        let legs = legs_of(&state.db, &svc.id).await?;
        let Some(leg) = legs.iter().find(|l| l.external_ref.is_some()) else { continue };
        let Some(r) = leg.external_ref.clone() else { continue };
        // One misconfigured provider must not stop metering for everyone else.
        let adapter = match adapters::for_leg(state, &leg.provider_id, &leg.adapter).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(service = %svc.id, error = %e, "usage: provider unavailable");
                continue;
            }
        };
        let mut n = 0;
        while from + hour <= now && n < max_hours {
            let to = from + hour;
            // The first period starts at activation, not at the top of the hour.
            let measured_from = Ord::max(from, activated);
            match adapter.usage(&r, measured_from, to).await {
                Ok(Some(u)) => {
                    let res = usage_record::Entity::insert(usage_record::ActiveModel {
                        tenant_id: Set(svc.tenant_id.clone()),
                        service_id: Set(svc.id.clone()),
                        period_start: Set(from),
                        period_end: Set(to),
                        mb_in: Set(u.mb_in),
                        mb_out: Set(u.mb_out),
                        source: Set(
                            adapter.name().to_string() + if leg.adapter == "mef_partner" { "" } else { " sandbox" }
                        ),
                        created_at: Set(now),
                        ..Default::default()
                    })
                    .on_conflict(
                        OnConflict::columns([usage_record::Column::ServiceId, usage_record::Column::PeriodStart])
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_without_returning(&state.db)
                    .await?;
                    written += res;
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(service = %svc.id, error = %e, "usage not available");
                    break;
                }
            }
            from = to;
            n += 1;
        }
    }
    Ok(written)
}

// ----- inventory reconciliation ----------------------------------------------------------------

/// Compare what each provider reports with what our legs record, and note every difference
/// once in the service's timeline (and the log) for operations to look at. Returns how many
/// new differences were found. Nothing is changed at the provider.
pub async fn reconcile(state: &AppState) -> Result<u64, AppError> {
    let legs = service_leg::Entity::find()
        .filter(service_leg::Column::Status.is_in(["active", "suspended"]))
        .all(&state.db)
        .await?;
    // One inventory call per provider, adapter and tenant.
    let mut groups: std::collections::BTreeMap<(String, String, String), Vec<service_leg::Model>> = Default::default();
    for l in legs.into_iter().filter(|l| l.external_ref.is_some()) {
        groups.entry((l.provider_id.clone(), l.adapter.clone(), l.tenant_id.clone())).or_default().push(l);
    }
    let mut found = 0;
    for ((provider_id, adapter_name, tenant_id), legs) in groups {
        let adapter = match adapters::for_leg(state, &provider_id, &adapter_name).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(provider = %provider_id, error = %e, "inventory: provider unavailable");
                continue;
            }
        };
        let remote: std::collections::HashMap<String, String> =
            match bounded(state, adapter.sync_inventory(&tenant_id)).await {
                Ok(list) => list.into_iter().collect(),
                Err(e) => {
                    tracing::warn!(provider = %provider_id, error = %e, "inventory: sync failed");
                    continue;
                }
            };
        for leg in legs {
            let Some(r) = leg.external_ref.as_deref() else { continue };
            let expected = leg.provider_state.clone().unwrap_or_default();
            let detail = match remote.get(r) {
                Some(actual) if *actual == expected => continue,
                Some(actual) => format!("{}: the provider reports {r} as {actual}; we expect {expected}.", leg.name),
                None => format!("{}: the provider no longer lists {r}.", leg.name),
            };
            let Some(svc) = service::Entity::find_by_id(leg.service_id.clone()).one(&state.db).await? else { continue };
            // Once per difference: skip when the newest drift note already says this.
            let last = service_event::Entity::find()
                .filter(service_event::Column::ServiceId.eq(&svc.id))
                .filter(service_event::Column::Kind.eq("drift"))
                .order_by_desc(service_event::Column::Id)
                .one(&state.db)
                .await?;
            if last.is_some_and(|e| e.detail == detail) {
                continue;
            }
            tracing::warn!(service = %svc.id, %detail, "inventory drift");
            let txn = state.db.begin().await?;
            note(&txn, &svc, "drift", &detail, "inventory-sync").await?;
            emit(
                &txn,
                &svc.tenant_id,
                "inventory.drift",
                &svc.id,
                json!({"service_id": svc.id, "leg": leg.seq, "detail": detail}),
            )
            .await?;
            txn.commit().await?;
            found += 1;
        }
    }
    Ok(found)
}
