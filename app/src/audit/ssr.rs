//! Writing, reading and verifying the audit trail.
use chrono::{DateTime, Utc};
use entity::{audit_chain_head as head, audit_event as ev};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionSession, TransactionTrait,
};

use super::chain::{Canonical, GENESIS, PLATFORM_CHAIN};
use super::{AuditFilter, AuditRow};
use crate::error::AppError;

/// Who did it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: &'static str,
    pub id: Option<String>,
    pub label: String,
}

impl Actor {
    pub fn user(id: &str, email: &str) -> Self {
        Self { kind: "user", id: Some(id.to_string()), label: email.to_string() }
    }
    /// Someone not (yet) signed in, named by what they typed.
    pub fn anonymous(label: &str) -> Self {
        Self { kind: "anonymous", id: None, label: label.chars().take(200).collect() }
    }
    pub fn system(label: &str) -> Self {
        Self { kind: "system", id: None, label: label.to_string() }
    }
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub tenant_id: Option<String>,
    pub actor: Actor,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub success: bool,
    pub details: serde_json::Value,
}

impl NewEvent {
    pub fn platform(
        actor: Actor,
        action: &str,
        resource_type: &str,
        resource_id: Option<String>,
        success: bool,
        details: serde_json::Value,
    ) -> Self {
        Self {
            tenant_id: None,
            actor,
            action: action.into(),
            resource_type: resource_type.into(),
            resource_id,
            success,
            details,
        }
    }
    pub fn tenant(
        tenant_id: &str,
        actor: Actor,
        action: &str,
        resource_type: &str,
        resource_id: Option<String>,
        details: serde_json::Value,
    ) -> Self {
        Self {
            tenant_id: Some(tenant_id.to_string()),
            actor,
            action: action.into(),
            resource_type: resource_type.into(),
            resource_id,
            success: true,
            details,
        }
    }
}

/// The timestamp format that is stored and hashed.
pub fn format_at(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn trace_id() -> Option<String> {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|p| p.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned))
}

