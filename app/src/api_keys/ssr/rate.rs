//! Per-tenant API rate limits: token buckets (a refill rate per minute and a burst, both
//! edition data), one for reads and one for writes, that hold across replicas without a
//! database query per request.
//!
//! The mechanism: every replica keeps each bucket in memory and decides locally. Every
//! [`SYNC_MS`] its sync task writes its own running total of requests per bucket (one row
//! per replica and bucket, only ever overwritten by that replica) and reads the other
//! replicas' totals; what the others consumed since the last sync is taken from the local
//! bucket too. So each replica holds the same shared bucket (burst + rate × time − every
//! replica's requests), late by one sync at most. Between two syncs a replica may spend
//! only its share (1/R, with R the replicas that reported in the last hour) of the tokens
//! it saw at the last sync, so R replicas together never spend more than the bucket holds;
//! a client that talks to one replica of several gets its burst over a few syncs (half,
//! then half of the rest, …: 97% within a second at R = 2) rather than at once. Each row also carries its
//! replica's view of the bucket, so a replica that starts using a bucket (or starts at all)
//! begins from the freshest view another replica published, not from a full bucket.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use chrono::{Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::error::AppError;
use entity::rate_consumption as rc;

/// How often replicas exchange their totals.
pub const SYNC_MS: u64 = 200;

/// A bucket's refill per minute and its capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_minute: u32,
    pub burst: u32,
}

/// Which bucket a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Read,
    Write,
}

impl Class {
    fn as_str(self) -> &'static str {
        match self {
            Class::Read => "read",
            Class::Write => "write",
        }
    }
}

/// The answer for one request, with what the `X-RateLimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    /// Requests per minute.
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
    /// Seconds until one request is allowed (when refused).
    pub retry_after_secs: u64,
}

struct Bucket {
    tokens: f64,
    at: Instant,
    /// This replica's requests, ever (what it reports).
    mine: i64,
    /// Each other replica's total, as of the last sync (a replica's increase is what comes
    /// off; a row that ages out or a restarted replica never gives tokens back).
    others: HashMap<String, i64>,
    /// Made before this replica's first sync: the first sync only takes the baseline.
    baseline: bool,
    /// What this replica may still spend before the next sync, and its share (1/R).
    budget: f64,
    share: f64,
    /// `mine` as last written, and when (an idle bucket is rewritten once a minute only).
    flushed: Option<(i64, Instant)>,
}

/// What a replica may spend until the next sync: its share of the tokens, but at least one
/// request when the bucket holds one (so a small burst over many replicas still serves).
fn allowance(tokens: f64, share: f64) -> f64 {
    (tokens * share).max(tokens.clamp(0.0, 1.0))
}

impl Bucket {
    fn new(tokens: f64, at: Instant, others: HashMap<String, i64>, share: f64, baseline: bool) -> Self {
        Bucket { tokens, at, mine: 0, others, baseline, budget: allowance(tokens, share), share, flushed: None }
    }

    fn refill(&mut self, l: Limits, now: Instant) {
        let per_sec = f64::from(l.per_minute) / 60.0;
        let added = per_sec * now.duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + added).min(f64::from(l.burst));
        self.budget = (self.budget + added * self.share).min(self.tokens);
        self.at = now;
    }
}

/// The buckets of this replica (held in `AppState`).
pub struct RateLimiter {
    replica: String,
    buckets: Mutex<HashMap<String, (Bucket, Limits)>>,
    /// Per bucket, from the last sync: the other replicas' total, and the freshest view
    /// of the bucket one of them published (tokens, when), for buckets not yet used here.
    seen: Mutex<HashMap<String, Seen>>,
    /// Other replicas that reported in the last hour, as of the last sync.
    replicas: Mutex<usize>,
    /// Whether a sync has completed (buckets made before it take their first baseline).
    synced: Mutex<bool>,
}

#[derive(Debug, Clone)]
struct Seen {
    /// Replica → its total for the bucket.
    others: HashMap<String, i64>,
    tokens: f64,
    at: chrono::DateTime<Utc>,
    /// This replica's share of the bucket between syncs: 1 / (replicas reporting + 1).
    share: f64,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            replica: uuid::Uuid::new_v4().simple().to_string(),
            buckets: Mutex::default(),
            seen: Mutex::default(),
            replicas: Mutex::new(0),
            synced: Mutex::new(false),
        }
    }
}

