//! Provisioning an order: plan the legs, order each from its provider, follow it until it
//! is ready (or waits for the customer), roll back a composite whose leg failed, activate.
use super::*;
use crate::core::db::BeginWrite;

pub(super) async fn provision_step(state: &AppState, j: &job::Model, order_id: &str) -> Result<Step, AppError> {
    let o = order::Entity::find_by_id(order_id.to_string()).one(&state.db).await?.ok_or(AppError::NotFound)?;
    match Status::stored(&o.id, &o.status)? {
        Status::Queued | Status::Provisioning => {}
        // Cancelled, failed by an operator, or already done: nothing left to do.
        _ => return Ok(Step::Done),
    }
    let Some(svc) = service_of_order(&state.db, &o.id).await? else {
        return start(state, o).await;
    };
    if service_status(&svc)? == ServiceStatus::RollingBack {
        return rollback_step(state, o, svc).await;
    }
    for leg in legs_of(&state.db, &svc.id).await? {
        if leg_status_of(&leg)? != LegStatus::Active {
            return leg_step(state, j, &svc, leg).await;
        }
    }
    activate(state, o, svc).await
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

/// Create the service and its legs, reserve capacity, move the order to provisioning.
async fn start(state: &AppState, mut o: order::Model) -> Result<Step, AppError> {
    let q = quote::Entity::find_by_id(o.quote_id.clone()).one(&state.db).await?.ok_or(AppError::NotFound)?;
    let off = offering::Entity::find_by_id(q.offering_id.clone()).one(&state.db).await?.ok_or(AppError::NotFound)?;
    let a = endpoint::Entity::find_by_id(q.a_endpoint_id.clone()).one(&state.db).await?.ok_or(AppError::NotFound)?;
    let b = endpoint::Entity::find_by_id(q.b_endpoint_id.clone()).one(&state.db).await?.ok_or(AppError::NotFound)?;
    let legs = plan(&state.db, &off, &a, &b).await?;
    let now = Utc::now();
    let txn = state.db.begin_write().await?;
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
        status: Set(ServiceStatus::Provisioning.as_str().into()),
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
            status: Set(LegStatus::Pending.as_str().into()),
            provider_state: Set(None),
            external_ref: Set(None),
            refs: Set(LegRefs::default().to_text()?),
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

/// The provision call's idempotency key; an operator's retry of a rejected leg starts afresh.
fn provision_key(leg: &service_leg::Model) -> Result<String, AppError> {
    Ok(match LegRefs::of(leg)?.retry {
        Some(n) if n > 0 => format!("leg:{}:provision:{n}", leg.id),
        _ => format!("leg:{}:provision", leg.id),
    })
}

async fn leg_step(
    state: &AppState,
    j: &job::Model,
    svc: &service::Model,
    leg: service_leg::Model,
) -> Result<Step, AppError> {
    let adapter = adapters::for_leg(state, &leg.provider_id, &leg.adapter).await?;
    let result = match (leg_status_of(&leg)?, leg.external_ref.clone()) {
        (LegStatus::Provisioning | LegStatus::AwaitingCustomer, Some(r)) => bounded(state, adapter.status(&r)).await,
        _ => {
            let intent = intent_for(state, svc, &leg).await?;
            match adapter.validate(&intent) {
                Err(e) => Err(e),
                Ok(()) => bounded(state, adapter.provision(&intent, &provision_key(&leg)?)).await,
            }
        }
    };
    match result {
        Ok(p) => apply_progress(state, j, svc, leg, p).await,
        Err(AdapterError::Transient(m)) => Ok(Step::Retry(format!("{}: {m}", leg.name))),
        Err(AdapterError::Permanent(m)) => leg_failed(state, j, svc, leg, m).await,
    }
}

fn leg_status(p: &Phase) -> LegStatus {
    match p {
        Phase::Working => LegStatus::Provisioning,
        Phase::AwaitingCustomer(_) => LegStatus::AwaitingCustomer,
        Phase::Ready => LegStatus::Active,
        Phase::Failed(_) => LegStatus::Failed,
    }
}

async fn apply_progress(
    state: &AppState,
    j: &job::Model,
    svc: &service::Model,
    leg: service_leg::Model,
    p: Progress,
) -> Result<Step, AppError> {
    if let Phase::Failed(reason) = &p.phase {
        return leg_failed(state, j, svc, leg, reason.clone()).await;
    }
    let from = leg_status_of(&leg)?;
    let status = leg_status(&p.phase);
    from.check(status)?;
    let mut refs = LegRefs::of(&leg)?;
    refs.references.extend(p.refs.clone());
    refs.customer_step = match &p.phase {
        Phase::AwaitingCustomer(text) => Some(text.clone()),
        _ => None,
    };
    let changed = from != status
        || leg.provider_state.as_deref() != Some(p.provider_state.as_str())
        || leg.external_ref.as_deref() != Some(p.external_ref.as_str());
    let txn = state.db.begin_write().await?;
    let mut am: service_leg::ActiveModel = leg.clone().into();
    am.status = Set(status.as_str().into());
    am.provider_state = Set(Some(p.provider_state.clone()));
    am.external_ref = Set(Some(p.external_ref.clone()));
    am.refs = Set(refs.to_text()?);
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
        emit(&txn, &svc.tenant_id, event, &svc.id, json!({"service_id": svc.id, "order_id": svc.order_id, "leg": leg.seq, "status": status.as_str(), "provider_state": p.provider_state})).await?;
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
/// goes to the operators. The provider's words (`detail`) are for staff only: they go to
/// the job (and its intervention); the customer's records get a plain message.
async fn leg_failed(
    state: &AppState,
    j: &job::Model,
    svc: &service::Model,
    leg: service_leg::Model,
    detail: String,
) -> Result<Step, AppError> {
    let composite = legs_of(&state.db, &svc.id).await?.len() > 1;
    leg_status_of(&leg)?.check(LegStatus::Failed)?;
    let staff = format!("Leg {} ({}) failed: {detail}", leg.seq, leg.name);
    let customer = if composite {
        messages::composite_leg_rejected(leg.seq, &leg.name)
    } else {
        messages::leg_rejected(leg.seq, &leg.name)
    };
    let txn = state.db.begin_write().await?;
    let mut am: service_leg::ActiveModel = leg.clone().into();
    am.status = Set(LegStatus::Failed.as_str().into());
    am.last_error = Set(Some(messages::LEG_REJECTED.into()));
    am.updated_at = Set(Utc::now());
    am.update(&txn).await?;
    if composite {
        service_status(svc)?.check(ServiceStatus::RollingBack)?;
        let mut s: service::ActiveModel = svc.clone().into();
        s.status = Set(ServiceStatus::RollingBack.as_str().into());
        s.status_reason = Set(Some(customer.clone()));
        s.updated_at = Set(Utc::now());
        s.update(&txn).await?;
        note(&txn, svc, "rollback", &customer, "provisioning").await?;
        // No intervention follows a rollback: the job keeps the detail for staff.
        jobs::set_last_error(&txn, &j.id, &staff).await?;
    } else {
        note(&txn, svc, "leg.failed", &customer, "provisioning").await?;
    }
    emit(
        &txn,
        &svc.tenant_id,
        "service.leg.failed",
        &svc.id,
        json!({"service_id": svc.id, "order_id": svc.order_id, "leg": leg.seq, "reason": customer}),
    )
    .await?;
    txn.commit().await?;
    state.live.wake(&state.db, &svc.tenant_id).await;
    Ok(if composite { Step::Again } else { Step::Fail(staff) })
}

/// Undo one provisioned leg per step (last first); when none is left, fail the order.
async fn rollback_step(state: &AppState, mut o: order::Model, svc: service::Model) -> Result<Step, AppError> {
    let mut holding = None;
    for l in legs_of(&state.db, &svc.id).await?.into_iter().rev() {
        let st = leg_status_of(&l)?;
        if l.external_ref.is_some() && st.holds_resource() {
            holding = Some((l, st));
            break;
        }
    }
    if let Some((leg, st)) = holding {
        // A leg that failed at the provider may still exist there: release it too.
        let Some(r) = leg.external_ref.clone() else { return Ok(Step::Again) };
        let adapter = adapters::for_leg(state, &leg.provider_id, &leg.adapter).await?;
        match bounded(state, adapter.terminate(&r, &format!("leg:{}:rollback", leg.id))).await {
            Ok(()) => {}
            Err(AdapterError::Transient(m)) => return Ok(Step::Retry(format!("Rolling back {}: {m}", leg.name))),
            Err(AdapterError::Permanent(m)) if st == LegStatus::Failed => {
                tracing::info!(leg = %leg.id, error = %m, "failed leg had nothing to release");
            }
            Err(AdapterError::Permanent(m)) => return Ok(Step::Fail(format!("Rolling back {}: {m}", leg.name))),
        }
        let txn = state.db.begin_write().await?;
        let was_failed = st == LegStatus::Failed;
        let to = if was_failed { LegStatus::Failed } else { LegStatus::RolledBack };
        st.check(to)?;
        let mut am: service_leg::ActiveModel = leg.clone().into();
        am.status = Set(to.as_str().into());
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
    // The reason the customer sees: ours, or the operator's words when they failed the order.
    let reason = svc.status_reason.clone().unwrap_or_else(|| messages::PROVISIONING_FAILED.into());
    service_status(&svc)?.check(ServiceStatus::Failed)?;
    let txn = state.db.begin_write().await?;
    service_leg::Entity::update_many()
        .col_expr(service_leg::Column::Status, Expr::value(LegStatus::Cancelled.as_str()))
        .filter(service_leg::Column::ServiceId.eq(&svc.id))
        .filter(service_leg::Column::Status.is_in(LegStatus::sources(LegStatus::Cancelled, LegStatus::ALL)))
        .exec(&txn)
        .await?;
    let mut s: service::ActiveModel = svc.clone().into();
    s.status = Set(ServiceStatus::Failed.as_str().into());
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
    service_status(&svc)?.check(ServiceStatus::Active)?;
    let txn = state.db.begin_write().await?;
    let now = Utc::now();
    let mut s: service::ActiveModel = svc.clone().into();
    s.status = Set(ServiceStatus::Active.as_str().into());
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
