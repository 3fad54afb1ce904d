//! `cargo xtask test`: every check CI runs, each timed, with a summary at the end.

use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::project::{Profile, Project, probe, run as run_cmd, run_kept};
use crate::tools::{self, WASM_TARGET};

/// Set (by `.ci/run`, or by hand) to an admin URL of a PostgreSQL server; the integration
/// tests create and drop a database per test through it.
const POSTGRES_URL_VAR: &str = "PATCHBAY_TEST_POSTGRES_URL";
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
/// The file the integration tests list skipped tests in (`server/tests/common`).
const SKIP_LOG_VAR: &str = "PATCHBAY_TEST_SKIP_LOG";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
    Skipped,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Passed => "ok",
            Outcome::Failed => "FAILED",
            Outcome::Skipped => "SKIPPED",
        }
    }
}

struct StepResult {
    name: &'static str,
    outcome: Outcome,
    elapsed: Duration,
    note: String,
}

#[derive(Default)]
struct Suite {
    results: Vec<StepResult>,
}

impl Suite {
    /// Run one step; a failure is recorded and reported, and the suite goes on.
    fn step(&mut self, name: &'static str, body: impl FnOnce() -> Result<()>) -> bool {
        self.step_noted(name, || body().map(|()| None))
    }

    /// Like `step`, for steps that can pass with something to say (shown in the summary).
    fn step_noted(&mut self, name: &'static str, body: impl FnOnce() -> Result<Option<String>>) -> bool {
        println!("\n==> {name}");
        let started = Instant::now();
        let result = body();
        let elapsed = started.elapsed();
        let (outcome, note) = match result {
            Ok(note) => (Outcome::Passed, note.unwrap_or_default()),
            Err(err) => {
                eprintln!("xtask: step `{name}` failed: {err:#}");
                (Outcome::Failed, format!("{err:#}"))
            }
        };
        println!("<== {name}: {} in {:.1} s", outcome.label(), elapsed.as_secs_f64());
        self.results.push(StepResult { name, outcome, elapsed, note });
        outcome == Outcome::Passed
    }

    fn skip(&mut self, name: &'static str, reason: &str) {
        println!("\n==> {name}: skipped ({reason})");
        self.results.push(StepResult {
            name,
            outcome: Outcome::Skipped,
            elapsed: Duration::ZERO,
            note: reason.to_string(),
        });
    }

    fn failed(&self) -> bool {
        self.results.iter().any(|r| r.outcome == Outcome::Failed)
    }

    fn print_summary(&self, total: Duration) {
        let width = self.results.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
        println!("\n{:<width$}  {:<7}  {:>8}  note", "step", "result", "seconds");
        println!("{}", "-".repeat(width + 30));
        for r in &self.results {
            let note = r.note.lines().next().unwrap_or_default();
            let note: String = note.chars().take(90).collect();
            println!("{:<width$}  {:<7}  {:>8.1}  {note}", r.name, r.outcome.label(), r.elapsed.as_secs_f64());
        }
        println!("{}", "-".repeat(width + 30));
        let verdict = if self.failed() { "FAILED" } else { "ok" };
        println!("{:<width$}  {verdict:<7}  {:>8.1}", "total", total.as_secs_f64());
    }
}

