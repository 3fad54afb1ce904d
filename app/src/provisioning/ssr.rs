//! Server side of the services, jobs, interventions and adapter-settings functions.
//! Every function takes the caller's [`Ctx`] (already checked for the permission) and
//! scopes what it reads or changes to the caller's tenant, unless they are platform admins.
use std::collections::HashMap;

use chrono::Utc;
use entity::{
    endpoint, intervention, job, offering, order, outbox_event, provider, provider_adapter, service, service_event,
    service_leg, tenant, usage_record,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use serde_json::{Map, Value, json};

use super::engine::{self, Action, ServiceAction};
use crate::jobs::{self, JobPayload};
use crate::orders::ssr::ProvisionOrder;
use super::*;
use crate::audit::ssr::{NewEvent, record};
use crate::auth::ssr::{Ctx, new_id};
use crate::catalog::service::mbps_label;
use crate::catalog::ssr::load_endpoint;
use crate::error::FieldErrors;
use crate::orders::machine::Status;

const PROVISION_ORDER: &str = ProvisionOrder::KIND;
const SERVICE_ACTION: &str = ServiceAction::KIND;

fn when(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

async fn tenant_service(ctx: &Ctx, conn: &impl ConnectionTrait, id: &str) -> Result<service::Model, AppError> {
    let t = ctx.tenant()?;
    service::Entity::find_by_id(id.to_string())
        .filter(service::Column::TenantId.eq(&t.id))
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)
}

async fn row(db: &impl ConnectionTrait, s: service::Model) -> Result<ServiceRow, AppError> {
    let a = load_endpoint(db, &s.a_endpoint_id).await?;
    let b = load_endpoint(db, &s.b_endpoint_id).await?;
    let off = offering::Entity::find_by_id(s.offering_id.clone()).one(db).await?;
    let o = order::Entity::find_by_id(s.order_id.clone()).one(db).await?;
    let legs = service_leg::Entity::find()
        .filter(service_leg::Column::ServiceId.eq(&s.id))
        .order_by_asc(service_leg::Column::Seq)
        .all(db)
        .await?;
    let mut names = Vec::new();
    for l in &legs {
        if let Some(p) = provider::Entity::find_by_id(l.provider_id.clone()).one(db).await?
            && !names.contains(&p.name)
        {
            names.push(p.name);
        }
    }
    Ok(ServiceRow {
        id: s.id,
        number: s.number,
        status: s.status,
        status_reason: s.status_reason,
        offering: off.map(|o| o.name).unwrap_or_default(),
        a_end: a.map(|l| l.label()).unwrap_or_default(),
        b_end: b.map(|l| l.label()).unwrap_or_default(),
        bandwidth_mbps: s.bandwidth_mbps,
        bandwidth: mbps_label(s.bandwidth_mbps),
        pending_bandwidth: s.pending_bandwidth_mbps.map(mbps_label),
        order_id: s.order_id,
        order_number: o.map(|o| o.number).unwrap_or_default(),
        providers: names.join(", "),
        activated_at: s.activated_at.map(when),
        created_at: when(s.created_at),
    })
}

pub async fn list(ctx: &Ctx, status: Option<String>, q: Option<String>) -> Result<Vec<ServiceRow>, AppError> {
    let t = ctx.tenant()?;
    let mut find = service::Entity::find().filter(service::Column::TenantId.eq(&t.id));
    if let Some(s) = status.filter(|s| !s.is_empty()) {
        find = find.filter(service::Column::Status.eq(s));
    }
    let services = find.order_by_desc(service::Column::CreatedAt).limit(500).all(ctx.db()).await?;
    let needle = q.map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
    let mut out = Vec::new();
    for s in services {
        let r = row(ctx.db(), s).await?;
        let hit = needle.as_ref().is_none_or(|n| {
            [&r.number, &r.order_number, &r.a_end, &r.b_end, &r.providers, &r.offering]
                .iter()
                .any(|f| f.to_lowercase().contains(n))
        });
        if hit {
            out.push(r);
        }
    }
    Ok(out)
}

fn ref_label(key: &str) -> String {
    match key {
        "connection_id" => "AWS connection id".into(),
        "aws_region" => "AWS region".into(),
        "vlan" => "VLAN".into(),
        "vlan_a" => "VLAN (A side)".into(),
        "vlan_b" => "VLAN (B side)".into(),
        "amazon_asn" => "Amazon-side ASN".into(),
        "microsoft_asn" => "Microsoft ASN".into(),
        "google_asn" => "Google ASN".into(),
        "your_peer_ip" => "Your BGP peer IP".into(),
        "amazon_peer_ip" => "Amazon BGP peer IP".into(),
        "google_peer_ip" => "Google BGP peer IP".into(),
        "service_key" => "ExpressRoute service key".into(),
        "peering_location" => "Peering location".into(),
        "primary_subnet" => "Primary peering subnet".into(),
        "secondary_subnet" => "Secondary peering subnet".into(),
        "pairing_key" => "Pairing key".into(),
        "cross_connect_id" => "Cross-connect id".into(),
        "patch_panel" => "Patch panel".into(),
        "facility" => "Facility".into(),
        "virtual_circuit" => "Virtual circuit".into(),
        "partner_order_id" => "Partner order id".into(),
        "partner_product_id" => "Partner product id".into(),
        "manual_ref" => "Reference (completed by operations)".into(),
        other => other.replace('_', " "),
    }
}

fn leg_row(l: service_leg::Model, providers: &HashMap<String, String>) -> LegRow {
    let refs: Map<String, Value> = serde_json::from_str(&l.refs).unwrap_or_default();
    let customer_step = refs.get("customer_step").and_then(|v| v.as_str()).map(Into::into);
    let shown = refs
        .iter()
        .filter(|(k, v)| !matches!(k.as_str(), "customer_step" | "retry") && !v.is_null())
        .map(|(k, v)| (ref_label(k), v.as_str().map(Into::into).unwrap_or_else(|| v.to_string())))
        .collect();
    LegRow {
        provider: providers.get(&l.provider_id).cloned().unwrap_or_default(),
        sandbox: l.adapter != "mef_partner",
        id: l.id,
        seq: l.seq,
        role: l.role,
        name: l.name,
        adapter: ADAPTER_CHOICES
            .iter()
            .find(|(a, _)| *a == l.adapter)
            .map(|(_, label)| label.to_string())
            .unwrap_or(l.adapter),
        status: l.status,
        provider_state: l.provider_state,
        external_ref: l.external_ref,
        refs: shown,
        customer_step,
        last_error: l.last_error,
    }
}

/// The id of the newest outbox event of a tenant (live streams continue after it).
pub async fn event_cursor(db: &impl ConnectionTrait, tenant_id: &str) -> Result<i64, AppError> {
    Ok(outbox_event::Entity::find()
        .filter(outbox_event::Column::TenantId.eq(tenant_id))
        .order_by_desc(outbox_event::Column::Id)
        .one(db)
        .await?
        .map(|e| e.id)
        .unwrap_or(0))
}

fn mb_label(mb: i64) -> String {
    if mb >= 1_000_000 {
        format!("{:.2} TB", mb as f64 / 1_000_000.0)
    } else if mb >= 1_000 {
        format!("{:.1} GB", mb as f64 / 1_000.0)
    } else {
        format!("{mb} MB")
    }
}

/// Bandwidths both ends sell, that the offering allows.
async fn bandwidth_options(db: &impl ConnectionTrait, s: &service::Model) -> Result<Vec<i64>, AppError> {
    let (Some(off), Some(a), Some(b)) = (
        offering::Entity::find_by_id(s.offering_id.clone()).one(db).await?,
        endpoint::Entity::find_by_id(s.a_endpoint_id.clone()).one(db).await?,
        endpoint::Entity::find_by_id(s.b_endpoint_id.clone()).one(db).await?,
    ) else {
        return Ok(Vec::new());
    };
    let list = |json: &str| serde_json::from_str::<Vec<i64>>(json).unwrap_or_default();
    let (at_a, at_b) = (list(&a.bandwidths_mbps), list(&b.bandwidths_mbps));
    Ok(list(&off.bandwidths_mbps).into_iter().filter(|t| at_a.contains(t) && at_b.contains(t)).collect())
}

async fn service_detail(ctx: &Ctx, s: service::Model) -> Result<ServiceDetail, AppError> {
    let db = ctx.db();
    let providers: HashMap<String, String> =
        provider::Entity::find().all(db).await?.into_iter().map(|p| (p.id, p.name)).collect();
    let legs = service_leg::Entity::find()
        .filter(service_leg::Column::ServiceId.eq(&s.id))
        .order_by_asc(service_leg::Column::Seq)
        .all(db)
        .await?
        .into_iter()
        .map(|l| leg_row(l, &providers))
        .collect();
    let timeline = service_event::Entity::find()
        .filter(service_event::Column::ServiceId.eq(&s.id))
        .order_by_desc(service_event::Column::Id)
        .limit(200)
        .all(db)
        .await?
        .into_iter()
        .map(|e| ServiceEventRow { kind: e.kind, detail: e.detail, who: e.actor_label, when: when(e.at) })
        .collect();
    let records = usage_record::Entity::find()
        .filter(usage_record::Column::ServiceId.eq(&s.id))
        .order_by_desc(usage_record::Column::PeriodStart)
        .limit(48)
        .all(db)
        .await?;
    let total: i64 = records.iter().map(|r| r.mb_in + r.mb_out).sum();
    let usage_total =
        (!records.is_empty()).then(|| format!("{} in the last {} hours shown", mb_label(total), records.len()));
    let usage = records
        .into_iter()
        .map(|r| UsageRow {
            period: format!("{} – {}", r.period_start.format("%Y-%m-%d %H:%M"), r.period_end.format("%H:%M UTC")),
            inbound: mb_label(r.mb_in),
            outbound: mb_label(r.mb_out),
            source: r.source,
        })
        .collect();
    let options = bandwidth_options(db, &s).await?;
    let in_progress = match jobs::active_for(db, &s.id).await? {
        Some(j) if j.kind == SERVICE_ACTION => Some(match jobs::payload::<ServiceAction>(&j)?.action {
            Action::Modify => {
                format!("Changing bandwidth to {}.", s.pending_bandwidth_mbps.map(mbps_label).unwrap_or_default())
            }
            Action::Suspend => "Suspending.".into(),
            Action::Resume => "Resuming.".into(),
            Action::Terminate => "Terminating.".into(),
        }),
        _ => None,
    };
    let tenant_id = s.tenant_id.clone();
    Ok(ServiceDetail {
        service: row(db, s).await?,
        legs,
        timeline,
        usage,
        usage_total,
        bandwidth_options: options,
        can_manage: ctx.can(crate::auth::permissions::Perm::ServiceManage),
        in_progress,
        event_cursor: event_cursor(db, &tenant_id).await?,
    })
}

pub async fn detail(ctx: &Ctx, id: &str) -> Result<ServiceDetail, AppError> {
    let s = tenant_service(ctx, ctx.db(), id).await?;
    service_detail(ctx, s).await
}

pub async fn for_order(ctx: &Ctx, order_id: &str) -> Result<Option<ServiceDetail>, AppError> {
    let t = ctx.tenant()?;
    let o = order::Entity::find_by_id(order_id.to_string())
        .filter(order::Column::TenantId.eq(&t.id))
        .one(ctx.db())
        .await?
        .ok_or(AppError::NotFound)?;
    match engine::service_of_order(ctx.db(), &o.id).await? {
        Some(s) => Ok(Some(service_detail(ctx, s).await?)),
        None => Ok(None),
    }
}

async fn request_action(ctx: &Ctx, s: service::Model, action: Action, mbps: Option<i64>) -> Result<(), AppError> {
    let txn = ctx.db().begin().await?;
    if jobs::active_for(&txn, &s.id).await?.is_some() {
        return Err(AppError::Conflict(
            "Another change to this service is still in progress; try again when it has finished.".into(),
        ));
    }
    let mut am: service::ActiveModel = s.clone().into();
    let detail = match action {
        Action::Modify => {
            let to = mbps.unwrap_or(s.bandwidth_mbps);
            am.pending_bandwidth_mbps = Set(Some(to));
            format!("Bandwidth change requested: {} → {}.", mbps_label(s.bandwidth_mbps), mbps_label(to))
        }
        Action::Suspend => "Suspension requested.".into(),
        Action::Resume => "Resumption requested.".into(),
        Action::Terminate => {
            am.status = Set("terminating".into());
            "Termination requested.".into()
        }
    };
    am.updated_at = Set(Utc::now());
    // Compare-and-set: of two requests racing for the same service, one wins.
    let res = service::Entity::update_many()
        .set(am)
        .filter(service::Column::Id.eq(&s.id))
        .filter(service::Column::Status.eq(&s.status))
        .filter(service::Column::UpdatedAt.eq(s.updated_at))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::Conflict("The service changed meanwhile; reload and try again.".into()));
    }
    let s2 = service::Entity::find_by_id(s.id.clone()).one(&txn).await?.ok_or(AppError::NotFound)?;
    let actor = ctx.actor();
    engine::note(&txn, &s2, "requested", &detail, &actor.label).await?;
    let op = new_id();
    let j = jobs::enqueue(
        &txn,
        &ServiceAction { service_id: s.id.clone(), action },
        Some(&s.tenant_id),
        Some(&s.id),
        &format!("service:{}:{}:{op}", s.id, action.as_str()),
        Utc::now(),
    )
    .await?;
    record(
        &txn,
        NewEvent::tenant(
            &s.tenant_id,
            actor,
            &format!("service.{}.requested", action.as_str()),
            "service",
            Some(s.id.clone()),
            json!({"number": s.number, "bandwidth_mbps": mbps, "job_id": j.id}),
        ),
    )
    .await?;
    txn.commit().await?;
    ctx.state.live.wake(ctx.db(), &s.tenant_id).await;
    Ok(())
}

