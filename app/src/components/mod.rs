//! Shared UI pieces.
pub mod layout;
pub mod ui;
