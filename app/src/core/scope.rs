//! The one way to read and write owned data.
//!
//! Every table whose rows belong to a tenant (or, for some, to the platform) is registered
//! below with [`owned_tables!`], which implements [`Owned`] for its entity. Domains never
//! write `Column::TenantId.eq(..)` themselves: they ask a [`Scope`] for a query, and a
//! `Scope` can only be had from a signed-in request context ([`Scope::of`]), from the
//! explicit platform-staff path ([`Scope::platform_staff`], logged with its purpose), or
//! from trusted background work acting for a row it already holds ([`Scope::worker`]).
//!
//! Ownership is an [`Owner`]: a tenant, or the platform. A tenant's scope never matches
//! platform-owned rows (`tenant_id IS NULL`); a domain that publishes platform rows to
//! tenants (the catalog, later platform config namespaces) reads them through
//! [`Scope::with_platform`] on purpose.
use std::future::Future;
use std::pin::Pin;

use sea_orm::sea_query::{Expr, ExprTrait, IntoCondition};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, DeleteMany, EntityTrait, PaginatorTrait, PrimaryKeyTrait,
    QueryFilter, Select, UpdateMany,
};

use crate::auth::ssr::Ctx;
use crate::error::AppError;

/// Who owns a row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The provider running Patchbay (platform config, backbone devices, platform keys).
    Platform,
    /// One customer organisation.
    Tenant(String),
}

impl Owner {
    /// The value stored in a `tenant_id` column for this owner.
    pub fn tenant_id(&self) -> Option<&str> {
        match self {
            Owner::Platform => None,
            Owner::Tenant(id) => Some(id),
        }
    }
}

/// An entity whose rows are owned (by a tenant, or by the platform where allowed).
pub trait Owned: EntityTrait {
    /// The column that names the owning tenant (`NULL` for platform-owned rows).
    fn owner_column() -> Self::Column;
    /// Whether rows of this entity may be platform-owned.
    const PLATFORM_ROWS: bool;
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Reach {
    /// Exactly one owner's rows.
    Owner(Owner),
    /// A tenant's rows plus what the platform publishes to every tenant.
    TenantAndPlatform(String),
    /// Every owner's rows: platform staff only, for a stated purpose.
    Everyone,
}

/// Which owned rows a query may see or touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    reach: Reach,
}

impl Scope {
    /// The caller's selected tenant. Platform staff without a selected tenant get
    /// Forbidden here too: reading across tenants is [`Scope::platform_staff`].
    pub fn of(ctx: &Ctx) -> Result<Scope, AppError> {
        let t = ctx.tenant()?;
        Ok(Scope { reach: Reach::Owner(Owner::Tenant(t.id.clone())) })
    }

    /// Platform-owned rows only (platform staff acting as the platform).
    pub fn platform(ctx: &Ctx) -> Result<Scope, AppError> {
        if !ctx.user.is_platform_admin {
            return Err(AppError::forbidden());
        }
        Ok(Scope { reach: Reach::Owner(Owner::Platform) })
    }

    /// Every tenant's rows, for platform staff. The purpose is logged with the user, so
    /// cross-tenant reads are visible in the access log rather than hidden in a missing filter.
    pub fn platform_staff(ctx: &Ctx, purpose: &'static str) -> Result<Scope, AppError> {
        if !ctx.user.is_platform_admin {
            return Err(AppError::forbidden());
        }
        tracing::info!(target: "patchbay::platform_scope", user_id = %ctx.user.id, email = %ctx.user.email, purpose, "cross-tenant access");
        Ok(Scope { reach: Reach::Everyone })
    }

    /// Platform staff see every tenant; anyone else their selected tenant. For staff
    /// consoles that customers' own staff may also open (scoped to themselves).
    pub fn staff_or_tenant(ctx: &Ctx, purpose: &'static str) -> Result<Scope, AppError> {
        if ctx.user.is_platform_admin { Scope::platform_staff(ctx, purpose) } else { Scope::of(ctx) }
    }

    /// Background work acting for an owner it read from a row it already holds (a job's
    /// tenant, an event's tenant). Never built from request input.
    pub fn worker(owner: Owner) -> Scope {
        Scope { reach: Reach::Owner(owner) }
    }

    /// A tenant chosen by platform staff (e.g. the console's tenant page), checked here.
    pub fn staff_for_tenant(ctx: &Ctx, tenant_id: &str) -> Result<Scope, AppError> {
        if !ctx.user.is_platform_admin {
            return Err(AppError::forbidden());
        }
        Ok(Scope { reach: Reach::Owner(Owner::Tenant(tenant_id.to_string())) })
    }

