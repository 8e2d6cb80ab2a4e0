//! `seams-loadtest`: runs goose against the reference app (`attack`), one load test end to end (`run`), or the
//! whole reproduction of the published latency table (`reproduce`). `cargo xtask loadtest` and
//! `cargo xtask reproduce` call it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use seams_loadtest::attack::{self, AttackPlan, Scenario};
use seams_loadtest::deployment::Binaries;
use seams_loadtest::postgres::DatabaseKind;
use seams_loadtest::reproduce::{self, ReproduceOptions};
use seams_loadtest::run::{self, SingleRun, write_json};

#[derive(Debug, Parser)]
#[command(name = "seams-loadtest", about = "Load tests of the reference app")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs one load test: seed, start, warm up, measure, verify, stop.
    Run {
        /// monolith, services, or extract=MODULE[,MODULE...].
        #[arg(long, default_value = "monolith")]
        topology: String,
        /// What the users do.
        #[arg(long, value_enum, default_value = "dashboard")]
        scenario: Scenario,
        /// Concurrent goose users.
        #[arg(long, default_value_t = 32)]
        users: usize,
        /// Offered requests per second (every user paced to absolute deadlines).
        #[arg(long, default_value_t = 200)]
        rate: usize,
        /// How long to measure, like 30s or 2m.
        #[arg(long, default_value = "30s", value_parser = parse_seconds)]
        duration: usize,
        /// Seconds of warm-up before measuring.
        #[arg(long, default_value_t = 5)]
        warmup: usize,
        /// Where the reports go.
        #[arg(long, default_value = "target/loadtest")]
        out: PathBuf,
    },
    /// Measures capacity, sweeps the load, and writes the latency, cost and extraction reports.
    Reproduce {
        /// A short run for CI: small rates and short durations.
        #[arg(long)]
        quick: bool,
        /// Where the reports go (default: docs/results, or target/reproduce-quick with --quick).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The database the app runs on; postgres starts a throw-away server on the app's cores (.ci/postgres).
        #[arg(long, value_enum, default_value = "sqlite")]
        db: DatabaseKind,
    },
    /// Rewrites the reports (markdown, SVG, tables) of a reproduction from its results.json.
    Report {
        /// The results.json a reproduction wrote.
        #[arg(long, default_value = "docs/results/results.json")]
        from: PathBuf,
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

fn parse_seconds(text: &str) -> Result<usize, String> {
    let (number, unit) = match text.find(|character: char| !character.is_ascii_digit()) {
        Some(index) => text.split_at(index),
        None => (text, "s"),
    };
    let number: usize = number.parse().map_err(|_| format!("expected a duration like 30s or 2m, got {text:?}"))?;
    match unit {
        "s" => Ok(number),
        "m" => Ok(number * 60),
        _ => Err(format!("expected a duration like 30s or 2m, got {text:?}")),
    }
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
    if !matches!(command, Command::Attack { .. }) {
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
        Command::Run { topology, scenario, users, rate, duration, warmup, out } => {
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
        Command::Reproduce { quick, out, db } => {
            let binaries = Binaries::beside_this_executable()?;
            let out = out.unwrap_or_else(|| {
                PathBuf::from(match (quick, db) {
                    (true, DatabaseKind::Sqlite) => "target/reproduce-quick",
                    (true, DatabaseKind::Postgres) => "target/reproduce-quick-postgres",
                    (false, DatabaseKind::Sqlite) => "docs/results",
                    (false, DatabaseKind::Postgres) => "docs/results/postgres",
                })
            });
            reproduce::reproduce(&binaries, &ReproduceOptions::new(quick, out, db))
        }
        Command::Report { from } => {
            let text = std::fs::read_to_string(&from)?;
            let reproduction: reproduce::Reproduction = serde_json::from_str(&text)?;
            reproduce::write_reports(&reproduction)
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
