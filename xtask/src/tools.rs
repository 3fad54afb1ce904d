//! The build tools cargo-leptos needs, checked and installed when missing.
//!
//! cargo-leptos 0.3.10 looks each external tool up on `PATH` first (`which`) and uses
//! whatever it finds without checking its version; only when a tool is missing does it
//! download one from GitHub into `~/.cache/cargo-leptos` (which fails without network).
//! So this module makes sure the right versions are on `PATH` before every build:
//!
//! * `wasm-bindgen` must be exactly the version the `wasm-bindgen` crate is pinned to in
//!   `Cargo.toml`, or the generated JS glue does not match the wasm;
//! * `tailwindcss` and `wasm-opt` come from `node_modules/.bin` (`npm ci`), which
//!   [`Project::path_with_node_bin`] puts first. Debian's binaryen (108) must never be
//!   used: its `wasm-opt` output of the release build fails to hydrate.

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use crate::project::{Project, probe, run};

/// The cargo-leptos release this workspace is built with (0.3.11 needs a newer Rust).
pub const CARGO_LEPTOS_VERSION: &str = "0.3.10";
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// What `npm ci` must provide for the build.
const NODE_TOOLS: [&str; 2] = ["tailwindcss", "wasm-opt"];

/// Everything `cargo leptos build` needs.
pub fn ensure(project: &Project) -> Result<()> {
    ensure_wasm_target(project)?;
    ensure_cargo_leptos(project)?;
    ensure_wasm_bindgen(project)?;
    ensure_node_modules(project)?;
    Ok(())
}

/// The wasm32 target of the pinned toolchain (rust-toolchain.toml lists it, but a
/// toolchain installed before that line was added lacks it).
pub fn ensure_wasm_target(project: &Project) -> Result<()> {
    let installed = probe(project.command("rustup").args(["target", "list", "--installed"]))
        .context("`rustup target list --installed` failed; is rustup installed?")?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        return Ok(());
    }
    println!("xtask: installing the Rust target {WASM_TARGET}");
    run(project.command("rustup").args(["target", "add", WASM_TARGET]))
}

fn ensure_cargo_leptos(project: &Project) -> Result<()> {
    let found = installed_version(probe(project.cargo().args(["leptos", "--version"])));
    if found.as_deref() == Some(CARGO_LEPTOS_VERSION) {
        return Ok(());
    }
    println!(
        "xtask: installing cargo-leptos {CARGO_LEPTOS_VERSION} (found: {}); it compiles from \
         source, which takes 15-20 minutes on a small machine the first time",
        found.as_deref().unwrap_or("none")
    );
    run(project.cargo().args(["install", "cargo-leptos", "--locked", "--version", CARGO_LEPTOS_VERSION]))?;
    let found = installed_version(probe(project.cargo().args(["leptos", "--version"])));
    if found.as_deref() != Some(CARGO_LEPTOS_VERSION) {
        bail!(
            "installed cargo-leptos {CARGO_LEPTOS_VERSION}, but `cargo leptos --version` reports \
             {found:?}; is ~/.cargo/bin first on PATH?"
        );
    }
    Ok(())
}

fn ensure_wasm_bindgen(project: &Project) -> Result<()> {
    let wanted = pinned_wasm_bindgen(project)?;
    let path = project.path_with_node_bin()?;
    let current = || installed_version(probe(project.command("wasm-bindgen").arg("--version").env("PATH", &path)));
    let found = current();
    if found.as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    println!("xtask: installing wasm-bindgen-cli {wanted} (found: {})", found.as_deref().unwrap_or("none"));
    // Not `--locked`: the lockfile published with wasm-bindgen-cli 0.2.130 references
    // crate versions (webpki-roots 1.0.11) that are not available from every registry,
    // while a fresh resolution builds fine.
    run(project.cargo().args(["install", "wasm-bindgen-cli", "--version", &wanted]))?;
    let found = current();
    if found.as_deref() != Some(wanted.as_str()) {
        bail!(
            "installed wasm-bindgen-cli {wanted}, but the `wasm-bindgen` first on PATH reports \
             {found:?}; put ~/.cargo/bin ahead of other copies"
        );
    }
    Ok(())
}

/// The `wasm-bindgen` crate version, which the workspace pins exactly (`"=x.y.z"`).
fn pinned_wasm_bindgen(project: &Project) -> Result<String> {
    let requirement = project.manifest_value("[workspace.dependencies]", "wasm-bindgen")?;
    match requirement.strip_prefix('=') {
        Some(version) => Ok(version.trim().to_string()),
        None => bail!(
            "Cargo.toml must pin wasm-bindgen exactly (wasm-bindgen = \"=x.y.z\") so that the \
             wasm-bindgen CLI can match it; found \"{requirement}\""
        ),
    }
}

/// `npm ci` when `node_modules` is missing, incomplete or older than `package-lock.json`.
pub fn ensure_node_modules(project: &Project) -> Result<()> {
    let root = project.root();
    let lockfile = root.join("package-lock.json");
    if !lockfile.exists() {
        bail!("package-lock.json is missing: run `npm install` and commit the lockfile");
    }
    // npm writes this copy of the lockfile whenever it changes node_modules.
    let installed = root.join("node_modules").join(".package-lock.json");
    let missing_tool = NODE_TOOLS.iter().find(|tool| !project.node_bin().join(tool).exists());
    let reason = if !installed.exists() {
        Some("node_modules is missing".to_string())
    } else if let Some(tool) = missing_tool {
        Some(format!("node_modules/.bin/{tool} is missing"))
    } else if modified(&lockfile)? > modified(&installed)? {
        Some("package-lock.json is newer than node_modules".to_string())
    } else {
        None
    };
    if let Some(reason) = reason {
        println!("xtask: installing the npm tools (Tailwind CSS, binaryen, playwright-core): {reason}");
        if run(project.command("npm").args(["ci", "--no-audit", "--no-fund"])).is_err() {
            // npm 11 writes lockfiles without the other platforms' optional packages
            // (Tailwind's per-OS binaries) and then refuses them in `npm ci`. `npm install`
            // installs the same locked versions and completes the lockfile.
            println!("xtask: `npm ci` refused the lockfile (npm's optional-dependency bug); using `npm install`");
            run(project.command("npm").args(["install", "--no-audit", "--no-fund"]))?;
        }
    }
    Ok(())
}

fn modified(path: &Path) -> Result<SystemTime> {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .with_context(|| format!("reading the modification time of {}", path.display()))
}

/// The version in `<name> <version>` output (`cargo-leptos 0.3.10`, `wasm-bindgen 0.2.130`).
fn installed_version(output: Option<String>) -> Option<String> {
    output?.split_whitespace().nth(1).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::installed_version;

    #[test]
    fn reads_the_version_word() {
        assert_eq!(installed_version(Some("wasm-bindgen 0.2.130\n".into())).as_deref(), Some("0.2.130"));
        assert_eq!(installed_version(Some(String::new())), None);
        assert_eq!(installed_version(None), None);
    }
}
