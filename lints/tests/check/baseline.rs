//! The baseline for gradual adoption, `--changed-since`, and `--output`, through the real binary
//! on temporary copies of a fixture.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::command_line::copy_tree;
use crate::fixtures::fixtures_root;

const BASELINE: &str = "boundaries-baseline.toml";

/// A temporary copy of `fail/use_simple`: four internal imports from `a` into `b`, two of them
/// with the same fingerprint (`crate::b::internal::Ledger`).
fn scratch_workspace() -> (tempfile::TempDir, PathBuf) {
    let scratch = tempfile::tempdir().unwrap();
    copy_tree(&fixtures_root().join("fail/use_simple"), scratch.path());
    let manifest = scratch.path().join("Cargo.toml");
    (scratch, manifest)
}

fn seams(manifest: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-seams"))
        .args(["check", "--manifest-path"])
        .arg(manifest)
        .args(extra)
        .output()
        .unwrap()
}

fn json(manifest: &Path) -> (Option<i32>, serde_json::Value) {
    let output = seams(manifest, &["--format", "json"]);
    (output.status.code(), serde_json::from_slice(&output.stdout).unwrap())
}

fn edit(path: &Path, change: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, change(text)).unwrap();
}

fn failing_rules(report: &serde_json::Value) -> Vec<String> {
    report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|violation| violation["baselined"] == false)
        .map(|violation| format!("{} {}", violation["rule"].as_str().unwrap(), violation["target"].as_str().unwrap()))
        .collect()
}

#[test]
fn update_baseline_records_today_and_the_run_passes() {
    let (scratch, manifest) = scratch_workspace();
    assert_eq!(seams(&manifest, &[]).status.code(), Some(1));
    let update = seams(&manifest, &["--update-baseline"]);
    assert_eq!(update.status.code(), Some(0), "{}", String::from_utf8_lossy(&update.stderr));
    let baseline = std::fs::read_to_string(scratch.path().join(BASELINE)).unwrap();
    assert!(baseline.contains("[modules.b]"), "{baseline}");
    assert!(baseline.contains("target = \"crate::b::internal::Ledger\", count = 2"), "{baseline}");
    assert!(!baseline.contains("line ="), "fingerprints carry no line numbers:\n{baseline}");

    let (code, report) = json(&manifest);
    assert_eq!(code, Some(0));
    assert!(failing_rules(&report).is_empty());
    assert_eq!(report["violations"].as_array().unwrap().len(), 4);
    let human = String::from_utf8_lossy(&seams(&manifest, &["--color", "never"]).stderr).into_owned();
    assert!(human.contains("4 known violations in the baseline (run with --show-baselined to list them)"), "{human}");
    let shown =
        String::from_utf8_lossy(&seams(&manifest, &["--color", "never", "--show-baselined"]).stderr).into_owned();
    assert_eq!(shown.matches("(in the baseline)").count(), 4, "{shown}");
}

#[test]
fn a_line_move_does_not_churn_the_baseline() {
    let (scratch, manifest) = scratch_workspace();
    seams(&manifest, &["--update-baseline"]);
    let before = std::fs::read(scratch.path().join(BASELINE)).unwrap();
    edit(&scratch.path().join("src/a.rs"), |text| text.replacen("\n", "\n\n// moved down\n\n", 1));
    assert_eq!(json(&manifest).0, Some(0));
    seams(&manifest, &["--update-baseline"]);
    assert_eq!(std::fs::read(scratch.path().join(BASELINE)).unwrap(), before, "the baseline changed after a line move");
}

#[test]
fn a_new_site_of_a_known_fingerprint_fails() {
    let (scratch, manifest) = scratch_workspace();
    seams(&manifest, &["--update-baseline"]);
    edit(&scratch.path().join("src/a.rs"), |text| {
        text.replace("use self::own::Helper;", "use self::own::Helper;\nuse crate::b::internal::total as again;")
    });
    let (code, report) = json(&manifest);
    assert_eq!(code, Some(1));
    assert_eq!(failing_rules(&report), ["internal-import crate::b::internal::total"]);
}

#[test]
fn a_stale_entry_fails_and_pruning_only_removes() {
    let (scratch, manifest) = scratch_workspace();
    seams(&manifest, &["--update-baseline"]);
    // Fix one site of the Ledger fingerprint, and add a brand-new violation.
    edit(&scratch.path().join("src/a.rs"), |text| {
        text.replace("use crate::b::internal::Ledger as Book;\n", "use crate::b::internal::Ledger as Book2;\n")
            .replace("use crate::b::internal::Ledger;\n", "")
            .replace("(Receipt, Ledger, Book,", "(Receipt, Book2,")
            .replace("use self::own::Helper;", "use self::own::Helper;\nuse crate::b::internal::fresh;")
    });
    let (code, report) = json(&manifest);
    assert_eq!(code, Some(1));
    let failing = failing_rules(&report);
    assert!(failing.contains(&"stale-baseline crate::b::internal::Ledger".to_owned()), "{failing:?}");
    assert!(failing.contains(&"internal-import crate::b::internal::fresh".to_owned()), "{failing:?}");
    let stale = report["violations"].as_array().unwrap().iter().find(|v| v["rule"] == "stale-baseline").unwrap();
    assert_eq!(stale["file"], BASELINE);

    let prune = seams(&manifest, &["--prune-baseline"]);
    assert_eq!(prune.status.code(), Some(0));
    let pruned = std::fs::read_to_string(scratch.path().join(BASELINE)).unwrap();
    assert!(pruned.contains("target = \"crate::b::internal::Ledger\", count = 1"), "{pruned}");
    assert!(!pruned.contains("fresh"), "pruning must never add debt:\n{pruned}");
    let (code, report) = json(&manifest);
    assert_eq!(code, Some(1));
    assert_eq!(failing_rules(&report), ["internal-import crate::b::internal::fresh"]);
}

