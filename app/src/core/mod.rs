//! Shared request-level infrastructure every domain builds on, and nothing domain-specific:
//! who is calling and what they may do ([`crate::auth::ssr::Ctx`], `require*`), which rows
//! they may touch ([`scope`]), which edition features they have ([`features`]), how lists
//! page ([`page`]), ids and URL encoding. Domains depend on `core`; `core` depends on no
//! domain.
#[cfg(feature = "ssr")]
pub mod db;
pub mod features;
pub mod page;
#[cfg(feature = "ssr")]
pub mod quota;
#[cfg(feature = "ssr")]
pub mod scope;
pub mod url;

/// A new primary key: UUIDv7, so ids sort by creation time.
#[cfg(feature = "ssr")]
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