fn bucket_key(tenant_id: &str, class: Class) -> String {
    format!("{tenant_id}:{}", class.as_str())
}

impl RateLimiter {
    fn share(&self) -> f64 {
        1.0 / (*self.replicas.lock().unwrap_or_else(|e| e.into_inner()) as f64 + 1.0)
    }

    /// Take one request from the tenant's bucket, if it has one to give.
    pub fn check(&self, tenant_id: &str, class: Class, limits: Limits) -> Decision {
        let now = Instant::now();
        let key = bucket_key(tenant_id, class);
        // A panic elsewhere while holding the lock leaves the counts usable: keep limiting.
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let synced = *self.synced.lock().unwrap_or_else(|e| e.into_inner());
        let (b, l) = buckets.entry(key).or_insert_with_key(|key| {
            let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner()).get(key).cloned();
            let bucket = match seen {
                // Start from another replica's view, refilled since it was published.
                Some(s) => {
                    let age = (Utc::now() - s.at).to_std().unwrap_or_default();
                    let at = now.checked_sub(age).unwrap_or(now);
                    Bucket::new(s.tokens.min(f64::from(limits.burst)), at, s.others, s.share, false)
                }
                None => Bucket::new(f64::from(limits.burst), now, HashMap::new(), self.share(), !synced),
            };
            (bucket, limits)
        });
        if *l != limits {
            // The edition changed: keep what is used, at the new capacity.
            b.tokens = b.tokens.min(f64::from(limits.burst));
            *l = limits;
        }
        b.refill(limits, now);
        let per_sec = (f64::from(limits.per_minute) / 60.0).max(f64::MIN_POSITIVE);
        let allowed = b.tokens >= 1.0 && b.budget >= 1.0;
        if allowed {
            b.tokens -= 1.0;
            b.budget -= 1.0;
            b.mine += 1;
        }
        let remaining = b.tokens.min(b.budget).max(0.0).floor() as u32;
        let reset_secs = ((f64::from(limits.burst) - b.tokens) / per_sec).ceil().max(0.0) as u64;
        let short = (1.0 - b.tokens).max(0.0).max((1.0 - b.budget) / b.share);
        let retry_after_secs = if allowed { 0 } else { (short / per_sec).ceil().max(1.0) as u64 };
        Decision { allowed, limit: limits.per_minute, remaining, reset_secs, retry_after_secs }
    }

    /// Report this replica's totals and take in the others'. One upsert per bucket used
    /// here and one read of the others' recent totals.
    pub async fn sync(&self, db: &impl ConnectionTrait) -> Result<(), AppError> {
        let now = Utc::now();
        let instant = Instant::now();
        let alone = *self.replicas.lock().unwrap_or_else(|e| e.into_inner()) == 0;
        let mine: Vec<(String, i64, i64)> = {
            let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
            b.iter_mut()
                .filter_map(|(k, (b, l))| {
                    // Alone (no other replica reported), a heartbeat every 10 s is enough for
                    // a replica that starts to find this one; with others, every change goes.
                    let fresh = b.flushed.is_some_and(|(n, at)| {
                        let age = instant.duration_since(at);
                        (n == b.mine && age < std::time::Duration::from_secs(60))
                            || (alone && age < std::time::Duration::from_secs(10))
                    });
                    if fresh {
                        return None;
                    }
                    b.refill(*l, instant);
                    b.flushed = Some((b.mine, instant));
                    Some((k.clone(), b.mine, (b.tokens * 1000.0) as i64))
                })
                .collect()
        };
        for (bucket, consumed, tokens_milli) in &mine {
            let row = rc::ActiveModel {
                replica: sea_orm::ActiveValue::Set(self.replica.clone()),
                bucket: sea_orm::ActiveValue::Set(bucket.clone()),
                consumed: sea_orm::ActiveValue::Set(*consumed),
                tokens_milli: sea_orm::ActiveValue::Set(*tokens_milli),
                updated_at: sea_orm::ActiveValue::Set(now),
            };
            rc::Entity::insert(row)
                .on_conflict(
                    OnConflict::columns([rc::Column::Replica, rc::Column::Bucket])
                        .update_columns([rc::Column::Consumed, rc::Column::TokensMilli, rc::Column::UpdatedAt])
                        .to_owned(),
                )
                .exec(db)
                .await?;
        }
        let rows = rc::Entity::find()
            .filter(rc::Column::Replica.ne(self.replica.clone()))
            .filter(rc::Column::UpdatedAt.gt(now - Duration::hours(1)))
            .all(db)
            .await?;
        let replicas: std::collections::HashSet<&str> = rows.iter().map(|r| r.replica.as_str()).collect();
        let share = 1.0 / (replicas.len() as f64 + 1.0);
        *self.replicas.lock().unwrap_or_else(|e| e.into_inner()) = replicas.len();
        let mut seen: HashMap<String, Seen> = HashMap::new();
        for r in rows {
            let s = seen.entry(r.bucket.clone()).or_insert(Seen {
                others: HashMap::new(),
                tokens: 0.0,
                at: r.updated_at,
                share,
            });
            s.others.insert(r.replica.clone(), r.consumed);
            if r.updated_at >= s.at {
                s.tokens = r.tokens_milli as f64 / 1000.0;
                s.at = r.updated_at;
            }
        }
        {
            let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
            for (key, (b, _)) in buckets.iter_mut() {
                let mut taken = 0;
                if let Some(s) = seen.get(key) {
                    for (replica, total) in &s.others {
                        let before = b.others.get(replica).copied();
                        // Nothing seen of that replica yet: its whole total is new, unless this
                        // bucket is taking its first baseline.
                        let base = before.unwrap_or(if b.baseline { *total } else { 0 });
                        taken += (total - base).max(0);
                        b.others.insert(replica.clone(), (*total).max(before.unwrap_or(0)));
                    }
                }
                b.baseline = false;
                b.tokens -= taken as f64;
                b.share = share;
                b.budget = allowance(b.tokens, share);
            }
        }
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = seen;
        *self.synced.lock().unwrap_or_else(|e| e.into_inner()) = true;
        Ok(())
    }

    /// Forget other replicas' rows not updated for an hour (housekeeping).
    pub async fn prune(db: &impl ConnectionTrait) -> Result<u64, AppError> {
        Ok(rc::Entity::delete_many()
            .filter(rc::Column::UpdatedAt.lt(Utc::now() - Duration::hours(1)))
            .exec(db)
            .await?
            .rows_affected)
    }
}

