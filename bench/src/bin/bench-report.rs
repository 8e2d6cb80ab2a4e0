//! `bench-report`: writes `docs/results/bench.md` from criterion's estimates, after `cargo bench -p seams-bench`.

use std::path::PathBuf;
use std::process::ExitCode;

use seams_bench::{Measurements, criterion_dir, markdown};

fn provenance() -> String {
    let machine = seams_provenance::Machine::read();
    format!(
        "Machine: {}, {} cores. Date: {}. Commit: `{}`. Load average (1, 5, 15 min) when the report was written: {}.",
        machine.cpu,
        machine.cores,
        seams_provenance::date_utc(),
        seams_provenance::commit(),
        seams_provenance::load_average().join(" "),
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
