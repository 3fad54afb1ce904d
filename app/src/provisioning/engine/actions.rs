//! Changes to active services (bandwidth, suspend, resume, terminate), run as jobs.
use super::*;
use crate::core::db::BeginWrite;

/// The action a `service_action` job performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// A change to an active service, run as a job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceAction {
    pub service_id: String,
    pub action: Action,
}

impl JobPayload for ServiceAction {
    const KIND: &'static str = "service_action";
    const MAX_ATTEMPTS: i32 = 5;
}

pub(super) async fn action_step(state: &AppState, j: &job::Model) -> Result<Step, AppError> {
    let ServiceAction { service_id, action } = jobs::payload(j)?;
    let svc = service::Entity::find_by_id(service_id).one(&state.db).await?.ok_or(AppError::NotFound)?;
    // Already done (a worker finished the change, then stopped before settling the job).
    let status = service_status(&svc)?;
    let done = match action {
        Action::Modify => svc.pending_bandwidth_mbps.is_none(),
        Action::Suspend => status == ServiceStatus::Suspended,
        Action::Resume => status == ServiceStatus::Active,
        Action::Terminate => status == ServiceStatus::Terminated,
    };
    if done {
        return Ok(Step::Done);
    }
    let legs = legs_of(&state.db, &svc.id).await?;
    let mbps = svc.pending_bandwidth_mbps.unwrap_or(svc.bandwidth_mbps);
    // Every leg the provider holds gets the change; keys make repeats harmless.
    for leg in &legs {
        let st = leg_status_of(leg)?;
        let Some(r) = leg.external_ref.as_deref() else { continue };
        if !matches!(st, LegStatus::Active | LegStatus::Suspended) {
            continue;
        }
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

/// Record a completed service action, in its own transaction (the worker's path).
pub async fn finish_action(
    state: &AppState,
    svc: &service::Model,
    action: Action,
    mbps: i64,
    actor: &Actor,
) -> Result<(), AppError> {
    let txn = state.db.begin_write().await?;
    finish_action_in(&txn, svc, action, mbps, actor).await?;
    txn.commit().await?;
    state.live.wake(&state.db, &svc.tenant_id).await;
    Ok(())
}

/// Record a completed service action in the caller's transaction (by the worker, or by an
/// operator who did it by hand and closes the intervention in the same transaction).
pub async fn finish_action_in(
    txn: &DatabaseTransaction,
    svc: &service::Model,
    action: Action,
    mbps: i64,
    actor: &Actor,
) -> Result<(), AppError> {
    let now = Utc::now();
    let from = service_status(svc)?;
    let to = match action {
        Action::Modify => None,
        Action::Suspend => Some(ServiceStatus::Suspended),
        Action::Resume => Some(ServiceStatus::Active),
        Action::Terminate => Some(ServiceStatus::Terminated),
    };
    if let Some(to) = to {
        from.check(to)?;
    }
    let mut o = order::Entity::find_by_id(svc.order_id.clone()).one(txn).await?.ok_or(AppError::NotFound)?;
    let mut s: service::ActiveModel = svc.clone().into();
    s.pending_bandwidth_mbps = Set(None);
    s.updated_at = Set(now);
    let (event, detail, leg_status) = match action {
        Action::Modify => {
            s.bandwidth_mbps = Set(mbps);
            reserve(txn, svc, mbps - svc.bandwidth_mbps).await?;
            ("service.modified", format!("Bandwidth changed from {} to {} Mbps.", svc.bandwidth_mbps, mbps), None)
        }
        Action::Suspend => {
            s.status = Set(ServiceStatus::Suspended.as_str().into());
            transition(txn, &mut o, Status::Suspended, actor, None).await?;
            (
                "service.suspended",
                "Service suspended: traffic stopped, the connection is kept.".to_string(),
                Some(LegStatus::Suspended),
            )
        }
        Action::Resume => {
            s.status = Set(ServiceStatus::Active.as_str().into());
            transition(txn, &mut o, Status::Active, actor, None).await?;
            ("service.resumed", "Service resumed.".to_string(), Some(LegStatus::Active))
        }
        Action::Terminate => {
            s.status = Set(ServiceStatus::Terminated.as_str().into());
            s.terminated_at = Set(Some(now));
            reserve(txn, svc, -svc.bandwidth_mbps).await?;
            transition(txn, &mut o, Status::Terminated, actor, None).await?;
            (
                "service.terminated",
                "Service terminated; its capacity has been released.".to_string(),
                Some(LegStatus::Terminated),
            )
        }
    };
    let svc2 = s.update(txn).await?;
    let mut legs = service_leg::Entity::update_many().col_expr(service_leg::Column::UpdatedAt, Expr::value(now));
    if action == Action::Modify {
        legs = legs.col_expr(service_leg::Column::BandwidthMbps, Expr::value(mbps));
    }
    // The legs the provider holds follow, each as far as its machine allows.
    let held = [LegStatus::Active, LegStatus::Suspended];
    let sources = match leg_status {
        Some(st) => {
            legs = legs.col_expr(service_leg::Column::Status, Expr::value(st.as_str()));
            LegStatus::sources(st, &held)
        }
        None => held.iter().map(|s| s.as_str()).collect(),
    };
    legs.filter(service_leg::Column::ServiceId.eq(&svc.id))
        .filter(service_leg::Column::Status.is_in(sources))
        .exec(txn)
        .await?;
    note(txn, &svc2, action.as_str(), &detail, &actor.label).await?;
    emit(txn, &svc.tenant_id, event, &svc.id, json!({"service_id": svc.id, "order_id": svc.order_id, "bandwidth_mbps": svc2.bandwidth_mbps, "status": svc2.status})).await?;
    Ok(())
}
