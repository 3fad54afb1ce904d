use sea_orm::entity::prelude::*;

/// An order for a connection, driven by the order state machine.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    #[sea_orm(unique)]
    pub number: String,
    #[sea_orm(unique)]
    pub quote_id: String,
    pub status: String,
    pub po_number: String,
    pub cost_centre: String,
    pub description: String,
    pub needs_approval: bool,
    pub placed_by: String,
    pub placed_by_email: String,
    pub approved_by: Option<String>,
    pub status_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
