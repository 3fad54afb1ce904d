//! Orders: placing, approving, cancelling; history; the tenant's ordering rules.
pub mod machine;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::core::page::Page;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRow {
    pub id: String,
    pub number: String,
    pub status: String,
    pub status_label: String,
    pub status_reason: Option<String>,
    pub quote_id: String,
    pub quote_number: String,
    pub offering: String,
    pub a_end: String,
    pub b_end: String,
    pub bandwidth: String,
    pub term_months: u32,
    pub monthly: String,
    pub total: String,
    pub po_number: String,
    pub cost_centre: String,
    pub description: String,
    pub needs_approval: bool,
    pub placed_by: String,
    pub approved_by: Option<String>,
    pub created_at: String,
    pub cancellable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionRow {
    pub from: Option<String>,
    pub to: String,
    pub who: String,
    pub when: String,
    pub why: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetail {
    pub order: OrderRow,
    pub timeline: Vec<TransitionRow>,
    pub can_approve: bool,
    pub can_cancel: bool,
    pub placed_by_you: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPolicyView {
    /// Formatted, or `None` when no order needs approval.
    pub threshold: Option<String>,
    pub threshold_input: String,
    pub currency: String,
    /// The caller may change the rule (role, and the tenant is not suspended).
    #[serde(default)]
    pub can_edit: bool,
}

#[server(endpoint = "orders/place")]
pub async fn place_order(
    quote_id: String,
    po_number: String,
    cost_centre: String,
    description: String,
) -> Result<OrderRow, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let ctx = require(Perm::OrderPlace).await?;
            let o = ssr::place(&ctx, &quote_id, &po_number, &cost_centre, &description).await?;
            leptos_axum::redirect(&format!("/portal/orders/{}", o.id));
            Ok(o)
        }
        .await,
    )
}

#[server(endpoint = "orders/list")]
pub async fn list_orders(status: Option<String>, cursor: Option<String>) -> Result<Page<OrderRow>, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            ssr::list(&require(Perm::PortalView).await?, status, &crate::core::page::PageRequest::new(cursor)).await
        }
        .await,
    )
}

#[server(endpoint = "orders/get")]
pub async fn get_order(order_id: String) -> Result<OrderDetail, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::detail(&require(Perm::PortalView).await?, &order_id).await }.await)
}

#[server(endpoint = "orders/approve")]
pub async fn approve_order(order_id: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::approve(&require(Perm::OrderApprove).await?, &order_id).await }.await)
}

#[server(endpoint = "orders/reject")]
pub async fn reject_order(order_id: String, reason: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::reject(&require(Perm::OrderApprove).await?, &order_id, &reason).await }.await)
}

#[server(endpoint = "orders/cancel")]
pub async fn cancel_order(order_id: String, reason: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::cancel(&require(Perm::OrderPlace).await?, &order_id, &reason).await }.await)
}

#[server(endpoint = "orders/policy")]
pub async fn get_order_policy() -> Result<OrderPolicyView, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(
        async {
            let ctx = require(Perm::PortalView).await?;
            let policy = ssr::get_policy(&ctx).await?;
            Ok(OrderPolicyView { can_edit: ctx.can(Perm::OrderPolicy) && writable(&ctx), ..policy })
        }
        .await,
    )
}

#[server(endpoint = "orders/set_policy")]
pub async fn set_order_policy(threshold: String, currency: String) -> Result<(), AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::set_policy(&require(Perm::OrderPolicy).await?, &threshold, &currency).await }.await)
}
