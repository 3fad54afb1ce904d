//! Where things are in the workspace, and running commands in it.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// The section of the root `Cargo.toml` that configures cargo-leptos.
const LEPTOS_SECTION: &str = "[[workspace.metadata.leptos]]";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    Debug,
    Release,
}

impl Profile {
    /// The directory under the target dir that holds this profile's binaries.
    pub fn dir(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
        }
    }
}

pub struct Project {
    root: PathBuf,
    manifest: String,
}

impl Project {
    /// The workspace root is the parent of this crate's directory.
    pub fn locate() -> Result<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("xtask must live one level below the workspace root")?
            .to_path_buf();
        let manifest_path = root.join("Cargo.toml");
        let manifest =
            fs::read_to_string(&manifest_path).with_context(|| format!("reading {}", manifest_path.display()))?;
        Ok(Self { root, manifest })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A string value from the root `Cargo.toml`, e.g. `("[workspace.dependencies]",
    /// "wasm-bindgen")`. Understands `key = "value"` and `key = { version = "value", .. }`,
    /// which is all this workspace uses; it is not a TOML parser.
    pub fn manifest_value(&self, section: &str, key: &str) -> Result<String> {
        let mut in_section = false;
        for line in self.manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                in_section = line == section;
                continue;
            }
            if !in_section {
                continue;
            }
            let Some((name, value)) = line.split_once('=') else {
                continue;
            };
            if name.trim() != key {
                continue;
            }
            let value = value.trim();
            let value = match value.strip_prefix('{') {
                Some(table) => table
                    .split(',')
                    .find_map(|item| {
                        let (k, v) = item.split_once('=')?;
                        (k.trim() == "version").then_some(v)
                    })
                    .unwrap_or_default(),
                None => value,
            };
            if let Some(quoted) = value.trim().strip_prefix('"')
                && let Some((inner, _)) = quoted.split_once('"')
            {
                return Ok(inner.to_string());
            }
            bail!("`{key}` in {section} of Cargo.toml is not a plain string: {line}");
        }
        bail!("Cargo.toml has no `{key}` in {section}")
    }

    /// cargo-leptos' `site-root`, as an absolute path.
    pub fn site_root(&self) -> Result<PathBuf> {
        Ok(self.root.join(self.manifest_value(LEPTOS_SECTION, "site-root")?))
    }

    /// The server binary cargo-leptos builds (`bin-target`) for `profile`.
    pub fn server_binary(&self, profile: Profile) -> Result<PathBuf> {
        let name = self.manifest_value(LEPTOS_SECTION, "bin-target")?;
        Ok(self.target_dir().join(profile.dir()).join(format!("{name}{}", env::consts::EXE_SUFFIX)))
    }

    pub fn target_dir(&self) -> PathBuf {
        match env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => self.root.join(dir),
            None => self.root.join("target"),
        }
    }

    /// `node_modules/.bin`, where `npm ci` puts the Tailwind CLI and binaryen's `wasm-opt`.
    pub fn node_bin(&self) -> PathBuf {
        self.root.join("node_modules").join(".bin")
    }

    /// `PATH` with `node_modules/.bin` first. cargo-leptos takes `tailwindcss`, `wasm-opt`
    /// and `wasm-bindgen` from `PATH` when they are there (and only downloads them when they
    /// are not), so this pins the npm versions and keeps a system binaryen out of the build.
    pub fn path_with_node_bin(&self) -> Result<OsString> {
        let current = env::var_os("PATH").unwrap_or_default();
        let dirs = std::iter::once(self.node_bin()).chain(env::split_paths(&current));
        env::join_paths(dirs).context("PATH contains an entry that cannot be joined")
    }

    /// `cargo` (the one running us, when there is one), started in the workspace root.
    pub fn cargo(&self) -> Command {
        let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.current_dir(&self.root);
        cmd
    }

    /// Any other program, started in the workspace root.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.root);
        cmd
    }

    /// `cargo leptos build [--release]`, with the npm tools first on `PATH`.
    pub fn leptos_build(&self, profile: Profile) -> Result<()> {
        self.leptos_build_parts(profile, false)
    }

    /// `cargo leptos build --frontend-only`: the wasm, the CSS and the assets in the site
    /// root, for a server binary built otherwise (the test build's, in `cargo xtask test`).
    pub fn leptos_build_frontend(&self, profile: Profile) -> Result<()> {
        self.leptos_build_parts(profile, true)
    }

    fn leptos_build_parts(&self, profile: Profile, frontend_only: bool) -> Result<()> {
        let mut cmd = self.cargo();
        cmd.args(["leptos", "build"]);
        if profile == Profile::Release {
            cmd.arg("--release");
        }
        if frontend_only {
            cmd.arg("--frontend-only");
        }
        cmd.env("PATH", self.path_with_node_bin()?);
        run(&mut cmd)
    }
}

