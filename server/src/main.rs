#![recursion_limit = "256"]
//! `patchbay`: serve the app, migrate, seed demo data, verify the audit trail, create admins.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rand::distributions::{Alphanumeric, DistString};
use secrecy::ExposeSecret;

use server::config::Config;
use server::startup::{Application, connect, migrate};

#[derive(Parser)]
#[command(
    name = "patchbay",
    version,
    about = "Patchbay: private network interconnection, ordered and run in one place"
)]
struct Cli {
    /// TOML configuration file (PATCHBAY_* variables override it).
    #[arg(long, global = true, env = "PATCHBAY_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app (the default).
    Serve {
        /// Serve web traffic only; run no background work in this replica.
        #[arg(long)]
        no_workers: bool,
    },
    /// Apply database migrations.
    Migrate,
    /// Create the demo tenants and users (changes nothing when they exist).
    SeedDemo,
    /// Recompute the audit hash chains; exits non-zero naming the first bad row.
    VerifyAudit,
    /// Create a platform administrator (or promote an existing user).
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// Environment variable holding the password (a random one is printed when unset).
        #[arg(long, default_value = "PATCHBAY_ADMIN_PASSWORD")]
        password_env: String,
    },
    /// Re-seal every secret stored in the database with PATCHBAY_SECRET_KEY (after
    /// rotating: the old key in PATCHBAY_SECRET_KEY_PREVIOUS). Idempotent; audited.
    RotateSecrets,
    /// Single sign-on administration.
    Sso {
        #[command(subcommand)]
        command: SsoCommand,
    },
    /// API keys for the REST API.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key and print it once (for automation and bootstrap; audited like the page).
    Create {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// Comma-separated scopes, e.g. services:read,orders:write.
        #[arg(long)]
        scopes: String,
        /// Lifetime: `30d`, `12h` or a number of days (at most 365 days).
        #[arg(long, default_value = "90d")]
        expires: String,
        /// The tenant member the key acts for (default: the tenant's first tenant admin).
        #[arg(long = "as")]
        as_email: Option<String>,
        /// Comma-separated CIDR blocks requests must come from (default: anywhere).
        #[arg(long, default_value = "")]
        allowed_cidrs: String,
    },
}

/// `30d` / `12h` / `30` → whole days (hours round up to a day; the key's lifetime is in days).
fn parse_lifetime_days(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(h) = s.strip_suffix('h') {
        return h.parse::<i64>().ok().filter(|h| *h > 0).and_then(|h| h.checked_add(23)).map(|h| h / 24);
    }
    s.strip_suffix('d').unwrap_or(s).parse::<i64>().ok()
}

#[derive(Subcommand)]
enum SsoCommand {
    /// Configure a tenant's OpenID Connect identity provider (what Security & SSO does).
    Set {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        client_id: String,
        /// Environment variable holding the client secret (never pass secrets as arguments).
        #[arg(long)]
        client_secret_env: String,
        /// Comma-separated e-mail domains routed to this IdP.
        #[arg(long, default_value = "")]
        domains: String,
        #[arg(long, default_value = "member")]
        default_role: String,
        /// ID-token claim holding groups or roles.
        #[arg(long, default_value = "")]
        role_claim: String,
        /// value=role pairs, comma-separated (e.g. ops=operator).
        #[arg(long, default_value = "")]
        role_map: String,
        #[arg(long, default_value = "openid email profile")]
        scopes: String,
        /// Refuse password sign-in for the tenant's members.
        #[arg(long)]
        require_sso: bool,
    },
}

