//! Typed job payloads: each kind's payload is a struct, written and read in one place.
use entity::job;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// The payload of one job kind.
pub trait JobPayload: Serialize + DeserializeOwned {
    /// The `jobs.kind` value of this kind.
    const KIND: &'static str;
    /// Attempts a job of this kind gets before it fails for good (its handler's `on_failed`).
    const MAX_ATTEMPTS: i32 = 3;
}

/// Read a job's payload: the one parse point. A job of another kind, or a payload that
/// does not parse, is an error naming the job (never a default).
pub fn payload<P: JobPayload>(j: &job::Model) -> Result<P, AppError> {
    if j.kind != P::KIND {
        return Err(AppError::corrupt("job", &j.id, format!("is of kind `{}`, not `{}`", j.kind, P::KIND)));
    }
    serde_json::from_str(&j.payload).map_err(|e| AppError::corrupt("job", &j.id, format!("payload: {e}")))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Ping {
        to: String,
    }
    impl JobPayload for Ping {
        const KIND: &'static str = "ping";
    }

    fn job(kind: &str, payload: &str) -> job::Model {
        let now = Utc::now();
        job::Model {
            id: "j1".into(),
            kind: kind.into(),
            tenant_id: None,
            resource_id: None,
            payload: payload.into(),
            status: "queued".into(),
            attempts: 0,
            max_attempts: 3,
            run_at: now,
            lease_owner: None,
            lease_expires_at: None,
            last_error: None,
            idempotency_key: "k".into(),
            cancel_reason: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
        }
    }

    #[test]
    fn payloads_parse_only_for_their_kind_and_never_default() {
        assert_eq!(payload::<Ping>(&job("ping", r#"{"to":"x"}"#)), Ok(Ping { to: "x".into() }));
        assert!(matches!(payload::<Ping>(&job("pong", r#"{"to":"x"}"#)), Err(AppError::Internal { .. })));
        assert!(matches!(payload::<Ping>(&job("ping", r#"{}"#)), Err(AppError::Internal { .. })));
        assert!(matches!(payload::<Ping>(&job("ping", "not json")), Err(AppError::Internal { .. })));
    }
}
