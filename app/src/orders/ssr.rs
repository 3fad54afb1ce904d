//! Order services: placing an order from a quote, approval with separation of
//! duties, cancellation, and the tenant's ordering rules. Every transition writes a
//! history row, an audit event and (where the machine names one) an outbox event in
//! the same transaction as the change.
use crate::core::db::BeginWrite;
use chrono::Utc;
use entity::{edition, order, order_policy, order_transition, outbox_event, quote};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};

use sea_orm::sea_query::Expr;

use super::machine::{Status, can, event_for};
use super::*;
use crate::audit::ssr::{Actor, NewEvent, record};
use crate::auth::ssr::{Ctx, new_id};
use crate::catalog::money::{format as money, minor_digits};
use crate::catalog::ssr::{load_endpoint, offering_facts, quote_rows, tenant_quote, tenant_quote_in};
use crate::core::page::{Keyset, Page, PageRequest};
use crate::error::{AppError, FieldErrors};
use crate::jobs::{self, JobPayload};

/// Move an order to `to`, recording history, audit and outbox. Refuses illegal moves.
pub async fn transition(
    txn: &DatabaseTransaction,
    o: &mut order::Model,
    to: Status,
    actor: &Actor,
    reason: Option<String>,
) -> Result<(), AppError> {
    // A stored status that does not parse is an error, never a reason to skip the check.
    let from = Status::stored(&o.id, &o.status)?;
    if !can(from, to) {
        return Err(AppError::Conflict(format!("An order that is {} cannot become {}.", from.label(), to.label())));
    }
    let from = Some(from);
    let now = Utc::now();
    // Compare-and-set on the status this caller read: a concurrent transition (a customer
    // cancelling while a worker starts provisioning) makes this one fail instead of
    // silently overwriting it.
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to.as_str()))
        .col_expr(order::Column::UpdatedAt, Expr::value(now));
    if reason.is_some() && matches!(to, Status::Failed | Status::Cancelled) {
        update = update.col_expr(order::Column::StatusReason, Expr::value(reason.clone()));
    }
    let changed = update
        .filter(order::Column::Id.eq(&o.id))
        .filter(order::Column::Status.eq(&o.status))
        .exec(txn)
        .await?
        .rows_affected;
    if changed != 1 {
        return Err(AppError::Conflict("The order changed meanwhile; reload and try again.".into()));
    }
    *o = order::Entity::find_by_id(o.id.clone()).one(txn).await?.ok_or(AppError::NotFound)?;
    order_transition::ActiveModel {
        order_id: Set(o.id.clone()),
        tenant_id: Set(o.tenant_id.clone()),
        from_status: Set(from.map(|f| f.as_str().to_string())),
        to_status: Set(to.as_str().into()),
        actor_label: Set(actor.label.clone()),
        actor_id: Set(actor.id.clone()),
        reason: Set(reason.clone()),
        at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    record(
        txn,
        NewEvent::tenant(
            &o.tenant_id,
            actor.clone(),
            &format!("order.{}", to.as_str()),
            "order",
            Some(o.id.clone()),
            serde_json::json!({"number": o.number, "from": from.map(|f| f.as_str()), "to": to.as_str(), "reason": reason}),
        ),
    )
    .await?;
    if let Some(event) = event_for(from, to) {
        let ev = outbox_event::ActiveModel {
            tenant_id: Set(o.tenant_id.clone()),
            event_type: Set(event.into()),
            resource_id: Set(o.id.clone()),
            payload: Set(serde_json::json!({
                "order_id": o.id, "number": o.number, "status": to.as_str(), "previous_status": from.map(|f| f.as_str()), "reason": reason,
            })
            .to_string()),
            created_at: Set(now),
            delivered_at: Set(None),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        crate::webhooks::ssr::fan_out(txn, &ev).await?;
    }
    Ok(())
}

/// The job an order queues for provisioning (the provisioning domain handles it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProvisionOrder {
    pub order_id: String,
}

impl JobPayload for ProvisionOrder {
    const KIND: &'static str = "provision_order";
    const MAX_ATTEMPTS: i32 = 6;
}

/// Queue provisioning for an order that has just become `queued` (in the caller's transaction).
pub async fn enqueue_provisioning(txn: &DatabaseTransaction, o: &order::Model) -> Result<entity::job::Model, AppError> {
    jobs::enqueue(
        txn,
        &ProvisionOrder { order_id: o.id.clone() },
        Some(&o.tenant_id),
        Some(&o.id),
        &format!("provision:{}", o.id),
        Utc::now(),
    )
    .await
}

