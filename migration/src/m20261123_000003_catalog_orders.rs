//! Catalog (providers, locations, endpoints, offerings), effective-dated price books,
//! quotes, orders with their transition history, and the event outbox.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn id(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string_len(36).not_null().primary_key().to_owned()
}
fn fk(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string_len(36).not_null().to_owned()
}
fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().not_null().to_owned()
}
fn text_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().null().to_owned()
}
fn big(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().to_owned()
}
fn int(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).integer().not_null().to_owned()
}
fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}
fn json(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().not_null().to_owned()
}

async fn index(
    m: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    cols: &[&str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    if unique {
        i.unique();
    }
    m.create_index(i.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Providers::Table)
                .col(id(Providers::Id))
                .col(text(Providers::Key).unique_key().to_owned())
                .col(text(Providers::Name))
                .col(text(Providers::Kind))
                .col(ts(Providers::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Locations::Table)
                .col(id(Locations::Id))
                .col(text(Locations::Key).unique_key().to_owned())
                .col(text(Locations::Facility))
                .col(text(Locations::Operator))
                .col(text(Locations::Metro))
                .col(text(Locations::Country))
                .col(text(Locations::Region))
                .col(ColumnDef::new(Locations::Latitude).double().not_null())
                .col(ColumnDef::new(Locations::Longitude).double().not_null())
                .col(ts(Locations::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Endpoints::Table)
                .col(id(Endpoints::Id))
                .col(fk(Endpoints::ProviderId))
                .col(fk(Endpoints::LocationId))
                .col(text(Endpoints::Kind))
                .col(text(Endpoints::Name))
                .col(text_null(Endpoints::CloudRegion))
                .col(json(Endpoints::BandwidthsMbps))
                .col(big(Endpoints::CapacityMbps))
                .col(big(Endpoints::UsedMbps))
                .col(ColumnDef::new(Endpoints::Active).boolean().not_null().default(true))
                .col(ts(Endpoints::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Endpoints::Table, Endpoints::ProviderId)
                        .to(Providers::Table, Providers::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Endpoints::Table, Endpoints::LocationId)
                        .to(Locations::Table, Locations::Id),
                )
                .to_owned(),
        )
        .await?;
        index(m, "ix_endpoints_location", Endpoints::Table, &["location_id"], false).await?;
        m.create_table(
            Table::create()
                .table(Offerings::Table)
                .col(id(Offerings::Id))
                .col(text(Offerings::Key).unique_key().to_owned())
                .col(text(Offerings::Name))
                .col(text(Offerings::Kind))
                .col(json(Offerings::AKinds))
                .col(json(Offerings::BKinds))
                .col(json(Offerings::BandwidthsMbps))
                .col(json(Offerings::TermsMonths))
                .col(ColumnDef::new(Offerings::UsageBased).boolean().not_null().default(false))
                .col(ColumnDef::new(Offerings::Composite).boolean().not_null().default(false))
                .col(ts(Offerings::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PriceBooks::Table)
                .col(id(PriceBooks::Id))
                .col(text(PriceBooks::Region))
                .col(ColumnDef::new(PriceBooks::Currency).string_len(3).not_null())
                .col(int(PriceBooks::Version))
                .col(ts(PriceBooks::EffectiveFrom))
                .col(json(PriceBooks::TermDiscountsBps))
                .col(text(PriceBooks::Note))
                .col(text(PriceBooks::CreatedBy))
                .col(ts(PriceBooks::CreatedAt))
                .to_owned(),
        )
        .await?;
        index(m, "ux_price_books_version", PriceBooks::Table, &["region", "currency", "version"], true).await?;
        m.create_table(
            Table::create()
                .table(PriceEntries::Table)
                .col(id(PriceEntries::Id))
                .col(fk(PriceEntries::PriceBookId))
                .col(fk(PriceEntries::OfferingId))
                .col(big(PriceEntries::BandwidthMbps))
                .col(big(PriceEntries::NrcMinor))
                .col(big(PriceEntries::MrcMinor))
                .col(ColumnDef::new(PriceEntries::UsagePerGbMinor).big_integer().null())
                .foreign_key(
                    ForeignKey::create()
                        .from(PriceEntries::Table, PriceEntries::PriceBookId)
                        .to(PriceBooks::Table, PriceBooks::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(PriceEntries::Table, PriceEntries::OfferingId)
                        .to(Offerings::Table, Offerings::Id),
                )
                .to_owned(),
        )
        .await?;
        index(m, "ux_price_entries", PriceEntries::Table, &["price_book_id", "offering_id", "bandwidth_mbps"], true)
            .await?;
        m.create_table(
            Table::create()
                .table(OrderPolicies::Table)
                .col(ColumnDef::new(OrderPolicies::TenantId).string_len(36).not_null().primary_key())
                .col(ColumnDef::new(OrderPolicies::ApprovalThresholdMinor).big_integer().null())
                .col(ColumnDef::new(OrderPolicies::Currency).string_len(3).not_null())
                .col(ts(OrderPolicies::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(OrderPolicies::Table, OrderPolicies::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Quotes::Table)
                .col(id(Quotes::Id))
                .col(fk(Quotes::TenantId))
                .col(text(Quotes::Number).unique_key().to_owned())
                .col(fk(Quotes::OfferingId))
                .col(fk(Quotes::AEndpointId))
                .col(fk(Quotes::BEndpointId))
                .col(big(Quotes::BandwidthMbps))
                .col(int(Quotes::TermMonths))
                .col(ColumnDef::new(Quotes::Currency).string_len(3).not_null())
                .col(fk(Quotes::PriceBookId))
                .col(big(Quotes::NrcMinor))
                .col(big(Quotes::MonthlyMinor))
                .col(big(Quotes::TotalMinor))
                .col(big(Quotes::EstUsageGb))
                .col(json(Quotes::LineItems))
                .col(ts(Quotes::ValidUntil))
                .col(text(Quotes::Status))
                .col(text(Quotes::CreatedBy))
                .col(ts(Quotes::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Quotes::Table, Quotes::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(m, "ix_quotes_tenant", Quotes::Table, &["tenant_id", "created_at"], false).await?;
        m.create_table(
            Table::create()
                .table(Orders::Table)
                .col(id(Orders::Id))
                .col(fk(Orders::TenantId))
                .col(text(Orders::Number).unique_key().to_owned())
                .col(ColumnDef::new(Orders::QuoteId).string_len(36).not_null().unique_key())
                .col(text(Orders::Status))
                .col(text(Orders::PoNumber))
                .col(text(Orders::CostCentre))
                .col(text(Orders::Description))
                .col(ColumnDef::new(Orders::NeedsApproval).boolean().not_null())
                .col(text(Orders::PlacedBy))
                .col(text(Orders::PlacedByEmail))
                .col(text_null(Orders::ApprovedBy))
                .col(text_null(Orders::StatusReason))
                .col(ts(Orders::CreatedAt))
                .col(ts(Orders::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Orders::Table, Orders::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(ForeignKey::create().from(Orders::Table, Orders::QuoteId).to(Quotes::Table, Quotes::Id))
                .to_owned(),
        )
        .await?;
        index(m, "ix_orders_tenant_status", Orders::Table, &["tenant_id", "status"], false).await?;
        m.create_table(
            Table::create()
                .table(OrderTransitions::Table)
                .col(ColumnDef::new(OrderTransitions::Id).big_integer().not_null().auto_increment().primary_key())
                .col(fk(OrderTransitions::OrderId))
                .col(fk(OrderTransitions::TenantId))
                .col(text_null(OrderTransitions::FromStatus))
                .col(text(OrderTransitions::ToStatus))
                .col(text(OrderTransitions::ActorLabel))
                .col(text_null(OrderTransitions::ActorId))
                .col(text_null(OrderTransitions::Reason))
                .col(ts(OrderTransitions::At))
                .foreign_key(
                    ForeignKey::create()
                        .from(OrderTransitions::Table, OrderTransitions::OrderId)
                        .to(Orders::Table, Orders::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(m, "ix_order_transitions_order", OrderTransitions::Table, &["order_id", "id"], false).await?;
        m.create_table(
            Table::create()
                .table(OutboxEvents::Table)
                .col(ColumnDef::new(OutboxEvents::Id).big_integer().not_null().auto_increment().primary_key())
                .col(fk(OutboxEvents::TenantId))
                .col(text(OutboxEvents::EventType))
                .col(text(OutboxEvents::ResourceId))
                .col(json(OutboxEvents::Payload))
                .col(ts(OutboxEvents::CreatedAt))
                .col(ColumnDef::new(OutboxEvents::DeliveredAt).timestamp_with_time_zone().null())
                .to_owned(),
        )
        .await?;
        index(m, "ix_outbox_undelivered", OutboxEvents::Table, &["delivered_at", "id"], false).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            OutboxEvents::Table.into_iden(),
            OrderTransitions::Table.into_iden(),
            Orders::Table.into_iden(),
            Quotes::Table.into_iden(),
            OrderPolicies::Table.into_iden(),
            PriceEntries::Table.into_iden(),
            PriceBooks::Table.into_iden(),
            Offerings::Table.into_iden(),
            Endpoints::Table.into_iden(),
            Locations::Table.into_iden(),
            Providers::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}
#[derive(DeriveIden)]
enum Providers {
    Table,
    Id,
    Key,
    Name,
    Kind,
    CreatedAt,
}
#[derive(DeriveIden)]
enum Locations {
    Table,
    Id,
    Key,
    Facility,
    Operator,
    Metro,
    Country,
    Region,
    Latitude,
    Longitude,
    CreatedAt,
}
#[derive(DeriveIden)]
enum Endpoints {
    Table,
    Id,
    ProviderId,
    LocationId,
    Kind,
    Name,
    CloudRegion,
    BandwidthsMbps,
    CapacityMbps,
    UsedMbps,
    Active,
    CreatedAt,
}
#[derive(DeriveIden)]
enum Offerings {
    Table,
    Id,
    Key,
    Name,
    Kind,
    AKinds,
    BKinds,
    BandwidthsMbps,
    TermsMonths,
    UsageBased,
    Composite,
    CreatedAt,
}
#[derive(DeriveIden)]
enum PriceBooks {
    Table,
    Id,
    Region,
    Currency,
    Version,
    EffectiveFrom,
    TermDiscountsBps,
    Note,
    CreatedBy,
    CreatedAt,
}
#[derive(DeriveIden)]
enum PriceEntries {
    Table,
    Id,
    PriceBookId,
    OfferingId,
    BandwidthMbps,
    NrcMinor,
    MrcMinor,
    UsagePerGbMinor,
}
#[derive(DeriveIden)]
enum OrderPolicies {
    Table,
    TenantId,
    ApprovalThresholdMinor,
    Currency,
    UpdatedAt,
}
#[derive(DeriveIden)]
enum Quotes {
    Table,
    Id,
    TenantId,
    Number,
    OfferingId,
    AEndpointId,
    BEndpointId,
    BandwidthMbps,
    TermMonths,
    Currency,
    PriceBookId,
    NrcMinor,
    MonthlyMinor,
    TotalMinor,
    EstUsageGb,
    LineItems,
    ValidUntil,
    Status,
    CreatedBy,
    CreatedAt,
}
#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    TenantId,
    Number,
    QuoteId,
    Status,
    PoNumber,
    CostCentre,
    Description,
    NeedsApproval,
    PlacedBy,
    PlacedByEmail,
    ApprovedBy,
    StatusReason,
    CreatedAt,
    UpdatedAt,
}
#[derive(DeriveIden)]
enum OrderTransitions {
    Table,
    Id,
    OrderId,
    TenantId,
    FromStatus,
    ToStatus,
    ActorLabel,
    ActorId,
    Reason,
    At,
}
#[derive(DeriveIden)]
enum OutboxEvents {
    Table,
    Id,
    TenantId,
    EventType,
    ResourceId,
    Payload,
    CreatedAt,
    DeliveredAt,
}
