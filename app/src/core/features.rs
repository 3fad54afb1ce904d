//! Edition features: the keys, the built-in matrix, and the "why is this disabled" text.
//!
//! Editions are data (the `editions` table): which features an edition has is its
//! `features` column. The matrix here is only what the built-in editions start with
//! (seed 001's packaging); operators may change an edition's features, and every check
//! reads the edition row, never this table.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// OpenID Connect single sign-on for the tenant's users.
    Sso,
    /// Bulk, signed export of the audit trail (reading it page by page is on every edition).
    AuditExport,
    /// Webhook subscriptions (caps grow by edition).
    Webhooks,
    /// The public REST API and API keys (caps and rate limits grow by edition).
    Api,
    /// Config Studio namespaces for the tenant's own applications.
    ConfigStudio,
    /// Feature flags and kill-switches.
    Flags,
    /// Order approval rules (a threshold above which a second person approves).
    OrderApprovalRules,
    /// Staged (ringed) rollouts of config releases.
    StagedRollouts,
    /// Change windows for releases and router changes.
    ChangeWindows,
    /// Attribute and percentage targeting rules on flags.
    FlagRules,
    /// Choosing the region where the tenant's data is kept.
    DataResidency,
}

impl Feature {
    pub const ALL: [Feature; 11] = [
        Feature::Sso,
        Feature::AuditExport,
        Feature::Webhooks,
        Feature::Api,
        Feature::ConfigStudio,
        Feature::Flags,
        Feature::OrderApprovalRules,
        Feature::StagedRollouts,
        Feature::ChangeWindows,
        Feature::FlagRules,
        Feature::DataResidency,
    ];

    /// The key stored in an edition's `features`.
    pub fn key(self) -> &'static str {
        match self {
            Feature::Sso => "sso",
            Feature::AuditExport => "audit_export",
            Feature::Webhooks => "webhooks",
            Feature::Api => "api",
            Feature::ConfigStudio => "config_studio",
            Feature::Flags => "flags",
            Feature::OrderApprovalRules => "order_approval_rules",
            Feature::StagedRollouts => "staged_rollouts",
            Feature::ChangeWindows => "change_windows",
            Feature::FlagRules => "flag_rules",
            Feature::DataResidency => "data_residency",
        }
    }

    pub fn parse(key: &str) -> Option<Feature> {
        Feature::ALL.into_iter().find(|f| f.key() == key)
    }

    /// What the feature is called in sentences ("Audit export is part of …").
    pub fn label(self) -> &'static str {
        match self {
            Feature::Sso => "Single sign-on",
            Feature::AuditExport => "Audit export",
            Feature::Webhooks => "Webhooks",
            Feature::Api => "The public API",
            Feature::ConfigStudio => "Config Studio",
            Feature::Flags => "Feature flags",
            Feature::OrderApprovalRules => "Order approval rules",
            Feature::StagedRollouts => "Staged rollouts",
            Feature::ChangeWindows => "Change windows",
            Feature::FlagRules => "Flag targeting rules",
            Feature::DataResidency => "Data residency",
        }
    }
}

/// The features the built-in editions start with (edition key → features).
pub fn built_in(edition_key: &str) -> &'static [Feature] {
    use Feature::*;
    const EVERY_EDITION: [Feature; 5] = [Webhooks, Api, ConfigStudio, Flags, OrderApprovalRules];
    const STANDARD: [Feature; 10] = [
        Webhooks,
        Api,
        ConfigStudio,
        Flags,
        OrderApprovalRules,
        Sso,
        AuditExport,
        StagedRollouts,
        ChangeWindows,
        FlagRules,
    ];
    const ENTERPRISE: [Feature; 11] = [
        Webhooks,
        Api,
        ConfigStudio,
        Flags,
        OrderApprovalRules,
        Sso,
        AuditExport,
        StagedRollouts,
        ChangeWindows,
        FlagRules,
        DataResidency,
    ];
    match edition_key {
        "free" => &EVERY_EDITION,
        "standard" => &STANDARD,
        "enterprise" => &ENTERPRISE,
        _ => &[],
    }
}

/// Parse an edition's stored feature keys. An unknown key is an error naming it, so a
/// typo in data is found rather than silently switching a feature off.
pub fn parse_features(stored: &str) -> Result<Vec<Feature>, String> {
    let keys: Vec<String> = serde_json::from_str(stored).map_err(|e| format!("not a JSON array of keys: {e}"))?;
    keys.iter().map(|k| Feature::parse(k).ok_or_else(|| format!("unknown feature key `{k}`"))).collect()
}

/// "Audit export is part of Standard and Enterprise; this tenant is on Free." plus who
/// can change it. `including` are the names of the editions that have the feature.
pub fn why_disabled(feature: Feature, tenant_edition: &str, including: &[String]) -> String {
    let part_of = match including {
        [] => "is not part of any edition at the moment".to_string(),
        [one] => format!("is part of {one}"),
        [rest @ .., last] => format!("is part of {} and {last}", rest.join(", ")),
    };
    format!(
        "{} {part_of}; this tenant is on {tenant_edition}. Your provider's account team (a platform administrator) can change the edition.",
        feature.label()
    )
}