    /// A tenant the caller has just been admitted to: by [`crate::auth::ssr::require_in_tenant`]
    /// (a member with the permission, or platform staff), by a valid invitation, or by a
    /// verified single sign-on callback for that tenant. Only those checks may call this.
    pub(crate) fn admitted(tenant: &entity::tenant::Model) -> Scope {
        Scope { reach: Reach::Owner(Owner::Tenant(tenant.id.clone())) }
    }

    /// This scope widened to include what the platform publishes to every tenant.
    pub fn with_platform(&self) -> Scope {
        match &self.reach {
            Reach::Owner(Owner::Tenant(t)) => Scope { reach: Reach::TenantAndPlatform(t.clone()) },
            _ => self.clone(),
        }
    }

    /// The single owner this scope writes as, if it has one.
    pub fn owner(&self) -> Option<&Owner> {
        match &self.reach {
            Reach::Owner(o) => Some(o),
            _ => None,
        }
    }

    /// The tenant this scope belongs to; Forbidden for platform and cross-tenant scopes.
    pub fn tenant_id(&self) -> Result<&str, AppError> {
        match &self.reach {
            Reach::Owner(Owner::Tenant(t)) | Reach::TenantAndPlatform(t) => Ok(t),
            _ => Err(AppError::Forbidden("Select a tenant first.".into())),
        }
    }

    /// Whether this is the cross-tenant staff scope.
    pub fn is_everyone(&self) -> bool {
        self.reach == Reach::Everyone
    }

    /// The filter for entity `E` (a condition that matches nothing when `E` has no
    /// platform rows and this is a platform scope).
    pub fn condition<E: Owned>(&self) -> Condition {
        let col = E::owner_column();
        match &self.reach {
            Reach::Owner(Owner::Tenant(t)) => col.eq(t.as_str()).into_condition(),
            Reach::Owner(Owner::Platform) if E::PLATFORM_ROWS => col.is_null().into_condition(),
            Reach::Owner(Owner::Platform) => Expr::val(1).eq(0).into_condition(),
            Reach::TenantAndPlatform(t) if E::PLATFORM_ROWS => {
                Condition::any().add(col.eq(t.as_str())).add(col.is_null())
            }
            Reach::TenantAndPlatform(t) => col.eq(t.as_str()).into_condition(),
            Reach::Everyone => Condition::all(),
        }
    }

    /// `SELECT … WHERE <scope>`.
    pub fn find<E: Owned>(&self) -> Select<E> {
        E::find().filter(self.condition::<E>())
    }

    /// One row by primary key inside the scope; NotFound otherwise (another owner's id
    /// gives the same answer as an id that does not exist).
    pub async fn get<E, K>(&self, conn: &impl ConnectionTrait, id: K) -> Result<E::Model, AppError>
    where
        E: Owned,
        K: Into<<E::PrimaryKey as PrimaryKeyTrait>::ValueType>,
    {
        self.find_by_id::<E, K>(conn, id).await?.ok_or(AppError::NotFound)
    }

    /// One row by primary key inside the scope, if there is one.
    pub async fn find_by_id<E, K>(&self, conn: &impl ConnectionTrait, id: K) -> Result<Option<E::Model>, AppError>
    where
        E: Owned,
        K: Into<<E::PrimaryKey as PrimaryKeyTrait>::ValueType>,
    {
        Ok(E::find_by_id(id).filter(self.condition::<E>()).one(conn).await?)
    }

    /// `UPDATE … WHERE <scope>`; add your own filters and values.
    pub fn update_many<E: Owned>(&self) -> UpdateMany<E> {
        E::update_many().filter(self.condition::<E>())
    }

    /// `DELETE … WHERE <scope>`.
    pub fn delete_many<E: Owned>(&self) -> DeleteMany<E> {
        E::delete_many().filter(self.condition::<E>())
    }

    /// Count the rows in scope.
    pub async fn count<E: Owned>(&self, conn: &impl ConnectionTrait) -> Result<u64, AppError>
    where
        E::Model: Sync,
    {
        Ok(self.find::<E>().count(conn).await?)
    }
}

/// One registered owned table, for tests and tooling that must cover every one of them.
pub struct OwnedTable {
    pub table: &'static str,
    pub platform_rows: bool,
    /// Rows visible in a scope, as JSON (to check whose they are).
    pub rows: for<'a> fn(&'a Scope, &'a sea_orm::DatabaseTransaction) -> BoxFut<'a, Vec<serde_json::Value>>,
    /// Try to move every row in scope to another owner; returns rows affected.
    pub reassign: for<'a> fn(&'a Scope, &'a sea_orm::DatabaseTransaction, &'a str) -> BoxFut<'a, u64>,
    /// Delete every row in scope; returns rows affected.
    pub delete: for<'a> fn(&'a Scope, &'a sea_orm::DatabaseTransaction) -> BoxFut<'a, u64>,
}

pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = Result<T, DbErr>> + Send + 'a>>;

