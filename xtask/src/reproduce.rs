//! `cargo xtask reproduce`: the capacity search, the load sweep, the latency and cost tables and the reports,
//! through `seams-loadtest reproduce`, whose own argument type this flattens.

use std::process::ExitCode;

use seams_loadtest_args::ReproduceArgs;

use crate::loadtest::run_loadtest_binary;

pub fn run(args: &ReproduceArgs) -> ExitCode {
    let mut forwarded = vec!["reproduce".to_owned()];
    forwarded.extend(args.to_arguments());
    run_loadtest_binary(&forwarded)
}
