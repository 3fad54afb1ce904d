//! Platform staff: the jobs console and the manual-intervention queue.
use crate::core::db::BeginWrite;
use std::collections::BTreeSet;

use super::*;
use crate::core::page::{Keyset, Page, PageRequest};
use crate::core::scope::Scope;

/// Platform admins see every tenant's jobs; a tenant's operators their own.
fn scope(ctx: &Ctx) -> Result<Scope, AppError> {
    Scope::staff_or_tenant(ctx, "jobs and interventions console")
}

/// Names of the tenants a page of rows refers to, in one query.
async fn tenant_names(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = String>,
) -> Result<HashMap<String, String>, AppError> {
    let ids: BTreeSet<String> = ids.into_iter().collect();
    Ok(tenant::Entity::find()
        .filter(tenant::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect())
}

/// Order and service numbers by id, for a page of rows, in two queries.
async fn numbers(
    db: &impl ConnectionTrait,
    orders: impl IntoIterator<Item = String>,
    services: impl IntoIterator<Item = String>,
) -> Result<(HashMap<String, String>, HashMap<String, String>), AppError> {
    let (orders, services): (BTreeSet<String>, BTreeSet<String>) =
        (orders.into_iter().collect(), services.into_iter().collect());
    let o = order::Entity::find().filter(order::Column::Id.is_in(orders)).all(db).await?;
    let s = service::Entity::find().filter(service::Column::Id.is_in(services)).all(db).await?;
    Ok((o.into_iter().map(|o| (o.id, o.number)).collect(), s.into_iter().map(|s| (s.id, s.number)).collect()))
}

/// One page of jobs, newest first, filtered in the database.
pub async fn list_jobs(
    ctx: &Ctx,
    status: Option<String>,
    kind: Option<String>,
    req: &PageRequest,
) -> Result<Page<JobRow>, AppError> {
    let mut q = scope(ctx)?.find::<job::Entity>();
    if let Some(s) = status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let s = JobStatus::parse(s).ok_or_else(|| AppError::field("status", "Choose a status from the list."))?;
        q = q.filter(job::Column::Status.eq(s.as_str()));
    }
    if let Some(k) = kind.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if crate::workers::handlers().get(k).is_none() {
            return Err(AppError::field("kind", "Choose a kind from the list."));
        }
        q = q.filter(job::Column::Kind.eq(k));
    }
    let page = Keyset::newest(job::Column::CreatedAt, job::Column::Id).page(ctx.db(), q, req).await?;
    let resource = |kind: &str| {
        page.items.iter().filter(move |j| j.kind == kind).filter_map(|j| j.resource_id.clone()).collect::<Vec<_>>()
    };
    let (orders, services) = numbers(ctx.db(), resource(PROVISION_ORDER), resource(SERVICE_ACTION)).await?;
    let names = tenant_names(ctx.db(), page.items.iter().filter_map(|j| j.tenant_id.clone())).await?;
    let info = page.page_info;
    let mut out = Vec::with_capacity(page.items.len());
    for j in page.items {
        let status = JobStatus::stored("job", &j.id, &j.status)?;
        let (resource, link) = match (&j.kind[..], &j.resource_id) {
            (PROVISION_ORDER, Some(id)) => {
                (orders.get(id).cloned().unwrap_or_default(), Some(format!("/portal/orders/{id}")))
            }
            (SERVICE_ACTION, Some(id)) => {
                (services.get(id).cloned().unwrap_or_default(), Some(format!("/portal/services/{id}")))
            }
            _ => (String::new(), None),
        };
        out.push(JobRow {
            kind: match j.kind.as_str() {
                SERVICE_ACTION => format!("{} ({})", j.kind, jobs::payload::<ServiceAction>(&j)?.action.as_str()),
                _ => j.kind.clone(),
            },
            tenant: j.tenant_id.as_ref().and_then(|t| names.get(t).cloned()).unwrap_or_else(|| "platform".into()),
            resource,
            resource_link: link,
            status: status.as_str().into(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: when(j.run_at),
            lease: match (&j.lease_owner, j.lease_expires_at) {
                (Some(o), Some(e)) if status == JobStatus::Running => {
                    Some(format!("{o} until {}", e.format("%H:%M:%S")))
                }
                _ => None,
            },
            last_error: j.last_error.clone(),
            cancel_reason: j.cancel_reason.clone(),
            updated_at: when(j.updated_at),
            id: j.id,
        });
    }
    Ok(Page { items: out, page_info: info })
}

