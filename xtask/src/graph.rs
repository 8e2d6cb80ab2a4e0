//! `cargo xtask graph`: draws the module graph of this workspace (or another one).

use std::process::ExitCode;

pub fn run(args: &seams::cli::GraphArgs) -> ExitCode {
    seams::cli::run_graph_command(args)
}