/// Append an event. Call it with the same transaction as the change it records, or with the
/// pool for an event that stands alone (a sign-in).
///
/// The append (bump the chain's head, read it, insert the event, move the head's hash) runs
/// in a transaction of its own: a savepoint inside the caller's transaction, or a
/// transaction on the pool. Without one, two appends to one chain on different pooled
/// connections could both read the same sequence number (the second then failed as a
/// duplicate: a 409 on sign-in while a colleague saved a quote) or chain off the same hash.
pub async fn record<C: ConnectionTrait + TransactionTrait>(outer: &C, e: NewEvent) -> Result<(), AppError> {
    #[allow(clippy::disallowed_methods)] // its first statement writes: it never upgrades a read snapshot
    let txn = outer.begin().await?;
    let conn = &txn;
    let chain = e.tenant_id.clone().unwrap_or_else(|| PLATFORM_CHAIN.to_string());
    // Make sure the chain has a head, then bump it first: the row lock (PostgreSQL) or
    // write lock (SQLite) serialises appends to one chain.
    head::Entity::insert(head::ActiveModel { chain: Set(chain.clone()), seq: Set(0), hash: Set(GENESIS.into()) })
        .on_conflict(OnConflict::column(head::Column::Chain).do_nothing().to_owned())
        .exec_without_returning(conn)
        .await?;
    head::Entity::update_many()
        .col_expr(head::Column::Seq, Expr::col(head::Column::Seq).add(1))
        .filter(head::Column::Chain.eq(&chain))
        .exec(conn)
        .await?;
    let h = head::Entity::find_by_id(chain.clone())
        .one(conn)
        .await?
        .ok_or_else(|| AppError::internal("audit", "chain head vanished"))?;
    let at = format_at(Utc::now());
    let details = e.details.to_string();
    let trace = trace_id();
    let outcome = if e.success { "success" } else { "failure" };
    let hash = Canonical {
        chain: &chain,
        seq: h.seq,
        at: &at,
        tenant_id: e.tenant_id.as_deref(),
        actor_type: e.actor.kind,
        actor_id: e.actor.id.as_deref(),
        actor_label: &e.actor.label,
        action: &e.action,
        resource_type: &e.resource_type,
        resource_id: e.resource_id.as_deref(),
        outcome,
        details: &details,
        trace_id: trace.as_deref(),
        prev_hash: &h.hash,
    }
    .hash();
    ev::Entity::insert(ev::ActiveModel {
        chain: Set(chain.clone()),
        seq: Set(h.seq),
        at: Set(at),
        tenant_id: Set(e.tenant_id),
        actor_type: Set(e.actor.kind.into()),
        actor_id: Set(e.actor.id),
        actor_label: Set(e.actor.label),
        action: Set(e.action),
        resource_type: Set(e.resource_type),
        resource_id: Set(e.resource_id),
        outcome: Set(outcome.into()),
        details: Set(details),
        trace_id: Set(trace),
        prev_hash: Set(h.hash),
        hash: Set(hash.clone()),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await?;
    head::Entity::update_many()
        .col_expr(head::Column::Hash, Expr::value(hash))
        .filter(head::Column::Chain.eq(&chain))
        .exec(conn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// The first row that does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tampered {
    pub id: i64,
    pub chain: String,
    pub seq: i64,
    pub reason: String,
}

/// Result of verifying every chain.
#[derive(Debug, Clone, Default)]
pub struct Verification {
    pub chains: usize,
    pub events: u64,
    pub first_bad: Option<Tampered>,
}

fn canonical_of(r: &ev::Model) -> Canonical<'_> {
    Canonical {
        chain: &r.chain,
        seq: r.seq,
        at: &r.at,
        tenant_id: r.tenant_id.as_deref(),
        actor_type: &r.actor_type,
        actor_id: r.actor_id.as_deref(),
        actor_label: &r.actor_label,
        action: &r.action,
        resource_type: &r.resource_type,
        resource_id: r.resource_id.as_deref(),
        outcome: &r.outcome,
        details: &r.details,
        trace_id: r.trace_id.as_deref(),
        prev_hash: &r.prev_hash,
    }
}

/// Recompute every chain; stops at the first bad row.
pub async fn verify(db: &DatabaseConnection) -> Result<Verification, sea_orm::DbErr> {
    let heads = head::Entity::find().order_by_asc(head::Column::Chain).all(db).await?;
    let mut out = Verification { chains: heads.len(), ..Default::default() };
    for h in heads {
        let mut expected_prev = GENESIS.to_string();
        let mut expected_seq = 1i64;
        let mut last_id = None::<i64>;
        loop {
            let mut q =
                ev::Entity::find().filter(ev::Column::Chain.eq(&h.chain)).filter(ev::Column::Seq.gte(expected_seq));
            if let Some(id) = last_id {
                q = q.filter(ev::Column::Id.ne(id));
            }
            let rows = q.order_by_asc(ev::Column::Seq).limit(1000).all(db).await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                out.events += 1;
                let bad =
                    |reason: &str| Tampered { id: r.id, chain: r.chain.clone(), seq: r.seq, reason: reason.into() };
                if r.seq != expected_seq {
                    out.first_bad = Some(bad(&format!("sequence gap: expected {expected_seq}, found {}", r.seq)));
                    return Ok(out);
                }
                if r.prev_hash != expected_prev {
                    out.first_bad = Some(bad("prev_hash does not match the previous event's hash"));
                    return Ok(out);
                }
                if canonical_of(&r).hash() != r.hash {
                    out.first_bad = Some(bad("hash does not match the event's contents"));
                    return Ok(out);
                }
                expected_prev = r.hash.clone();
                expected_seq += 1;
                last_id = Some(r.id);
            }
        }
        if h.seq != expected_seq - 1 || h.hash != expected_prev {
            out.first_bad = Some(Tampered {
                id: last_id.unwrap_or(0),
                chain: h.chain.clone(),
                seq: expected_seq - 1,
                reason: format!(
                    "chain ends at seq {} but its head says {}: events were removed",
                    expected_seq - 1,
                    h.seq
                ),
            });
            return Ok(out);
        }
    }
    Ok(out)
}

fn parse_day(s: &str, end: bool) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let t = if end { d.and_hms_opt(23, 59, 59)? } else { d.and_hms_opt(0, 0, 0)? };
    Some(t.and_utc())
}

