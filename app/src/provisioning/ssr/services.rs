//! The customer's services: inventory, detail, the order page, and changes they request.
use super::*;
use crate::core::db::BeginWrite;
use crate::core::scope::{Owner, Scope};

async fn tenant_service(ctx: &Ctx, conn: &impl ConnectionTrait, id: &str) -> Result<service::Model, AppError> {
    ctx.scope()?.get::<service::Entity, _>(conn, id.to_string()).await
}

async fn row(db: &impl ConnectionTrait, s: service::Model) -> Result<ServiceRow, AppError> {
    let mut rows = rows(db, vec![s]).await?;
    rows.pop().ok_or_else(|| AppError::internal("service row", "no row built"))
}

/// Rows for a page of services: catalog names, orders, legs and providers in one query
/// each, however many services the page holds.
async fn rows(db: &impl ConnectionTrait, services: Vec<service::Model>) -> Result<Vec<ServiceRow>, AppError> {
    let names = crate::catalog::ssr::CatalogNames::load(
        db,
        services.iter().map(|s| s.offering_id.clone()),
        services.iter().flat_map(|s| [s.a_endpoint_id.clone(), s.b_endpoint_id.clone()]),
    )
    .await?;
    let ids: Vec<String> = services.iter().map(|s| s.id.clone()).collect();
    let order_ids: Vec<String> = services.iter().map(|s| s.order_id.clone()).collect();
    let orders: HashMap<String, String> = order::Entity::find()
        .filter(order::Column::Id.is_in(order_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.number))
        .collect();
    let legs = service_leg::Entity::find()
        .filter(service_leg::Column::ServiceId.is_in(ids))
        .order_by_asc(service_leg::Column::Seq)
        .all(db)
        .await?;
    let provider_ids: Vec<String> = legs.iter().map(|l| l.provider_id.clone()).collect();
    let providers: HashMap<String, String> = provider::Entity::find()
        .filter(provider::Column::Id.is_in(provider_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    services
        .into_iter()
        .map(|s| {
            let mut names_of_providers: Vec<String> = Vec::new();
            for l in legs.iter().filter(|l| l.service_id == s.id) {
                if let Some(p) = providers.get(&l.provider_id)
                    && !names_of_providers.contains(p)
                {
                    names_of_providers.push(p.clone());
                }
            }
            let status = service_status(&s)?;
            Ok(ServiceRow {
                offering: names.offering(&s.offering_id).map(|o| o.name.clone()).unwrap_or_default(),
                a_end: names.endpoint_label(&s.a_endpoint_id),
                b_end: names.endpoint_label(&s.b_endpoint_id),
                order_number: orders.get(&s.order_id).cloned().unwrap_or_default(),
                id: s.id,
                number: s.number,
                status: status.as_str().into(),
                status_reason: s.status_reason,
                bandwidth_mbps: s.bandwidth_mbps,
                bandwidth: mbps_label(s.bandwidth_mbps),
                pending_bandwidth: s.pending_bandwidth_mbps.map(mbps_label),
                order_id: s.order_id,
                providers: names_of_providers.join(", "),
                activated_at: s.activated_at.map(when),
                created_at: when(s.created_at),
            })
        })
        .collect()
}

/// The tenant's services, newest first, one page. The search matches the service
/// number, the order number, either end's endpoint name and the product, in the database.
pub async fn list(
    ctx: &Ctx,
    status: Option<String>,
    q: Option<String>,
    req: &crate::core::page::PageRequest,
) -> Result<crate::core::page::Page<ServiceRow>, AppError> {
    let page = page_of(ctx, status, q, req).await?;
    let info = page.page_info;
    Ok(crate::core::page::Page { items: rows(ctx.db(), page.items).await?, page_info: info })
}

/// One page of the tenant's services, newest first, filtered in the database: the rows
/// the portal's list and the REST API both show.
pub async fn page_of(
    ctx: &Ctx,
    status: Option<String>,
    q: Option<String>,
    req: &crate::core::page::PageRequest,
) -> Result<crate::core::page::Page<service::Model>, AppError> {
    use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
    let mut find = ctx.scope()?.find::<service::Entity>();
    if let Some(s) = status.filter(|s| !s.is_empty()) {
        let st = ServiceStatus::parse(&s).ok_or_else(|| AppError::field("status", "Choose a status from the list."))?;
        find = find.filter(service::Column::Status.eq(st.as_str()));
    }
    if let Some(n) = q.map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty()) {
        let pat = format!("%{}%", n.replace(['%', '_'], ""));
        let lower = |c: Expr| Expr::expr(Func::lower(c));
        let endpoints = Query::select()
            .column(endpoint::Column::Id)
            .from(endpoint::Entity)
            .and_where(lower(Expr::col(endpoint::Column::Name)).like(pat.clone()))
            .to_owned();
        let orders = Query::select()
            .column(order::Column::Id)
            .from(order::Entity)
            .and_where(lower(Expr::col(order::Column::Number)).like(pat.clone()))
            .to_owned();
        let offerings = Query::select()
            .column(offering::Column::Id)
            .from(offering::Entity)
            .and_where(lower(Expr::col(offering::Column::Name)).like(pat.clone()))
            .to_owned();
        find = find.filter(
            sea_orm::Condition::any()
                .add(lower(Expr::col(service::Column::Number)).like(pat))
                .add(service::Column::OrderId.in_subquery(orders))
                .add(service::Column::AEndpointId.in_subquery(endpoints.clone()))
                .add(service::Column::BEndpointId.in_subquery(endpoints))
                .add(service::Column::OfferingId.in_subquery(offerings)),
        );
    }
    crate::core::page::Keyset::newest(service::Column::CreatedAt, service::Column::Id).page(ctx.db(), find, req).await
}

/// One of the tenant's services; another tenant's id is not found.
pub async fn find(ctx: &Ctx, id: &str) -> Result<service::Model, AppError> {
    ctx.scope()?.find_by_id::<service::Entity, _>(ctx.db(), id.to_string()).await?.ok_or(AppError::NotFound)
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

fn leg_row(l: service_leg::Model, providers: &HashMap<String, String>) -> Result<LegRow, AppError> {
    let refs = LegRefs::of(&l)?;
    let status = leg_status_of(&l)?;
    let shown = refs
        .references
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (ref_label(k), v.as_str().map(Into::into).unwrap_or_else(|| v.to_string())))
        .collect();
    Ok(LegRow {
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
        status: status.as_str().into(),
        provider_state: l.provider_state,
        external_ref: l.external_ref,
        refs: shown,
        customer_step: refs.customer_step,
        // The provider's words are for staff (the job and its intervention keep them).
        last_error: l.last_error.map(|_| messages::LEG_REJECTED.into()),
    })
}

/// The id of the newest outbox event of a tenant (live streams continue after it).
pub async fn event_cursor(db: &impl ConnectionTrait, tenant_id: &str) -> Result<i64, AppError> {
    // The tenant comes from a stream the caller was already admitted to.
    Ok(Scope::worker(Owner::Tenant(tenant_id.to_string()))
        .find::<outbox_event::Entity>()
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
    use crate::catalog::ssr::json_vec;
    let at_a: Vec<i64> = json_vec("endpoints", &a.id, "bandwidths_mbps", &a.bandwidths_mbps)?;
    let at_b: Vec<i64> = json_vec("endpoints", &b.id, "bandwidths_mbps", &b.bandwidths_mbps)?;
    let sold: Vec<i64> = json_vec("offerings", &off.id, "bandwidths_mbps", &off.bandwidths_mbps)?;
    Ok(sold.into_iter().filter(|t| at_a.contains(t) && at_b.contains(t)).collect())
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
        .collect::<Result<_, _>>()?;
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
    let o = ctx.scope()?.get::<order::Entity, _>(ctx.db(), order_id.to_string()).await?;
    match engine::service_of_order(ctx.db(), &o.id).await? {
        Some(s) => Ok(Some(service_detail(ctx, s).await?)),
        None => Ok(None),
    }
}

/// The order page: the order (its domain's detail) and its service.
pub async fn order_page(ctx: &Ctx, order_id: &str) -> Result<OrderPage, AppError> {
    let order = crate::orders::ssr::detail(ctx, order_id).await?;
    let service = match engine::service_of_order(ctx.db(), &order.order.id).await? {
        Some(s) => Some(service_detail(ctx, s).await?),
        None => None,
    };
    Ok(OrderPage { order, service })
}

async fn request_action(ctx: &Ctx, s: service::Model, action: Action, mbps: Option<i64>) -> Result<(), AppError> {
    let txn = ctx.db().begin_write().await?;
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
            service_status(&s)?.check(ServiceStatus::Terminating)?;
            am.status = Set(ServiceStatus::Terminating.as_str().into());
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

/// `expected`: the `updated_at` the caller last saw (the API's `If-Match`); a service
/// changed since is refused, and the compare-and-set below keeps it so until the write.
pub async fn change_bandwidth(
    ctx: &Ctx,
    id: &str,
    mbps: &str,
    expected: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), AppError> {
    let s = tenant_service(ctx, ctx.db(), id).await?;
    unchanged_since(&s, expected)?;
    let Ok(to) = mbps.trim().parse::<i64>() else {
        return Err(AppError::field("bandwidth_mbps", "Choose a bandwidth."));
    };
    let status = service_status(&s)?;
    if status != ServiceStatus::Active {
        return Err(AppError::Conflict(format!(
            "Only an active service can change bandwidth; this one is {}.",
            status.label()
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

fn unchanged_since(s: &service::Model, expected: Option<chrono::DateTime<chrono::Utc>>) -> Result<(), AppError> {
    if expected.is_some_and(|e| e != s.updated_at) {
        return Err(AppError::Conflict("The service changed since that ETag: GET it again and retry.".into()));
    }
    Ok(())
}

pub async fn simple_action(
    ctx: &Ctx,
    id: &str,
    action: &str,
    confirm: Option<&str>,
    expected: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), AppError> {
    let s = tenant_service(ctx, ctx.db(), id).await?;
    unchanged_since(&s, expected)?;
    let action = Action::parse(action).ok_or_else(|| AppError::field("action", "Unknown action."))?;
    // The service's machine decides what can be asked of it.
    let status = service_status(&s)?;
    let ok = match action {
        Action::Suspend => service_can(status, ServiceStatus::Suspended),
        Action::Resume => status == ServiceStatus::Suspended && service_can(status, ServiceStatus::Active),
        Action::Terminate => service_can(status, ServiceStatus::Terminating),
        Action::Modify => false,
    };
    if !ok {
        return Err(AppError::Conflict(format!(
            "A service that is {} cannot be asked to {}.",
            status.label(),
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
    let (Some(r), LegStatus::AwaitingCustomer) = (leg.external_ref.clone(), leg_status_of(&leg)?) else {
        return Err(AppError::Conflict("This leg is not waiting for you.".into()));
    };
    // What the provider (or its configuration) says is for staff: logged, not shown.
    let refused = |e: &dyn std::fmt::Display| {
        tracing::warn!(leg = %leg.id, error = %e, "customer step refused");
        AppError::Conflict(messages::CUSTOMER_STEP_FAILED.into())
    };
    let adapter =
        super::adapters::for_leg(&ctx.state, &leg.provider_id, &leg.adapter).await.map_err(|e| refused(&e))?;
    adapter.customer_action(&r).await.map_err(|e| refused(&e))?;
    let txn = ctx.db().begin_write().await?;
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

/// A service's events, newest first, `limit` of them before the event id `before` (the
/// API's list). The service must be the caller's tenant's (NotFound otherwise); one more
/// row than asked for is read, so the caller knows whether there is a next page.
pub async fn event_page(
    ctx: &Ctx,
    service_id: &str,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<service_event::Model>, AppError> {
    let s = find(ctx, service_id).await?;
    let mut q = ctx.scope()?.find::<service_event::Entity>().filter(service_event::Column::ServiceId.eq(&s.id));
    if let Some(b) = before {
        q = q.filter(service_event::Column::Id.lt(b));
    }
    Ok(q.order_by_desc(service_event::Column::Id).limit(limit + 1).all(ctx.db()).await?)
}

/// The tenant's hourly usage records, newest first, optionally of one service (the API's
/// list), `limit` + 1 of them before the record id `before`.
pub async fn usage_page(
    ctx: &Ctx,
    service_id: Option<&str>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<usage_record::Model>, AppError> {
    let mut q = ctx.scope()?.find::<usage_record::Entity>();
    if let Some(id) = service_id {
        q = q.filter(usage_record::Column::ServiceId.eq(id));
    }
    if let Some(b) = before {
        q = q.filter(usage_record::Column::Id.lt(b));
    }
    Ok(q.order_by_desc(usage_record::Column::Id).limit(limit + 1).all(ctx.db()).await?)
}
