//! `cargo xtask bench`: runs the criterion benches of `seams-bench`, then writes `docs/results/bench.md` from
//! criterion's estimates. Criterion never compiles into xtask; this file only spawns cargo.

use std::process::ExitCode;

use crate::loadtest::{cargo, exit_code_of};

/// The cost of one hop and of one dashboard, measured with criterion.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Short measurement times, for CI.
    #[arg(long)]
    quick: bool,
}

pub fn run(args: &BenchArgs) -> ExitCode {
    // The dashboard benches start `rewards serve` from target/release, next to the bench executable.
    let built = exit_code_of(cargo().args(["build", "--release", "--quiet", "-p", "rewards"]).status());
    if built != ExitCode::SUCCESS {
        return built;
    }
    let mut bench = cargo();
    bench.args(["bench", "-p", "seams-bench", "--bench", "hops", "--"]);
    if args.quick {
        bench.arg("--quick");
    }
    let status = exit_code_of(bench.status());
    if status != ExitCode::SUCCESS {
        return status;
    }
    // The report reads criterion's estimates from the workspace's target directory.
    // A quick run is too short to publish, so it does not overwrite the committed report.
    let report = if args.quick { "target/bench-quick.md" } else { "docs/results/bench.md" };
    exit_code_of(
        cargo()
            .args(["run", "--release", "--quiet", "-p", "seams-bench", "--bin", "bench-report", "--", report])
            .status(),
    )
}
