//! Project automation for Patchbay: `cargo xtask <command>`.
//!
//! Std-only apart from `anyhow` and `rand`, so it builds in seconds on a cold machine.
//! Every external tool it needs is either checked or installed by [`tools::ensure`].

mod demo;
mod project;
mod suite;
mod tools;

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::project::{Profile, Project};

const USAGE: &str = "\
Usage: cargo xtask <command> [options]

Commands:
  run [--release]     install missing build tools, build, migrate and seed the demo
                      database in data/, then serve Patchbay (http://127.0.0.1:3000)
  build [--release]   install missing build tools, then `cargo leptos build`
  test                rustfmt, clippy, unit and integration tests on SQLite (and on
                      PostgreSQL when PATCHBAY_TEST_POSTGRES_URL is set), a debug
                      build and the browser tests
  bench provisioning  orders provisioned per second on SQLite, PostgreSQL and two
                      PostgreSQL replicas (release build; PostgreSQL rows need
                      PATCHBAY_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres)
  bench pages         server-rendered pages of a tenant with 10,000 services and orders
                      at 8 connections, beside an axum hello world (release build; also
                      builds the release frontend and prints its compressed sizes;
                      BENCH_ROWS and BENCH_SECONDS shrink it)
  help                show this message
";

fn main() -> ExitCode {
    match dispatch() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch() -> Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    match command.as_deref() {
        Some("run") => {
            let project = Project::locate()?;
            demo::run(&project, parse_profile(&rest)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Some("build") => {
            let project = Project::locate()?;
            tools::ensure(&project)?;
            project.leptos_build(parse_profile(&rest)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Some("test") => {
            expect_no_args(&rest)?;
            suite::run(&Project::locate()?)
        }
        Some("bench") => match rest.as_slice() {
            [what] if what == "provisioning" => suite::bench_provisioning(&Project::locate()?),
            [what] if what == "pages" => suite::bench_pages(&Project::locate()?),
            _ => bail!("usage: cargo xtask bench provisioning|pages"),
        },
        Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprint!("{USAGE}");
            Ok(ExitCode::from(2))
        }
        Some(other) => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}

fn parse_profile(args: &[String]) -> Result<Profile> {
    match args {
        [] => Ok(Profile::Debug),
        [flag] if flag == "--release" => Ok(Profile::Release),
        _ => bail!("unexpected arguments {args:?}; the only option is --release\n\n{USAGE}"),
    }
}

fn expect_no_args(args: &[String]) -> Result<()> {
    if args.is_empty() { Ok(()) } else { bail!("unexpected arguments {args:?}\n\n{USAGE}") }
}
