//! `cargo xtask loadtest`: builds the app and the load generator in release mode, then runs one load test through
//! `seams-loadtest run`. Goose never compiles into xtask; this file only spawns cargo.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// One load test: seed, start, warm up, measure with goose, verify, stop.
#[derive(Debug, clap::Args)]
pub struct LoadtestArgs {
    /// monolith, services, or extract=MODULE[,MODULE...].
    #[arg(long, default_value = "monolith")]
    topology: String,
    /// dashboard, emit, claim, redeem or mixed.
    #[arg(long, default_value = "dashboard")]
    scenario: String,
    /// Concurrent goose users.
    #[arg(long, default_value_t = 32)]
    users: usize,
    /// Offered requests per second.
    #[arg(long, default_value_t = 200)]
    rate: usize,
    /// How long to measure, like 30s or 2m.
    #[arg(long, default_value = "30s")]
    duration: String,
    /// Seconds of warm-up before measuring.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Where summary.json and goose's reports go.
    #[arg(long, default_value = "target/loadtest")]
    out: PathBuf,
}

pub fn run(args: &LoadtestArgs) -> ExitCode {
    let forwarded = vec![
        "run".to_owned(),
        format!("--topology={}", args.topology),
        format!("--scenario={}", args.scenario),
        format!("--users={}", args.users),
        format!("--rate={}", args.rate),
        format!("--duration={}", args.duration),
        format!("--warmup={}", args.warmup),
        format!("--out={}", args.out.display()),
    ];
    run_loadtest_binary(&forwarded)
}

/// The cargo that runs xtask, so that the toolchain is the same.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Builds `rewards` and `seams-loadtest` in release mode, then runs `seams-loadtest` with `arguments`.
pub fn run_loadtest_binary(arguments: &[String]) -> ExitCode {
    // The load test starts `rewards` from its own target directory, so both are built first.
    let built = cargo().args(["build", "--release", "--quiet", "-p", "rewards", "-p", "seams-loadtest"]).status();
    if !matches!(built, Ok(status) if status.success()) {
        eprintln!("error: building rewards and seams-loadtest in release mode failed");
        return ExitCode::from(2);
    }
    let status = cargo().args(["run", "--release", "--quiet", "-p", "seams-loadtest", "--"]).args(arguments).status();
    exit_code_of(status)
}

/// Passes a child's exit code on.
pub fn exit_code_of(status: std::io::Result<std::process::ExitStatus>) -> ExitCode {
    match status {
        Ok(status) => ExitCode::from(status.code().and_then(|code| u8::try_from(code).ok()).unwrap_or(2)),
        Err(error) => {
            eprintln!("error: could not run cargo: {error}");
            ExitCode::from(2)
        }
    }
}