pub async fn change_bandwidth(ctx: &Ctx, id: &str, mbps: &str) -> Result<(), AppError> {
    let s = tenant_service(ctx, ctx.db(), id).await?;
    let Ok(to) = mbps.trim().parse::<i64>() else {
        return Err(AppError::field("bandwidth_mbps", "Choose a bandwidth."));
    };
    if s.status != "active" {
        return Err(AppError::Conflict(format!(
            "Only an active service can change bandwidth; this one is {}.",
            s.status
        )));
    }
    if to == s.bandwidth_mbps {
        return Err(AppError::field("bandwidth_mbps", format!("The service already runs at {}.", mbps_label(to))));
    }
    if !bandwidth_options(ctx.db(), &s).await?.contains(&to) {
        return Err(AppError::field("bandwidth_mbps", format!("{} is not sold on this connection.", mbps_label(to))));
    }
    // Upgrades need the extra capacity free at both ends.
    if to > s.bandwidth_mbps {
        for eid in [&s.a_endpoint_id, &s.b_endpoint_id] {
            if let Some(e) = endpoint::Entity::find_by_id(eid.clone()).one(ctx.db()).await?
                && e.capacity_mbps - e.used_mbps < to - s.bandwidth_mbps
            {
                return Err(AppError::field(
                    "bandwidth_mbps",
                    format!("{} has only {} free.", e.name, mbps_label((e.capacity_mbps - e.used_mbps).max(0))),
                ));
            }
        }
    }
    request_action(ctx, s, Action::Modify, Some(to)).await
}