/// Whether a control is available, and if not, why (shown as visible text next to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    pub feature: Feature,
    pub enabled: bool,
    /// Present when disabled.
    pub reason: Option<String>,
}

impl Gate {
    pub fn open(feature: Feature) -> Gate {
        Gate { feature, enabled: true, reason: None }
    }
}

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use entity::{edition, tenant};
    use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};

    use super::*;
    use crate::auth::ssr::Ctx;
    use crate::error::AppError;

    /// The features of an edition row; corrupt data is an error naming the row.
    pub fn edition_features(e: &edition::Model) -> Result<Vec<Feature>, AppError> {
        parse_features(&e.features)
            .map_err(|why| AppError::internal("edition features", format!("editions row {} ({}): {why}", e.id, e.key)))
    }

    /// The edition of a tenant.
    pub async fn edition_of(conn: &impl ConnectionTrait, t: &tenant::Model) -> Result<edition::Model, AppError> {
        edition::Entity::find_by_id(t.edition_id.clone()).one(conn).await?.ok_or_else(|| {
            AppError::internal(
                "tenant edition",
                format!("tenants row {}: edition {} does not exist", t.id, t.edition_id),
            )
        })
    }

    /// Whether a tenant's edition includes `feature`, and the reason when it does not.
    pub async fn gate_for(conn: &impl ConnectionTrait, t: &tenant::Model, feature: Feature) -> Result<Gate, AppError> {
        let ed = edition_of(conn, t).await?;
        if edition_features(&ed)?.contains(&feature) {
            return Ok(Gate::open(feature));
        }
        let mut including = Vec::new();
        for e in edition::Entity::find().order_by_asc(edition::Column::Rank).all(conn).await? {
            if edition_features(&e)?.contains(&feature) {
                including.push(e.name);
            }
        }
        Ok(Gate { feature, enabled: false, reason: Some(why_disabled(feature, &ed.name, &including)) })
    }

    /// Beside `require(perm)`: the caller's selected tenant's edition must include
    /// `feature`. Refusals say why, in the words the UI shows.
    pub async fn require_feature(ctx: &Ctx, feature: Feature) -> Result<(), AppError> {
        let t = ctx.tenant()?;
        require_feature_for(ctx.db(), t, feature).await
    }

    /// The same check for a named tenant (console actions, API keys, workers).
    pub async fn require_feature_for(
        conn: &impl ConnectionTrait,
        t: &tenant::Model,
        feature: Feature,
    ) -> Result<(), AppError> {
        let gate = gate_for(conn, t, feature).await?;
        match gate.reason {
            None => Ok(()),
            Some(reason) => Err(AppError::Forbidden(reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for f in Feature::ALL {
            assert_eq!(Feature::parse(f.key()), Some(f));
        }
        assert_eq!(Feature::parse("approvals"), None);
    }

    #[test]
    fn the_built_in_matrix_follows_seed_001() {
        let free = built_in("free");
        assert!(!free.contains(&Feature::Sso) && !free.contains(&Feature::AuditExport));
        for f in [Feature::Webhooks, Feature::Api, Feature::ConfigStudio, Feature::Flags, Feature::OrderApprovalRules] {
            for e in ["free", "standard", "enterprise"] {
                assert!(built_in(e).contains(&f), "{f:?} on {e}");
            }
        }
        for f in
            [Feature::Sso, Feature::AuditExport, Feature::StagedRollouts, Feature::ChangeWindows, Feature::FlagRules]
        {
            assert!(built_in("standard").contains(&f) && built_in("enterprise").contains(&f), "{f:?}");
        }
        assert!(built_in("enterprise").contains(&Feature::DataResidency));
        assert!(!built_in("standard").contains(&Feature::DataResidency));
    }

    #[test]
    fn corrupt_or_unknown_keys_are_errors() {
        assert!(parse_features("not json").is_err());
        assert_eq!(parse_features(r#"["sso","nope"]"#), Err("unknown feature key `nope`".into()));
        assert_eq!(parse_features(r#"["sso"]"#), Ok(vec![Feature::Sso]));
    }

    #[test]
    fn the_reason_names_the_editions_and_the_tenants_edition() {
        let why = why_disabled(Feature::AuditExport, "Free", &["Standard".into(), "Enterprise".into()]);
        assert!(why.starts_with("Audit export is part of Standard and Enterprise; this tenant is on Free."), "{why}");
        let why = why_disabled(Feature::DataResidency, "Standard", &["Enterprise".into()]);
        assert!(why.starts_with("Data residency is part of Enterprise; this tenant is on Standard."), "{why}");
    }
}