/// Registers owned entities: implements [`Owned`] and lists them in [`OWNED_TABLES`].
macro_rules! owned_tables {
    ($( $module:ident : $platform:expr ),* $(,)?) => {
        $(
            impl Owned for entity::$module::Entity {
                fn owner_column() -> Self::Column {
                    entity::$module::Column::TenantId
                }
                const PLATFORM_ROWS: bool = $platform;
            }
        )*

        /// Every owned table. A test compares this list with the database schema, so a new
        /// table with a `tenant_id` column cannot be left out.
        pub static OWNED_TABLES: &[OwnedTable] = &[
            $(
                OwnedTable {
                    table: stringify!($module),
                    platform_rows: $platform,
                    rows: |scope, txn| Box::pin(async move {
                        scope.find::<entity::$module::Entity>().into_json().all(txn).await
                    }),
                    reassign: |scope, txn, to| Box::pin(async move {
                        Ok(scope
                            .update_many::<entity::$module::Entity>()
                            .col_expr(entity::$module::Column::TenantId, Expr::value(to))
                            .exec(txn)
                            .await?
                            .rows_affected)
                    }),
                    delete: |scope, txn| Box::pin(async move {
                        Ok(scope.delete_many::<entity::$module::Entity>().exec(txn).await?.rows_affected)
                    }),
                },
            )*
        ];
    };
}

owned_tables! {
    api_key: true,
    audit_event: true,
    idempotency_key: false,
    intervention: false,
    invitation: false,
    job: true,
    mail_outbox: true,
    membership: false,
    order: false,
    order_policy: false,
    order_transition: false,
    outbox_event: false,
    quote: false,
    sandbox_resource: false,
    service: false,
    service_event: false,
    service_leg: false,
    session: true,
    sso_config: false,
    tenant_security_policy: false,
    usage_record: false,
    webhook_attempt: false,
    webhook_message: false,
    webhook_subscription: false,
}

/// The SQL table name of a registered entity module (`service_leg` → `service_legs`).
pub fn table_name_of(module: &str) -> Option<&'static str> {
    use sea_orm::EntityName;
    macro_rules! names {
        ($($m:ident),*) => {
            match module {
                $(stringify!($m) => Some(entity::$m::Entity.table_name()),)*
                _ => None,
            }
        };
    }
    names!(
        api_key,
        audit_event,
        idempotency_key,
        intervention,
        invitation,
        job,
        mail_outbox,
        membership,
        order,
        order_policy,
        order_transition,
        outbox_event,
        quote,
        sandbox_resource,
        service,
        service_event,
        service_leg,
        session,
        sso_config,
        tenant_security_policy,
        usage_record,
        webhook_attempt,
        webhook_message,
        webhook_subscription
    )
}

/// Stamp a new row's owner from the scope (keeps inserts on the same path as reads).
pub fn owner_value(scope: &Scope) -> Result<Option<String>, AppError> {
    match scope.owner() {
        Some(o) => Ok(o.tenant_id().map(str::to_string)),
        None => Err(AppError::Forbidden("A cross-tenant scope cannot create rows.".into())),
    }
}

impl Ctx {
    /// The caller's tenant scope (Forbidden when no tenant is selected).
    pub fn scope(&self) -> Result<Scope, AppError> {
        Scope::of(self)
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{DbBackend, QueryTrait};

    use super::*;

    fn sql(scope: &Scope) -> String {
        scope.find::<entity::service::Entity>().build(DbBackend::Sqlite).to_string()
    }

    #[test]
    fn a_tenant_scope_filters_by_its_tenant() {
        let s = Scope::worker(Owner::Tenant("t-1".into()));
        assert!(sql(&s).contains(r#""services"."tenant_id" = 't-1'"#), "{}", sql(&s));
    }

    #[test]
    fn a_platform_scope_matches_no_tenant_rows() {
        let s = Scope::worker(Owner::Platform);
        // Services are never platform-owned: the condition is false.
        assert!(sql(&s).contains("1 = 0"), "{}", sql(&s));
        let jobs = s.find::<entity::job::Entity>().build(DbBackend::Sqlite).to_string();
        assert!(jobs.contains(r#""jobs"."tenant_id" IS NULL"#), "{jobs}");
    }

    #[test]
    fn with_platform_adds_platform_rows_only_where_they_exist() {
        let s = Scope::worker(Owner::Tenant("t-1".into())).with_platform();
        let jobs = s.find::<entity::job::Entity>().build(DbBackend::Sqlite).to_string();
        assert!(jobs.contains("IS NULL") && jobs.contains("'t-1'"), "{jobs}");
        assert!(!sql(&s).contains("IS NULL"), "{}", sql(&s));
    }

    #[test]
    fn every_registered_table_has_a_name() {
        for t in OWNED_TABLES {
            assert!(table_name_of(t.table).is_some(), "{}", t.table);
        }
    }
}
