use sea_orm::entity::prelude::*;

/// One step of the history of an order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_transitions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: String,
    pub tenant_id: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_label: String,
    pub actor_id: Option<String>,
    pub reason: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