pub async fn simple_action(ctx: &Ctx, id: &str, action: &str, confirm: Option<&str>) -> Result<(), AppError> {
    let s = tenant_service(ctx, ctx.db(), id).await?;
    let action = Action::parse(action).ok_or_else(|| AppError::field("action", "Unknown action."))?;
    let ok = match action {
        Action::Suspend => s.status == "active",
        Action::Resume => s.status == "suspended",
        Action::Terminate => matches!(s.status.as_str(), "active" | "suspended"),
        Action::Modify => false,
    };
    if !ok {
        return Err(AppError::Conflict(format!(
            "A service that is {} cannot be asked to {}.",
            s.status,
            action.as_str()
        )));
    }
    if action == Action::Terminate && confirm.map(str::trim) != Some(s.number.as_str()) {
        return Err(AppError::field("confirm", format!("Type {} to confirm termination.", s.number)));
    }
    request_action(ctx, s, action, None).await
}

pub async fn customer_step(ctx: &Ctx, service_id: &str, leg_id: &str) -> Result<(), AppError> {
    let s = tenant_service(ctx, ctx.db(), service_id).await?;
    let leg = service_leg::Entity::find_by_id(leg_id.to_string())
        .filter(service_leg::Column::ServiceId.eq(&s.id))
        .one(ctx.db())
        .await?
        .ok_or(AppError::NotFound)?;
    let (Some(r), "awaiting_customer") = (leg.external_ref.clone(), leg.status.as_str()) else {
        return Err(AppError::Conflict("This leg is not waiting for you.".into()));
    };
    let adapter = super::adapters::for_leg(&ctx.state, &leg.provider_id, &leg.adapter).await?;
    adapter.customer_action(&r).await.map_err(|e| AppError::Conflict(e.to_string()))?;
    let txn = ctx.db().begin().await?;
    let actor = ctx.actor();
    engine::note(&txn, &s, "customer", &format!("{}: customer step done for {r} (sandbox).", leg.name), &actor.label)
        .await?;
    record(
        &txn,
        NewEvent::tenant(
            &s.tenant_id,
            actor,
            "service.customer_step",
            "service",
            Some(s.id.clone()),
            json!({"leg": leg.seq, "ref": r}),
        ),
    )
    .await?;
    // Provisioning waits for this: look again now.
    if let Some(j) = jobs::active_for(&txn, &s.order_id).await? {
        jobs::run_now(&txn, &j.id).await?;
    }
    txn.commit().await?;
    ctx.state.live.wake(ctx.db(), &s.tenant_id).await;
    Ok(())
}