fn random_password() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 20)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let cfg = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e:#}");
            return ExitCode::from(2);
        }
    };
    server::telemetry::init(&cfg.log_format);
    match run(cli.command.unwrap_or(Command::Serve { no_workers: false }), cfg).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cmd: Command, cfg: Config) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Serve { no_workers } => {
            tracing::info!(config = ?cfg, "starting");
            let app = Application::build(cfg.clone(), !no_workers).await?;
            println!("Patchbay is listening on {} (bound to port {})", cfg.public_url(), app.port());
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let db = connect(&cfg).await?;
            migrate(&db).await?;
            println!("migrations applied");
        }
        Command::SeedDemo => {
            let db = connect(&cfg).await?;
            migrate(&db).await?;
            let (password, generated) = match &cfg.demo_password {
                Some(p) => (p.expose_secret().to_string(), false),
                None => (random_password(), true),
            };
            let report = app::seed::seed_demo(&db, &password).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            // Quotes and orders go through the product's own services, on the tenants' behalf.
            let state = server::startup::app_state(&cfg, db)?;
            let orders = app::seed::orders::seed_demo_orders(&state).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if report.created_catalog {
                println!("demo catalog created: providers, locations, endpoints, offerings and price books");
            }
            if report.created_users.is_empty()
                && report.created_tenants.is_empty()
                && !report.created_catalog
                && orders == 0
            {
                println!("demo data already present: nothing changed");
            } else if !report.created_users.is_empty() || !report.created_tenants.is_empty() {
                println!("demo data created: tenants {:?}, users {:?}", report.created_tenants, report.created_users);
                if generated {
                    println!("demo password (generated; set PATCHBAY_DEMO_PASSWORD to choose one): {password}");
                }
            }
            if orders > 0 {
                println!("demo orders placed: {orders} (the server's job workers provision them once it serves)");
            }
        }
        Command::RotateSecrets => {
            let db = connect(&cfg).await?;
            migrate(&db).await?;
            let sealer = cfg.sealer();
            let report = app::crypto::rotate_sealed(&db, &sealer, app::audit::ssr::Actor::system("cli"))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "secrets re-sealed with key {}: {} re-sealed, {} already current, {} failed",
                sealer.key_id(),
                report.resealed,
                report.current,
                report.failed.len()
            );
            if !report.failed.is_empty() {
                for f in &report.failed {
                    eprintln!("  cannot re-seal {f}");
                }
                eprintln!("set PATCHBAY_SECRET_KEY_PREVIOUS to the key these were sealed with, or enter them again");
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::VerifyAudit => {
            let db = connect(&cfg).await?;
            let v = app::audit::ssr::verify(&db).await?;
            match v.first_bad {
                None => println!("audit trail intact: {} events in {} chains verified", v.events, v.chains),
                Some(bad) => {
                    eprintln!(
                        "audit trail TAMPERED: first bad event id={} chain={} seq={}: {}",
                        bad.id, bad.chain, bad.seq, bad.reason
                    );
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        Command::Sso {
            command:
                SsoCommand::Set {
                    tenant,
                    issuer,
                    client_id,
                    client_secret_env,
                    domains,
                    default_role,
                    role_claim,
                    role_map,
                    scopes,
                    require_sso,
                },
        } => {
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            let db = connect(&cfg).await?;
            migrate(&db).await?;
            let state = server::startup::app_state(&cfg, db)?;
            let t = entity::tenant::Entity::find()
                .filter(entity::tenant::Column::Slug.eq(tenant.trim().to_lowercase()))
                .one(&state.db)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no tenant with slug {tenant}"))?;
            let client_secret = std::env::var(&client_secret_env)
                .map_err(|_| anyhow::anyhow!("environment variable {client_secret_env} is not set"))?;
            let input = app::sso::ssr::ConfigInput {
                issuer,
                client_id,
                client_secret,
                scopes,
                domains,
                role_claim,
                role_map,
                default_role,
                require_sso,
            };
            match app::sso::ssr::save_config(&state, &t, app::audit::ssr::Actor::system("cli"), input).await {
                Ok(()) => println!(
                    "single sign-on configured for {}; redirect URI: {}",
                    t.slug,
                    app::sso::ssr::redirect_uri(&state)
                ),
                Err(app::error::AppError::Validation { fields, message }) => {
                    eprintln!("{message}");
                    for (f, m) in fields {
                        eprintln!("  --{}: {m}", f.replace('_', "-"));
                    }
                    return Ok(ExitCode::from(2));
                }
                Err(e) => return Err(anyhow::anyhow!("{e}")),
            }
        }
        Command::ApiKey {
            command: ApiKeyCommand::Create { tenant, name, scopes, expires, as_email, allowed_cidrs },
        } => {
            let db = connect(&cfg).await?;
            migrate(&db).await?;
            let Some(days) = parse_lifetime_days(&expires) else {
                eprintln!("--expires: use e.g. 30d, 12h or 90");
                return Ok(ExitCode::from(2));
            };
            let input = app::api_keys::ssr::NewKey {
                name,
                scopes: vec![scopes],
                expires_days: days.to_string(),
                allowed_cidrs,
            };
            match app::api_keys::ssr::create_from_cli(&db, tenant.trim(), as_email.as_deref(), &input).await {
                Ok((made, acts_for)) => {
                    eprintln!(
                        "API key {} created in {tenant} for {acts_for}: scopes {}, expires {}. It is printed once:",
                        made.key.prefix,
                        made.key.scopes.join(","),
                        made.key.expires_at
                    );
                    println!("{}", made.token);
                }
                Err(app::error::AppError::Validation { fields, message }) => {
                    eprintln!("{message}");
                    for (f, m) in fields {
                        let flag = if f == "expires_days" { "expires".to_string() } else { f.replace('_', "-") };
                        eprintln!("  --{flag}: {m}");
                    }
                    return Ok(ExitCode::from(2));
                }
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        Command::CreateAdmin { email, password_env } => {
            let db = connect(&cfg).await?;
            migrate(&db).await?;
            let (password, generated) = match std::env::var(&password_env) {
                Ok(p) if !p.is_empty() => (p, false),
                _ => (random_password(), true),
            };
            let created = app::seed::create_admin(&db, &email, &password).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if created {
                println!("platform admin {email} created");
                if generated {
                    println!("password: {password}");
                }
            } else {
                println!("{email} existed and is now a platform admin (password unchanged)");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