/// How a command is shown in the log: program and arguments, without the environment.
pub fn display(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program()).file_name().unwrap_or(cmd.get_program()).to_string_lossy().into_owned();
    std::iter::once(program)
        .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Run a command with inherited stdio; fail unless it exits successfully.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = display(cmd);
    println!("$ {shown}");
    let status = cmd.status().with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Run a command with its output shown as it comes and also kept; fail unless it exits
/// successfully (the error carries the kept output, so callers can read it either way).
pub fn run_kept(cmd: &mut Command) -> Result<String, (anyhow::Error, String)> {
    use std::io::{BufRead, BufReader, Write};
    let shown = display(cmd);
    println!("$ {shown}");
    let mut child = match cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
        Ok(child) => child,
        Err(e) => return Err((anyhow::Error::new(e).context(format!("could not start `{shown}`")), String::new())),
    };
    let kept = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let copy = |stream: Box<dyn std::io::Read + Send>, to_stderr: bool| {
        let kept = kept.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if to_stderr {
                    let _ = writeln!(std::io::stderr().lock(), "{line}");
                } else {
                    let _ = writeln!(std::io::stdout().lock(), "{line}");
                }
                if let Ok(mut k) = kept.lock() {
                    k.push_str(&line);
                    k.push('\n');
                }
            }
        })
    };
    let readers: Vec<_> =
        [child.stdout.take().map(|s| copy(Box::new(s), false)), child.stderr.take().map(|s| copy(Box::new(s), true))]
            .into_iter()
            .flatten()
            .collect();
    let status = child.wait();
    for r in readers {
        let _ = r.join();
    }
    let kept = kept.lock().map(|k| k.clone()).unwrap_or_default();
    match status {
        Ok(status) if status.success() => Ok(kept),
        Ok(status) => Err((anyhow::anyhow!("`{shown}` failed ({status})"), kept)),
        Err(e) => Err((anyhow::Error::new(e).context(format!("waiting for `{shown}`")), kept)),
    }
}

/// Run a command quietly and return its stdout, or `None` when it cannot be started or
/// fails (used to probe for installed tools).
pub fn probe(cmd: &mut Command) -> Option<String> {
    let output = cmd.stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
[workspace.dependencies]
leptos = "0.8.23"
# a comment
wasm-bindgen = "=0.2.130"
axum = { version = "0.8.9", features = ["macros"] }

[[workspace.metadata.leptos]]
bin-target = "patchbay"
site-root = "target/site"
"#;

    fn project() -> Project {
        Project { root: PathBuf::from("/repo"), manifest: MANIFEST.to_string() }
    }

    #[test]
    fn reads_plain_and_table_values() {
        let p = project();
        let deps = "[workspace.dependencies]";
        assert_eq!(p.manifest_value(deps, "wasm-bindgen").unwrap(), "=0.2.130");
        assert_eq!(p.manifest_value(deps, "axum").unwrap(), "0.8.9");
        assert_eq!(p.manifest_value(LEPTOS_SECTION, "site-root").unwrap(), "target/site");
        assert!(p.manifest_value(deps, "site-root").is_err());
        assert!(p.manifest_value(deps, "missing").is_err());
    }

    #[test]
    fn the_real_manifest_has_what_xtask_needs() {
        let p = Project::locate().unwrap();
        assert!(p.manifest_value("[workspace.dependencies]", "wasm-bindgen").unwrap().starts_with('='));
        assert!(p.server_binary(Profile::Release).unwrap().ends_with("release/patchbay"));
        assert!(p.site_root().unwrap().ends_with("target/site"));
    }
}
