//! The home page of each face, with figures from the database.
pub mod pages;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleCount {
    pub role: crate::auth::permissions::Role,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalFigures {
    pub tenant_name: String,
    pub edition: String,
    pub members: u64,
    pub max_users: i32,
    pub open_invitations: u64,
    pub active_sessions: u64,
    pub audit_events_7d: u64,
    pub roles: Vec<RoleCount>,
    pub recent: Vec<crate::audit::AuditRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCount {
    pub status: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleFigures {
    pub tenants: Vec<StatusCount>,
    pub users: u64,
    pub disabled_users: u64,
    pub active_sessions: u64,
    pub failed_sign_ins_24h: u64,
    pub audit_events_24h: u64,
    pub editions: Vec<(String, u64)>,
    /// `None`: platform-wide (platform admins). `Some(tenant name)`: an operator's own tenant.
    pub scoped_to: Option<String>,
    pub recent: Vec<crate::audit::AuditRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudioFigures {
    pub tenant_name: String,
    pub approvers: u64,
    pub members: u64,
}

#[server(endpoint = "home/portal")]
pub async fn portal_overview() -> Result<PortalFigures, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::portal(&require(Perm::PortalView).await?).await }.await)
}

#[server(endpoint = "home/console")]
pub async fn console_overview() -> Result<ConsoleFigures, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::console(&require(Perm::ConsoleView).await?).await }.await)
}

