//! `bench-report`: writes `docs/results/bench.md` from criterion's estimates, after `cargo bench -p seams-bench`.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use seams_bench::{Measurements, criterion_dir, markdown};

fn output(program: &str, arguments: &[&str]) -> String {
    Command::new(program)
        .args(arguments)
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn provenance() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                line.strip_prefix("model name")
                    .and_then(|rest| rest.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |count| count.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!(
        "Machine: {cpu}, {cores} cores. Date: {}. Commit: `{}`. Load average (1, 5, 15 min) when the report was \
         written: {load}.",
        output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        output("git", &["rev-parse", "--short=12", "HEAD"]),
    )
}

fn main() -> ExitCode {
    let measurements = match Measurements::read(&criterion_dir()) {
        Ok(measurements) => measurements,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    let text = markdown(&measurements, &provenance());
    let file = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "docs/results/bench.md".to_owned()));
    if let Some(directory) = file.parent() {
        let _ = std::fs::create_dir_all(directory);
    }
    if let Err(error) = std::fs::write(&file, &text) {
        eprintln!("error: writing {}: {error}", file.display());
        return ExitCode::from(2);
    }
    println!("{text}");
    println!("written to {}", file.display());
    ExitCode::SUCCESS
}
