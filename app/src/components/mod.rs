//! Shared UI pieces.
pub mod layout;
pub mod list;
pub mod ui;
