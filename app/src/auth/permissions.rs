//! Roles and the one permission table. Every server function and handler asks
//! [`allowed`] on its first line (through `require`); the UI only mirrors it.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    TenantAdmin,
    BillingAdmin,
    Operator,
    #[default]
    Member,
    Auditor,
    Support,
}

impl Role {
    pub const ALL: [Role; 6] =
        [Role::TenantAdmin, Role::BillingAdmin, Role::Operator, Role::Member, Role::Auditor, Role::Support];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::TenantAdmin => "tenant_admin",
            Role::BillingAdmin => "billing_admin",
            Role::Operator => "operator",
            Role::Member => "member",
            Role::Auditor => "auditor",
            Role::Support => "support",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::TenantAdmin => "Tenant admin",
            Role::BillingAdmin => "Billing admin",
            Role::Operator => "Operator (NOC)",
            Role::Member => "Member",
            Role::Auditor => "Auditor",
            Role::Support => "Support",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Role::TenantAdmin => "Manages the team, settings and everything in the tenant.",
            Role::BillingAdmin => "Places and approves orders, sees invoices.",
            Role::Operator => "Runs the network operations console.",
            Role::Member => "Uses the portal.",
            Role::Auditor => "Reads and exports the audit trail.",
            Role::Support => "Read-only diagnostics.",
        }
    }
}

/// Everything a signed-in user can ask to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Perm {
    /// Use the customer portal of the current tenant.
    PortalView,
    /// Open the admin / NOC console.
    ConsoleView,
    /// Open Config Studio.
    StudioView,
    /// Create, suspend, reactivate, delete tenants and change editions (platform).
    TenantsManage,
    /// See the tenant's users, roles and invitations.
    TeamView,
    /// Invite users, change roles, disable users, force sign-out.
    TeamManage,
    /// Read the audit trail.
    AuditView,
    /// Export the audit trail.
    AuditExport,
    /// Configure the tenant's single sign-on.
    SsoManage,
    /// Price connections and save quotes.
    QuoteCreate,
    /// Place and cancel orders.
    OrderPlace,
    /// Approve or reject orders placed by someone else.
    OrderApprove,
    /// Set the tenant's ordering rules (approval threshold).
    OrderPolicy,
    /// Run the catalog and price books (platform).
    CatalogManage,
    /// Change, suspend, resume and terminate services; perform sandbox customer steps.
    ServiceManage,
    /// See and act on background jobs and the manual-intervention queue.
    JobsManage,
    /// See the platform's mail outbox (platform staff).
    MailOutboxView,
    /// Create and rotate API keys; manage webhook subscriptions.
    IntegrationsManage,
    /// See the tenant's API keys and revoke them (also while the tenant is suspended: a
    /// leaked key must always be stoppable).
    IntegrationsView,
}

/// The permission table: which tenant roles may do what. Platform admins may do
/// everything; that is decided in [`allowed`], not here.
pub fn roles_for(perm: Perm) -> &'static [Role] {
    use Role::*;
    match perm {
        Perm::PortalView => &[TenantAdmin, BillingAdmin, Operator, Member, Auditor, Support],
        Perm::ConsoleView => &[Operator],
        Perm::StudioView => &[TenantAdmin, Operator, Member, Auditor, Support],
        Perm::TenantsManage => &[],
        Perm::TeamView => &[TenantAdmin, Auditor, Support],
        Perm::TeamManage => &[TenantAdmin],
        Perm::AuditView => &[TenantAdmin, Auditor],
        Perm::AuditExport => &[TenantAdmin, Auditor],
        Perm::SsoManage => &[TenantAdmin],
        Perm::QuoteCreate => &[TenantAdmin, BillingAdmin, Operator, Member],
        Perm::OrderPlace => &[TenantAdmin, BillingAdmin],
        Perm::OrderApprove => &[TenantAdmin, BillingAdmin],
        Perm::OrderPolicy => &[TenantAdmin],
        Perm::CatalogManage => &[],
        Perm::ServiceManage => &[TenantAdmin, BillingAdmin, Operator],
        // Patchbay's own NOC: a customer's operator must not mark their own provisioning done.
        Perm::JobsManage => &[],
        Perm::MailOutboxView => &[],
        Perm::IntegrationsManage => &[TenantAdmin],
        Perm::IntegrationsView => &[TenantAdmin],
    }
}

/// Whether a user with this platform flag and tenant role may do `perm`.
pub fn allowed(perm: Perm, is_platform_admin: bool, role: Option<Role>) -> bool {
    if is_platform_admin {
        return true;
    }
    role.is_some_and(|r| roles_for(perm).contains(&r))
}

/// Whether `perm` changes data (refused while the tenant is suspended).
pub fn is_write(perm: Perm) -> bool {
    matches!(
        perm,
        Perm::TeamManage
            | Perm::TenantsManage
            | Perm::SsoManage
            | Perm::QuoteCreate
            | Perm::OrderPlace
            | Perm::OrderApprove
            | Perm::OrderPolicy
            | Perm::CatalogManage
            | Perm::ServiceManage
            | Perm::JobsManage
            | Perm::IntegrationsManage
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("platform_admin"), None);
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn platform_admin_may_do_everything_and_no_tenant_role_manages_tenants() {
        for p in [Perm::TenantsManage, Perm::TeamManage, Perm::AuditExport] {
            assert!(allowed(p, true, None));
        }
        for r in Role::ALL {
            assert!(!allowed(Perm::TenantsManage, false, Some(r)));
        }
    }

    #[test]
    fn only_tenant_admins_manage_the_team() {
        for r in Role::ALL {
            assert_eq!(allowed(Perm::TeamManage, false, Some(r)), r == Role::TenantAdmin);
        }
        assert!(!allowed(Perm::TeamManage, false, None));
    }

    #[test]
    fn auditors_read_audit_but_members_do_not() {
        assert!(allowed(Perm::AuditView, false, Some(Role::Auditor)));
        assert!(!allowed(Perm::AuditView, false, Some(Role::Member)));
        assert!(!allowed(Perm::AuditView, false, Some(Role::BillingAdmin)));
    }
}
