//! URL building: percent-encoding of query values and path segments (RFC 3986
//! unreserved characters stay as they are).
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but `A–Z a–z 0–9 - _ . ~` is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Encode one query value or path segment.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// `path?k=v&…`, leaving out empty values; keys are fixed strings of the caller's.
pub fn with_query(path: &str, params: &[(&str, &str)]) -> String {
    let q: Vec<String> =
        params.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", encode(v))).collect();
    if q.is_empty() { path.to_string() } else { format!("{path}?{}", q.join("&")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_characters_and_keeps_unreserved() {
        assert_eq!(encode("a b&c=d/é~_.-"), "a%20b%26c%3Dd%2F%C3%A9~_.-");
    }

    #[test]
    fn builds_queries_without_empty_values() {
        assert_eq!(
            with_query("/portal/orders", &[("status", "active"), ("cursor", "")]),
            "/portal/orders?status=active"
        );
        assert_eq!(with_query("/x", &[("q", "")]), "/x");
    }
}
