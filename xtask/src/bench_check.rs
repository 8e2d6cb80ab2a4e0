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

/// Measure the language server's latency for one edit on a generated workspace.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchLspArgs {
    /// Size of the generated workspace in lines of Rust.
    #[arg(long, default_value = "600k", value_parser = crate::gen_workspace::size)]
    pub size: usize,
    /// Measured edits (each removes or restores a line with a finding).
    #[arg(long, default_value_t = 41)]
    pub edits: usize,
    /// Seed of the generated workspace.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write docs/results/lsp-latency.md.
    #[arg(long)]
    pub write: bool,
}

/// `cargo xtask bench-lsp`: `didChange` to `publishDiagnostics` through the release
/// `cargo-seams lsp`, as a process over stdio, on a generated workspace.
pub fn run_lsp(args: &BenchLspArgs) -> ExitCode {
    use seams_workspace_gen::bench::{build_checker, load_average, machine_description, modules_for};
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_owned).unwrap_or_default();
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repository.join("target"), PathBuf::from);
    let workspace = target.join("bench-lsp").join(format!("ws-{}", args.size));
    let load_before = load_average();
    let measured = (|| -> Result<_, String> {
        let checker = build_checker(&repository).map_err(|error| error.to_string())?;
        let _ = std::fs::remove_dir_all(&workspace);
        let options = seams_workspace_gen::GenOptions {
            lines: args.size,
            modules: modules_for(args.size),
            seed: args.seed,
            out_dir: workspace.clone(),
        };
        let planted = seams_workspace_gen::generate(&options).map_err(|error| error.to_string())?;
        let (startup, mut edits) = seams_workspace_gen::lsp_bench::measure_edits(&checker, &workspace, args.edits)
            .map_err(|error| error.to_string())?;
        edits.sort_unstable();
        Ok((planted.rust_lines, startup, edits))
    })();
    let (lines, startup, edits) = match measured {
        Ok(measured) => measured,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(seams::cli::EXIT_ERROR);
        }
    };
    let at = |fraction: f64| edits[((edits.len() - 1) as f64 * fraction).round() as usize].as_secs_f64() * 1000.0;
    let report = format!(
        "# Language server: one edit\n\n\
         `cargo xtask bench-lsp --size {} --edits {}` on {}; load average before: {load_before}, after: {}.\n\n\
         The release `cargo-seams lsp` runs as a separate process spoken to over stdio, on a generated workspace of \
         {lines} Rust lines. Each edit is a `didChange` of one open file that removes or restores a line with a \
         finding, timed from writing the notification to reading that file's `publishDiagnostics`.\n\n\
         | | ms |\n| --- | --- |\n| median | {:.1} |\n| p90 | {:.1} |\n| max | {:.1} |\n| min | {:.1} |\n\n\
         Start-up (initialize to the first diagnostics, the whole workspace parsed once): {:.2} s.\n",
        args.size,
        args.edits,
        machine_description(),
        load_average(),
        at(0.5),
        at(0.9),
        at(1.0),
        at(0.0),
        startup.as_secs_f64(),
    );
    print!("{report}");
    if args.write {
        let path = repository.join("docs/results/lsp-latency.md");
        if let Err(error) = std::fs::write(&path, &report) {
            eprintln!("error: cannot write {}: {error}", path.display());
            return ExitCode::from(seams::cli::EXIT_ERROR);
        }
    }
    ExitCode::SUCCESS
}
