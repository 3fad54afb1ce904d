//! What every `/v1` resource shares: list parameters (`limit`, `cursor`, `filter`, `sort`,
//! checked against the fields a resource documents), the list and money shapes, RFC 3339
//! times, strong ETags with `If-None-Match` / `If-Match`, and JSON bodies whose errors are
//! problem+json naming the field.
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use app::core::page::{MAX_LIMIT, PageRequest};

use super::Problem;
use super::problem::FieldProblem;

/// The largest request body the API reads (documented in the API description).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An amount of money: minor units (cents) and an ISO 4217 currency.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
}

impl Money {
    pub fn new(amount_minor: i64, currency: &str) -> Self {
        Money { amount_minor, currency: currency.to_string() }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub next_cursor: Option<String>,
    pub has_next_page: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct List<T: utoipa::ToSchema> {
    pub items: Vec<T>,
    pub page_info: PageInfo,
}

impl<T: utoipa::ToSchema> List<T> {
    pub fn of<M>(page: app::core::page::Page<M>, f: impl FnMut(M) -> T) -> Self {
        List {
            page_info: PageInfo {
                next_cursor: page.page_info.next_cursor.clone(),
                has_next_page: page.page_info.has_next_page,
            },
            items: page.items.into_iter().map(f).collect(),
        }
    }
}

/// For lists paged by a numeric id, newest first: the cursor is the last id shown.
pub fn id_cursor(p: &ListParams) -> Result<Option<i64>, Problem> {
    match p.page.cursor.as_deref() {
        None => Ok(None),
        Some(c) => c.parse::<i64>().map(Some).map_err(|_| {
            Problem::new(http::StatusCode::BAD_REQUEST, "bad-cursor", "The cursor is not one this list gave out.")
        }),
    }
}

/// A page from `limit + 1` rows read newest first by id: the extra row only says there is more.
pub fn id_page<M, T: utoipa::ToSchema>(
    mut rows: Vec<M>,
    limit: u64,
    id: impl Fn(&M) -> i64,
    f: impl FnMut(M) -> Result<T, Problem>,
) -> Result<List<T>, Problem> {
    let has_next_page = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if has_next_page { rows.last().map(|r| id(r).to_string()) } else { None };
    Ok(List {
        items: rows.into_iter().map(f).collect::<Result<_, _>>()?,
        page_info: PageInfo { next_cursor, has_next_page },
    })
}

/// `limit` and `cursor`, as every list documents them (filters and sorts are documented
/// per operation, next to this in `params(…)`; handlers check the raw pairs so an unknown
/// parameter is refused by name).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u64>,
    /// `pageInfo.nextCursor` of the previous page.
    cursor: Option<String>,
}

/// `limit`, `cursor`, `filter=field:eq:value,…` and `sort`, checked against what the
/// resource documents; anything else is refused by name.
#[derive(Debug, Default)]
pub struct ListParams {
    pub page: PageRequest,
    filters: Vec<(String, String)>,
}

impl ListParams {
    /// The value of `field:eq:<value>`, if the request filters on it.
    pub fn eq(&self, field: &str) -> Option<String> {
        self.filters.iter().find(|(f, _)| f == field).map(|(_, v)| v.clone())
    }
}

pub fn list_params(query: &[(String, String)], filters: &[&str], sorts: &[&str]) -> Result<ListParams, Problem> {
    let mut out = ListParams::default();
    let mut errors = Vec::new();
    let mut bad = |path: &str, code: &str, message: String| {
        errors.push(FieldProblem { path: path.into(), code: code.into(), message })
    };
    for (k, v) in query {
        match k.as_str() {
            "limit" => match v.parse::<u64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => out.page.limit = Some(n),
                _ => bad("limit", "out_of_range", format!("limit is a number from 1 to {MAX_LIMIT}.")),
            },
            "cursor" => out.page.cursor = Some(v.clone()).filter(|c| !c.is_empty()),
            "filter" => {
                for f in v.split(',').filter(|f| !f.is_empty()) {
                    let mut parts = f.splitn(3, ':');
                    match (parts.next(), parts.next(), parts.next()) {
                        (Some(field), Some("eq"), Some(value)) if filters.contains(&field) => {
                            if out.filters.iter().any(|(f, _)| f == field) {
                                bad("filter", "duplicate_filter", format!("{field} is filtered on twice."));
                            } else {
                                out.filters.push((field.to_string(), value.to_string()))
                            }
                        }
                        _ if filters.is_empty() => {
                            bad("filter", "unsupported_filter", "This list has no filters.".into())
                        }
                        _ => bad(
                            "filter",
                            "unsupported_filter",
                            format!(
                                "\u{201c}{f}\u{201d} is not a supported filter; use {}.",
                                filters.iter().map(|f| format!("{f}:eq:<value>")).collect::<Vec<_>>().join(" or ")
                            ),
                        ),
                    }
                }
            }
            "sort" => {
                if !sorts.contains(&v.as_str()) {
                    bad("sort", "unsupported_sort", format!("Sort by {}.", sorts.join(" or ")));
                }
            }
            other => bad(other, "unknown_parameter", format!("Unknown query parameter \u{201c}{other}\u{201d}.")),
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    Ok(out)
}

/// The strong entity tag of a JSON answer: a digest of its bytes.
pub fn etag_of(body: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(body))[..32])
}

