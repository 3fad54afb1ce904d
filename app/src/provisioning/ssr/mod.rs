//! Server side of the services, jobs, interventions and adapter-settings functions.
//! Every function takes the caller's [`Ctx`] (already checked for the permission) and
//! scopes what it reads or changes to the caller's tenant, unless they are platform admins.
//! - [`services`]: the customer's services and the order page;
//! - [`operations`]: the jobs console and the manual-intervention queue (platform staff);
//! - [`settings`]: provider adapter settings (Console → Providers).
use std::collections::HashMap;

use chrono::Utc;
use entity::{
    endpoint, intervention, job, offering, order, outbox_event, provider, provider_adapter, service, service_event,
    service_leg, tenant, usage_record,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::{Value, json};

use super::engine::{
    self, Action, InterventionStatus, LegRefs, LegStatus, ServiceAction, ServiceStatus, leg_status_of, service_status,
};
use super::machine::service_can;
use super::messages;
use super::*;
use crate::audit::ssr::{NewEvent, record};
use crate::auth::ssr::{Ctx, new_id};
use crate::catalog::service::mbps_label;
use crate::error::FieldErrors;
use crate::jobs::{self, JobPayload, JobStatus};
use crate::orders::machine::Status;
use crate::orders::ssr::ProvisionOrder;

mod operations;
mod services;
mod settings;

pub use operations::{
    cancel_job, complete_intervention, fail_intervention, list_interventions, list_jobs, retry_intervention, retry_job,
};
pub use services::{
    change_bandwidth, customer_step, detail, event_cursor, event_page, find as find_service, for_order, list,
    order_page, page_of, simple_action, usage_page,
};
pub use settings::{AdapterInput, list_adapters, save_adapter};

const PROVISION_ORDER: &str = ProvisionOrder::KIND;
const SERVICE_ACTION: &str = ServiceAction::KIND;

fn when(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
