//! tower-sessions store over sea-orm, so sessions live in the same database
//! (SQLite or PostgreSQL) as everything else. The row key is the SHA-256 of
//! the session id: a copy of the table does not hand out live sessions.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use entity::session;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};

/// Session keys with their own columns.
pub const KEY_USER: &str = "uid";
pub const KEY_IP: &str = "ip";
pub const KEY_USER_AGENT: &str = "ua";
/// The selected tenant (also kept in its own column, for per-tenant session counts).
pub const KEY_TENANT: &str = "tid";

/// An unchanged session is written back at most this often. tower-sessions saves every
/// session on every request to slide its idle expiry (`Expiry::OnInactivity`), which made
/// every page view a database write; sliding by less than this changes nothing a user
/// notices (the idle timeout is hours; "last seen" is shown to the minute).
const TOUCH_EVERY_SECS: i64 = 60;
/// The store's memory of stored sessions is cleared when it grows past this many.
const LOADED_MAX: usize = 10_000;

/// A session's data, as tower-sessions holds it.
type Data = HashMap<String, serde_json::Value>;

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: DatabaseConnection,
    /// What this process last read or wrote, by row key: the stored data and expiry, so
    /// `save` can tell an unchanged session from a changed one. Every `load` refreshes its
    /// entry, so a change another replica made is seen at the start of the next request.
    loaded: Arc<Mutex<HashMap<String, (Data, i64)>>>,
}

impl DbSessionStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db, loaded: Arc::default() }
    }

    fn remember(&self, key: String, data: Data, expires: i64) {
        let mut loaded = self.loaded.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if loaded.len() >= LOADED_MAX {
            loaded.clear();
        }
        loaded.insert(key, (data, expires));
    }

    /// Whether `save` may skip writing: the data is what is stored and the expiry moved by
    /// less than [`TOUCH_EVERY_SECS`].
    fn unchanged(&self, key: &str, data: &Data, expires: i64) -> bool {
        let loaded = self.loaded.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        loaded.get(key).is_some_and(|(d, e)| d == data && (expires - e).abs() < TOUCH_EVERY_SECS)
    }

    /// Delete expired sessions; returns how many.
    pub async fn delete_expired(&self) -> std::result::Result<u64, sea_orm::DbErr> {
        let res =
            session::Entity::delete_many().filter(session::Column::ExpiresAt.lt(Utc::now())).exec(&self.db).await?;
        Ok(res.rows_affected)
    }
}

/// The stored key of a session id.
pub fn session_key(id: &Id) -> String {
    hex::encode(Sha256::digest(id.to_string().as_bytes()))
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

fn to_chrono(t: time::OffsetDateTime) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_else(Utc::now)
}

fn str_of(record: &Record, key: &str) -> Option<String> {
    record.data.get(key).and_then(|v| v.as_str()).map(str::to_owned)
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // Ids are 128 random bits; on the astronomically unlikely collision, draw again.
        loop {
            let key = session_key(&record.id);
            let exists = session::Entity::find_by_id(key).one(&self.db).await.map_err(backend)?;
            if exists.is_none() {
                break;
            }
            record.id = Id::default();
        }
        self.save(record).await
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let now = Utc::now();
        let key = session_key(&record.id);
        if self.unchanged(&key, &record.data, record.expiry_date.unix_timestamp()) {
            return Ok(());
        }
        let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
        let row = session::ActiveModel {
            id: Set(key.clone()),
            data: Set(data),
            expires_at: Set(to_chrono(record.expiry_date)),
            user_id: Set(str_of(record, KEY_USER)),
            tenant_id: Set(str_of(record, KEY_TENANT)),
            ip: Set(str_of(record, KEY_IP)),
            user_agent: Set(str_of(record, KEY_USER_AGENT)),
            created_at: Set(now),
            last_seen_at: Set(now),
        };
        session::Entity::insert(row)
            .on_conflict(
                OnConflict::column(session::Column::Id)
                    .update_columns([
                        session::Column::Data,
                        session::Column::ExpiresAt,
                        session::Column::UserId,
                        session::Column::TenantId,
                        session::Column::Ip,
                        session::Column::UserAgent,
                        session::Column::LastSeenAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(backend)?;
        self.remember(key, record.data.clone(), record.expiry_date.unix_timestamp());
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let row = session::Entity::find_by_id(session_key(id))
            .filter(session::Column::ExpiresAt.gt(Utc::now()))
            .one(&self.db)
            .await
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let data: Data = serde_json::from_str(&row.data).map_err(|e| Error::Decode(e.to_string()))?;
        self.remember(row.id.clone(), data.clone(), row.expires_at.timestamp());
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(row.expires_at.timestamp())
            .map_err(|e| Error::Decode(e.to_string()))?;
        Ok(Some(Record { id: *id, data, expiry_date }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.loaded.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&session_key(id));
        session::Entity::delete_by_id(session_key(id)).exec(&self.db).await.map_err(backend)?;
        Ok(())
    }
}
