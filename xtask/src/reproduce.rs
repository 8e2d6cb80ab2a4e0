//! `cargo xtask reproduce`: the capacity search, the load sweep, the latency and cost tables and the reports,
//! through `seams-loadtest reproduce`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::loadtest::run_loadtest_binary;

/// Reproduces the published latency table on this machine.
#[derive(Debug, clap::Args)]
pub struct ReproduceArgs {
    /// A run of a few minutes for CI: small rates, short durations, written to target/reproduce-quick.
    #[arg(long)]
    quick: bool,
    /// Where the reports go (default: docs/results, or target/reproduce-quick with --quick; with --db postgres,
    /// docs/results/postgres or target/reproduce-quick-postgres).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The database the app runs on: sqlite, or postgres (a throw-away server on the app's cores, via .ci/postgres).
    #[arg(long, default_value = "sqlite")]
    db: String,
}

pub fn run(args: &ReproduceArgs) -> ExitCode {
    let mut forwarded = vec!["reproduce".to_owned()];
    if args.quick {
        forwarded.push("--quick".to_owned());
    }
    forwarded.push(format!("--db={}", args.db));
    if let Some(out) = &args.out {
        forwarded.push(format!("--out={}", out.display()));
    }
    run_loadtest_binary(&forwarded)
}
