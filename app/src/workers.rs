//! The job kinds this app runs: the one table that maps a kind to the domain handler that
//! runs it. It sits above the domains (it may name any of them) so that the queue in
//! [`crate::jobs`] depends on none. To add a kind, implement [`crate::jobs::JobHandler`] in
//! its domain and add it to [`handlers`] (see the module docs of [`crate::jobs`]).
//! [`run_one`] and [`drain`] are the entry points of the worker loop, the tests and the
//! benchmarks.
use std::sync::LazyLock;

use crate::error::AppError;
use crate::jobs::{self, Ran, Registry};
use crate::provisioning::engine::{ProvisionOrderHandler, ServiceActionHandler};
use crate::state::AppState;

static HANDLERS: LazyLock<Registry> = LazyLock::new(|| {
    Registry::new()
        .with(ProvisionOrderHandler)
        .with(ServiceActionHandler)
        .with(crate::mail::ssr::SendMailHandler)
        .with(crate::webhooks::ssr::DeliverWebhookHandler)
});

/// Every job kind and its handler, built once.
pub fn handlers() -> &'static Registry {
    &HANDLERS
}

/// Claim one due job and run it. `Ok(None)` when nothing is due.
pub async fn run_one(state: &AppState, worker: &str) -> Result<Option<Ran>, AppError> {
    jobs::run_one(state, worker, handlers()).await
}

/// Run jobs until none is due (or `limit` have run).
pub async fn drain(state: &AppState, worker: &str, limit: usize) -> Result<Vec<Ran>, AppError> {
    jobs::drain(state, worker, limit, handlers()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobPayload;

    #[test]
    fn every_kind_has_exactly_one_handler() {
        let kinds = handlers().kinds();
        for k in &kinds {
            assert_eq!(kinds.iter().filter(|x| *x == k).count(), 1, "{k} registered twice");
        }
        for k in [crate::orders::ssr::ProvisionOrder::KIND, crate::provisioning::engine::ServiceAction::KIND] {
            assert!(handlers().get(k).is_some(), "{k} has no handler");
        }
    }

    #[test]
    fn provisioning_gets_more_attempts_than_the_default() {
        const { assert!(crate::orders::ssr::ProvisionOrder::MAX_ATTEMPTS > 3) };
    }
}