// ----- console: jobs --------------------------------------------------------------------------

/// Platform admins see every tenant; operators their own.
fn scope(ctx: &Ctx) -> Result<Option<String>, AppError> {
    if ctx.user.is_platform_admin { Ok(None) } else { Ok(Some(ctx.tenant()?.id.clone())) }
}

async fn tenant_names(db: &impl ConnectionTrait) -> Result<HashMap<String, String>, AppError> {
    Ok(tenant::Entity::find().all(db).await?.into_iter().map(|t| (t.id, t.name)).collect())
}

pub async fn list_jobs(ctx: &Ctx, status: Option<String>, kind: Option<String>) -> Result<Vec<JobRow>, AppError> {
    let mut q = job::Entity::find();
    if let Some(t) = scope(ctx)? {
        q = q.filter(job::Column::TenantId.eq(t));
    }
    if let Some(s) = status.filter(|s| !s.is_empty()) {
        q = q.filter(job::Column::Status.eq(s));
    }
    if let Some(k) = kind.filter(|s| !s.is_empty()) {
        q = q.filter(job::Column::Kind.eq(k));
    }
    let names = tenant_names(ctx.db()).await?;
    let rows = q.order_by_desc(job::Column::UpdatedAt).limit(300).all(ctx.db()).await?;
    let mut out = Vec::new();
    for j in rows {
        let (resource, link) = match (&j.kind[..], &j.resource_id) {
            (PROVISION_ORDER, Some(id)) => (
                order::Entity::find_by_id(id.clone()).one(ctx.db()).await?.map(|o| o.number).unwrap_or_default(),
                Some(format!("/portal/orders/{id}")),
            ),
            (SERVICE_ACTION, Some(id)) => (
                service::Entity::find_by_id(id.clone()).one(ctx.db()).await?.map(|s| s.number).unwrap_or_default(),
                Some(format!("/portal/services/{id}")),
            ),
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
            status: j.status.clone(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: when(j.run_at),
            lease: match (&j.lease_owner, j.lease_expires_at) {
                (Some(o), Some(e)) if j.status == "running" => Some(format!("{o} until {}", e.format("%H:%M:%S"))),
                _ => None,
            },
            last_error: j.last_error.clone(),
            cancel_reason: j.cancel_reason.clone(),
            updated_at: when(j.updated_at),
            id: j.id,
        });
    }
    Ok(out)
}