/// A JSON body with a strong `ETag` over its bytes; 304 when the client already has it.
pub fn with_etag(body: Vec<u8>, headers: &http::HeaderMap) -> Response {
    let tag = etag_of(&body);
    let matches = headers
        .get(http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        // Weak comparison (RFC 9110 §13.1.2): `W/"x"` matches `"x"` for a GET.
        .is_some_and(|v| v.split(',').map(|t| t.trim()).any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag));
    let etag = [(http::header::ETAG, tag)];
    if matches {
        return (http::StatusCode::NOT_MODIFIED, etag).into_response();
    }
    (etag, [(http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Check `If-Match` against the resource's current entity tag: 412 when it is stale, and
/// 428 when the operation requires one and none came. Strong comparison (RFC 9110 §13.1.1).
pub fn check_if_match(headers: &http::HeaderMap, current: &str, required: bool) -> Result<(), Problem> {
    let Some(given) = headers.get(http::header::IF_MATCH) else {
        if required {
            return Err(Problem::new(
                http::StatusCode::PRECONDITION_REQUIRED,
                "precondition-required",
                "Send the resource's ETag as If-Match (GET it first), so a change made meanwhile is not overridden.",
            ));
        }
        return Ok(());
    };
    let given = given.to_str().unwrap_or_default();
    if given.split(',').map(str::trim).any(|t| t == "*" || t == current) {
        return Ok(());
    }
    Err(Problem::new(
        http::StatusCode::PRECONDITION_FAILED,
        "precondition-failed",
        "The resource has changed since that ETag: GET it again and retry with the new ETag.",
    ))
}

/// The query string as name–value pairs (so a handler can refuse an unknown name by
/// name); a query that does not decode is a problem+json 400, not axum's plain text.
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for QueryPairs {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut http::request::Parts, _state: &S) -> Result<Self, Problem> {
        axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map(|q| QueryPairs(q.0)).map_err(|e| {
            Problem::new(
                http::StatusCode::BAD_REQUEST,
                "malformed-query",
                format!("The query string does not decode: {e}."),
            )
        })
    }
}

/// A JSON request body, read whole (up to [`MAX_BODY_BYTES`]), with unknown fields and
/// wrong types refused as a 422 naming the field's path.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Problem> {
        let json = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().eq_ignore_ascii_case("application/json"));
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES).await.map_err(|_| {
            Problem::new(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                format!("Request bodies are limited to {} KiB.", MAX_BODY_BYTES / 1024),
            )
        })?;
        // No body at all reads as `{}` (an action whose fields are all optional).
        if bytes.is_empty() && json.is_none() {
            return parse_body(b"{}").map(Body);
        }
        if json != Some(true) {
            return Err(Problem::new(
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Send the body as JSON with Content-Type: application/json.",
            ));
        }
        parse_body(&bytes).map(Body)
    }
}

pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if matches!(inner.classify(), serde_json::error::Category::Syntax | serde_json::error::Category::Eof) {
            return Problem::new(
                http::StatusCode::BAD_REQUEST,
                "malformed-json",
                format!("The body is not valid JSON: {inner}."),
            );
        }
        // serde's message names the field and what was expected ("unknown field `x`, expected
        // one of …", "missing field `y`", "invalid type: string, expected i64"); drop its line
        // and column, and put an unknown or missing field's name into the path.
        let message = inner.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message).to_string();
        let named = ["unknown field `", "missing field `"]
            .iter()
            .find_map(|p| message.strip_prefix(p))
            .and_then(|rest| rest.split('`').next());
        let code = if message.starts_with("unknown field") {
            "unknown_field"
        } else if message.starts_with("missing field") {
            "required"
        } else {
            "invalid_type"
        };
        let path = match (path.as_str(), named) {
            (".", Some(f)) => f.to_string(),
            (".", None) => "body".to_string(),
            (p, Some(f)) if !p.ends_with(f) => format!("{p}.{f}"),
            (p, _) => p.to_string(),
        };
        Problem::field(&path, code, message)
    })
}
