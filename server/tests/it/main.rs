//! The server's integration tests, in one test binary: one link step and one process
//! for every domain's suite instead of one per file. Each module is a domain's suite;
//! `common` holds the shared support (spawn_app, clients, SMTP sink, replicas).
//! Runs on SQLite by default and on PostgreSQL with PATCHBAY_TEST_DATABASE=postgres.

#[path = "../common/mod.rs"]
mod common;

mod api;
mod api_limits;
mod api_resources;
mod editions;
mod foundation;
mod list_pages;
mod mail;
mod mfa;
mod orders;
mod pages_under_load;
mod provisioning;
mod replicas;
mod scoping;
mod security;
mod sso;
mod transactions;
mod webhooks;
