//! Housekeeping over active services: usage metering and inventory reconciliation.
use super::*;
use crate::core::db::BeginWrite;

/// Write usage records for every complete hour of every active service (at most `max_hours`
/// per service per pass). Records are unique per service and hour, so replicas racing
/// here write each hour once.
pub async fn meter(state: &AppState, max_hours: i64) -> Result<u64, AppError> {
    let now = Utc::now();
    let hour = chrono::Duration::hours(1);
    let mut written = 0;
    let services = service::Entity::find()
        .filter(service::Column::Status.eq(ServiceStatus::Active.as_str()))
        .all(&state.db)
        .await?;
    for svc in services {
        let Some(activated) = svc.activated_at else { continue };
        let last = usage_record::Entity::find()
            .filter(usage_record::Column::ServiceId.eq(&svc.id))
            .order_by_desc(usage_record::Column::PeriodStart)
            .one(&state.db)
            .await?;
        // Metering restarts at the top of the hour after a resume: suspended hours carry no traffic.
        let resumed = service_event::Entity::find()
            .filter(service_event::Column::ServiceId.eq(&svc.id))
            .filter(service_event::Column::Kind.eq("resume"))
            .order_by_desc(service_event::Column::Id)
            .one(&state.db)
            .await?
            .map(|e| e.at);
        let mut from = match &last {
            Some(r) => r.period_end,
            None => activated.duration_trunc(hour).unwrap_or(activated),
        };
        if let Some(at) = resumed {
            let next_hour = at.duration_trunc(hour).unwrap_or(at) + hour;
            if next_hour > from {
                from = next_hour;
            }
        }
        let legs = legs_of(&state.db, &svc.id).await?;
        let Some(leg) = legs.iter().find(|l| l.external_ref.is_some()) else { continue };
        let Some(r) = leg.external_ref.clone() else { continue };
        // One misconfigured provider must not stop metering for everyone else.
        let adapter = match adapters::for_leg(state, &leg.provider_id, &leg.adapter).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(service = %svc.id, error = %e, "usage: provider unavailable");
                continue;
            }
        };
        let mut n = 0;
        while from + hour <= now && n < max_hours {
            let to = from + hour;
            // The first period starts at activation, not at the top of the hour.
            let measured_from = Ord::max(from, activated);
            match adapter.usage(&r, measured_from, to).await {
                Ok(Some(u)) => {
                    let res = usage_record::Entity::insert(usage_record::ActiveModel {
                        tenant_id: Set(svc.tenant_id.clone()),
                        service_id: Set(svc.id.clone()),
                        period_start: Set(from),
                        period_end: Set(to),
                        mb_in: Set(u.mb_in),
                        mb_out: Set(u.mb_out),
                        source: Set(
                            adapter.name().to_string() + if leg.adapter == "mef_partner" { "" } else { " sandbox" }
                        ),
                        created_at: Set(now),
                        ..Default::default()
                    })
                    .on_conflict(
                        OnConflict::columns([usage_record::Column::ServiceId, usage_record::Column::PeriodStart])
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_without_returning(&state.db)
                    .await?;
                    written += res;
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(service = %svc.id, error = %e, "usage not available");
                    break;
                }
            }
            from = to;
            n += 1;
        }
    }
    Ok(written)
}

/// Compare what each provider reports with what our legs record, and note every difference
/// once in the service's timeline (and the log) for operations to look at. Returns how many
/// new differences were found. Nothing is changed at the provider.
pub async fn reconcile(state: &AppState) -> Result<u64, AppError> {
    let legs = service_leg::Entity::find()
        .filter(service_leg::Column::Status.is_in([LegStatus::Active.as_str(), LegStatus::Suspended.as_str()]))
        .all(&state.db)
        .await?;
    // One inventory call per provider, adapter and tenant.
    let mut groups: std::collections::BTreeMap<(String, String, String), Vec<service_leg::Model>> = Default::default();
    for l in legs.into_iter().filter(|l| l.external_ref.is_some()) {
        groups.entry((l.provider_id.clone(), l.adapter.clone(), l.tenant_id.clone())).or_default().push(l);
    }
    let mut found = 0;
    for ((provider_id, adapter_name, tenant_id), legs) in groups {
        let adapter = match adapters::for_leg(state, &provider_id, &adapter_name).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(provider = %provider_id, error = %e, "inventory: provider unavailable");
                continue;
            }
        };
        let remote: std::collections::HashMap<String, String> =
            match bounded(state, adapter.sync_inventory(&tenant_id)).await {
                Ok(list) => list.into_iter().collect(),
                Err(e) => {
                    tracing::warn!(provider = %provider_id, error = %e, "inventory: sync failed");
                    continue;
                }
            };
        for leg in legs {
            let Some(r) = leg.external_ref.as_deref() else { continue };
            let expected = leg.provider_state.clone().unwrap_or_default();
            let detail = match remote.get(r) {
                Some(actual) if *actual == expected => continue,
                Some(actual) => format!("{}: the provider reports {r} as {actual}; we expect {expected}.", leg.name),
                None => format!("{}: the provider no longer lists {r}.", leg.name),
            };
            let Some(svc) = service::Entity::find_by_id(leg.service_id.clone()).one(&state.db).await? else { continue };
            // Once per difference: skip when the newest drift note already says this.
            let last = service_event::Entity::find()
                .filter(service_event::Column::ServiceId.eq(&svc.id))
                .filter(service_event::Column::Kind.eq("drift"))
                .order_by_desc(service_event::Column::Id)
                .one(&state.db)
                .await?;
            if last.is_some_and(|e| e.detail == detail) {
                continue;
            }
            tracing::warn!(service = %svc.id, %detail, "inventory drift");
            let txn = state.db.begin_write().await?;
            note(&txn, &svc, "drift", &detail, "inventory-sync").await?;
            emit(
                &txn,
                &svc.tenant_id,
                "inventory.drift",
                &svc.id,
                json!({"service_id": svc.id, "leg": leg.seq, "detail": detail}),
            )
            .await?;
            txn.commit().await?;
            found += 1;
        }
    }
    Ok(found)
}
