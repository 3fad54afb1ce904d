//! Portal → API reference: the `/v1` OpenAPI document (generated from the handlers in the
//! server crate, held in `AppState`) rendered as a page, with curl examples that use the
//! viewer's tenant (its public URL, and real ids of its quotes, orders and services).
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiReference {
    pub base_url: String,
    pub tenant: String,
    pub version: String,
    pub groups: Vec<ApiGroup>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiGroup {
    pub tag: String,
    pub description: String,
    pub operations: Vec<ApiOperation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiOperation {
    /// The operation id, also the page anchor.
    pub id: String,
    pub method: String,
    pub path: String,
    pub summary: String,
    pub description: String,
    pub scope: String,
    pub params: Vec<ApiField>,
    pub body: Vec<ApiField>,
    /// (status, description), in status order.
    pub responses: Vec<(String, String)>,
    pub curl: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiField {
    pub name: String,
    /// `query`, `path`, `header`, or the JSON type of a body field.
    pub kind: String,
    pub required: bool,
    pub description: String,
}

#[server(endpoint = "api_reference/get")]
pub async fn get_api_reference() -> Result<ApiReference, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::build(&require(Perm::PortalView).await?).await }.await)
}