/// Keep this replica's buckets in step with the others' until the task is aborted.
pub async fn run_sync(limiter: std::sync::Arc<RateLimiter>, db: sea_orm::DatabaseConnection) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(SYNC_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = limiter.sync(&db).await {
            tracing::warn!(error = %e, "rate limits: sync failed; deciding on this replica's counts");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_gives_its_burst_then_refuses_with_retry_after() {
        let r = RateLimiter::default();
        let l = Limits { per_minute: 60, burst: 3 };
        let d: Vec<Decision> = (0..4).map(|_| r.check("t", Class::Write, l)).collect();
        assert!(d[..3].iter().all(|d| d.allowed));
        assert_eq!(d[2].remaining, 0);
        assert!(!d[3].allowed);
        assert_eq!(d[3].retry_after_secs, 1, "one token a second at 60/min");
        assert_eq!(d[3].limit, 60);
        // Reads have their own bucket; other tenants too.
        assert!(r.check("t", Class::Read, l).allowed);
        assert!(r.check("u", Class::Write, l).allowed);
    }

    #[test]
    fn another_replicas_requests_come_off_this_replicas_bucket() {
        let r = RateLimiter::default();
        let l = Limits { per_minute: 60, burst: 10 };
        assert!(r.check("t", Class::Read, l).allowed);
        // As a sync does when another replica reports 9 requests for the bucket.
        if let Ok(mut b) = r.buckets.lock() {
            let (b, _) = b.get_mut("t:read").expect("bucket");
            b.tokens -= 9.0;
            b.budget -= 9.0;
            b.others.insert("other".into(), 9);
        }
        let d = r.check("t", Class::Read, l);
        assert!(!d.allowed || d.remaining == 0, "{d:?}");
    }
}