async fn scoped_job(ctx: &Ctx, conn: &impl ConnectionTrait, id: &str) -> Result<job::Model, AppError> {
    scope(ctx)?.get::<job::Entity, _>(conn, id.to_string()).await
}

fn audit_event(ctx: &Ctx, tenant_id: Option<&str>, action: &str, kind: &str, id: &str, detail: Value) -> NewEvent {
    match tenant_id {
        Some(t) => NewEvent::tenant(t, ctx.actor(), action, kind, Some(id.into()), detail),
        None => NewEvent::platform(ctx.actor(), action, kind, Some(id.into()), true, detail),
    }
}

pub async fn retry_job(ctx: &Ctx, id: &str) -> Result<(), AppError> {
    let txn = ctx.db().begin_write().await?;
    let j = scoped_job(ctx, &txn, id).await?;
    let from = JobStatus::stored("job", &j.id, &j.status)?;
    from.check(JobStatus::Queued)?;
    let done =
        if from == JobStatus::Queued { jobs::run_now(&txn, &j.id).await? } else { jobs::requeue(&txn, &j.id).await? };
    if !done {
        return Err(AppError::Conflict("The job changed meanwhile; reload and try again.".into()));
    }
    // A retried provisioning job takes its open intervention with it.
    intervention::Entity::update_many()
        .col_expr(intervention::Column::Status, sea_orm::sea_query::Expr::value(InterventionStatus::Retried.as_str()))
        .col_expr(intervention::Column::ResolvedBy, sea_orm::sea_query::Expr::value(ctx.user.email.clone()))
        .col_expr(intervention::Column::ResolvedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(intervention::Column::JobId.eq(&j.id))
        .filter(intervention::Column::Status.eq(InterventionStatus::Open.as_str()))
        .exec(&txn)
        .await?;
    reset_failed_legs(&txn, &j).await?;
    record(
        &txn,
        audit_event(ctx, j.tenant_id.as_deref(), "job.retried", "job", &j.id, json!({"kind": j.kind, "was": j.status})),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Legs that failed get another go when their job is retried.
async fn reset_failed_legs(conn: &impl ConnectionTrait, j: &job::Model) -> Result<(), AppError> {
    if j.kind != PROVISION_ORDER {
        return Ok(());
    }
    let Some(oid) = &j.resource_id else { return Ok(()) };
    if let Some(s) = engine::service_of_order(conn, oid).await? {
        for l in service_leg::Entity::find()
            .filter(service_leg::Column::ServiceId.eq(&s.id))
            .filter(service_leg::Column::Status.eq(LegStatus::Failed.as_str()))
            .all(conn)
            .await?
        {
            leg_status_of(&l)?.check(LegStatus::Pending)?;
            // Order afresh under a new idempotency key: the provider would answer the old key
            // with the request it already rejected.
            let mut refs = LegRefs::of(&l)?;
            refs.retry = Some(refs.retry.unwrap_or(0) + 1);
            let mut am: service_leg::ActiveModel = l.clone().into();
            am.status = Set(LegStatus::Pending.as_str().into());
            am.external_ref = Set(None);
            am.provider_state = Set(None);
            am.refs = Set(refs.to_text()?);
            am.updated_at = Set(Utc::now());
            am.update(conn).await?;
        }
    }
    Ok(())
}

pub async fn cancel_job(ctx: &Ctx, id: &str, reason: &str) -> Result<(), AppError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::field("reason", "Say why the job is cancelled (up to 500 characters)."));
    }
    let txn = ctx.db().begin_write().await?;
    let j = scoped_job(ctx, &txn, id).await?;
    if j.kind == PROVISION_ORDER
        && let Some(oid) = &j.resource_id
        && engine::service_of_order(&txn, oid).await?.is_some()
    {
        return Err(AppError::Conflict(
            "Provisioning has started: providers may already hold parts of this service. Fail the order from Manual intervention instead, which releases them."
                .into(),
        ));
    }
    JobStatus::stored("job", &j.id, &j.status)?.check(JobStatus::Cancelled)?;
    let res = job::Entity::update_many()
        .col_expr(job::Column::Status, sea_orm::sea_query::Expr::value(JobStatus::Cancelled.as_str()))
        .col_expr(job::Column::CancelReason, sea_orm::sea_query::Expr::value(reason))
        .col_expr(job::Column::FinishedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .col_expr(job::Column::UpdatedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(job::Column::Id.eq(&j.id))
        .filter(job::Column::Status.is_in(jobs::status::from_which(JobStatus::Cancelled)))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::Conflict("The job started meanwhile; try again when this attempt has finished.".into()));
    }
    // Leave nothing half-requested behind.
    match (j.kind.as_str(), &j.resource_id) {
        (SERVICE_ACTION, Some(sid)) => {
            if let Some(svc) = service::Entity::find_by_id(sid.clone()).one(&txn).await? {
                revert_request(&txn, &svc).await?;
                let text = format!("The requested change was cancelled by operations: {reason}");
                engine::note(&txn, &svc, "cancelled", &text, &ctx.actor().label).await?;
            }
        }
        (PROVISION_ORDER, Some(oid)) => {
            let mut o = order::Entity::find_by_id(oid.clone()).one(&txn).await?.ok_or(AppError::NotFound)?;
            if Status::stored(&o.id, &o.status)? == Status::Queued {
                let why = Some(reason.to_string());
                crate::orders::ssr::transition(&txn, &mut o, Status::Cancelled, &ctx.actor(), why).await?;
            }
        }
        _ => {}
    }
    record(
        &txn,
        audit_event(
            ctx,
            j.tenant_id.as_deref(),
            "job.cancelled",
            "job",
            &j.id,
            json!({"kind": j.kind, "reason": reason}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

// ----- manual intervention ------------------------------------------------------------------

/// One page of interventions (open ones by default), newest first.
pub async fn list_interventions(
    ctx: &Ctx,
    status: Option<String>,
    req: &PageRequest,
) -> Result<Page<InterventionRow>, AppError> {
    let mut q = scope(ctx)?.find::<intervention::Entity>();
    match status.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or("open") {
        "all" => {}
        s => {
            let s = InterventionStatus::parse(s).ok_or_else(|| AppError::field("status", "Choose which to show."))?;
            q = q.filter(intervention::Column::Status.eq(s.as_str()));
        }
    }
    let page = Keyset::newest(intervention::Column::CreatedAt, intervention::Column::Id).page(ctx.db(), q, req).await?;
    let (orders, services) = numbers(
        ctx.db(),
        page.items.iter().map(|i| i.order_id.clone()),
        page.items.iter().filter_map(|i| i.service_id.clone()),
    )
    .await?;
    let names = tenant_names(ctx.db(), page.items.iter().map(|i| i.tenant_id.clone())).await?;
    Ok(page.map(|i| InterventionRow {
        tenant: names.get(&i.tenant_id).cloned().unwrap_or_default(),
        order_number: orders.get(&i.order_id).cloned().unwrap_or_default(),
        service_number: i.service_id.as_ref().and_then(|s| services.get(s).cloned()),
        id: i.id,
        order_id: i.order_id,
        job_kind: i.job_kind,
        error: i.error,
        status: i.status,
        resolution: i.resolution,
        external_ref: i.external_ref,
        resolved_by: i.resolved_by,
        created_at: when(i.created_at),
    }))
}

/// Undo what requesting a service change set (a pending bandwidth, `terminating`): the
/// service goes back to the state its order still records (active or suspended).
async fn revert_request(conn: &impl ConnectionTrait, svc: &service::Model) -> Result<(), AppError> {
    let o = order::Entity::find_by_id(svc.order_id.clone()).one(conn).await?.ok_or(AppError::NotFound)?;
    let mut am: service::ActiveModel = svc.clone().into();
    am.pending_bandwidth_mbps = Set(None);
    let from = service_status(svc)?;
    if from == ServiceStatus::Terminating {
        let to = match Status::stored(&o.id, &o.status)? {
            Status::Suspended => ServiceStatus::Suspended,
            _ => ServiceStatus::Active,
        };
        from.check(to)?;
        am.status = Set(to.as_str().into());
    }
    am.updated_at = Set(Utc::now());
    am.update(conn).await?;
    Ok(())
}

async fn open_intervention(ctx: &Ctx, conn: &impl ConnectionTrait, id: &str) -> Result<intervention::Model, AppError> {
    let i = scope(ctx)?.get::<intervention::Entity, _>(conn, id.to_string()).await?;
    let status = InterventionStatus::stored("intervention", &i.id, &i.status)?;
    if status != InterventionStatus::Open {
        return Err(AppError::Conflict(format!("This intervention has already been dealt with ({status}).")));
    }
    Ok(i)
}

/// Close an open intervention; only one operator can (the second gets a conflict).
async fn close(
    conn: &(impl ConnectionTrait + sea_orm::TransactionTrait),
    ctx: &Ctx,
    i: &intervention::Model,
    status: InterventionStatus,
    resolution: &str,
    r: Option<&str>,
) -> Result<(), AppError> {
    use sea_orm::sea_query::Expr;
    InterventionStatus::stored("intervention", &i.id, &i.status)?.check(status)?;
    let res = intervention::Entity::update_many()
        .col_expr(intervention::Column::Status, Expr::value(status.as_str()))
        .col_expr(intervention::Column::Resolution, Expr::value(resolution))
        .col_expr(intervention::Column::ExternalRef, Expr::value(r.map(String::from)))
        .col_expr(intervention::Column::ResolvedBy, Expr::value(ctx.user.email.clone()))
        .col_expr(intervention::Column::ResolvedAt, Expr::value(Utc::now()))
        .filter(intervention::Column::Id.eq(&i.id))
        .filter(intervention::Column::Status.eq(InterventionStatus::Open.as_str()))
        .exec(conn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::Conflict("Another operator has just dealt with this intervention.".into()));
    }
    record(
        conn,
        NewEvent::tenant(
            &i.tenant_id,
            ctx.actor(),
            &format!("intervention.{status}"),
            "intervention",
            Some(i.id.clone()),
            json!({"order_id": i.order_id, "resolution": resolution, "external_ref": r}),
        ),
    )
    .await
}

pub async fn retry_intervention(ctx: &Ctx, id: &str) -> Result<(), AppError> {
    let i = open_intervention(ctx, ctx.db(), id).await?;
    retry_job(ctx, &i.job_id).await?;
    // retry_job marked it `retried`.
    Ok(())
}

pub async fn complete_intervention(ctx: &Ctx, id: &str, external_ref: &str, note_text: &str) -> Result<(), AppError> {
    let r = external_ref.trim();
    if r.is_empty() || r.chars().count() > 120 {
        return Err(AppError::field(
            "external_ref",
            "Enter the provider's reference for the work done (up to 120 characters).",
        ));
    }
    if note_text.trim().chars().count() > 500 {
        return Err(AppError::field("note", "Up to 500 characters."));
    }
    let i = open_intervention(ctx, ctx.db(), id).await?;
    let resolution =
        if note_text.trim().is_empty() { format!("Completed by hand ({r}).") } else { note_text.trim().to_string() };
    let actor = ctx.actor();
    match i.job_kind.as_str() {
        PROVISION_ORDER => {
            let svc = engine::service_of_order(ctx.db(), &i.order_id).await?.ok_or_else(|| {
                AppError::Conflict("Provisioning never started for this order; retry it or fail it.".into())
            })?;
            if service_status(&svc)? == ServiceStatus::RollingBack {
                return Err(AppError::Conflict(
                    "This service is being rolled back after a failed leg; retry to finish the rollback, or fail the order."
                        .into(),
                ));
            }
            let txn = ctx.db().begin_write().await?;
            close(&txn, ctx, &i, InterventionStatus::Completed, &resolution, Some(r)).await?;
            for l in service_leg::Entity::find().filter(service_leg::Column::ServiceId.eq(&svc.id)).all(&txn).await? {
                let st = leg_status_of(&l)?;
                if st == LegStatus::Active {
                    continue;
                }
                st.check(LegStatus::Active)?;
                let mut refs = LegRefs::of(&l)?;
                refs.customer_step = None;
                refs.references.insert("manual_ref".into(), json!(r));
                let mut am: service_leg::ActiveModel = l.clone().into();
                am.status = Set(LegStatus::Active.as_str().into());
                am.external_ref = Set(Some(l.external_ref.clone().unwrap_or_else(|| r.to_string())));
                am.refs = Set(refs.to_text()?);
                am.last_error = Set(None);
                am.updated_at = Set(Utc::now());
                am.update(&txn).await?;
            }
            engine::note(&txn, &svc, "intervention", &format!("Completed by our operations team ({r})."), &actor.label)
                .await?;
            // The job finishes the activation (order → active, metering).
            jobs::requeue(&txn, &i.job_id).await?;
            txn.commit().await?;
        }
        _ => {
            let svc = match &i.service_id {
                Some(s) => service::Entity::find_by_id(s.clone()).one(ctx.db()).await?.ok_or(AppError::NotFound)?,
                None => return Err(AppError::NotFound),
            };
            let j = job::Entity::find_by_id(i.job_id.clone()).one(ctx.db()).await?.ok_or(AppError::NotFound)?;
            let action = jobs::payload::<ServiceAction>(&j)?.action;
            let mbps = svc.pending_bandwidth_mbps.unwrap_or(svc.bandwidth_mbps);
            // Closing the intervention and recording the change it stood for: one transaction.
            let txn = ctx.db().begin_write().await?;
            close(&txn, ctx, &i, InterventionStatus::Completed, &resolution, Some(r)).await?;
            engine::finish_action_in(&txn, &svc, action, mbps, &actor).await?;
            txn.commit().await?;
        }
    }
    ctx.state.live.wake(ctx.db(), &i.tenant_id).await;
    Ok(())
}

pub async fn fail_intervention(ctx: &Ctx, id: &str, reason: &str) -> Result<(), AppError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::field("reason", "Tell the customer why (up to 500 characters); they will see this."));
    }
    let i = open_intervention(ctx, ctx.db(), id).await?;
    let txn = ctx.db().begin_write().await?;
    match i.job_kind.as_str() {
        PROVISION_ORDER => {
            let o = order::Entity::find_by_id(i.order_id.clone()).one(&txn).await?.ok_or(AppError::NotFound)?;
            let status = Status::stored(&o.id, &o.status)?;
            if !matches!(status, Status::Provisioning | Status::Queued) {
                return Err(AppError::Conflict(format!(
                    "The order is {}; it can no longer be failed.",
                    status.label()
                )));
            }
            match engine::service_of_order(&txn, &o.id).await? {
                Some(svc) => {
                    // The job rolls back whatever the providers hold, then fails the order with this reason.
                    service_status(&svc)?.check(ServiceStatus::RollingBack)?;
                    let mut am: service::ActiveModel = svc.clone().into();
                    am.status = Set(ServiceStatus::RollingBack.as_str().into());
                    am.status_reason = Set(Some(reason.into()));
                    am.updated_at = Set(Utc::now());
                    am.update(&txn).await?;
                    engine::note(
                        &txn,
                        &svc,
                        "intervention",
                        &format!("Operations stopped provisioning: {reason}"),
                        &ctx.actor().label,
                    )
                    .await?;
                    jobs::requeue(&txn, &i.job_id).await?;
                }
                None => {
                    // A queued order fails through provisioning (the machine has no queued → failed);
                    // any error here ends the whole change.
                    let mut o = o;
                    if status == Status::Queued {
                        crate::orders::ssr::transition(&txn, &mut o, Status::Provisioning, &ctx.actor(), None).await?;
                    }
                    crate::orders::ssr::transition(&txn, &mut o, Status::Failed, &ctx.actor(), Some(reason.into()))
                        .await?;
                }
            }
        }
        _ => {
            let svc = match &i.service_id {
                Some(s) => service::Entity::find_by_id(s.clone()).one(&txn).await?.ok_or(AppError::NotFound)?,
                None => return Err(AppError::NotFound),
            };
            revert_request(&txn, &svc).await?;
            engine::note(
                &txn,
                &svc,
                "intervention",
                &format!("The requested change was not made: {reason}"),
                &ctx.actor().label,
            )
            .await?;
        }
    }
    close(&txn, ctx, &i, InterventionStatus::Failed, reason, None).await?;
    txn.commit().await?;
    ctx.state.live.wake(ctx.db(), &i.tenant_id).await;
    Ok(())
}