/// Validate a filter's free-text fields; returns field errors.
pub fn check_filter(f: &AuditFilter) -> Result<(), AppError> {
    let mut fields = crate::error::FieldErrors::new();
    for (name, v, end) in [("from", &f.from, false), ("to", &f.to, true)] {
        if let Some(v) = v
            && !v.trim().is_empty()
            && parse_day(v, end).is_none()
        {
            fields.insert(name.into(), "Use a date like 2026-11-23.".into());
        }
    }
    AppError::from_fields(fields).map_or(Ok(()), Err)
}

/// Events matching a filter, newest first. `chain_scope`: `Some(tenant)` limits to
/// one tenant; `None` (platform admins) is every event, or the filter's tenant.
pub async fn query(
    db: &DatabaseConnection,
    scope: &crate::core::scope::Scope,
    f: &AuditFilter,
    limit: u64,
    upto: Option<i64>,
) -> Result<Vec<ev::Model>, AppError> {
    let mut q = scope.find::<ev::Entity>();
    // Platform staff may narrow their cross-tenant view to one chain.
    if scope.is_everyone() {
        match f.tenant.as_deref().map(str::trim) {
            Some("platform") => q = q.filter(ev::Column::Chain.eq(PLATFORM_CHAIN)),
            Some(t) if !t.is_empty() => q = q.filter(ev::Column::Chain.eq(t)),
            _ => {}
        }
    }
    let like = |s: &str| format!("%{}%", s.trim().replace(['%', '_'], ""));
    if let Some(a) = f.actor.as_deref().filter(|s| !s.trim().is_empty()) {
        q = q.filter(ev::Column::ActorLabel.like(like(a)));
    }
    if let Some(a) = f.action.as_deref().filter(|s| !s.trim().is_empty()) {
        q = q.filter(ev::Column::Action.like(format!("{}%", a.trim().replace('%', ""))));
    }
    if let Some(r) = f.resource.as_deref().filter(|s| !s.trim().is_empty()) {
        q = q.filter(ev::Column::ResourceType.eq(r.trim()));
    }
    if let Some(t) = f.from.as_deref().and_then(|s| parse_day(s, false)) {
        q = q.filter(ev::Column::At.gte(format_at(t)));
    }
    if let Some(t) = f.to.as_deref().and_then(|s| parse_day(s, true)) {
        q = q.filter(ev::Column::At.lte(format_at(t)));
    }
    if let Some(b) = f.before {
        q = q.filter(ev::Column::Id.lt(b));
    }
    if let Some(u) = upto {
        q = q.filter(ev::Column::Id.lte(u));
    }
    Ok(q.order_by_desc(ev::Column::Id).limit(limit).all(db).await?)
}

/// Rows for display, with each tenant's slug filled in.
pub async fn to_rows(db: &DatabaseConnection, rows: Vec<ev::Model>) -> Result<Vec<AuditRow>, AppError> {
    let mut ids: Vec<String> = rows.iter().filter_map(|r| r.tenant_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let slugs: std::collections::HashMap<String, String> = entity::tenant::Entity::find()
        .filter(entity::tenant::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.slug))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let label = r.tenant_id.as_ref().map(|t| slugs.get(t).cloned().unwrap_or_else(|| "purged tenant".into()));
            AuditRow { tenant_label: label, ..to_row(r) }
        })
        .collect())
}

pub fn to_row(r: ev::Model) -> AuditRow {
    AuditRow {
        id: r.id,
        at: r.at,
        tenant_id: r.tenant_id,
        tenant_label: None,
        actor_type: r.actor_type,
        actor_label: r.actor_label,
        action: r.action,
        resource_type: r.resource_type,
        resource_id: r.resource_id,
        outcome: r.outcome,
        details: r.details,
        hash: r.hash,
    }
}
