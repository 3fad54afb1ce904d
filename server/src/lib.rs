#![recursion_limit = "256"]
//! The `patchbay` server: configuration, HTTP plumbing and background work around the app.
pub mod api;
pub mod config;
pub mod csrf;
pub mod exports;
pub mod fn_status;
pub mod live;
pub mod metrics;
pub mod oidc;
pub mod startup;
pub mod telemetry;
pub mod workers;
