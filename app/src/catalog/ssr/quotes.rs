//! Saved quotes of a tenant.

use crate::core::db::BeginWrite;
use chrono::{Duration, Utc};
use entity::quote;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait};

use super::CatalogNames;
use super::QUOTE_VALID_DAYS;
use super::browse::{number, parse_input, preview};
use crate::audit::ssr::{NewEvent, record};
use crate::auth::ssr::{Ctx, new_id};
use crate::catalog::money::format as money;
use crate::catalog::service::mbps_label;
use crate::catalog::*;
use crate::core::page::{Keyset, Page, PageRequest};
use crate::error::{AppError, FieldErrors};

/// Save a quote with the prices it was made with.
pub async fn create(ctx: &Ctx, input: &QuoteInput) -> Result<QuoteRow, AppError> {
    let t = ctx.tenant()?;
    let (preview, priced) = preview(ctx.db(), input).await?;
    if !preview.serviceable {
        return Err(AppError::Validation {
            message: format!("This connection cannot be offered: {}", preview.reasons.join(" ")),
            fields: FieldErrors::new(),
        });
    }
    let Some((book, o)) = priced else { return Err(AppError::Conflict("No price book is in force.".into())) };
    let (bw, term, usage) = parse_input(input)?;
    let now = Utc::now();
    let id = new_id();
    let lines = serde_json::to_string(&preview.lines).map_err(|e| AppError::internal("quote lines", e))?;
    let txn = ctx.db().begin_write().await?;
    let q = quote::ActiveModel {
        id: Set(id.clone()),
        tenant_id: Set(t.id.clone()),
        number: Set(number("Q")),
        offering_id: Set(o.id.clone()),
        a_endpoint_id: Set(input.a_endpoint_id.clone()),
        b_endpoint_id: Set(input.b_endpoint_id.clone()),
        bandwidth_mbps: Set(bw),
        term_months: Set(term as i32),
        currency: Set(book.currency.clone()),
        price_book_id: Set(book.id.clone()),
        nrc_minor: Set(preview.nrc_minor),
        monthly_minor: Set(preview.monthly_minor),
        total_minor: Set(preview.total_minor),
        est_usage_gb: Set(if o.usage_based { usage } else { 0 }),
        line_items: Set(lines),
        valid_until: Set(now + Duration::days(QUOTE_VALID_DAYS)),
        status: Set("open".into()),
        created_by: Set(ctx.user.email.clone()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    record(
        &txn,
        NewEvent::tenant(
            &t.id,
            ctx.actor(),
            "quote.created",
            "quote",
            Some(id),
            serde_json::json!({"number": q.number, "total": preview.total, "offering": o.key}),
        ),
    )
    .await?;
    txn.commit().await?;
    quote_row(ctx.db(), q).await
}

/// One quote as the portal shows it.
pub async fn quote_row(db: &impl ConnectionTrait, q: quote::Model) -> Result<QuoteRow, AppError> {
    let names =
        CatalogNames::load(db, [q.offering_id.clone()], [q.a_endpoint_id.clone(), q.b_endpoint_id.clone()]).await?;
    quote_row_with(&names, q)
}

/// A quote row from names loaded in one batch (see [`CatalogNames`]).
pub fn quote_row_with(names: &CatalogNames, q: quote::Model) -> Result<QuoteRow, AppError> {
    let lines = serde_json::from_str(&q.line_items)
        .map_err(|e| AppError::internal("quote line items", format!("quotes row {}: {e}", q.id)))?;
    let expired = q.valid_until < Utc::now();
    Ok(QuoteRow {
        status: if q.status == "open" && expired { "expired".into() } else { q.status.clone() },
        offering: names.offering(&q.offering_id).map(|o| o.name.clone()).unwrap_or_default(),
        a_end: names.endpoint_label(&q.a_endpoint_id),
        b_end: names.endpoint_label(&q.b_endpoint_id),
        id: q.id,
        number: q.number,
        bandwidth: mbps_label(q.bandwidth_mbps),
        term_months: q.term_months as u32,
        currency: q.currency.clone(),
        nrc: money(q.nrc_minor, &q.currency),
        monthly: money(q.monthly_minor, &q.currency),
        total: money(q.total_minor, &q.currency),
        total_minor: q.total_minor,
        lines,
        valid_until: q.valid_until.format("%Y-%m-%d").to_string(),
        created_by: q.created_by,
        created_at: q.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        can_order: false,
    })
}

/// Quote rows for a page of quotes: names in one batch.
pub async fn quote_rows(db: &impl ConnectionTrait, quotes: Vec<quote::Model>) -> Result<Vec<QuoteRow>, AppError> {
    let names = CatalogNames::load(
        db,
        quotes.iter().map(|q| q.offering_id.clone()),
        quotes.iter().flat_map(|q| [q.a_endpoint_id.clone(), q.b_endpoint_id.clone()]),
    )
    .await?;
    quotes.into_iter().map(|q| quote_row_with(&names, q)).collect()
}

/// A quote of the caller's tenant (NotFound for anyone else's).
pub async fn tenant_quote(ctx: &Ctx, id: &str) -> Result<quote::Model, AppError> {
    tenant_quote_in(ctx, ctx.db(), id).await
}

/// The same, inside a transaction.
pub async fn tenant_quote_in(ctx: &Ctx, conn: &impl ConnectionTrait, id: &str) -> Result<quote::Model, AppError> {
    ctx.scope()?.get::<quote::Entity, _>(conn, id.to_string()).await
}

/// The tenant's quotes, newest first, one page of rows as stored (the API's list).
pub async fn quote_page(ctx: &Ctx, req: &PageRequest) -> Result<Page<quote::Model>, AppError> {
    let select = ctx.scope()?.find::<quote::Entity>();
    Keyset::newest(quote::Column::CreatedAt, quote::Column::Id).page(ctx.db(), select, req).await
}

/// The tenant's quotes, newest first, one page.
pub async fn list_quotes(ctx: &Ctx, req: &PageRequest) -> Result<Page<QuoteRow>, AppError> {
    let page = quote_page(ctx, req).await?;
    let info = page.page_info;
    Ok(Page { items: quote_rows(ctx.db(), page.items).await?, page_info: info })
}
