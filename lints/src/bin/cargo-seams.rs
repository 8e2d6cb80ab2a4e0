//! `cargo seams check …`: the checker for repositories that have no xtask of their own.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Parsing allocates and frees millions of small tokens; mimalloc does that much faster than the
/// system allocator (see docs/results/check-speed.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "cargo-seams", bin_name = "cargo seams", version, about = "Module boundaries for Cargo workspaces")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check module boundaries (imports, tables, cycles).
    Check(seams::cli::CheckArgs),
    /// Draw the module graph (mermaid, dot, svg, html, json).
    Graph(seams::cli::GraphArgs),
    /// Run the language server on stdin and stdout (for editors: docs/editor.md).
    Lsp,
    /// Rewrite every `depends_on` of boundaries.toml to what the code uses today.
    Sync(seams::cli::SyncArgs),
}

fn main() -> ExitCode {
    // Cargo runs `cargo-seams seams check …`; a direct call is `cargo-seams check …`.
    let mut arguments: Vec<String> = std::env::args().collect();
    if arguments.get(1).is_some_and(|argument| argument == "seams") {
        arguments.remove(1);
    }
    let cli = match Cli::try_parse_from(arguments) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { seams::cli::EXIT_ERROR } else { seams::cli::EXIT_CLEAN });
        }
    };
    match cli.command {
        Command::Check(args) => seams::cli::run_check_command(&args),
        Command::Graph(args) => seams::cli::run_graph_command(&args),
        Command::Lsp => seams::lsp::run_language_server(),
        Command::Sync(args) => seams::cli::run_sync_command(&args),
    }
}
