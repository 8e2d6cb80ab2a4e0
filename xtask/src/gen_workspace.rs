//! `cargo xtask gen-workspace`: writes a synthetic modular monolith with planted violations and
//! the list of them (`expected.txt`). The work is in the `seams-workspace-gen` crate.

use std::path::PathBuf;
use std::process::ExitCode;

use seams_workspace_gen::bench::{modules_for, parse_size};

/// Write a synthetic workspace whose violations are known.
#[derive(Debug, Clone, clap::Args)]
pub struct GenWorkspaceArgs {
    /// Lines of Rust to write, about (`250000`, `100k`, `3m`).
    #[arg(long, value_parser = size, default_value = "100k")]
    pub lines: usize,
    /// Modules in boundaries.toml (default: one per 15k lines, at least 8).
    #[arg(long)]
    pub modules: Option<usize>,
    /// The same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The workspace root to write.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn size(text: &str) -> Result<usize, String> {
    parse_size(text).ok_or_else(|| format!("`{text}` is not a size such as 600000, 600k or 3m"))
}

pub fn run(args: &GenWorkspaceArgs) -> ExitCode {
    let options = seams_workspace_gen::GenOptions {
        lines: args.lines,
        modules: args.modules.unwrap_or_else(|| modules_for(args.lines)),
        seed: args.seed,
        out_dir: args.out.clone(),
    };
    match seams_workspace_gen::generate(&options) {
        Ok(planted) => {
            println!(
                "wrote {}: {} modules in {} crates, {} files, {} lines of Rust, {} planted findings in {}",
                args.out.display(),
                planted.modules,
                planted.crates,
                planted.files,
                planted.rust_lines,
                planted.expected.len(),
                seams_workspace_gen::EXPECTED_FILE
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(seams::cli::EXIT_ERROR)
        }
    }
}
