//! `cargo xtask run`: build, prepare the demo database in `data/`, and serve.

use std::env;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use rand::Rng;
use rand::distributions::Alphanumeric;

use crate::project::{Profile, Project, display, run as run_cmd};
use crate::tools;

const PASSWORD_FILE: &str = "demo-password.txt";
const DEFAULT_BIND: &str = "127.0.0.1:3000";
/// The demo tenant's users are `<role>@acme.example`.
const ACME_ROLES: [(&str, &str); 6] = [
    ("tenant_admin", "manages the team and the tenant"),
    ("billing_admin", "orders and invoices"),
    ("operator", "network operations console"),
    ("member", "uses the portal"),
    ("auditor", "reads the audit trail"),
    ("support", "read-only diagnostics"),
];

pub fn run(project: &Project, profile: Profile) -> Result<()> {
    tools::ensure(project)?;
    project.leptos_build(profile)?;

    let data = project.root().join("data");
    fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let password = demo_password(&data)?;

    let binary = project.server_binary(profile)?;
    if !binary.exists() {
        bail!("the build did not produce {}", binary.display());
    }
    let site_root = project.site_root()?;
    let server = |subcommand: &str| {
        let mut cmd = project.command(&binary);
        cmd.arg(subcommand).env("PATCHBAY_DEMO_PASSWORD", &password).env("LEPTOS_SITE_ROOT", &site_root);
        // The demo platform admin signs in with the password only (development only; the
        // server refuses this setting in production). Unset it to try enforced MFA.
        if env::var_os("PATCHBAY_DEV_MFA_OPTIONAL_FOR_ADMINS").is_none() {
            cmd.env("PATCHBAY_DEV_MFA_OPTIONAL_FOR_ADMINS", "true");
        }
        if env::var_os("PATCHBAY_SITE_ROOT").is_none() {
            cmd.env("PATCHBAY_SITE_ROOT", &site_root);
        }
        // The demo is development: accept a local identity provider on plain http.
        if env::var_os("PATCHBAY_OIDC_ALLOW_INSECURE_ISSUERS").is_none() {
            cmd.env("PATCHBAY_OIDC_ALLOW_INSECURE_ISSUERS", "true");
        }
        cmd
    };

    run_cmd(&mut server("migrate"))?;
    run_cmd(&mut server("seed-demo"))?;
    print_banner(&password);
    exec(server("serve"))
}

/// `PATCHBAY_DEMO_PASSWORD` when set; otherwise the password generated on the first run
/// and kept in `data/demo-password.txt`.
fn demo_password(data: &Path) -> Result<String> {
    if let Some(password) = env::var("PATCHBAY_DEMO_PASSWORD").ok().filter(|p| !p.is_empty()) {
        return Ok(password);
    }
    let file = data.join(PASSWORD_FILE);
    if let Ok(saved) = fs::read_to_string(&file) {
        let saved = saved.trim();
        if !saved.is_empty() {
            return Ok(saved.to_string());
        }
    }
    if env::var_os("PATCHBAY_DATABASE_URL").is_none() && data.join("patchbay.db").exists() {
        println!(
            "xtask: warning: data/patchbay.db exists but {} does not; the demo users keep the \
             password they were created with (delete data/ to start over)",
            file.display()
        );
    }
    let password: String = rand::thread_rng().sample_iter(&Alphanumeric).take(16).map(char::from).collect();
    write_private(&file, &password)?;
    println!("xtask: generated a demo password in {}", file.display());
    Ok(password)
}

fn write_private(file: &Path, contents: &str) -> Result<()> {
    fs::write(file, format!("{contents}\n")).with_context(|| format!("writing {}", file.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(file, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {}", file.display()))?;
    }
    Ok(())
}

/// The address to open in a browser.
fn public_url() -> String {
    if let Some(url) = env::var("PATCHBAY_PUBLIC_URL").ok().filter(|u| !u.is_empty()) {
        return url;
    }
    let bind = env::var("PATCHBAY_BIND").ok().filter(|b| !b.is_empty()).unwrap_or_else(|| DEFAULT_BIND.to_string());
    let reachable = match bind.rsplit_once(':') {
        Some(("0.0.0.0", port)) => format!("127.0.0.1:{port}"),
        Some(("[::]", port)) => format!("[::1]:{port}"),
        _ => bind,
    };
    format!("http://{reachable}")
}

fn print_banner(password: &str) {
    let rule = "=".repeat(72);
    println!("\n{rule}");
    println!("  Patchbay is starting: {}", public_url());
    println!();
    println!("  Demo logins (password: {password})");
    println!("    {:<30} platform admin (console)", "admin@patchbay.example");
    for (role, what) in ACME_ROLES {
        println!("    {:<30} Acme Networks {role}: {what}", format!("{role}@acme.example"));
    }
    println!("    {:<30} Globex tenant_admin", "tenant_admin@globex.example");
    println!();
    println!("  The password is set when the demo users are first created; delete data/ to");
    println!("  start again. Stop the server with Ctrl-C.");
    println!("{rule}\n");
}

/// Replace this process with the server so that Ctrl-C and exit codes reach it directly.
#[cfg(unix)]
fn exec(mut cmd: Command) -> Result<()> {
    use std::os::unix::process::CommandExt;
    println!("$ {}", display(&cmd));
    let err = cmd.exec();
    Err(err).with_context(|| format!("could not start `{}`", display(&cmd)))
}

#[cfg(not(unix))]
fn exec(mut cmd: Command) -> Result<()> {
    run_cmd(&mut cmd)
}
