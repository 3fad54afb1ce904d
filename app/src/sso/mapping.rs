//! Pure SSO rules: e-mail domains, claim → role mapping, scope lists. No I/O.
use std::collections::BTreeMap;

use crate::auth::permissions::Role;

/// The domain of an e-mail address, lower-cased.
pub fn email_domain(email: &str) -> Option<String> {
    let (_, d) = email.trim().rsplit_once('@')?;
    (!d.is_empty()).then(|| d.to_lowercase())
}

/// Whether a string looks like a DNS domain name.
pub fn valid_domain(d: &str) -> bool {
    d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Parse "a.example, b.example" (commas, spaces or new lines); returns the bad entries too.
pub fn parse_domains(input: &str) -> (Vec<String>, Vec<String>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for d in input.split(|c: char| c == ',' || c.is_whitespace()).map(str::trim).filter(|d| !d.is_empty()) {
        let d = d.trim_start_matches('@').to_lowercase();
        if valid_domain(&d) {
            if !ok.contains(&d) {
                ok.push(d);
            }
        } else {
            bad.push(d);
        }
    }
    (ok, bad)
}

/// Parse "ops=operator, finance=billing_admin" into claim value → role.
pub fn parse_role_map(input: &str) -> Result<BTreeMap<String, Role>, String> {
    let mut map = BTreeMap::new();
    for pair in input.split([',', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
        let Some((value, role)) = pair.split_once('=') else {
            return Err(format!("“{pair}” is not of the form value=role."));
        };
        let value = value.trim();
        let role_name = role.trim();
        if value.is_empty() {
            return Err(format!("“{pair}” has no claim value."));
        }
        let role = Role::parse(role_name).ok_or_else(|| {
            format!(
                "“{role_name}” is not a role; use one of {}.",
                Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
            )
        })?;
        map.insert(value.to_string(), role);
    }
    Ok(map)
}

/// Render a role map back to its text form.
pub fn format_role_map(map: &BTreeMap<String, Role>) -> String {
    map.iter().map(|(k, v)| format!("{k}={}", v.as_str())).collect::<Vec<_>>().join(", ")
}

/// Rank of a role when several groups map to different roles: the strongest wins.
fn strength(r: Role) -> u8 {
    match r {
        Role::TenantAdmin => 6,
        Role::BillingAdmin => 5,
        Role::Operator => 4,
        Role::Auditor => 3,
        Role::Support => 2,
        Role::Member => 1,
    }
}

/// The role for a claim value (a string or an array of strings), else the default.
pub fn map_role(claim: Option<&serde_json::Value>, map: &BTreeMap<String, Role>, default: Role) -> Role {
    let values: Vec<&str> = match claim {
        Some(serde_json::Value::String(s)) => vec![s.as_str()],
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).collect(),
        _ => Vec::new(),
    };
    values.iter().filter_map(|v| map.get(*v).copied()).max_by_key(|r| strength(*r)).unwrap_or(default)
}

/// Scopes to request: always `openid`, plus the configured ones, de-duplicated.
pub fn parse_scopes(input: &str) -> Result<Vec<String>, String> {
    let mut out = vec!["openid".to_string()];
    for s in input.split([' ', ',']).map(str::trim).filter(|s| !s.is_empty()) {
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || "_:.-/".contains(c)) {
            return Err(format!("“{s}” is not a valid scope."));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn domains_are_normalised_and_checked() {
        let (ok, bad) = parse_domains("Acme.example, @corp.example\nacme.example bad_domain x");
        assert_eq!(ok, vec!["acme.example", "corp.example"]);
        assert_eq!(bad, vec!["bad_domain", "x"]);
        assert_eq!(email_domain("Alice@ACME.example"), Some("acme.example".into()));
        assert_eq!(email_domain("nobody"), None);
    }

    #[test]
    fn role_maps_parse_and_refuse_unknown_roles() {
        let m = parse_role_map("noc-ops=operator, finance = billing_admin").unwrap();
        assert_eq!(m.get("noc-ops"), Some(&Role::Operator));
        assert_eq!(m.get("finance"), Some(&Role::BillingAdmin));
        assert!(parse_role_map("x=platform_admin").is_err(), "platform admin is never granted by an IdP");
        assert!(parse_role_map("nonsense").is_err());
        assert_eq!(parse_role_map("").unwrap().len(), 0);
        assert_eq!(format_role_map(&m), "finance=billing_admin, noc-ops=operator");
    }

    #[test]
    fn the_strongest_mapped_role_wins_and_unmapped_users_get_the_default() {
        let m = parse_role_map("staff=member, noc-ops=operator, admins=tenant_admin").unwrap();
        assert_eq!(map_role(Some(&json!(["staff", "noc-ops"])), &m, Role::Member), Role::Operator);
        assert_eq!(map_role(Some(&json!(["admins", "noc-ops"])), &m, Role::Member), Role::TenantAdmin);
        assert_eq!(map_role(Some(&json!("noc-ops")), &m, Role::Member), Role::Operator);
        assert_eq!(map_role(Some(&json!(["other"])), &m, Role::Support), Role::Support);
        assert_eq!(map_role(None, &m, Role::Auditor), Role::Auditor);
        assert_eq!(map_role(Some(&json!(42)), &m, Role::Member), Role::Member);
    }

    #[test]
    fn scopes_always_include_openid() {
        assert_eq!(parse_scopes("email profile groups").unwrap(), vec!["openid", "email", "profile", "groups"]);
        assert_eq!(parse_scopes("openid, email").unwrap(), vec!["openid", "email"]);
        assert!(parse_scopes("email <script>").is_err());
    }
}