pub fn run(project: &Project) -> Result<ExitCode> {
    let started = Instant::now();
    let mut suite = Suite::default();

    suite.step("rustfmt", || cargo(project, &["fmt", "--all", "--check"], &[]));

    // Clippy per target: a workspace-wide run would unify the `ssr` and `hydrate` features
    // of `app`. The native crates go in one invocation (workspace members reached as
    // dependencies are linted too), the hydrate build in another.
    suite.step("clippy: server, app (ssr), entity, migration, xtask", || {
        cargo(
            project,
            &[
                "clippy",
                "-p",
                "server",
                "-p",
                "app",
                "-p",
                "entity",
                "-p",
                "migration",
                "-p",
                "xtask",
                "--features",
                "app/ssr",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
            &[],
        )
    });
    suite.step("clippy: frontend (wasm32, hydrate)", || {
        tools::ensure_wasm_target(project)?;
        cargo(project, &["clippy", "-p", "frontend", "--target", WASM_TARGET, "--", "-D", "warnings"], &[])
    });

    // The SSO integration tests start the test identity provider with Node (oidc-provider).
    suite.step("npm tools (node_modules)", || tools::ensure_node_modules(project));

    // One build for every test run below and for the browser tests: the integration tests
    // need the `patchbay` binary, so this build makes it, and the browser tests use it.
    let runner = TestRunner::detect(project);
    let tests_built = suite.step("build: tests (app, server) and the patchbay binary", || {
        cargo(project, &[&["test", "--no-run"][..], TEST_PACKAGES].concat(), &[])
    });

    const SQLITE_STEP: &str = "tests: app (unit), server on SQLite";
    const POSTGRES_STEP: &str = "tests: server on PostgreSQL";
    if tests_built {
        suite.step_noted(SQLITE_STEP, || runner.run(project, TEST_PACKAGES, "sqlite", "sqlite"));
    } else {
        suite.skip(SQLITE_STEP, "the test build failed");
    }
    if env::var_os(POSTGRES_URL_VAR).is_none_or(|v| v.is_empty()) {
        let rule = "!".repeat(72);
        println!("\n{rule}\n  PostgreSQL tests SKIPPED: {POSTGRES_URL_VAR} not set\n{rule}");
        suite.skip(POSTGRES_STEP, &format!("{POSTGRES_URL_VAR} not set"));
    } else if tests_built {
        suite.step_noted(POSTGRES_STEP, || runner.run(project, SERVER_TESTS, "postgres", "postgres"));
    } else {
        suite.skip(POSTGRES_STEP, "the test build failed");
    }

    const BROWSER_STEP: &str = "browser tests (chromium)";
    // The server binary is the test build's; cargo-leptos builds only what the browser
    // loads (wasm, CSS, assets). Without that binary, it builds the server as well.
    let server_built = tests_built && project.server_binary(Profile::Debug).is_ok_and(|b| b.exists());
    let built = if server_built {
        suite.step("build: frontend (cargo leptos build --frontend-only)", || {
            tools::ensure(project)?;
            project.leptos_build_frontend(Profile::Debug)
        })
    } else {
        suite.step("build: cargo leptos build", || {
            tools::ensure(project)?;
            project.leptos_build(Profile::Debug)
        })
    };
    if built {
        suite.step(BROWSER_STEP, || browser_tests(project));
    } else {
        suite.skip(BROWSER_STEP, "the build failed");
    }

    suite.print_summary(started.elapsed());
    Ok(if suite.failed() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The crates whose tests `cargo xtask test` runs, with `app`'s server-side code.
const TEST_PACKAGES: &[&str] = &["-p", "app", "-p", "server", "--features", "app/ssr"];
/// The server's integration tests (one test binary, `server/tests/it`).
const SERVER_TESTS: &[&str] = &["-p", "app", "-p", "server", "--features", "app/ssr", "--test", "it"];

fn cargo(project: &Project, args: &[&str], envs: &[(&str, &str)]) -> Result<()> {
    let mut cmd = project.cargo();
    cmd.args(args).envs(envs.iter().copied());
    run_cmd(&mut cmd)
}

/// What runs the tests: cargo-nextest when it is installed (a process per test, tests of
/// every binary scheduled together, a hung test killed by the timeouts in
/// `.config/nextest.toml`, and a failed test retried once and reported as FLAKY when the
/// retry passes), else `cargo test` (a failed run is run once more, and a pass then is
/// reported as FLAKY).
#[derive(Clone, Copy)]
enum TestRunner {
    Nextest,
    CargoTest,
}

impl TestRunner {
    fn detect(project: &Project) -> Self {
        if probe(project.cargo().args(["nextest", "--version"])).is_some() {
            TestRunner::Nextest
        } else {
            println!("xtask: cargo-nextest is not installed; running the tests with `cargo test`");
            TestRunner::CargoTest
        }
    }

    /// Run the tests of `selection` on `database`; the note names flaky and skipped tests.
    fn run(self, project: &Project, selection: &[&str], database: &str, label: &str) -> Result<Option<String>> {
        let skip_log = project.target_dir().join("xtask").join(format!("skipped-{label}.log"));
        if let Some(dir) = skip_log.parent() {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let _ = fs::remove_file(&skip_log);
        let skip_log_value = skip_log.display().to_string();
        let envs = [("PATCHBAY_TEST_DATABASE", database), (SKIP_LOG_VAR, skip_log_value.as_str())];
        let flaky = match self {
            TestRunner::Nextest => {
                let args = [&["nextest", "run", "--no-fail-fast", "--retries", "1"][..], selection].concat();
                let mut cmd = project.cargo();
                cmd.args(&args).envs(envs);
                let output = run_kept(&mut cmd).map_err(|(err, _)| err)?;
                // nextest marks a test that failed and then passed on its retry as FLAKY.
                let names: Vec<&str> = output
                    .lines()
                    .filter_map(|l| l.trim_start().strip_prefix("FLAKY"))
                    .filter_map(|rest| rest.split_whitespace().last())
                    .collect();
                (!names.is_empty()).then(|| format!("FLAKY (failed, then passed on a retry): {}", names.join(", ")))
            }
            TestRunner::CargoTest => {
                let args = [&["test", "--no-fail-fast"][..], selection].concat();
                cargo_twice(project, &args, &envs)?
            }
        };
        let skipped: Vec<String> = fs::read_to_string(&skip_log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("SKIPPED: "))
            .map(|l| l.split(':').next().unwrap_or(l).to_string())
            .collect();
        let skipped = (!skipped.is_empty()).then(|| format!("{} SKIPPED: {}", skipped.len(), skipped.join(", ")));
        let note: Vec<String> = [flaky, skipped].into_iter().flatten().collect();
        Ok((!note.is_empty()).then(|| note.join("; ")))
    }
}

/// Run a test command; when it fails, run it once more and say so loudly. A pass on the
/// second attempt is reported in the summary as FLAKY, so an intermittent failure never
/// hides behind a green run.
fn cargo_twice(project: &Project, args: &[&str], envs: &[(&str, &str)]) -> Result<Option<String>> {
    match cargo(project, args, envs) {
        Ok(()) => Ok(None),
        Err(first) => {
            let rule = "!".repeat(72);
            println!(
                "\n{rule}\n  `cargo {}` failed ({first:#});\n  running it once more to tell an intermittent failure from a real one\n{rule}",
                args.join(" ")
            );
            cargo(project, args, envs)?;
            Ok(Some(format!("FLAKY: failed once, passed on the second run ({first:#})")))
        }
    }
}

/// `node --test` over `end2end/tests/*.test.mjs`; the harness starts its own server.
fn browser_tests(project: &Project) -> Result<()> {
    let chromium = ensure_chromium(project)?;
    let tests_dir = project.root().join("end2end").join("tests");
    let mut files: Vec<PathBuf> = fs::read_dir(&tests_dir)
        .with_context(|| format!("listing {}", tests_dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.ends_with(".test.mjs")))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no *.test.mjs files in {}", tests_dir.display());
    }
    // Node 20's `--test` does not expand globs itself, so the files are listed here.
    let mut cmd = project.command("node");
    cmd.arg("--test")
        .args(files.iter().map(|f| f.strip_prefix(project.root()).unwrap_or(f)))
        .env("PATCHBAY_BIN", project.server_binary(Profile::Debug)?)
        .env("PATCHBAY_SITE_ROOT", project.site_root()?)
        .env("CHROMIUM_PATH", chromium);
    run_cmd(&mut cmd)
}

/// Debian's chromium (or `CHROMIUM_PATH`); installed with apt when missing and we are root.
fn ensure_chromium(project: &Project) -> Result<PathBuf> {
    let chromium = env::var_os("CHROMIUM_PATH")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_CHROMIUM), PathBuf::from);
    if chromium.exists() {
        return Ok(chromium);
    }
    let is_root = probe(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0");
    if !is_root {
        bail!(
            "{} not found: install Debian's chromium (`sudo apt-get install chromium`) or set \
             CHROMIUM_PATH",
            chromium.display()
        );
    }
    println!("xtask: installing chromium with apt-get");
    run_cmd(project.command("apt-get").arg("update"))?;
    run_cmd(project.command("apt-get").args(["install", "-y", "chromium"]).env("DEBIAN_FRONTEND", "noninteractive"))?;
    if !chromium.exists() {
        bail!("apt-get installed chromium, but {} still does not exist", chromium.display());
    }
    Ok(chromium)
}

/// `cargo xtask bench provisioning`: the release-built benchmark in `server/benches`.
pub fn bench_provisioning(project: &Project) -> Result<ExitCode> {
    let mut cmd = project.cargo();
    cmd.args(["bench", "-p", "server", "--bench", "provisioning"]);
    if env::var_os(POSTGRES_URL_VAR).is_none_or(|v| v.is_empty()) {
        cmd.env(POSTGRES_URL_VAR, "postgres://postgres@127.0.0.1:5432/postgres");
    }
    let status = cmd.status()?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `cargo xtask bench pages`: the release frontend (for its compressed sizes), then the
/// release-built benchmark in `server/benches/pages.rs`.
pub fn bench_pages(project: &Project) -> Result<ExitCode> {
    crate::tools::ensure(project)?;
    project.leptos_build(crate::project::Profile::Release)?;
    let status = project.cargo().args(["bench", "-p", "server", "--bench", "pages"]).status()?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
