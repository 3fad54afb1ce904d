//! API keys for the public REST API: owned by a tenant or (no `tenant_id`) the platform.
//! Only a hash of the secret is kept; `key_id` is the public part of the token
//! (`pbk_<key_id>_<secret>`) that finds the row. `version` goes up by one with every
//! change to a row, so `(COUNT(*), SUM(version))` changes with every insert, update and
//! delete whatever the replicas' clocks say: every replica picks up changes (revocations)
//! with one cheap query a second. Editions cap the number of keys.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn t(name: &str) -> Alias {
    Alias::new(name)
}

/// Keys per tenant by built-in edition (issue: Free 2, Standard 10, Enterprise 50).
const CAPS: [(&str, i32); 3] = [("free", 2), ("standard", 10), ("enterprise", 50)];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let s = |c: &str| ColumnDef::new(t(c)).string().not_null().to_owned();
        let s_null = |c: &str| ColumnDef::new(t(c)).string().null().to_owned();
        let ts = |c: &str| ColumnDef::new(t(c)).timestamp_with_time_zone().not_null().to_owned();
        let ts_null = |c: &str| ColumnDef::new(t(c)).timestamp_with_time_zone().null().to_owned();
        m.create_table(
            Table::create()
                .table(t("api_keys"))
                .col(ColumnDef::new(t("id")).string_len(64).not_null().primary_key())
                .col(ColumnDef::new(t("tenant_id")).string_len(36).null())
                .col(s("name"))
                .col(s("key_id"))
                .col(s("secret_hash"))
                .col(ColumnDef::new(t("scopes")).text().not_null())
                .col(ColumnDef::new(t("allowed_cidrs")).text().not_null())
                .col(s("created_by"))
                .col(s("created_by_email"))
                .col(ts("expires_at"))
                .col(ts_null("last_used_at"))
                .col(s_null("last_used_ip"))
                .col(ts_null("revoked_at"))
                .col(s_null("revoked_by"))
                .col(s_null("rotated_from"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ColumnDef::new(t("version")).big_integer().not_null().default(1))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_api_keys_tenant_id")
                        .from(t("api_keys"), t("tenant_id"))
                        .to(t("tenants"), t("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols, unique) in [
            ("ux_api_keys_key_id", &["key_id"][..], true),
            ("ix_api_keys_tenant_created", &["tenant_id", "created_at", "id"][..], false),
            ("ix_api_keys_rotated_from", &["rotated_from"][..], false),
        ] {
            let mut i = Index::create();
            i.name(name).table(t("api_keys"));
            for c in cols {
                i.col(t(c));
            }
            if unique {
                i.unique();
            }
            m.create_index(i.to_owned()).await?;
        }
        m.alter_table(
            Table::alter()
                .table(t("editions"))
                .add_column(ColumnDef::new(t("max_api_keys")).integer().not_null().default(2))
                .to_owned(),
        )
        .await?;
        for (key, cap) in CAPS {
            let stmt = Query::update()
                .table(t("editions"))
                .value(t("max_api_keys"), cap)
                .and_where(Expr::col(t("key")).eq(key))
                .to_owned();
            m.exec_stmt(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(t("editions")).drop_column(t("max_api_keys")).to_owned()).await?;
        m.drop_table(Table::drop().table(t("api_keys")).to_owned()).await
    }
}