/// Parse a decimal amount ("5000", "1,234.50") into minor units of `currency`.
pub fn parse_amount(s: &str, currency: &str) -> Option<i64> {
    let digits = minor_digits(currency) as usize;
    let s = s.trim().replace([',', ' '], "");
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    if whole.is_empty() || frac.len() > digits || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let unit = 10i64.checked_pow(digits as u32)?;
    let frac_val = if digits == 0 { 0 } else { format!("{frac:0<digits$}").parse::<i64>().ok()? };
    whole.parse::<i64>().ok()?.checked_mul(unit)?.checked_add(frac_val)
}

async fn policy(db: &impl ConnectionTrait, tenant_id: &str) -> Result<Option<order_policy::Model>, AppError> {
    Ok(order_policy::Entity::find_by_id(tenant_id.to_string()).one(db).await?)
}

/// Whether an order of this value needs a second person's approval.
pub fn needs_approval(policy: Option<&order_policy::Model>, total_minor: i64, currency: &str) -> bool {
    match policy.and_then(|p| p.approval_threshold_minor.map(|t| (t, &p.currency))) {
        None => false,
        // Amounts in another currency cannot be compared: ask for approval.
        Some((threshold, c)) => c != currency || total_minor > threshold,
    }
}

/// Place an order from a quote: validate, price from the quote, then approve automatically
/// when below the tenant's threshold, else wait for a second approver.
pub async fn place(
    ctx: &Ctx,
    quote_id: &str,
    po_number: &str,
    cost_centre: &str,
    description: &str,
) -> Result<OrderRow, AppError> {
    let t = ctx.tenant()?.clone();
    let mut fields = FieldErrors::new();
    let po = po_number.trim();
    if po.is_empty() || po.chars().count() > 64 {
        fields.insert("po_number".into(), "Enter your purchase-order number (up to 64 characters).".into());
    }
    let cc = cost_centre.trim();
    if cc.chars().count() > 64 {
        fields.insert("cost_centre".into(), "Up to 64 characters.".into());
    }
    let desc = description.trim();
    if desc.is_empty() || desc.chars().count() > 500 {
        fields.insert("description".into(), "Describe what the connection is for (up to 500 characters).".into());
    }
    if let Some(e) = AppError::from_fields(fields) {
        return Err(e);
    }
    let q = tenant_quote(ctx, quote_id).await?;
    if q.status != "open" {
        return Err(AppError::Conflict("This quote has already been ordered.".into()));
    }
    if q.valid_until < Utc::now() {
        return Err(AppError::Conflict(
            "This quote has expired; expired quotes cannot be ordered. Create a new quote.".into(),
        ));
    }
    let pol = policy(ctx.db(), &t.id).await?;
    let approval = needs_approval(pol.as_ref(), q.total_minor, &q.currency);
    let actor = ctx.actor();
    let system = Actor::system("order-validation");
    let now = Utc::now();
    let txn = ctx.db().begin_write().await?;
    // The quota is counted and consumed under the tenant's lock, so two orders racing
    // for the last slot cannot both take it.
    crate::core::quota::lock_tenant(&txn, &t.id).await?;
    let q = tenant_quote_in(ctx, &txn, quote_id).await?;
    if q.status != "open" {
        return Err(AppError::Conflict("This quote has already been ordered.".into()));
    }
    // Edition quota: orders that hold (or will hold) a service.
    let ed = edition::Entity::find_by_id(t.edition_id.clone()).one(&txn).await?;
    let holding: Vec<&str> = Status::ALL.iter().filter(|s| s.holds_a_service()).map(|s| s.as_str()).collect();
    let held = ctx.scope()?.find::<order::Entity>().filter(order::Column::Status.is_in(holding)).count(&txn).await?;
    if let Some(ed) = &ed
        && held >= ed.max_active_services as u64
    {
        return Err(AppError::Conflict(format!(
            "The {} edition allows {} active services and {} already have one. Terminate a service or upgrade the edition.",
            ed.name, ed.max_active_services, held
        )));
    }
    let mut o = order::ActiveModel {
        id: Set(new_id()),
        tenant_id: Set(t.id.clone()),
        number: Set(crate::catalog::ssr::new_order_number()),
        quote_id: Set(q.id.clone()),
        status: Set("draft".into()),
        po_number: Set(po.into()),
        cost_centre: Set(cc.into()),
        description: Set(desc.into()),
        needs_approval: Set(approval),
        placed_by: Set(ctx.user.id.clone()),
        placed_by_email: Set(ctx.user.email.clone()),
        approved_by: Set(None),
        status_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => AppError::Conflict("This quote has already been ordered.".into()),
        other => other,
    })?;
    // The draft's own history row.
    order_transition::ActiveModel {
        order_id: Set(o.id.clone()),
        tenant_id: Set(t.id.clone()),
        from_status: Set(None),
        to_status: Set("draft".into()),
        actor_label: Set(actor.label.clone()),
        actor_id: Set(actor.id.clone()),
        reason: Set(Some(format!("from quote {}", q.number))),
        at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut qa: quote::ActiveModel = q.clone().into();
    qa.status = Set("ordered".into());
    qa.update(&txn).await?;
    transition(&txn, &mut o, Status::Submitted, &actor, None).await?;
    transition(&txn, &mut o, Status::Validating, &system, None).await?;
    // Validation: the quoted connection must still be serviceable now.
    let problems = revalidate(&txn, &q).await?;
    if !problems.is_empty() {
        transition(&txn, &mut o, Status::Failed, &system, Some(problems.join(" "))).await?;
    } else {
        transition(
            &txn,
            &mut o,
            Status::Quoted,
            &system,
            Some(format!("priced from quote {}: {}", q.number, money(q.total_minor, &q.currency))),
        )
        .await?;
        if !approval {
            transition(
                &txn,
                &mut o,
                Status::Approved,
                &Actor::system("approval-policy"),
                Some("below the approval threshold".into()),
            )
            .await?;
            transition(&txn, &mut o, Status::Queued, &Actor::system("approval-policy"), None).await?;
            enqueue_provisioning(&txn, &o).await?;
        }
    }
    txn.commit().await?;
    order_row(ctx.db(), o).await
}

