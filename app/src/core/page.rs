//! Keyset (cursor) pagination: the page DTO every list returns, and on the server the
//! one helper that filters, sorts and pages in the database.
//!
//! A cursor is opaque to clients: the sort value and id of the last row shown, encoded.
//! Following cursors costs the same at row 10 as at row 10,000 (no OFFSET), and a row
//! inserted while someone pages never shifts what they see next.
use serde::{Deserialize, Serialize};

/// Rows per page unless the caller asks for fewer or more.
pub const DEFAULT_LIMIT: u64 = 50;
/// The most rows one page may hold.
pub const MAX_LIMIT: u64 = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    /// Pass back as `cursor` for the next page.
    pub next_cursor: Option<String>,
    pub has_next_page: bool,
    /// Rows matching the filters, on every page.
    pub total: u64,
    /// Whether this page was reached through a cursor (not the first page).
    pub after_cursor: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page_info: PageInfo,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), page_info: self.page_info }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// What a list call asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PageRequest {
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

impl PageRequest {
    pub fn new(cursor: Option<String>) -> Self {
        PageRequest { cursor: cursor.filter(|c| !c.is_empty()), limit: None }
    }

    pub fn limit(&self) -> u64 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }
}

#[cfg(feature = "ssr")]
pub use keyset::*;

#[cfg(feature = "ssr")]
mod keyset {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use chrono::{DateTime, Utc};
    use sea_orm::sea_query::{Expr, ExprTrait};
    use sea_orm::{
        ConnectionTrait, EntityTrait, ModelTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
        Value,
    };

    use super::*;
    use crate::error::AppError;

    /// The type of the sort column, so a cursor decodes into the right SQL value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum SortKind {
        Time,
        Text,
        Int,
    }

    /// How a list is ordered: one sort column plus the primary key as a stable tiebreak.
    pub struct Keyset<E: EntityTrait> {
        pub sort: E::Column,
        pub kind: SortKind,
        pub id: E::Column,
        pub desc: bool,
    }

    impl<E: EntityTrait> Keyset<E> {
        /// Newest first by a time column.
        pub fn newest(sort: E::Column, id: E::Column) -> Self {
            Keyset { sort, kind: SortKind::Time, id, desc: true }
        }

        /// A–Z by a text column.
        pub fn by_text(sort: E::Column, id: E::Column) -> Self {
            Keyset { sort, kind: SortKind::Text, id, desc: false }
        }

        /// Run `select` (already filtered and scoped) as one page: one query for the
        /// total and one for the rows, whatever the page.
        pub async fn page(
            &self,
            conn: &impl ConnectionTrait,
            select: Select<E>,
            req: &PageRequest,
        ) -> Result<Page<E::Model>, AppError>
        where
            E::Model: Sync,
        {
            let after = req.cursor.as_deref().map(|c| self.decode(c)).transpose()?;
            let total = select.clone().count(conn).await?;
            let limit = req.limit();
            let mut q = select;
            if let Some((sort, id)) = &after {
                q = q.filter(self.after(sort.clone(), id.clone()));
            }
            let order = if self.desc { Order::Desc } else { Order::Asc };
            let mut rows =
                q.order_by(self.sort, order.clone()).order_by(self.id, order).limit(limit + 1).all(conn).await?;
            let has_next_page = rows.len() as u64 > limit;
            rows.truncate(limit as usize);
            let next_cursor = if has_next_page { rows.last().map(|m| self.encode(m)).transpose()? } else { None };
            Ok(Page {
                items: rows,
                page_info: PageInfo { next_cursor, has_next_page, total, after_cursor: after.is_some() },
            })
        }

        /// `(sort, id)` strictly after the cursor in this order, as one row-value
        /// comparison: SQLite and PostgreSQL both read it as a range on an index over
        /// `(.., sort, id)`, where the equivalent `sort < ? OR (sort = ? AND id < ?)` is not.
        fn after(&self, sort: Value, id: Value) -> Expr {
            let cols = Expr::tuple([Expr::col((E::default(), self.sort)), Expr::col((E::default(), self.id))]);
            let vals = Expr::tuple([Expr::val(sort), Expr::val(id)]);
            if self.desc { cols.lt(vals) } else { cols.gt(vals) }
        }

        fn encode(&self, m: &E::Model) -> Result<String, AppError> {
            let sort = to_json(m.get(self.sort))?;
            let id = to_json(m.get(self.id))?;
            let raw = serde_json::to_vec(&serde_json::json!([sort, id]))
                .map_err(|e| AppError::internal("cursor encode", e))?;
            Ok(URL_SAFE_NO_PAD.encode(raw))
        }

        fn decode(&self, cursor: &str) -> Result<(Value, Value), AppError> {
            let bad = || {
                AppError::BadRequest(
                    "That page link is not valid (unknown cursor). Start again from the first page.".into(),
                )
            };
            let raw = URL_SAFE_NO_PAD.decode(cursor.as_bytes()).map_err(|_| bad())?;
            let (sort, id): (serde_json::Value, serde_json::Value) = serde_json::from_slice(&raw).map_err(|_| bad())?;
            let sort = from_json(sort, self.kind).ok_or_else(bad)?;
            let id = match id {
                serde_json::Value::String(s) => Value::from(s),
                serde_json::Value::Number(n) => Value::from(n.as_i64().ok_or_else(bad)?),
                _ => return Err(bad()),
            };
            Ok((sort, id))
        }
    }

    fn to_json(v: Value) -> Result<serde_json::Value, AppError> {
        Ok(match v {
            Value::String(Some(s)) => serde_json::Value::String(s.to_string()),
            Value::ChronoDateTimeUtc(Some(t)) => serde_json::Value::String(t.to_rfc3339()),
            Value::BigInt(Some(n)) => n.into(),
            Value::Int(Some(n)) => n.into(),
            other => return Err(AppError::internal("cursor encode", format!("unsupported sort value {other:?}"))),
        })
    }

    fn from_json(v: serde_json::Value, kind: SortKind) -> Option<Value> {
        match (kind, v) {
            (SortKind::Time, serde_json::Value::String(s)) => {
                DateTime::parse_from_rfc3339(&s).ok().map(|t| Value::from(t.with_timezone(&Utc)))
            }
            (SortKind::Text, serde_json::Value::String(s)) => Some(Value::from(s)),
            (SortKind::Int, serde_json::Value::Number(n)) => n.as_i64().map(Value::from),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_clamped() {
        assert_eq!(PageRequest::default().limit(), DEFAULT_LIMIT);
        assert_eq!(PageRequest { cursor: None, limit: Some(10_000) }.limit(), MAX_LIMIT);
        assert_eq!(PageRequest { cursor: None, limit: Some(0) }.limit(), 1);
        assert_eq!(PageRequest::new(Some(String::new())).cursor, None);
    }
}