#[test]
fn a_configured_baseline_that_is_missing_or_broken_is_an_error() {
    let (scratch, manifest) = scratch_workspace();
    edit(&scratch.path().join("boundaries.toml"), |text| format!("[defaults]\nbaseline = \"debt.toml\"\n\n{text}"));
    let missing = seams(&manifest, &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("debt.toml"));
    std::fs::write(scratch.path().join("debt.toml"), "[modules.b]\nviolations = [ { rule = 1 } ]\n").unwrap();
    assert_eq!(seams(&manifest, &[]).status.code(), Some(2));
    // --update-baseline creates the configured file, after which the run passes.
    std::fs::remove_file(scratch.path().join("debt.toml")).unwrap();
    assert_eq!(
        seams(&manifest, &["--update-baseline"]).status.code(),
        Some(2),
        "a configured baseline must exist first"
    );
}

#[test]
fn the_baseline_is_sorted_and_stable_byte_for_byte() {
    let (scratch, manifest) = scratch_workspace();
    seams(&manifest, &["--update-baseline"]);
    let first = std::fs::read(scratch.path().join(BASELINE)).unwrap();
    for _ in 0..3 {
        seams(&manifest, &["--update-baseline"]);
        assert_eq!(std::fs::read(scratch.path().join(BASELINE)).unwrap(), first);
    }
    let text = String::from_utf8(first).unwrap();
    let entries: Vec<&str> = text.lines().filter(|line| line.trim_start().starts_with("{ rule")).collect();
    let mut sorted = entries.clone();
    sorted.sort();
    assert_eq!(entries, sorted);
}

#[test]
fn changed_since_reports_only_changed_files_but_analyses_everything() {
    let (scratch, manifest) = scratch_workspace();
    let git = |arguments: &[&str]| {
        let status = Command::new("git")
            .arg("-C")
            .arg(scratch.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"])
            .args(arguments)
            .status()
            .unwrap();
        assert!(status.success(), "git {arguments:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "start"]);
    // Nothing changed: nothing is reported, and the note says why.
    let quiet = seams(&manifest, &["--changed-since", "HEAD", "--format", "json"]);
    assert_eq!(quiet.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&quiet.stderr).contains("the whole workspace was analysed"));
    // A new file with a violation is reported; the old violations in src/a.rs are not.
    std::fs::write(scratch.path().join("src/c.rs"), "use crate::b::internal::Ledger;\n").unwrap();
    edit(&scratch.path().join("src/lib.rs"), |text| format!("{text}\npub mod c;\n"));
    edit(&scratch.path().join("boundaries.toml"), |text| {
        format!("{text}\n[modules.c]\ncrate = \"shop\"\npath = \"c\"\n")
    });
    let output = seams(&manifest, &["--changed-since", "HEAD", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let files: Vec<&str> =
        report["violations"].as_array().unwrap().iter().map(|v| v["file"].as_str().unwrap()).collect();
    assert_eq!(files, ["src/c.rs"]);
    let bad = seams(&manifest, &["--changed-since", "no-such-revision"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn output_writes_the_report_to_a_file_while_people_read_the_terminal() {
    let (scratch, manifest) = scratch_workspace();
    let report_path = scratch.path().join("report.json");
    let output = seams(&manifest, &["--format", "json", "--output", report_path.to_str().unwrap(), "--color", "never"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("internal-import"));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(report_path).unwrap()).unwrap();
    assert_eq!(report["violations"].as_array().unwrap().len(), 4);
}

#[test]
fn severity_and_guidance_from_the_configuration_reach_every_report() {
    let (scratch, manifest) = scratch_workspace();
    edit(&scratch.path().join("boundaries.toml"), |text| {
        format!("[defaults]\nseverity = {{ \"internal-import\" = \"warn\" }}\n\n{text}").replace(
            "path = \"b\"",
            "path = \"b\"\nwhy = \"b is extracted next\"\ninstructions = \"go through b::api; ask #team-b\"",
        )
    });
    let (code, report) = json(&manifest);
    assert_eq!(code, Some(0), "a warning never fails the run");
    let violations = report["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 4);
    for violation in violations {
        assert_eq!(violation["severity"], "warning");
        let help = violation["help"].as_str().unwrap();
        assert!(help.contains("go through b::api; ask #team-b") && help.contains("b is extracted next"), "{help}");
    }
    let github = String::from_utf8_lossy(&seams(&manifest, &["--format", "github"]).stdout).into_owned();
    assert_eq!(github.lines().filter(|line| line.starts_with("::warning file=src/a.rs")).count(), 4, "{github}");
    assert!(github.contains("ask #team-b"));

    edit(&scratch.path().join("boundaries.toml"), |text| text.replace("\"warn\"", "\"loud\""));
    assert_eq!(seams(&manifest, &[]).status.code(), Some(2), "an unknown severity is a configuration error");
}