async fn revalidate(txn: &DatabaseTransaction, q: &quote::Model) -> Result<Vec<String>, AppError> {
    let o = entity::offering::Entity::find_by_id(q.offering_id.clone()).one(txn).await?;
    let a = load_endpoint(txn, &q.a_endpoint_id).await?;
    let b = load_endpoint(txn, &q.b_endpoint_id).await?;
    Ok(match (o, a, b) {
        (Some(o), Some(a), Some(b)) => crate::catalog::service::check(
            &offering_facts(&o)?,
            &a.facts()?,
            &b.facts()?,
            q.bandwidth_mbps,
            q.term_months as u32,
        ),
        _ => vec!["Part of the quoted connection is no longer in the catalog.".into()],
    })
}

/// An order of the caller's tenant (NotFound for anyone else's).
pub async fn find(ctx: &Ctx, id: &str) -> Result<order::Model, AppError> {
    tenant_order(ctx, ctx.db(), id).await
}

async fn tenant_order(ctx: &Ctx, txn: &impl ConnectionTrait, id: &str) -> Result<order::Model, AppError> {
    ctx.scope()?.get::<order::Entity, _>(txn, id.to_string()).await
}

/// Approve an order waiting for approval; never by the person who placed it.
pub async fn approve(ctx: &Ctx, id: &str) -> Result<(), AppError> {
    let txn = ctx.db().begin_write().await?;
    let mut o = tenant_order(ctx, &txn, id).await?;
    if o.placed_by == ctx.user.id {
        return Err(AppError::Forbidden(
            "You placed this order: someone else with the tenant admin or billing admin role must approve it.".into(),
        ));
    }
    if o.status != Status::Quoted.as_str() {
        return Err(AppError::Conflict("This order is not waiting for approval.".into()));
    }
    let mut am: order::ActiveModel = o.clone().into();
    am.approved_by = Set(Some(ctx.user.email.clone()));
    o = am.update(&txn).await?;
    transition(&txn, &mut o, Status::Approved, &ctx.actor(), None).await?;
    transition(&txn, &mut o, Status::Queued, &Actor::system("approval-policy"), None).await?;
    enqueue_provisioning(&txn, &o).await?;
    txn.commit().await?;
    Ok(())
}

pub async fn reject(ctx: &Ctx, id: &str, reason: &str) -> Result<(), AppError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 300 {
        return Err(AppError::field("reason", "Say why (up to 300 characters); the person who placed it will see it."));
    }
    let txn = ctx.db().begin_write().await?;
    let mut o = tenant_order(ctx, &txn, id).await?;
    if o.placed_by == ctx.user.id {
        return Err(AppError::Forbidden("You placed this order: cancel it instead of rejecting it.".into()));
    }
    if o.status != Status::Quoted.as_str() {
        return Err(AppError::Conflict("This order is not waiting for approval.".into()));
    }
    transition(&txn, &mut o, Status::Cancelled, &ctx.actor(), Some(format!("rejected: {reason}"))).await?;
    txn.commit().await?;
    Ok(())
}