async fn scoped_job(ctx: &Ctx, conn: &impl ConnectionTrait, id: &str) -> Result<job::Model, AppError> {
    let mut q = job::Entity::find_by_id(id.to_string());
    if let Some(t) = scope(ctx)? {
        q = q.filter(job::Column::TenantId.eq(t));
    }
    q.one(conn).await?.ok_or(AppError::NotFound)
}

fn audit_event(ctx: &Ctx, tenant_id: Option<&str>, action: &str, kind: &str, id: &str, detail: Value) -> NewEvent {
    match tenant_id {
        Some(t) => NewEvent::tenant(t, ctx.actor(), action, kind, Some(id.into()), detail),
        None => NewEvent::platform(ctx.actor(), action, kind, Some(id.into()), true, detail),
    }
}

pub async fn retry_job(ctx: &Ctx, id: &str) -> Result<(), AppError> {
    let txn = ctx.db().begin().await?;
    let j = scoped_job(ctx, &txn, id).await?;
    let done = match j.status.as_str() {
        "queued" => jobs::run_now(&txn, &j.id).await?,
        "failed" | "cancelled" => jobs::requeue(&txn, &j.id).await?,
        other => return Err(AppError::Conflict(format!("A {other} job cannot be retried."))),
    };
    if !done {
        return Err(AppError::Conflict("The job changed meanwhile; reload and try again.".into()));
    }
    // A retried provisioning job takes its open intervention with it.
    intervention::Entity::update_many()
        .col_expr(intervention::Column::Status, sea_orm::sea_query::Expr::value("retried"))
        .col_expr(intervention::Column::ResolvedBy, sea_orm::sea_query::Expr::value(ctx.user.email.clone()))
        .col_expr(intervention::Column::ResolvedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(intervention::Column::JobId.eq(&j.id))
        .filter(intervention::Column::Status.eq("open"))
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
            .filter(service_leg::Column::Status.eq("failed"))
            .all(conn)
            .await?
        {
            // Order afresh under a new idempotency key: the provider would answer the old key
            // with the request it already rejected.
            let mut refs: Map<String, Value> = serde_json::from_str(&l.refs).unwrap_or_default();
            let retry = refs.get("retry").and_then(|v| v.as_i64()).unwrap_or(0) + 1;
            refs.insert("retry".into(), json!(retry));
            let mut am: service_leg::ActiveModel = l.clone().into();
            am.status = Set("pending".into());
            am.external_ref = Set(None);
            am.provider_state = Set(None);
            am.refs = Set(Value::Object(refs).to_string());
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
    let txn = ctx.db().begin().await?;
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
    if j.status != "queued" {
        return Err(AppError::Conflict(format!(
            "Only a queued job can be cancelled; this one is {}.{}",
            j.status,
            if j.status == "running" { " Wait for this attempt to finish." } else { "" }
        )));
    }
    let res = job::Entity::update_many()
        .col_expr(job::Column::Status, sea_orm::sea_query::Expr::value("cancelled"))
        .col_expr(job::Column::CancelReason, sea_orm::sea_query::Expr::value(reason))
        .col_expr(job::Column::FinishedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .col_expr(job::Column::UpdatedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(job::Column::Id.eq(&j.id))
        .filter(job::Column::Status.eq("queued"))
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
            if o.status == "queued" {
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

// ----- console: manual intervention -------------------------------------------------------------

pub async fn list_interventions(ctx: &Ctx, status: Option<String>) -> Result<Vec<InterventionRow>, AppError> {
    let mut q = intervention::Entity::find();
    if let Some(t) = scope(ctx)? {
        q = q.filter(intervention::Column::TenantId.eq(t));
    }
    let status = status.unwrap_or_else(|| "open".into());
    if status != "all" {
        q = q.filter(intervention::Column::Status.eq(status));
    }
    let names = tenant_names(ctx.db()).await?;
    let mut out = Vec::new();
    for i in q.order_by_desc(intervention::Column::CreatedAt).limit(300).all(ctx.db()).await? {
        let o = order::Entity::find_by_id(i.order_id.clone()).one(ctx.db()).await?;
        let s = match &i.service_id {
            Some(id) => service::Entity::find_by_id(id.clone()).one(ctx.db()).await?,
            None => None,
        };
        out.push(InterventionRow {
            tenant: names.get(&i.tenant_id).cloned().unwrap_or_default(),
            order_number: o.map(|o| o.number).unwrap_or_default(),
            service_number: s.map(|s| s.number),
            id: i.id,
            order_id: i.order_id,
            job_kind: i.job_kind,
            error: i.error,
            status: i.status,
            resolution: i.resolution,
            external_ref: i.external_ref,
            resolved_by: i.resolved_by,
            created_at: when(i.created_at),
        });
    }
    Ok(out)
}

/// Undo what requesting a service change set (a pending bandwidth, `terminating`): the
/// service goes back to the state its order still records (active or suspended).
async fn revert_request(conn: &impl ConnectionTrait, svc: &service::Model) -> Result<(), AppError> {
    let o = order::Entity::find_by_id(svc.order_id.clone()).one(conn).await?.ok_or(AppError::NotFound)?;
    let mut am: service::ActiveModel = svc.clone().into();
    am.pending_bandwidth_mbps = Set(None);
    if svc.status == "terminating" {
        am.status = Set(if o.status == "suspended" { "suspended".into() } else { "active".into() });
    }
    am.updated_at = Set(Utc::now());
    am.update(conn).await?;
    Ok(())
}

async fn open_intervention(ctx: &Ctx, conn: &impl ConnectionTrait, id: &str) -> Result<intervention::Model, AppError> {
    let mut q = intervention::Entity::find_by_id(id.to_string());
    if let Some(t) = scope(ctx)? {
        q = q.filter(intervention::Column::TenantId.eq(t));
    }
    let i = q.one(conn).await?.ok_or(AppError::NotFound)?;
    if i.status != "open" {
        return Err(AppError::Conflict(format!("This intervention has already been dealt with ({}).", i.status)));
    }
    Ok(i)
}

/// Close an open intervention; only one operator can (the second gets a conflict).
async fn close(
    conn: &impl ConnectionTrait,
    ctx: &Ctx,
    i: &intervention::Model,
    status: &str,
    resolution: &str,
    r: Option<&str>,
) -> Result<(), AppError> {
    use sea_orm::sea_query::Expr;
    let res = intervention::Entity::update_many()
        .col_expr(intervention::Column::Status, Expr::value(status))
        .col_expr(intervention::Column::Resolution, Expr::value(resolution))
        .col_expr(intervention::Column::ExternalRef, Expr::value(r.map(String::from)))
        .col_expr(intervention::Column::ResolvedBy, Expr::value(ctx.user.email.clone()))
        .col_expr(intervention::Column::ResolvedAt, Expr::value(Utc::now()))
        .filter(intervention::Column::Id.eq(&i.id))
        .filter(intervention::Column::Status.eq("open"))
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
            if svc.status == "rolling_back" {
                return Err(AppError::Conflict(
                    "This service is being rolled back after a failed leg; retry to finish the rollback, or fail the order."
                        .into(),
                ));
            }
            let txn = ctx.db().begin().await?;
            close(&txn, ctx, &i, "completed", &resolution, Some(r)).await?;
            for l in service_leg::Entity::find().filter(service_leg::Column::ServiceId.eq(&svc.id)).all(&txn).await? {
                if l.status == "active" {
                    continue;
                }
                let mut refs: Map<String, Value> = serde_json::from_str(&l.refs).unwrap_or_default();
                refs.remove("customer_step");
                refs.insert("manual_ref".into(), json!(r));
                let mut am: service_leg::ActiveModel = l.clone().into();
                am.status = Set("active".into());
                am.external_ref = Set(Some(l.external_ref.clone().unwrap_or_else(|| r.to_string())));
                am.refs = Set(Value::Object(refs).to_string());
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
            let txn = ctx.db().begin().await?;
            close(&txn, ctx, &i, "completed", &resolution, Some(r)).await?;
            txn.commit().await?;
            engine::finish_action(&ctx.state, &svc, action, mbps, &actor).await?;
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
    let txn = ctx.db().begin().await?;
    match i.job_kind.as_str() {
        PROVISION_ORDER => {
            let o = order::Entity::find_by_id(i.order_id.clone()).one(&txn).await?.ok_or(AppError::NotFound)?;
            if Status::parse(&o.status) != Some(Status::Provisioning)
                && Status::parse(&o.status) != Some(Status::Queued)
            {
                return Err(AppError::Conflict(format!("The order is {}; it can no longer be failed.", o.status)));
            }
            match engine::service_of_order(&txn, &o.id).await? {
                Some(svc) => {
                    // The job rolls back whatever the providers hold, then fails the order with this reason.
                    let mut am: service::ActiveModel = svc.clone().into();
                    am.status = Set("rolling_back".into());
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
                    let mut o = o;
                    crate::orders::ssr::transition(&txn, &mut o, Status::Provisioning, &ctx.actor(), None).await.ok();
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
    close(&txn, ctx, &i, "failed", reason, None).await?;
    txn.commit().await?;
    ctx.state.live.wake(ctx.db(), &i.tenant_id).await;
    Ok(())
}

// ----- console: providers and adapters ----------------------------------------------------------

pub async fn list_adapters(ctx: &Ctx) -> Result<Vec<ProviderAdapterRow>, AppError> {
    let rows: HashMap<String, provider_adapter::Model> =
        provider_adapter::Entity::find().all(ctx.db()).await?.into_iter().map(|r| (r.provider_id.clone(), r)).collect();
    let mut out = Vec::new();
    for p in provider::Entity::find().order_by_asc(provider::Column::Name).all(ctx.db()).await? {
        let row = rows.get(&p.id).cloned();
        let updated =
            row.as_ref().map(|r| format!("{} by {}", when(r.updated_at), r.updated_by.clone().unwrap_or_default()));
        let s = super::adapters::settings_of(&p, row);
        out.push(ProviderAdapterRow {
            provider_id: p.id,
            provider: p.name,
            kind: p.kind,
            adapter: s.adapter,
            backend: s.backend,
            base_url: s.base_url.unwrap_or_default(),
            has_credentials: s.credentials_sealed.is_some(),
            latency_ms: s.latency_ms,
            transient_pct: s.transient_pct,
            permanent_pct: s.permanent_pct,
            timeout_pct: s.timeout_pct,
            customer_action: s.customer_action,
            updated,
        });
    }
    Ok(out)
}

pub struct AdapterInput {
    pub adapter: String,
    pub latency_ms: String,
    pub transient_pct: String,
    pub permanent_pct: String,
    pub timeout_pct: String,
    pub customer_action: String,
    pub base_url: String,
    pub credentials: String,
}

pub async fn save_adapter(ctx: &Ctx, provider_id: &str, input: AdapterInput) -> Result<(), AppError> {
    let p = provider::Entity::find_by_id(provider_id.to_string()).one(ctx.db()).await?.ok_or(AppError::NotFound)?;
    let mut fields = FieldErrors::new();
    if !ADAPTER_CHOICES.iter().any(|(a, _)| *a == input.adapter) {
        fields.insert("adapter".into(), "Choose an adapter.".into());
    }
    let mut num = |name: &str, v: &str, max: i32, what: &str| -> i32 {
        match v.trim().parse::<i32>() {
            Ok(n) if (0..=max).contains(&n) => n,
            _ => {
                fields.insert(name.into(), format!("{what} (0 to {max})."));
                0
            }
        }
    };
    let latency = num("latency_ms", &input.latency_ms, 60_000, "Milliseconds");
    let transient = num("transient_pct", &input.transient_pct, 100, "A percentage");
    let permanent = num("permanent_pct", &input.permanent_pct, 100, "A percentage");
    let timeout = num("timeout_pct", &input.timeout_pct, 100, "A percentage");
    if transient + permanent + timeout > 100 {
        fields.insert("timeout_pct".into(), "Transient, permanent and timeout together cannot exceed 100%.".into());
    }
    if !matches!(input.customer_action.as_str(), "manual" | "auto") {
        fields.insert("customer_action".into(), "Choose who performs the customer's step.".into());
    }
    let base_url = input.base_url.trim().trim_end_matches('/').to_string();
    if input.adapter == "mef_partner" {
        match url::Url::parse(&base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                fields.insert("base_url".into(), "The partner's API base URL (https://…).".into());
            }
        }
    }
    if let Some(e) = AppError::from_fields(fields) {
        return Err(e);
    }
    let existing = provider_adapter::Entity::find_by_id(p.id.clone()).one(ctx.db()).await?;
    let credentials_sealed = match input.credentials.trim() {
        "" => existing.as_ref().and_then(|e| e.credentials_sealed.clone()),
        secret => Some(ctx.state.sealer.seal(secret).map_err(|e| AppError::internal("seal", e))?),
    };
    let row = provider_adapter::ActiveModel {
        provider_id: Set(p.id.clone()),
        adapter: Set(input.adapter.clone()),
        backend: Set(if input.adapter == "mef_partner" { "partner_api".into() } else { "sandbox".into() }),
        base_url: Set((!base_url.is_empty()).then_some(base_url.clone())),
        credentials_sealed: Set(credentials_sealed),
        latency_ms: Set(latency),
        transient_pct: Set(transient),
        permanent_pct: Set(permanent),
        timeout_pct: Set(timeout),
        customer_action: Set(input.customer_action.clone()),
        updated_at: Set(Utc::now()),
        updated_by: Set(Some(ctx.user.email.clone())),
    };
    let txn = ctx.db().begin().await?;
    if existing.is_some() {
        row.update(&txn).await?;
    } else {
        row.insert(&txn).await?;
    }
    record(
        &txn,
        NewEvent::platform(
            ctx.actor(),
            "provider.adapter.updated",
            "provider",
            Some(p.id.clone()),
            true,
            json!({
                "provider": p.key, "adapter": input.adapter, "latency_ms": latency, "transient_pct": transient,
                "permanent_pct": permanent, "timeout_pct": timeout, "customer_action": input.customer_action,
                "base_url": base_url, "credentials_changed": !input.credentials.trim().is_empty(),
            }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
