//! Runs the checker on every fixture workspace and compares the result with the case's
//! hand-written `expect.txt`, and with reviewed snapshots of the JSON and human reports.

use std::path::{Path, PathBuf};

use seams::check::{CheckError, CheckOptions, CheckOutcome, run_check};
use seams::config::ConfigError;
use seams::report::human::HumanStyle;

/// The width at which human output is rendered in snapshots.
const SNAPSHOT_WIDTH: usize = 100;

pub fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Runs the check on a fixture folder. This is the only place the tests call the check API.
pub fn check(case: &Path) -> Result<CheckOutcome, CheckError> {
    run_check(&CheckOptions { manifest_path: Some(case.join("Cargo.toml")), config_path: None, ..Default::default() })
}

/// The lines an outcome gives in `expect.txt` form, sorted as the format says.
pub fn expectation_lines(result: &Result<CheckOutcome, CheckError>) -> Vec<String> {
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(CheckError::Config(error)) => {
            return vec![match error.line_column() {
                Some((line, column)) => {
                    format!("config-error {} boundaries.toml:{line}:{column}", error.kind().as_str())
                }
                None => format!("config-error {}", error.kind().as_str()),
            }];
        }
        Err(other) => return vec![format!("tool-error {other}")],
    };
    let model = &outcome.model;
    let name = |module: usize| model.modules[module].name.clone();
    let mut cycle_lines: std::collections::BTreeMap<(String, String), Vec<String>> = std::collections::BTreeMap::new();
    for cycle in &outcome.cycles {
        let path: Vec<String> = cycle.cycle.iter().map(|module| name(*module)).collect();
        let mut lines = vec![format!("cycle {}", path.join(" -> "))];
        for (from, to) in &cycle.cuts {
            let count = outcome.graph.dependency(*from, *to).map_or(0, |dependency| dependency.count());
            lines.push(format!("cut {} -> {} {count}", name(*from), name(*to)));
        }
        cycle_lines.insert((path[0].clone(), path[1].clone()), lines);
    }
    let mut entries: Vec<((String, usize, usize, String), String)> = Vec::new();
    for violation in &outcome.violations {
        let key = (
            violation.source.file.clone(),
            violation.site.line,
            violation.site.column,
            violation.rule.as_str().to_owned(),
        );
        let line = format!(
            "{} {}:{}:{} {} -> {} {}",
            violation.rule.as_str(),
            violation.source.file,
            violation.site.line,
            violation.site.column,
            violation.from_module,
            if violation.to_module.is_empty() { "-" } else { violation.to_module.as_str() },
            violation.target
        );
        let line = if violation.baselined { format!("{line} (baselined)") } else { line };
        let line = match violation.rule {
            seams::rules::RuleCode::DependencyCycle => {
                let pair = (violation.from_module.clone(), violation.to_module.clone());
                std::iter::once(line)
                    .chain(cycle_lines.get(&pair).cloned().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            _ => line,
        };
        entries.push((key, line));
    }
    for warning in &outcome.model.warnings {
        let (line, column) = warning.site.as_ref().map_or((0, 0), |site| (site.line, site.column));
        let key = (warning.file.clone(), line, column, warning.code.as_str().to_owned());
        let text = match &warning.site {
            Some(_) => format!("{} {}:{line}:{column}", warning.code.as_str(), warning.file),
            None => format!("{} {}", warning.code.as_str(), warning.file),
        };
        entries.push((key, text));
    }
    entries.sort();
    entries.into_iter().flat_map(|(_, line)| line.lines().map(str::to_owned).collect::<Vec<_>>()).collect()
}

/// The non-comment lines of a case's `expect.txt` (none when the file is absent).
fn expected_lines(case: &Path) -> Vec<String> {
    std::fs::read_to_string(case.join("expect.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The JSON report with its one timing zeroed, so that snapshots are stable.
fn stable_json(outcome: &CheckOutcome) -> serde_json::Value {
    let mut report = seams::report::json::build(outcome);
    report.stats.elapsed_ms = 0;
    serde_json::to_value(&report).unwrap()
}

/// Human output with the run time on the success line replaced.
fn stable_human(text: &str) -> String {
    text.lines()
        .map(|line| match (line.starts_with("ok: "), line.rfind(", ")) {
            (true, Some(index)) => format!("{}, [time])", &line[..index]),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn case_folders(kind: &str) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(fixtures_root().join(kind))
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .collect();
    folders.sort();
    folders
}

/// Compares every case of a kind and reports every mismatch at once.
fn compare_expectations(kind: &str) {
    let cases = case_folders(kind);
    assert!(!cases.is_empty(), "no fixtures under {kind}/");
    let mut failures = Vec::new();
    for case in &cases {
        let actual = expectation_lines(&check(case));
        let expected = expected_lines(case);
        if actual != expected {
            failures.push(format!(
                "{}:\n  expected:\n    {}\n  actual:\n    {}",
                case.display(),
                expected.join("\n    "),
                actual.join("\n    ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {kind} cases differ:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn passing_fixtures_have_no_findings() {
    for case in case_folders("pass") {
        assert!(expected_lines(&case).is_empty(), "{}: a pass case must expect nothing", case.display());
    }
    compare_expectations("pass");
}

#[test]
fn failing_fixtures_report_exactly_what_they_expect() {
    for case in case_folders("fail") {
        assert!(!expected_lines(&case).is_empty(), "{}: a fail case must expect something", case.display());
    }
    compare_expectations("fail");
}

#[test]
fn configuration_errors_point_at_the_offending_span() {
    compare_expectations("config");
}

#[test]
fn reports_match_snapshots() {
    // Each folder is globbed on its own, so that the walk never enters other fixtures (one of
    // them is a deliberate symlink loop).
    let snapshot = |manifest: &Path| {
        let case = manifest.parent().unwrap();
        let outcome = check(case).unwrap();
        insta::assert_json_snapshot!("json", stable_json(&outcome));
        let human = seams::report::human::render(&outcome, HumanStyle::plain(SNAPSHOT_WIDTH));
        insta::assert_snapshot!("human", stable_human(&human));
    };
    insta::glob!("../fixtures/pass", "*/Cargo.toml", |manifest| snapshot(manifest));
    insta::glob!("../fixtures/fail", "*/Cargo.toml", |manifest| snapshot(manifest));
}

#[test]
fn configuration_error_diagnostics_match_snapshots() {
    insta::glob!("../fixtures/config", "*/Cargo.toml", |manifest| {
        let case = manifest.parent().unwrap();
        let mut error = check(case).unwrap_err();
        // The missing-file message holds the absolute path of the clone, whose length would
        // change where miette wraps the line; the path is asserted, then replaced before rendering.
        if let CheckError::Config(ConfigError::Missing { path }) = &mut error {
            assert_eq!(*path, case.join("boundaries.toml"));
            *path = Path::new("<fixture>").join("boundaries.toml");
        }
        let rendered = seams::report::human::render_diagnostic(&error, HumanStyle::plain(SNAPSHOT_WIDTH));
        insta::assert_snapshot!("config_error", rendered);
    });
}
