//! RFC 9457 problem details for the API: `type`, `title`, `status`, `detail`, `traceId`,
//! and `errors: [{path, code, message}]` for validation. Never a stack trace or a database
//! message: internal errors carry only the reference under which they were logged.
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Serialize;

use app::error::AppError;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    pub path: String,
    pub code: String,
    pub message: String,
}

/// The body of every error answer, as the document describes it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ProblemDoc {
    /// A URI naming the kind of problem, e.g. `https://patchbay.example/problems/missing-scope`.
    #[serde(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
    /// Quote it to support: the reference under which the problem was logged.
    trace_id: String,
    /// For validation problems: each parameter or field that is wrong.
    errors: Option<Vec<FieldProblem>>,
}

/// The refusals every operation can answer with, documented once: no or a bad key, a
/// missing scope (or a suspended tenant, or a refused address), and the rate limit.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum Refusals {
    /// No key, or an unknown, revoked or expired key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(ProblemDoc),
    /// The key lacks the operation's scope (`detail` names it), the key's address is not
    /// allowed, or the operation writes and the tenant is suspended.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(ProblemDoc),
    /// The tenant's rate limit for reads or writes is used up; `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(ProblemDoc),
}

#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub kind: String,
    pub detail: String,
    pub errors: Vec<FieldProblem>,
    pub trace_id: String,
}

fn trace_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Problem { status, kind: kind.into(), detail: detail.into(), errors: Vec::new(), trace_id: trace_id() }
    }

    /// A 422 naming the request fields that are wrong.
    pub fn invalid(errors: Vec<FieldProblem>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.path, one.message),
            _ => format!("{} request fields are not valid.", errors.len()),
        };
        Problem { errors, ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", detail) }
    }

    pub fn field(path: &str, code: &str, message: impl Into<String>) -> Self {
        Problem::invalid(vec![FieldProblem { path: path.into(), code: code.into(), message: message.into() }])
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut p = Problem::new(status, e.kind(), e.to_string());
        match e {
            AppError::Validation { fields, .. } => {
                p.errors = fields
                    .into_iter()
                    .map(|(path, message)| FieldProblem { path: camel(&path), code: "invalid".into(), message })
                    .collect();
            }
            AppError::Internal { trace_id } => p.trace_id = trace_id,
            _ => {}
        }
        p
    }
}

/// A service's field name (`po_number`) as the API's body names it (`poNumber`).
fn camel(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({
            "type": format!("https://patchbay.example/problems/{}", self.kind),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
            "traceId": self.trace_id,
        });
        if !self.errors.is_empty() {
            body["errors"] = serde_json::json!(self.errors);
        }
        let mut res =
            (self.status, [(http::header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: `invalid_token` when a token came and was refused.
            let value = if self.kind == "invalid-token" { "Bearer error=\"invalid_token\"" } else { "Bearer" };
            res.headers_mut().insert(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static(value));
        }
        res
    }
}
