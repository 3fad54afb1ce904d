//! The job state machine. One function decides every transition of a job row; the
//! queue's claiming and settling statements and the console's retry and cancel ask it.
crate::text_enum! {
    /// Where a job stands.
    pub enum JobStatus {
        Queued = "queued",
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

/// Whether a job may go from `from` to `to`.
pub fn can(from: JobStatus, to: JobStatus) -> bool {
    use JobStatus::*;
    matches!(
        (from, to),
        // A worker claims a due job, or one whose lease expired (running → running).
        (Queued | Running, Running)
            // The worker settles what it holds: done, again later, or failed for good.
            | (Running, Succeeded | Queued | Failed)
            // An operator makes a queued job due now, or cancels it before it runs.
            | (Queued, Queued | Cancelled)
            // An operator retries what failed or was cancelled.
            | (Failed | Cancelled, Queued)
    )
}

/// Statuses from which `to` is legal (for the filters of the queue's statements).
pub fn from_which(to: JobStatus) -> Vec<&'static str> {
    JobStatus::ALL.iter().filter(|f| can(**f, to)).map(|f| f.as_str()).collect()
}

impl JobStatus {
    /// Nothing will run it again unless an operator retries it.
    pub fn is_finished(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled)
    }

    /// An illegal move of job `id`, refused with a clear error.
    #[cfg(feature = "ssr")]
    pub fn check(self, to: JobStatus) -> Result<(), crate::error::AppError> {
        if can(self, to) {
            Ok(())
        } else {
            Err(crate::error::AppError::Conflict(match to {
                JobStatus::Queued => format!("A {self} job cannot be retried."),
                JobStatus::Cancelled => format!(
                    "Only a queued job can be cancelled; this one is {self}.{}",
                    if self == JobStatus::Running { " Wait for this attempt to finish." } else { "" }
                ),
                _ => format!("A {self} job cannot become {to}."),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::JobStatus::*;
    use super::*;

    #[test]
    fn every_pair_is_decided_as_specified() {
        let allowed = [
            (Queued, Running),
            (Running, Running),
            (Running, Succeeded),
            (Running, Queued),
            (Running, Failed),
            (Queued, Queued),
            (Queued, Cancelled),
            (Failed, Queued),
            (Cancelled, Queued),
        ];
        for from in JobStatus::ALL {
            for to in JobStatus::ALL {
                assert_eq!(can(*from, *to), allowed.contains(&(*from, *to)), "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn succeeded_jobs_never_run_again_and_running_ones_cannot_be_cancelled() {
        assert!(JobStatus::ALL.iter().all(|to| !can(Succeeded, *to)));
        assert!(!can(Running, Cancelled));
        assert_eq!(from_which(Cancelled), vec!["queued"]);
    }

    #[test]
    fn names_round_trip_and_unknown_names_do_not_parse() {
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(JobStatus::parse("paused"), None);
    }
}
