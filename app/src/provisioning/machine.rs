//! The state machines of services, their legs and manual interventions. Pure: one
//! function per machine decides every transition, the engine and the console ask it, and
//! a stored status that does not parse is an error naming the row (`stored`).
crate::text_enum! {
    /// Where a service stands.
    pub enum ServiceStatus {
        Provisioning = "provisioning",
        Active = "active",
        Suspended = "suspended",
        Terminating = "terminating",
        Terminated = "terminated",
        Failed = "failed",
        RollingBack = "rolling_back",
    }
}

crate::text_enum! {
    /// Where one leg of a service stands (what its provider holds for it).
    pub enum LegStatus {
        Pending = "pending",
        Provisioning = "provisioning",
        AwaitingCustomer = "awaiting_customer",
        Active = "active",
        Suspended = "suspended",
        Failed = "failed",
        RolledBack = "rolled_back",
        Terminated = "terminated",
        Cancelled = "cancelled",
    }
}

crate::text_enum! {
    /// Where a manual intervention stands.
    pub enum InterventionStatus {
        Open = "open",
        Retried = "retried",
        Completed = "completed",
        Failed = "failed",
    }
}

/// Whether a service may go from `from` to `to`.
pub fn service_can(from: ServiceStatus, to: ServiceStatus) -> bool {
    use ServiceStatus::*;
    matches!(
        (from, to),
        (Provisioning, Active)
            // A leg failed for good (composite), or operations stopped provisioning.
            | (Provisioning, RollingBack)
            | (RollingBack, Failed)
            | (Active, Suspended)
            | (Suspended, Active)
            | (Active | Suspended, Terminating)
            | (Terminating, Terminated)
            // A termination that was cancelled or failed: back to what the order records.
            | (Terminating, Active | Suspended)
    )
}

/// Whether a leg may go from `from` to `to`. Legs being worked on may stay where they are
/// (a status look that found nothing new).
pub fn leg_can(from: LegStatus, to: LegStatus) -> bool {
    use LegStatus::*;
    matches!(
        (from, to),
        (Pending | Provisioning | AwaitingCustomer, Provisioning | AwaitingCustomer | Active | Failed)
            // Rolling back: what the provider holds is released; what was never ordered is cancelled.
            | (Provisioning | AwaitingCustomer | Active, RolledBack)
            | (Failed, Failed)
            | (Pending, Cancelled)
            // An operator's retry orders a failed leg afresh; completing by hand makes it active.
            | (Failed, Pending)
            | (Failed, Active)
            | (Active, Suspended)
            | (Suspended, Active)
            | (Active | Suspended, Terminated)
    )
}

/// Whether an intervention may go from `from` to `to`: it is dealt with once.
pub fn intervention_can(from: InterventionStatus, to: InterventionStatus) -> bool {
    use InterventionStatus::*;
    matches!((from, to), (Open, Retried | Completed | Failed))
}

impl ServiceStatus {
    pub fn label(self) -> &'static str {
        match self {
            ServiceStatus::RollingBack => "rolling back",
            other => other.as_str(),
        }
    }

    /// Refuse an illegal move with a clear error.
    #[cfg(feature = "ssr")]
    pub fn check(self, to: ServiceStatus) -> Result<(), crate::error::AppError> {
        if service_can(self, to) {
            Ok(())
        } else {
            Err(crate::error::AppError::Conflict(format!(
                "A service that is {} cannot become {}.",
                self.label(),
                to.label()
            )))
        }
    }
}

impl LegStatus {
    /// Statuses from which `to` is legal, among `among` (for the filters of bulk updates).
    pub fn sources(to: LegStatus, among: &[LegStatus]) -> Vec<&'static str> {
        among.iter().filter(|f| leg_can(**f, to)).map(|f| f.as_str()).collect()
    }

    /// The provider may still hold something for a leg in this state.
    pub fn holds_resource(self) -> bool {
        matches!(self, LegStatus::Provisioning | LegStatus::AwaitingCustomer | LegStatus::Active | LegStatus::Failed)
    }

    #[cfg(feature = "ssr")]
    pub fn check(self, to: LegStatus) -> Result<(), crate::error::AppError> {
        if leg_can(self, to) {
            Ok(())
        } else {
            Err(crate::error::AppError::Conflict(format!("A leg that is {self} cannot become {to}.")))
        }
    }
}

impl InterventionStatus {
    #[cfg(feature = "ssr")]
    pub fn check(self, to: InterventionStatus) -> Result<(), crate::error::AppError> {
        if intervention_can(self, to) {
            Ok(())
        } else {
            Err(crate::error::AppError::Conflict(format!("This intervention has already been dealt with ({self}).")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decided<S: Copy + PartialEq + std::fmt::Debug>(all: &[S], can: fn(S, S) -> bool, allowed: &[(S, S)]) {
        for from in all {
            for to in all {
                assert_eq!(can(*from, *to), allowed.contains(&(*from, *to)), "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn services_move_as_specified() {
        use ServiceStatus::*;
        decided(
            ServiceStatus::ALL,
            service_can,
            &[
                (Provisioning, Active),
                (Provisioning, RollingBack),
                (RollingBack, Failed),
                (Active, Suspended),
                (Suspended, Active),
                (Active, Terminating),
                (Suspended, Terminating),
                (Terminating, Terminated),
                (Terminating, Active),
                (Terminating, Suspended),
            ],
        );
        assert!(ServiceStatus::ALL.iter().all(|to| !service_can(Terminated, *to) && !service_can(Failed, *to)));
    }

    #[test]
    fn legs_move_as_specified() {
        use LegStatus::*;
        let mut allowed = vec![];
        for from in [Pending, Provisioning, AwaitingCustomer] {
            for to in [Provisioning, AwaitingCustomer, Active, Failed] {
                allowed.push((from, to));
            }
        }
        allowed.extend([
            (Provisioning, RolledBack),
            (AwaitingCustomer, RolledBack),
            (Active, RolledBack),
            (Failed, Failed),
            (Pending, Cancelled),
            (Failed, Pending),
            (Failed, Active),
            (Active, Suspended),
            (Suspended, Active),
            (Active, Terminated),
            (Suspended, Terminated),
        ]);
        decided(LegStatus::ALL, leg_can, &allowed);
        assert_eq!(LegStatus::sources(Terminated, &[Active, Suspended]), vec!["active", "suspended"]);
        assert_eq!(LegStatus::sources(Suspended, &[Active, Suspended]), vec!["active"]);
    }

    #[test]
    fn interventions_are_dealt_with_once() {
        use InterventionStatus::*;
        decided(InterventionStatus::ALL, intervention_can, &[(Open, Retried), (Open, Completed), (Open, Failed)]);
    }

    #[test]
    fn stored_names_round_trip_and_unknown_ones_do_not_parse() {
        for s in ServiceStatus::ALL {
            assert_eq!(ServiceStatus::parse(s.as_str()), Some(*s));
        }
        for s in LegStatus::ALL {
            assert_eq!(LegStatus::parse(s.as_str()), Some(*s));
        }
        for s in InterventionStatus::ALL {
            assert_eq!(InterventionStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(ServiceStatus::parse("Active"), None);
        assert_eq!(LegStatus::parse(""), None);
    }
}
