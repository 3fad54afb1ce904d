//! The tenant-scoping layer: every table with a `tenant_id` column is registered with it
//! (checked against the migrated schema, so a new table cannot be forgotten), and a
//! tenant's scope reads, updates and deletes none of another tenant's rows, nor the
//! platform's; the platform's scope touches no tenant's rows.

use app::core::db::BeginWrite;
use std::collections::BTreeSet;

use crate::common::*;
use app::core::scope::{OWNED_TABLES, Owner, Scope, table_name_of};
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    Statement,
};
use serde_json::Value;

/// Tables of the migrated schema that have a `tenant_id` column.
async fn tables_with_tenant_column(app: &TestApp) -> BTreeSet<String> {
    let db = &app.state.db;
    let sql = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            "SELECT table_name AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND column_name = 'tenant_id'"
        }
        _ => {
            "SELECT m.name AS name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND p.name = 'tenant_id'"
        }
    };
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("schema query")
        .into_iter()
        .map(|r| r.try_get::<String>("", "name").expect("table name"))
        .collect()
}

#[tokio::test]
async fn every_table_with_a_tenant_column_is_registered_with_the_scoping_layer() {
    let app = spawn_app().await;
    let in_schema = tables_with_tenant_column(&app).await;
    let registered: BTreeSet<String> =
        OWNED_TABLES.iter().map(|t| table_name_of(t.table).expect("registered name").to_string()).collect();
    assert!(!in_schema.is_empty(), "the schema query found no tables");
    let missing: Vec<_> = in_schema.difference(&registered).collect();
    let stale: Vec<_> = registered.difference(&in_schema).collect();
    assert!(missing.is_empty(), "tables with tenant_id not registered in app::core::scope: {missing:?}");
    assert!(stale.is_empty(), "registered tables without a tenant_id column: {stale:?}");
}

/// Acme gets at least one row in every owned table, through the product's own paths
/// wherever a test can drive them.
async fn fill_every_owned_table(app: &TestApp) {
    let acme = tenant_id(app, "acme").await;
    let admin = app.login("tenant_admin@acme.example").await;
    // order_policy
    let r = admin.call("orders/set_policy", &[("threshold", ""), ("currency", "EUR")]).await;
    assert!(r.status.is_success(), "policy: {} {}", r.status, r.body);
    // invitation
    let r = admin
        .call("team/invite", &[("tenant_id", &acme), ("email", "new.person@acme.example"), ("role", "member")])
        .await;
    assert!(r.status.is_success(), "invite: {} {}", r.status, r.body);
    // api_key
    let r = admin
        .call(
            "api_keys/create",
            &[("name", "scoping"), ("scopes[]", "catalog:read"), ("expires_days", "30"), ("allowed_cidrs", "")],
        )
        .await;
    assert!(r.status.is_success(), "api key: {} {}", r.status, r.body);
    // idempotency_key: a retry-safe API request.
    let token = r.body["token"].as_str().expect("token").to_string();
    let res = reqwest::Client::new()
        .post(format!("{}/v1/prices", app.base))
        .bearer_auth(&token)
        .header("idempotency-key", "scoping-1")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("POST /v1/prices");
    assert_eq!(res.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY, "an empty price check is refused (and kept)");
    // quote, order, order_transition, outbox_event, audit_event, then job, service,
    // service_leg, service_event, sandbox_resource once the jobs have run.
    let billing = app.login("billing_admin@acme.example").await;
    let (offering, a, b) = crate::common::fixtures::cross_connect_ports(&app.state.db, 1000).await.expect("ports");
    let q = billing
        .call(
            "quotes/create",
            &[
                ("offering_id", &offering),
                ("a_endpoint_id", &a),
                ("b_endpoint_id", &b),
                ("bandwidth_mbps", "1000"),
                ("term_months", "12"),
                ("est_usage_gb", ""),
            ],
        )
        .await;
    assert!(q.status.is_success(), "quote: {} {}", q.status, q.body);
    let quote_id = q.body["id"].as_str().expect("quote id").to_string();
    let o = billing
        .call(
            "orders/place",
            &[("quote_id", &quote_id), ("po_number", "PO-1"), ("cost_centre", ""), ("description", "Scoping test")],
        )
        .await;
    assert!(o.status.is_success(), "order: {} {}", o.status, o.body);
    let order_id = o.body["id"].as_str().expect("order id").to_string();
    app::workers::drain(&app.state, "scoping-test", 1000).await.expect("run jobs");
    let svc = entity::service::Entity::find()
        .filter(entity::service::Column::OrderId.eq(&order_id))
        .one(&app.state.db)
        .await
        .expect("query service")
        .expect("the order became a service");
    // usage_record: the service has been active for three hours.
    let mut am: entity::service::ActiveModel = svc.clone().into();
    am.activated_at = Set(Some(Utc::now() - Duration::hours(3)));
    am.update(&app.state.db).await.expect("backdate activation");
    app::provisioning::engine::meter(&app.state, 24).await.expect("meter");
    // intervention and sso_config: rows as the engine and the SSO settings write them
    // (their flows need a failing provider or an identity provider; other tests drive those).
    let job = entity::job::Entity::find()
        .filter(entity::job::Column::ResourceId.eq(&order_id))
        .one(&app.state.db)
        .await
        .expect("query job")
        .expect("the order has a job");
    entity::intervention::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        tenant_id: Set(acme.clone()),
        order_id: Set(order_id.clone()),
        service_id: Set(Some(svc.id.clone())),
        job_id: Set(job.id.clone()),
        job_kind: Set(job.kind.clone()),
        error: Set("provider said no".into()),
        status: Set("resolved".into()),
        resolution: Set(Some("done".into())),
        external_ref: Set(None),
        resolved_by: Set(None),
        created_at: Set(Utc::now()),
        resolved_at: Set(Some(Utc::now())),
    }
    .insert(&app.state.db)
    .await
    .expect("intervention");
    entity::sso_config::ActiveModel {
        tenant_id: Set(acme.clone()),
        issuer: Set("https://idp.acme.example".into()),
        client_id: Set("patchbay".into()),
        client_secret_enc: Set(app.state.sealer.seal("secret").expect("seal")),
        scopes: Set("openid email profile".into()),
        allowed_domains: Set(r#"["acme.example"]"#.into()),
        role_claim: Set(None),
        role_map: Set("{}".into()),
        default_role: Set("member".into()),
        require_sso: Set(false),
        updated_by: Set("test".into()),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
    }
    .insert(&app.state.db)
    .await
    .expect("sso config");
    // webhook_subscription, webhook_message, webhook_attempt: a subscription and a test
    // event (to a closed port: the failed attempt is logged all the same).
    let r = admin
        .call("webhooks/create", &[("url", "http://127.0.0.1:9/hook"), ("description", ""), ("event_types[]", "*")])
        .await;
    assert!(r.status.is_success(), "webhook: {} {}", r.status, r.body);
    let sub = r.body["subscription"]["id"].as_str().expect("subscription id").to_string();
    let r = admin.call("webhooks/test", &[("id", &sub)]).await;
    assert!(r.status.is_success() && r.body["delivered"] == false, "test event: {} {}", r.status, r.body);
    // tenant_security_policy, last: from here on Acme's members need a second factor.
    // (mail_outbox: the invitation above was queued as mail.)
    let r = admin.call("mfa/tenant_policy", &[("tenant_id", &acme), ("require_mfa", "on")]).await;
    assert!(r.status.is_success(), "security policy: {} {}", r.status, r.body);
}

