//! The order state machine (seed 000). One function decides every transition;
//! everything else asks it.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Submitted,
    Validating,
    Quoted,
    Approved,
    Queued,
    Provisioning,
    Active,
    Failed,
    Suspended,
    Terminated,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 12] = [
        Status::Draft,
        Status::Submitted,
        Status::Validating,
        Status::Quoted,
        Status::Approved,
        Status::Queued,
        Status::Provisioning,
        Status::Active,
        Status::Failed,
        Status::Suspended,
        Status::Terminated,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Validating => "validating",
            Status::Quoted => "quoted",
            Status::Approved => "approved",
            Status::Queued => "queued",
            Status::Provisioning => "provisioning",
            Status::Active => "active",
            Status::Failed => "failed",
            Status::Suspended => "suspended",
            Status::Terminated => "terminated",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The stored status of order `id`: an error naming the row when it does not parse.
    #[cfg(feature = "ssr")]
    pub fn stored(id: &str, s: &str) -> Result<Status, crate::error::AppError> {
        Status::parse(s).ok_or_else(|| crate::error::AppError::corrupt("order", id, format!("unknown status `{s}`")))
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Quoted => "awaiting approval",
            other => other.as_str(),
        }
    }

    /// No transition leaves it.
    pub fn is_final(self) -> bool {
        Status::ALL.iter().all(|to| !can(self, *to))
    }

    /// Counts against the edition's limit of active services.
    pub fn holds_a_service(self) -> bool {
        matches!(self, Status::Approved | Status::Queued | Status::Provisioning | Status::Active | Status::Suspended)
    }
}

/// Whether `from → to` is a legal transition.
pub fn can(from: Status, to: Status) -> bool {
    use Status::*;
    matches!(
        (from, to),
        (Draft, Submitted)
            | (Submitted, Validating)
            | (Validating, Quoted)
            | (Validating, Failed)
            | (Quoted, Approved)
            | (Approved, Queued)
            | (Queued, Provisioning)
            | (Provisioning, Active)
            | (Provisioning, Failed)
            | (Failed, Queued)
            | (Active, Suspended)
            | (Suspended, Active)
            | (Active, Terminated)
            | (Suspended, Terminated)
            // Cancelling is possible only before provisioning starts.
            | (Draft | Submitted | Validating | Quoted | Approved | Queued, Cancelled)
    )
}

/// The outbox event a transition emits, if any.
pub fn event_for(from: Option<Status>, to: Status) -> Option<&'static str> {
    use Status::*;
    match (from, to) {
        (_, Submitted) => Some("order.submitted"),
        (Some(Quoted), Approved) => Some("order.accepted"),
        (Some(Validating), Failed) => Some("order.rejected"),
        (Some(Quoted), Cancelled) => Some("order.rejected"),
        (_, Cancelled) => Some("order.cancelled"),
        (_, Queued) => Some("order.queued"),
        (_, Provisioning) => Some("order.provisioning"),
        (_, Active) => Some("order.active"),
        (_, Failed) => Some("order.failed"),
        (_, Suspended) => Some("order.suspended"),
        (_, Terminated) => Some("order.terminated"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Status::*;
    use super::*;

    /// The allowed transitions, written out once more by hand.
    const ALLOWED: [(Status, Status); 21] = [
        (Draft, Submitted),
        (Draft, Cancelled),
        (Submitted, Validating),
        (Submitted, Cancelled),
        (Validating, Quoted),
        (Validating, Failed),
        (Validating, Cancelled),
        (Quoted, Approved),
        (Quoted, Cancelled),
        (Approved, Queued),
        (Approved, Cancelled),
        (Queued, Provisioning),
        (Queued, Cancelled),
        (Provisioning, Active),
        (Provisioning, Failed),
        (Failed, Queued),
        (Active, Suspended),
        (Active, Terminated),
        (Suspended, Active),
        (Suspended, Terminated),
        (Cancelled, Cancelled),
    ];

    #[test]
    fn every_pair_of_states_is_decided_as_specified() {
        let allowed: Vec<_> = ALLOWED.iter().filter(|(a, b)| a != b).copied().collect();
        let mut checked = 0;
        for from in Status::ALL {
            for to in Status::ALL {
                assert_eq!(can(from, to), allowed.contains(&(from, to)), "{from:?} -> {to:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 144);
    }

    #[test]
    fn cancelling_is_impossible_once_provisioning_started() {
        for s in [Provisioning, Active, Failed, Suspended, Terminated, Cancelled] {
            assert!(!can(s, Cancelled), "{s:?}");
        }
    }

    #[test]
    fn terminal_states_have_no_way_out() {
        assert!(Terminated.is_final());
        assert!(Cancelled.is_final());
        assert!(!Failed.is_final(), "failed orders can be retried");
        assert!(!Active.is_final());
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("shipped"), None);
    }

    #[test]
    fn approval_and_rejection_emit_their_events() {
        assert_eq!(event_for(Some(Quoted), Approved), Some("order.accepted"));
        assert_eq!(event_for(Some(Quoted), Cancelled), Some("order.rejected"));
        assert_eq!(event_for(Some(Validating), Failed), Some("order.rejected"));
        assert_eq!(event_for(Some(Approved), Cancelled), Some("order.cancelled"));
        assert_eq!(event_for(Some(Submitted), Validating), None);
    }
}
