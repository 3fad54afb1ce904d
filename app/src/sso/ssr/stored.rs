//! A tenant's stored SSO configuration, read into types in one place. A column that does
//! not parse is an error naming the `sso_configs` row, never a default (a corrupt role map
//! must not give everyone the default role, corrupt domains must not turn SSO off).
use std::collections::BTreeMap;

use entity::{membership, sso_config, tenant, user};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::auth::permissions::Role;
use crate::error::AppError;
use crate::sso::mapping::{email_domain, valid_domain};

/// The typed JSON and enum columns of an `sso_configs` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSso {
    pub domains: Vec<String>,
    pub role_map: BTreeMap<String, Role>,
    pub default_role: Role,
}

/// Why a stored row is corrupt (the row and column named).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptRow {
    pub tenant_id: String,
    pub column: &'static str,
    pub problem: String,
}

impl std::fmt::Display for CorruptRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sso_configs row {} is corrupt: column {}: {}", self.tenant_id, self.column, self.problem)
    }
}

impl From<CorruptRow> for AppError {
    fn from(c: CorruptRow) -> Self {
        AppError::internal("stored SSO configuration", c)
    }
}

/// Read the typed columns of a row.
pub fn parse_stored(cfg: &sso_config::Model) -> Result<StoredSso, CorruptRow> {
    let corrupt = |column, problem: String| CorruptRow { tenant_id: cfg.tenant_id.clone(), column, problem };
    let domains: Vec<String> =
        serde_json::from_str(&cfg.allowed_domains).map_err(|e| corrupt("allowed_domains", e.to_string()))?;
    if let Some(bad) = domains.iter().find(|d| !valid_domain(d) || d.to_lowercase() != **d) {
        return Err(corrupt("allowed_domains", format!("{bad:?} is not a lower-case domain")));
    }
    let role_map: BTreeMap<String, Role> =
        serde_json::from_str(&cfg.role_map).map_err(|e| corrupt("role_map", e.to_string()))?;
    let default_role = Role::parse(&cfg.default_role)
        .ok_or_else(|| corrupt("default_role", format!("{:?} is not a role", cfg.default_role)))?;
    Ok(StoredSso { domains, role_map, default_role })
}

/// Rows whose stored domains may hold `domain` (a text match narrows the search; each
/// candidate is then parsed, and a corrupt candidate is an error).
async fn rows_with_domain(
    db: &DatabaseConnection,
    domain: &str,
    only_requiring_sso: bool,
    except_tenant: Option<&str>,
) -> Result<Vec<sso_config::Model>, AppError> {
    if !valid_domain(domain) {
        return Ok(Vec::new());
    }
    let mut q = sso_config::Entity::find().filter(sso_config::Column::AllowedDomains.contains(domain));
    if only_requiring_sso {
        q = q.filter(sso_config::Column::RequireSso.eq(true));
    }
    if let Some(t) = except_tenant {
        q = q.filter(sso_config::Column::TenantId.ne(t));
    }
    let mut out = Vec::new();
    for cfg in q.all(db).await? {
        if parse_stored(&cfg)?.domains.iter().any(|d| d == domain) {
            out.push(cfg);
        }
    }
    Ok(out)
}

/// The tenant whose SSO owns this e-mail's domain (home-realm discovery).
pub async fn tenant_for_email(
    db: &DatabaseConnection,
    email: &str,
) -> Result<Option<(tenant::Model, sso_config::Model)>, AppError> {
    let Some(domain) = email_domain(email) else { return Ok(None) };
    for cfg in rows_with_domain(db, &domain, false, None).await? {
        if let Some(t) = tenant::Entity::find_by_id(cfg.tenant_id.clone()).one(db).await?
            && t.status != "deleted"
        {
            return Ok(Some((t, cfg)));
        }
    }
    Ok(None)
}

/// Whether a tenant other than `except` already claims `domain` for its SSO (`except`'s
/// own row is not read: saving replaces it, which is how a corrupt row is repaired).
pub async fn domain_claimed_elsewhere(db: &DatabaseConnection, domain: &str, except: &str) -> Result<bool, AppError> {
    Ok(!rows_with_domain(db, domain, false, Some(except)).await?.is_empty())
}

/// Whether password sign-in is refused for this (non platform-admin) user.
pub async fn password_refused(db: &DatabaseConnection, user: &user::Model) -> Result<Option<String>, AppError> {
    if user.is_platform_admin {
        return Ok(None);
    }
    // Only rows that require SSO matter here (so a corrupt row of a tenant that does not
    // require it does not lock its members out of password sign-in).
    if let Some(domain) = email_domain(&user.email) {
        for cfg in rows_with_domain(db, &domain, true, None).await? {
            if let Some(t) = tenant::Entity::find_by_id(cfg.tenant_id.clone()).one(db).await?
                && t.status != "deleted"
            {
                return Ok(Some(t.name));
            }
        }
    }
    for m in membership::Entity::find().filter(membership::Column::UserId.eq(&user.id)).all(db).await? {
        if let Some(cfg) = sso_config::Entity::find_by_id(m.tenant_id.clone()).one(db).await?
            && cfg.require_sso
        {
            let name = tenant::Entity::find_by_id(m.tenant_id).one(db).await?.map(|t| t.name).unwrap_or_default();
            return Ok(Some(name));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(domains: &str, role_map: &str, default_role: &str) -> sso_config::Model {
        let now = chrono::Utc::now();
        sso_config::Model {
            tenant_id: "t-1".into(),
            issuer: "https://idp.example".into(),
            client_id: "c".into(),
            client_secret_enc: String::new(),
            scopes: "openid".into(),
            allowed_domains: domains.into(),
            role_claim: None,
            role_map: role_map.into(),
            default_role: default_role.into(),
            require_sso: false,
            updated_by: "x".into(),
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn good_rows_parse_into_types() {
        let s = parse_stored(&row(r#"["acme.example"]"#, r#"{"ops":"operator"}"#, "auditor")).unwrap();
        assert_eq!(s.domains, vec!["acme.example"]);
        assert_eq!(s.role_map.get("ops"), Some(&Role::Operator));
        assert_eq!(s.default_role, Role::Auditor);
    }

    #[test]
    fn corrupt_columns_are_errors_naming_the_row_and_column() {
        for (r, column) in [
            (row("not json", "{}", "member"), "allowed_domains"),
            (row(r#"["Bad Domain"]"#, "{}", "member"), "allowed_domains"),
            (row(r#"["acme.example"]"#, r#"{"ops":"root"}"#, "member"), "role_map"),
            (row(r#"["acme.example"]"#, "{", "member"), "role_map"),
            (row(r#"["acme.example"]"#, "{}", "overlord"), "default_role"),
        ] {
            let e = parse_stored(&r).expect_err(column);
            assert_eq!(e.column, column);
            assert!(e.to_string().contains("sso_configs row t-1"), "{e}");
        }
    }
}