pub async fn cancel(ctx: &Ctx, id: &str, reason: &str) -> Result<(), AppError> {
    let reason = reason.trim();
    if reason.chars().count() > 300 {
        return Err(AppError::field("reason", "Up to 300 characters."));
    }
    let txn = ctx.db().begin_write().await?;
    let mut o = tenant_order(ctx, &txn, id).await?;
    let from = Status::stored(&o.id, &o.status)?;
    if !can(from, Status::Cancelled) {
        return Err(AppError::Conflict(format!("An order that is {} can no longer be cancelled.", from.label())));
    }
    let why = if reason.is_empty() { "cancelled by the customer".to_string() } else { reason.to_string() };
    transition(&txn, &mut o, Status::Cancelled, &ctx.actor(), Some(why)).await?;
    txn.commit().await?;
    Ok(())
}

pub async fn order_row(db: &impl ConnectionTrait, o: order::Model) -> Result<OrderRow, AppError> {
    let mut rows = order_rows(db, vec![o]).await?;
    rows.pop().ok_or_else(|| AppError::internal("order row", "no row built"))
}

/// Rows for a page of orders: their quotes in one query, catalog names in one batch.
pub async fn order_rows(db: &impl ConnectionTrait, orders: Vec<order::Model>) -> Result<Vec<OrderRow>, AppError> {
    let quote_ids: Vec<String> = orders.iter().map(|o| o.quote_id.clone()).collect();
    let quotes: Vec<quote::Model> = quote::Entity::find().filter(quote::Column::Id.is_in(quote_ids)).all(db).await?;
    let mut quotes: std::collections::HashMap<String, crate::catalog::QuoteRow> =
        quote_rows(db, quotes).await?.into_iter().map(|q| (q.id.clone(), q)).collect();
    orders
        .into_iter()
        .map(|o| {
            let qr = quotes.remove(&o.quote_id).ok_or_else(|| {
                AppError::internal("order row", format!("orders row {}: quote {} does not exist", o.id, o.quote_id))
            })?;
            let status = Status::stored(&o.id, &o.status)?;
            Ok(OrderRow {
                id: o.id,
                number: o.number,
                status: o.status.clone(),
                status_label: status.label().into(),
                status_reason: o.status_reason,
                quote_id: qr.id,
                quote_number: qr.number,
                offering: qr.offering,
                a_end: qr.a_end,
                b_end: qr.b_end,
                bandwidth: qr.bandwidth,
                term_months: qr.term_months,
                monthly: qr.monthly,
                total: qr.total,
                po_number: o.po_number,
                cost_centre: o.cost_centre,
                description: o.description,
                needs_approval: o.needs_approval,
                placed_by: o.placed_by_email,
                approved_by: o.approved_by,
                created_at: o.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                cancellable: can(status, Status::Cancelled),
            })
        })
        .collect()
}

/// The tenant's orders, newest first, one page (a bounded number of queries whatever the page).
pub async fn list(ctx: &Ctx, status: Option<String>, req: &PageRequest) -> Result<Page<OrderRow>, AppError> {
    let page = page_of(ctx, status, req).await?;
    let info = page.page_info;
    Ok(Page { items: order_rows(ctx.db(), page.items).await?, page_info: info })
}

/// One page of the tenant's orders as stored, newest first (the API's list).
pub async fn page_of(ctx: &Ctx, status: Option<String>, req: &PageRequest) -> Result<Page<order::Model>, AppError> {
    let mut q = ctx.scope()?.find::<order::Entity>();
    if let Some(s) = status.as_deref().filter(|s| !s.is_empty()) {
        let s = Status::parse(s).ok_or_else(|| AppError::field("status", "Choose a status from the list."))?;
        q = q.filter(order::Column::Status.eq(s.as_str()));
    }
    Keyset::newest(order::Column::CreatedAt, order::Column::Id).page(ctx.db(), q, req).await
}

