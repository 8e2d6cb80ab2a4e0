//! `cargo xtask check-boundaries`: runs the seams checker on this workspace (or another one).

use std::process::ExitCode;

pub fn run(args: &seams::cli::CheckArgs) -> ExitCode {
    seams::cli::run_check_command(args)
}
