//! The one error type of Patchbay's server functions and REST handlers.
use std::collections::BTreeMap;

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Field name → message, for forms.
pub type FieldErrors = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    #[error("The requested item was not found.")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("Please sign in to continue.")]
    Unauthorized,
    #[error("{message}")]
    Validation { message: String, fields: FieldErrors },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    RateLimited(String),
    /// The request itself is malformed (an unknown cursor, a bad parameter).
    #[error("{0}")]
    BadRequest(String),
    #[error("Something went wrong on our side (reference {trace_id}).")]
    Internal { trace_id: String },
    /// Transport-level failures (network, encoding) reported by the server-function machinery.
    #[error("{0}")]
    Transport(String),
}

impl AppError {
    pub fn forbidden() -> Self {
        AppError::Forbidden("You do not have permission to do that.".into())
    }

    /// A validation error on one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut fields = FieldErrors::new();
        fields.insert(field.to_string(), message.clone());
        AppError::Validation { message, fields }
    }

    /// A validation error from a set of field errors; `None` when there are none.
    pub fn from_fields(fields: FieldErrors) -> Option<Self> {
        if fields.is_empty() {
            return None;
        }
        let message = if fields.len() == 1 {
            fields.values().next().cloned().unwrap_or_default()
        } else {
            "Please correct the highlighted fields.".to_string()
        };
        Some(AppError::Validation { message, fields })
    }

    /// HTTP status code for this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::NotFound => 404,
            AppError::Forbidden(_) => 403,
            AppError::Unauthorized => 401,
            AppError::Validation { .. } => 422,
            AppError::Conflict(_) => 409,
            AppError::RateLimited(_) => 429,
            AppError::BadRequest(_) => 400,
            AppError::Internal { .. } => 500,
            AppError::Transport(_) => 400,
        }
    }

    /// Short machine-readable name, used as the problem+json `type` suffix.
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::NotFound => "not-found",
            AppError::Forbidden(_) => "forbidden",
            AppError::Unauthorized => "unauthorized",
            AppError::Validation { .. } => "validation",
            AppError::Conflict(_) => "conflict",
            AppError::RateLimited(_) => "rate-limited",
            AppError::BadRequest(_) => "bad-request",
            AppError::Internal { .. } => "internal",
            AppError::Transport(_) => "bad-request",
        }
    }

    /// The message for one form field, if this is a validation error naming it.
    pub fn field_error(&self, field: &str) -> Option<String> {
        match self {
            AppError::Validation { fields, .. } => fields.get(field).cloned(),
            _ => None,
        }
    }

    /// Log an unexpected failure with context and return an opaque error with a trace id.
    #[cfg(feature = "ssr")]
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        let trace_id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        tracing::error!(%trace_id, context, error = %err, "internal error");
        AppError::Internal { trace_id }
    }

    /// A stored value of row `id` in `table` that does not parse: logged naming the row,
    /// opaque to the caller. Corrupt data is never replaced by a default.
    #[cfg(feature = "ssr")]
    pub fn corrupt(table: &str, id: &str, err: impl std::fmt::Display) -> Self {
        Self::internal(&format!("corrupt {table} row {id}"), err)
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) => AppError::Validation {
                message: format!("The request was not understood: {msg}"),
                fields: FieldErrors::new(),
            },
            ServerFnErrorErr::MissingArg(arg) => AppError::field(&arg, "This field is required."),
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        match err.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict("That already exists.".into()),
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => {
                AppError::Conflict("That refers to something that does not exist.".into())
            }
            _ => AppError::internal("database", err),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(err: sea_orm::TransactionError<AppError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(e) => e.into(),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}

#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    /// REST and plain routes render errors as RFC 9457 problem+json.
    fn into_response(self) -> axum::response::Response {
        let status = http::StatusCode::from_u16(self.status()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = serde_json::json!({
            "type": format!("https://patchbay.example/problems/{}", self.kind()),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": self.to_string(),
        });
        match &self {
            AppError::Validation { fields, .. } if !fields.is_empty() => {
                body["errors"] = serde_json::json!(fields);
            }
            AppError::Internal { trace_id } => body["trace_id"] = serde_json::json!(trace_id),
            _ => {}
        }
        (status, [(http::header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
    }
}
