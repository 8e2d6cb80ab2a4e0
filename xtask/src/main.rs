//! `cargo xtask <task>`: the repository's task runner. One file per task; the work lives in the
//! library crates.

mod bench;
mod bench_check;
mod check_boundaries;
mod gen_workspace;
mod graph;
mod loadtest;
mod reproduce;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Tasks for the seams repository")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Check the module boundaries of a workspace (this one by default).
    CheckBoundaries(seams::cli::CheckArgs),
    /// Draw the module graph for architects (mermaid, dot, svg, html, json).
    Graph(seams::cli::GraphArgs),
    /// Write a synthetic modular monolith with planted violations and their list.
    GenWorkspace(gen_workspace::GenWorkspaceArgs),
    /// Measure check speed on generated workspaces of several sizes; write docs/results/check-speed.md.
    BenchCheck(bench_check::BenchCheckArgs),
    /// Measure the language server's latency for one edit on a generated workspace.
    BenchLsp(bench_check::BenchLspArgs),
    /// Measure the cost of one hop and of one dashboard with criterion, and write docs/results/bench.md.
    Bench(bench::BenchArgs),
    /// Load-test one topology of the reference app with goose and write summary.json.
    Loadtest(seams_loadtest_args::RunArgs),
    /// Reproduce the monolith-against-services latency table: capacity, sweep, tables, plot, extraction report.
    Reproduce(seams_loadtest_args::ReproduceArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { seams::cli::EXIT_ERROR } else { seams::cli::EXIT_CLEAN });
        }
    };
    match cli.task {
        Task::CheckBoundaries(args) => check_boundaries::run(&args),
        Task::Graph(args) => graph::run(&args),
        Task::GenWorkspace(args) => gen_workspace::run(&args),
        Task::BenchCheck(args) => bench_check::run(&args),
        Task::BenchLsp(args) => bench_check::run_lsp(&args),
        Task::Bench(args) => bench::run(&args),
        Task::Loadtest(args) => loadtest::run(&args),
        Task::Reproduce(args) => reproduce::run(&args),
    }
}
