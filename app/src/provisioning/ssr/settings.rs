//! Console → Providers: which adapter serves each provider, and its sandbox behaviour.
use super::*;
use crate::core::db::BeginWrite;

pub async fn list_adapters(ctx: &Ctx) -> Result<Vec<ProviderAdapterRow>, AppError> {
    let rows: HashMap<String, provider_adapter::Model> =
        provider_adapter::Entity::find().all(ctx.db()).await?.into_iter().map(|r| (r.provider_id.clone(), r)).collect();
    let mut out = Vec::new();
    for p in provider::Entity::find().order_by_asc(provider::Column::Name).all(ctx.db()).await? {
        let row = rows.get(&p.id).cloned();
        let updated =
            row.as_ref().map(|r| format!("{} by {}", when(r.updated_at), r.updated_by.clone().unwrap_or_default()));
        let s = super::adapters::settings_of(&p, row);
        out.push(ProviderAdapterRow {
            provider_id: p.id,
            provider: p.name,
            kind: p.kind,
            adapter: s.adapter,
            backend: s.backend,
            base_url: s.base_url.unwrap_or_default(),
            has_credentials: s.credentials_sealed.is_some(),
            latency_ms: s.latency_ms,
            transient_pct: s.transient_pct,
            permanent_pct: s.permanent_pct,
            timeout_pct: s.timeout_pct,
            customer_action: s.customer_action,
            updated,
        });
    }
    Ok(out)
}

pub struct AdapterInput {
    pub adapter: String,
    pub latency_ms: String,
    pub transient_pct: String,
    pub permanent_pct: String,
    pub timeout_pct: String,
    pub customer_action: String,
    pub base_url: String,
    pub credentials: String,
}

pub async fn save_adapter(ctx: &Ctx, provider_id: &str, input: AdapterInput) -> Result<(), AppError> {
    let p = provider::Entity::find_by_id(provider_id.to_string()).one(ctx.db()).await?.ok_or(AppError::NotFound)?;
    let mut fields = FieldErrors::new();
    if !ADAPTER_CHOICES.iter().any(|(a, _)| *a == input.adapter) {
        fields.insert("adapter".into(), "Choose an adapter.".into());
    }
    let mut num = |name: &str, v: &str, max: i32, what: &str| -> i32 {
        match v.trim().parse::<i32>() {
            Ok(n) if (0..=max).contains(&n) => n,
            _ => {
                fields.insert(name.into(), format!("{what} (0 to {max})."));
                0
            }
        }
    };
    let latency = num("latency_ms", &input.latency_ms, 60_000, "Milliseconds");
    let transient = num("transient_pct", &input.transient_pct, 100, "A percentage");
    let permanent = num("permanent_pct", &input.permanent_pct, 100, "A percentage");
    let timeout = num("timeout_pct", &input.timeout_pct, 100, "A percentage");
    if transient + permanent + timeout > 100 {
        fields.insert("timeout_pct".into(), "Transient, permanent and timeout together cannot exceed 100%.".into());
    }
    if !matches!(input.customer_action.as_str(), "manual" | "auto") {
        fields.insert("customer_action".into(), "Choose who performs the customer's step.".into());
    }
    let base_url = input.base_url.trim().trim_end_matches('/').to_string();
    if input.adapter == "mef_partner" {
        match url::Url::parse(&base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                fields.insert("base_url".into(), "The partner's API base URL (https://…).".into());
            }
        }
    }
    if let Some(e) = AppError::from_fields(fields) {
        return Err(e);
    }
    let existing = provider_adapter::Entity::find_by_id(p.id.clone()).one(ctx.db()).await?;
    let credentials_sealed = match input.credentials.trim() {
        "" => existing.as_ref().and_then(|e| e.credentials_sealed.clone()),
        secret => Some(ctx.state.sealer.seal(secret).map_err(|e| AppError::internal("seal", e))?),
    };
    let row = provider_adapter::ActiveModel {
        provider_id: Set(p.id.clone()),
        adapter: Set(input.adapter.clone()),
        backend: Set(if input.adapter == "mef_partner" { "partner_api".into() } else { "sandbox".into() }),
        base_url: Set((!base_url.is_empty()).then_some(base_url.clone())),
        credentials_sealed: Set(credentials_sealed),
        latency_ms: Set(latency),
        transient_pct: Set(transient),
        permanent_pct: Set(permanent),
        timeout_pct: Set(timeout),
        customer_action: Set(input.customer_action.clone()),
        updated_at: Set(Utc::now()),
        updated_by: Set(Some(ctx.user.email.clone())),
    };
    let txn = ctx.db().begin_write().await?;
    if existing.is_some() {
        row.update(&txn).await?;
    } else {
        row.insert(&txn).await?;
    }
    record(
        &txn,
        NewEvent::platform(
            ctx.actor(),
            "provider.adapter.updated",
            "provider",
            Some(p.id.clone()),
            true,
            json!({
                "provider": p.key, "adapter": input.adapter, "latency_ms": latency, "transient_pct": transient,
                "permanent_pct": permanent, "timeout_pct": timeout, "customer_action": input.customer_action,
                "base_url": base_url, "credentials_changed": !input.credentials.trim().is_empty(),
            }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