fn owners(rows: &[Value]) -> BTreeSet<String> {
    rows.iter().map(|r| r["tenant_id"].as_str().unwrap_or("<platform>").to_string()).collect()
}

#[tokio::test]
async fn another_tenants_scope_reads_updates_and_deletes_none_of_a_tenants_rows() {
    let app = spawn_app_custom(true, |cfg, _| {
        cfg.provision_poll_ms = 0;
        cfg.job_backoff_base_ms = 60_000;
    })
    .await;
    fill_every_owned_table(&app).await;
    let acme = tenant_id(&app, "acme").await;
    let globex = tenant_id(&app, "globex").await;
    let scope_a = Scope::worker(Owner::Tenant(acme.clone()));
    let others =
        [("globex", Scope::worker(Owner::Tenant(globex.clone()))), ("the platform", Scope::worker(Owner::Platform))];

    for table in OWNED_TABLES {
        let txn = app.state.db.begin_write().await.expect("begin");
        let before = (table.rows)(&scope_a, &txn).await.expect("rows of A");
        assert!(
            !before.is_empty(),
            "{}: the fixture wrote no rows for Acme; extend fill_every_owned_table",
            table.table
        );
        assert_eq!(owners(&before), BTreeSet::from([acme.clone()]), "{}: Acme's scope saw other rows", table.table);

        for (who, scope) in &others {
            let seen = (table.rows)(scope, &txn).await.expect("rows of another owner");
            assert!(!owners(&seen).contains(&acme), "{}: {who} can read Acme's rows", table.table);
            (table.reassign)(scope, &txn, &globex).await.expect("reassign");
            (table.delete)(scope, &txn).await.expect("delete");
        }

        let after = (table.rows)(&scope_a, &txn).await.expect("rows of A again");
        assert_eq!(after, before, "{}: another owner's scope changed or deleted Acme's rows", table.table);
        txn.rollback().await.expect("rollback");
    }
}

#[tokio::test]
async fn a_scoped_lookup_of_another_tenants_id_is_not_found() {
    let app = spawn_app().await;
    let acme = tenant_id(&app, "acme").await;
    let globex = tenant_id(&app, "globex").await;
    let admin = app.login("tenant_admin@acme.example").await;
    let r = admin.call("orders/set_policy", &[("threshold", "100.00"), ("currency", "EUR")]).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    let policy = entity::order_policy::Entity::find()
        .filter(entity::order_policy::Column::TenantId.eq(&acme))
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("policy row");
    let found = Scope::worker(Owner::Tenant(acme.clone()))
        .find_by_id::<entity::order_policy::Entity, _>(&app.state.db, policy.tenant_id.clone())
        .await
        .expect("lookup");
    assert!(found.is_some(), "Acme finds its own policy");
    let err = Scope::worker(Owner::Tenant(globex))
        .get::<entity::order_policy::Entity, _>(&app.state.db, policy.tenant_id.clone())
        .await
        .expect_err("Globex must not find Acme's policy");
    assert_eq!(err, app::error::AppError::NotFound);
}
