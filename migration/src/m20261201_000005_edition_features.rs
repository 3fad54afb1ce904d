//! The built-in editions' features follow seed 001's packaging: SSO and audit export on
//! Standard and Enterprise; webhooks, the API, Config Studio, flags and order approval
//! rules on every edition; staged rollouts, change windows and flag targeting rules on
//! Standard and Enterprise; data residency on Enterprise. The unused `approvals` key is
//! dropped. Editions an operator created are left as they are.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const EVERY: &str = r#""webhooks","api","config_studio","flags","order_approval_rules""#;

fn features(edition: &str) -> Option<String> {
    let more = match edition {
        "free" => "",
        "standard" => r#","sso","audit_export","staged_rollouts","change_windows","flag_rules""#,
        "enterprise" => r#","sso","audit_export","staged_rollouts","change_windows","flag_rules","data_residency""#,
        _ => return None,
    };
    Some(format!("[{EVERY}{more}]"))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for key in ["free", "standard", "enterprise"] {
            let Some(f) = features(key) else { continue };
            let stmt = Query::update()
                .table(Editions::Table)
                .value(Editions::Features, f)
                .and_where(Expr::col(Editions::Key).eq(key))
                .to_owned();
            m.exec_stmt(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        // The previous feature lists are not restored: they named keys nothing read.
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Editions {
    Table,
    Key,
    Features,
}
