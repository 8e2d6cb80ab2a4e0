//! `seams-loadtest`: runs goose against the reference app (`attack`), one load test end to end (`run`), or the
//! whole reproduction of the published latency table (`reproduce`). `cargo xtask loadtest` and
//! `cargo xtask reproduce` call it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use seams_loadtest::attack::{self, AttackPlan, Scenario};
use seams_loadtest::deployment::Binaries;
use seams_loadtest::postgres::DatabaseKind;
use seams_loadtest::relay::{self, LinkDelay};
use seams_loadtest::reproduce;
use seams_loadtest::results::{ReproduceOptions, Reproduction};
use seams_loadtest::run::{self, SingleRun, write_json};
use seams_loadtest_args::{ReproduceArgs, RunArgs};

#[derive(Debug, Parser)]
#[command(name = "seams-loadtest", about = "Load tests of the reference app")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs one load test: seed, start, warm up, measure, verify, stop.
    Run(RunArgs),
    /// Measures capacity, sweeps the load, and writes the latency, cost and extraction reports.
    Reproduce(ReproduceArgs),
    /// Rewrites the reports (markdown, SVG, tables) of a reproduction from its results.json.
    Report {
        /// The results.json a reproduction wrote.
        #[arg(long, default_value = "docs/results/results.json")]
        from: PathBuf,
    },
    /// Relays TCP links with a network delay on every segment (used by `reproduce` for emulated network profiles,
    /// in a process of its own): reads a target address per line on stdin, answers `listening on ADDRESS`, and exits
    /// when stdin closes.
    Relay {
        /// The one-way delay of every segment, in microseconds.
        #[arg(long)]
        one_way_us: u64,
        /// Each segment's delay is drawn uniformly within the one-way delay ± this many microseconds.
        #[arg(long, default_value_t = 0)]
        jitter_us: u64,
    },
    /// Runs goose once against a running app (used by `run` and `reproduce`, in a process of its own).
    Attack {
        /// The gateway's base URL.
        #[arg(long)]
        host: String,
        /// The accounts `rewards seed` printed.
        #[arg(long)]
        accounts: PathBuf,
        #[arg(long, value_enum)]
        scenario: Scenario,
        #[arg(long)]
        users: usize,
        #[arg(long)]
        rate: usize,
        #[arg(long)]
        seconds: usize,
        /// Where to write the measurements as JSON.
        #[arg(long)]
        result: PathBuf,
        /// Where goose writes its HTML and JSON reports (the extensions are added).
        #[arg(long)]
        report_stem: Option<PathBuf>,
    },
}

/// On Ctrl-C or SIGTERM (a CI timeout), stops the app's processes before exiting, since exiting on a signal runs
/// no destructor.
fn stop_apps_on_signal() {
    std::thread::spawn(|| {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        runtime.block_on(async {
            let Ok(mut terminate) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
                return;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = terminate.recv() => {},
            }
            eprintln!("interrupted: stopping the app");
            seams_loadtest::deployment::stop_all_gateways();
            std::process::exit(130);
        });
    });
}

fn main() -> ExitCode {
    let command = Cli::parse().command;
    if !matches!(command, Command::Attack { .. } | Command::Relay { .. }) {
        stop_apps_on_signal();
    }
    match run_command(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run_command(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run(RunArgs { topology, scenario, users, rate, duration, warmup, out }) => {
            let binaries = Binaries::beside_this_executable()?;
            let summary = run::single(
                &binaries,
                &SingleRun {
                    topology,
                    scenario,
                    users,
                    rate,
                    seconds: duration,
                    warmup_seconds: warmup,
                    out: out.clone(),
                },
            )?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
            println!("reports in {}", out.display());
            Ok(())
        }
        Command::Reproduce(ReproduceArgs { quick, out, db, network, app_cpu }) => {
            let binaries = Binaries::beside_this_executable()?;
            let out = out.unwrap_or_else(|| {
                PathBuf::from(match (quick, db) {
                    (true, DatabaseKind::Sqlite) => "target/reproduce-quick",
                    (true, DatabaseKind::Postgres) => "target/reproduce-quick-postgres",
                    (false, DatabaseKind::Sqlite) => "docs/results",
                    (false, DatabaseKind::Postgres) => "docs/results/postgres",
                })
            });
            reproduce::reproduce(&binaries, &ReproduceOptions::new(quick, out, db, &network, app_cpu)?)
        }
        Command::Report { from } => {
            let text = std::fs::read_to_string(&from)?;
            let reproduction: Reproduction = serde_json::from_str(&text)?;
            reproduce::write_reports(&reproduction)
        }
        Command::Relay { one_way_us, jitter_us } => {
            let delay = LinkDelay {
                one_way: std::time::Duration::from_micros(one_way_us),
                jitter: std::time::Duration::from_micros(jitter_us),
            };
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(relay::serve_stdin(delay))
        }
        Command::Attack { host, accounts, scenario, users, rate, seconds, result, report_stem } => {
            let plan = AttackPlan {
                host,
                accounts: attack::read_accounts(&accounts)?,
                scenario,
                users,
                rate,
                seconds,
                report_stem,
            };
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            let measured = runtime.block_on(attack::run(&plan))?;
            write_json(&result, &measured)
        }
    }
}
