//! Server-function errors raised before a function body runs (undecodable or
//! missing arguments) leave the server-function layer as status 500. Give them
//! the status their `AppError` stands for, so bad input reads as bad input.
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::StatusCode;

use app::error::AppError;

/// Error bodies are small; anything larger is passed through untouched.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn fix_status(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_ERROR_BODY).await {
        Ok(b) => b,
        Err(_) => return Response::from_parts(parts, Body::empty()),
    };
    if let Some(code) =
        serde_json::from_slice::<AppError>(&bytes).ok().and_then(|err| StatusCode::from_u16(err.status()).ok())
    {
        parts.status = code;
    }
    Response::from_parts(parts, Body::from(bytes))
}