pub async fn detail(ctx: &Ctx, id: &str) -> Result<OrderDetail, AppError> {
    let o = tenant_order(ctx, ctx.db(), id).await?;
    let placed_by = o.placed_by.clone();
    let waiting = o.status == Status::Quoted.as_str();
    let timeline = order_transition::Entity::find()
        .filter(order_transition::Column::OrderId.eq(&o.id))
        .order_by_asc(order_transition::Column::Id)
        .all(ctx.db())
        .await?
        .into_iter()
        .map(|t| TransitionRow {
            from: t.from_status,
            to: t.to_status,
            who: t.actor_label,
            when: t.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            why: t.reason,
        })
        .collect();
    let row = order_row(ctx.db(), o).await?;
    let can_approve = waiting && ctx.can(crate::auth::permissions::Perm::OrderApprove) && placed_by != ctx.user.id;
    Ok(OrderDetail {
        can_cancel: row.cancellable && ctx.can(crate::auth::permissions::Perm::OrderPlace),
        placed_by_you: placed_by == ctx.user.id,
        order: row,
        timeline,
        can_approve,
    })
}

pub async fn get_policy(ctx: &Ctx) -> Result<OrderPolicyView, AppError> {
    let t = ctx.tenant()?;
    let p = policy(ctx.db(), &t.id).await?;
    Ok(match p {
        Some(p) => OrderPolicyView {
            threshold: p.approval_threshold_minor.map(|m| money(m, &p.currency)),
            threshold_input: p
                .approval_threshold_minor
                .map(|m| {
                    let unit = 10i64.pow(minor_digits(&p.currency));
                    if unit == 1 {
                        m.to_string()
                    } else {
                        format!("{}.{:0w$}", m / unit, m % unit, w = minor_digits(&p.currency) as usize)
                    }
                })
                .unwrap_or_default(),
            currency: p.currency,
            can_edit: false,
        },
        None => {
            OrderPolicyView { threshold: None, threshold_input: String::new(), currency: "EUR".into(), can_edit: false }
        }
    })
}

pub async fn set_policy(ctx: &Ctx, threshold: &str, currency: &str) -> Result<(), AppError> {
    let t = ctx.tenant()?.clone();
    let currency = currency.trim().to_uppercase();
    if !["EUR", "USD", "GBP"].contains(&currency.as_str()) {
        return Err(AppError::field("currency", "Choose EUR, USD or GBP."));
    }
    let threshold = threshold.trim();
    let minor = if threshold.is_empty() {
        None
    } else {
        Some(parse_amount(threshold, &currency).ok_or_else(|| {
            AppError::field("threshold", "Enter an amount like 5000 or 5000.00, or leave it empty for no approvals.")
        })?)
    };
    let txn = ctx.db().begin_write().await?;
    let existing = policy(&txn, &t.id).await?;
    let am = order_policy::ActiveModel {
        tenant_id: Set(t.id.clone()),
        approval_threshold_minor: Set(minor),
        currency: Set(currency.clone()),
        updated_at: Set(Utc::now()),
    };
    if existing.is_some() {
        am.update(&txn).await?;
    } else {
        am.insert(&txn).await?;
    }
    record(
        &txn,
        NewEvent::tenant(
            &t.id,
            ctx.actor(),
            "orders.policy_changed",
            "order_policy",
            Some(t.id.clone()),
            serde_json::json!({"approval_threshold_minor": minor, "currency": currency}),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_in_minor_units_of_their_currency() {
        assert_eq!(parse_amount("5000", "EUR"), Some(500_000));
        assert_eq!(parse_amount("1,234.5", "USD"), Some(123_450));
        assert_eq!(parse_amount("0.01", "GBP"), Some(1));
        assert_eq!(parse_amount("1.234", "EUR"), None, "too many decimals");
        assert_eq!(parse_amount("1500", "JPY"), Some(1500));
        assert_eq!(parse_amount("-5", "EUR"), None);
        assert_eq!(parse_amount("", "EUR"), None);
    }

    #[test]
    fn approval_is_needed_above_the_threshold_or_in_another_currency() {
        let p = order_policy::Model {
            tenant_id: "t".into(),
            approval_threshold_minor: Some(100_000),
            currency: "EUR".into(),
            updated_at: Utc::now(),
        };
        assert!(!needs_approval(Some(&p), 100_000, "EUR"));
        assert!(needs_approval(Some(&p), 100_001, "EUR"));
        assert!(needs_approval(Some(&p), 1, "USD"));
        assert!(!needs_approval(None, i64::MAX, "EUR"));
        let off = order_policy::Model { approval_threshold_minor: None, ..p };
        assert!(!needs_approval(Some(&off), i64::MAX, "EUR"));
    }
}
