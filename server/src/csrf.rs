//! CSRF protection for state-changing requests: the `Origin` must be this site.
//! Browsers send `Origin` on every cross-site POST; non-browser clients that send
//! none are allowed (they carry no ambient browser cookies to abuse), except
//! when `Sec-Fetch-Site` says the request came from another site.
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{Method, header};

use app::error::AppError;
use app::state::AppState;

fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(u.origin().ascii_serialization())
}

/// Whether a request with these headers may change state.
pub fn allowed(public_url: &str, host: Option<&str>, origin: Option<&str>, fetch_site: Option<&str>) -> bool {
    match origin {
        Some("null") => false,
        Some(o) => {
            let o = o.trim_end_matches('/');
            origin_of(public_url).as_deref() == Some(o)
                || host.is_some_and(|h| o == format!("http://{h}") || o == format!("https://{h}"))
        }
        None => !matches!(fetch_site, Some("cross-site") | Some("same-site")),
    }
}

pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let h = req.headers();
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok());
    if allowed(
        &state.settings.public_url,
        get(header::HOST.as_str()),
        get(header::ORIGIN.as_str()),
        get("sec-fetch-site"),
    ) {
        next.run(req).await
    } else {
        tracing::warn!(origin = ?get("origin"), "cross-site request refused");
        AppError::Forbidden("Cross-site request refused.".into()).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::allowed;

    const PUB: &str = "https://patchbay.example.com";

    #[test]
    fn same_origin_is_allowed() {
        assert!(allowed(PUB, Some("patchbay.example.com"), Some("https://patchbay.example.com"), Some("same-origin")));
        assert!(allowed(PUB, Some("127.0.0.1:3000"), Some("http://127.0.0.1:3000"), None));
    }

    #[test]
    fn other_origins_are_refused() {
        assert!(!allowed(PUB, Some("patchbay.example.com"), Some("https://evil.example"), Some("cross-site")));
        assert!(!allowed(PUB, Some("patchbay.example.com"), Some("null"), None));
    }

    #[test]
    fn no_origin_depends_on_fetch_metadata() {
        assert!(allowed(PUB, None, None, None));
        assert!(!allowed(PUB, None, None, Some("cross-site")));
    }
}