#[server(endpoint = "home/studio")]
pub async fn studio_overview() -> Result<StudioFigures, AppError> {
    use crate::auth::{permissions::Perm, ssr::*};
    respond(async { ssr::studio(&require(Perm::StudioView).await?).await }.await)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use chrono::{Duration, Utc};
    use entity::{audit_event, edition, invitation, login_failure, membership, session, tenant, user};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

    use super::*;
    use crate::auth::permissions::Role;
    use crate::auth::ssr::Ctx;

    pub async fn portal(ctx: &Ctx) -> Result<PortalFigures, AppError> {
        let t = ctx.tenant()?;
        let db = ctx.db();
        let scope = ctx.scope()?;
        let ms = scope.find::<membership::Entity>().all(db).await?;
        let roles = Role::ALL
            .into_iter()
            .map(|r| RoleCount { role: r, count: ms.iter().filter(|m| m.role == r.as_str()).count() as u64 })
            .filter(|rc| rc.count > 0)
            .collect();
        // Sessions working in this tenant (not its members' sessions in other tenants).
        let active_sessions = scope
            .find::<session::Entity>()
            .filter(session::Column::UserId.is_not_null())
            .filter(session::Column::ExpiresAt.gt(Utc::now()))
            .count(db)
            .await?;
        let open_invitations = scope
            .find::<invitation::Entity>()
            .filter(invitation::Column::AcceptedAt.is_null())
            .filter(invitation::Column::RevokedAt.is_null())
            .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
            .count(db)
            .await?;
        let week = crate::audit::ssr::format_at(Utc::now() - Duration::days(7));
        let audit_events_7d =
            scope.find::<audit_event::Entity>().filter(audit_event::Column::At.gte(week)).count(db).await?;
        let ed = edition::Entity::find_by_id(t.edition_id.clone()).one(db).await?;
        let recent = if ctx.can(crate::auth::permissions::Perm::AuditView) {
            scope
                .find::<audit_event::Entity>()
                .order_by_desc(audit_event::Column::Id)
                .limit(8)
                .all(db)
                .await?
                .into_iter()
                .map(crate::audit::ssr::to_row)
                .collect()
        } else {
            Vec::new()
        };
        Ok(PortalFigures {
            tenant_name: t.name.clone(),
            edition: ed.as_ref().map(|e| e.name.clone()).unwrap_or_default(),
            members: ms.len() as u64,
            max_users: ed.map(|e| e.max_users).unwrap_or(0),
            open_invitations,
            active_sessions,
            audit_events_7d,
            roles,
            recent,
        })
    }

    pub async fn console(ctx: &Ctx) -> Result<ConsoleFigures, AppError> {
        if ctx.user.is_platform_admin { platform_console(ctx).await } else { tenant_console(ctx).await }
    }

    async fn platform_console(ctx: &Ctx) -> Result<ConsoleFigures, AppError> {
        let db = ctx.db();
        let mut tenants = Vec::new();
        for s in ["active", "suspended", "deleted"] {
            tenants.push(StatusCount {
                status: s.into(),
                count: tenant::Entity::find().filter(tenant::Column::Status.eq(s)).count(db).await?,
            });
        }
        let now = Utc::now();
        let day = crate::audit::ssr::format_at(now - Duration::hours(24));
        let mut editions = Vec::new();
        for e in edition::Entity::find().order_by_asc(edition::Column::Rank).all(db).await? {
            let n = tenant::Entity::find()
                .filter(tenant::Column::EditionId.eq(&e.id))
                .filter(tenant::Column::Status.ne("deleted"))
                .count(db)
                .await?;
            editions.push((e.name, n));
        }
        let recent = audit_event::Entity::find()
            .filter(audit_event::Column::Chain.eq(crate::audit::chain::PLATFORM_CHAIN))
            .order_by_desc(audit_event::Column::Id)
            .limit(8)
            .all(db)
            .await?;
        Ok(ConsoleFigures {
            tenants,
            users: user::Entity::find().count(db).await?,
            disabled_users: user::Entity::find().filter(user::Column::Disabled.eq(true)).count(db).await?,
            active_sessions: session::Entity::find()
                .filter(session::Column::UserId.is_not_null())
                .filter(session::Column::ExpiresAt.gt(now))
                .count(db)
                .await?,
            failed_sign_ins_24h: login_failure::Entity::find()
                .filter(login_failure::Column::At.gt(now - Duration::hours(24)))
                .count(db)
                .await?,
            audit_events_24h: audit_event::Entity::find().filter(audit_event::Column::At.gte(day)).count(db).await?,
            editions,
            scoped_to: None,
            recent: crate::audit::ssr::to_rows(db, recent).await?,
        })
    }

    /// An operator sees the same figures for their own tenant only.
    async fn tenant_console(ctx: &Ctx) -> Result<ConsoleFigures, AppError> {
        let t = ctx.tenant()?;
        let db = ctx.db();
        let now = Utc::now();
        let day = crate::audit::ssr::format_at(now - Duration::hours(24));
        let scope = ctx.scope()?;
        let ms = scope.find::<membership::Entity>().all(db).await?;
        let ids: Vec<String> = ms.iter().map(|m| m.user_id.clone()).collect();
        let users = user::Entity::find().filter(user::Column::Id.is_in(ids.clone())).all(db).await?;
        let emails: Vec<String> = users.iter().map(|u| u.email.clone()).collect();
        Ok(ConsoleFigures {
            tenants: vec![StatusCount { status: t.status.clone(), count: 1 }],
            users: users.len() as u64,
            disabled_users: users.iter().filter(|u| u.disabled).count() as u64,
            active_sessions: scope
                .find::<session::Entity>()
                .filter(session::Column::UserId.is_not_null())
                .filter(session::Column::ExpiresAt.gt(now))
                .count(db)
                .await?,
            failed_sign_ins_24h: login_failure::Entity::find()
                .filter(login_failure::Column::Email.is_in(emails))
                .filter(login_failure::Column::At.gt(now - Duration::hours(24)))
                .count(db)
                .await?,
            audit_events_24h: scope
                .find::<audit_event::Entity>()
                .filter(audit_event::Column::At.gte(day))
                .count(db)
                .await?,
            editions: Vec::new(),
            scoped_to: Some(t.name.clone()),
            recent: Vec::new(),
        })
    }

    pub async fn studio(ctx: &Ctx) -> Result<StudioFigures, AppError> {
        let t = ctx.tenant()?;
        let db = ctx.db();
        let scope = ctx.scope()?;
        let members = scope.find::<membership::Entity>().count(db).await?;
        let approvers = scope
            .find::<membership::Entity>()
            .filter(membership::Column::Role.eq(Role::TenantAdmin.as_str()))
            .count(db)
            .await?;
        Ok(StudioFigures { tenant_name: t.name.clone(), approvers, members })
    }
}
