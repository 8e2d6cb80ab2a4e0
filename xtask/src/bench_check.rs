//! `cargo xtask bench-check`: the check-speed benchmark (issue 8). It generates workspaces of
//! several sizes, runs the release checker on each, verifies the findings, and writes
//! `docs/results/check-speed.md` and its plot. The work is in `seams_workspace_gen::bench`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use seams_workspace_gen::bench::{BenchOptions, run as run_bench};

/// Measure how fast `cargo seams check` is on generated workspaces, and check its findings.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchCheckArgs {
    /// Two small sizes and one run each; the report goes to target/bench-check/, not docs/.
    #[arg(long)]
    pub quick: bool,
    /// Sizes in lines of Rust (default 100k,300k,600k,3m).
    #[arg(long, value_delimiter = ',', value_parser = crate::gen_workspace::size)]
    pub sizes: Option<Vec<usize>>,
    /// Measured runs per size and mode (default 3).
    #[arg(long)]
    pub runs: Option<usize>,
    /// Seed of the generated workspaces.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn run(args: &BenchCheckArgs) -> ExitCode {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_owned).unwrap_or_default();
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repository.join("target"), PathBuf::from);
    let work_dir = target.join("bench-check");
    let default_sizes = if args.quick { vec![20_000, 100_000] } else { vec![100_000, 300_000, 600_000, 3_000_000] };
    let options = BenchOptions {
        repository: repository.clone(),
        report_dir: if args.quick { work_dir.clone() } else { repository.join("docs/results") },
        work_dir,
        sizes: args.sizes.clone().unwrap_or(default_sizes),
        runs: args.runs.unwrap_or(if args.quick { 1 } else { 3 }).max(1),
        seed: args.seed,
    };
    match run_bench(&options, &mut |message| eprintln!("{message}")) {
        Ok(report) => {
            println!("{}", seams_workspace_gen::bench::render_markdown(&report));
            eprintln!("wrote {}", options.report_dir.join("check-speed.md").display());
            let correct = report.results.iter().all(|result| result.missing.is_empty() && result.unexpected.is_empty());
            if correct {
                ExitCode::SUCCESS
            } else {
                eprintln!("error: the checker's findings differ from the planted violations (see the report)");
                ExitCode::from(seams::cli::EXIT_VIOLATIONS)
            }
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(seams::cli::EXIT_ERROR)
        }
    }
}
