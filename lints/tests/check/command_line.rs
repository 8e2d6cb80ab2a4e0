//! The command line, through the real `cargo-seams` binary: exit codes, formats and `--init`.

use std::path::Path;
use std::process::{Command, Output};

use crate::fixtures::fixtures_root;

fn seams(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-seams")).args(arguments).output().unwrap()
}

fn manifest(case: &str) -> String {
    fixtures_root().join(case).join("Cargo.toml").display().to_string()
}

#[test]
fn exit_codes_follow_the_contract() {
    let clean = seams(&["seams", "check", "--manifest-path", &manifest("pass/public_paths")]);
    assert_eq!(clean.status.code(), Some(0), "{}", String::from_utf8_lossy(&clean.stderr));
    assert!(String::from_utf8_lossy(&clean.stderr).starts_with("ok: no boundary violations"));

    let violations = seams(&["check", "--manifest-path", &manifest("fail/use_simple"), "--color", "never"]);
    assert_eq!(violations.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&violations.stderr);
    assert!(stderr.lines().last().unwrap().starts_with("error: "), "{stderr}");
    assert!(stderr.contains("internal-import"), "{stderr}");

    let config_error = seams(&["check", "--manifest-path", &manifest("config/unknown_crate")]);
    assert_eq!(config_error.status.code(), Some(2));

    let usage_error = seams(&["check", "--format", "yaml"]);
    assert_eq!(usage_error.status.code(), Some(2));
}

#[test]
fn json_is_the_only_thing_on_stdout() {
    let output = seams(&["check", "--manifest-path", &manifest("fail/use_simple"), "--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let violation = &report["violations"][0];
    for key in [
        "rule",
        "severity",
        "from_module",
        "to_module",
        "file",
        "line",
        "column",
        "target",
        "message",
        "help",
        "baselined",
    ] {
        assert!(violation.get(key).is_some(), "missing {key} in {violation}");
    }
    for key in ["modules", "files", "lines", "elapsed_ms"] {
        assert!(report["stats"].get(key).is_some(), "missing stats.{key}");
    }
    assert!(report["cycles"].is_array() && report["warnings"].is_array());
}

#[test]
fn github_format_writes_one_annotation_per_violation() {
    let output = seams(&["check", "--manifest-path", &manifest("fail/use_simple"), "--format", "github"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = seams(&["check", "--manifest-path", &manifest("fail/use_simple"), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let count = report["violations"].as_array().unwrap().len();
    assert_eq!(stdout.lines().filter(|line| line.starts_with("::error file=")).count(), count, "{stdout}");
    assert!(stdout.contains("title=seams(internal-import)::"), "{stdout}");
}

#[test]
fn init_writes_a_starter_config_that_the_checker_accepts_and_never_overwrites() {
    let scratch = tempfile::tempdir().unwrap();
    copy_tree(&fixtures_root().join("config/missing_config"), scratch.path());
    let workspace_manifest = scratch.path().join("Cargo.toml").display().to_string();

    let missing = seams(&["check", "--manifest-path", &workspace_manifest]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--init"));

    let init = seams(&["check", "--manifest-path", &workspace_manifest, "--init"]);
    assert_eq!(init.status.code(), Some(0), "{}", String::from_utf8_lossy(&init.stderr));
    let written = std::fs::read_to_string(scratch.path().join("boundaries.toml")).unwrap();
    assert!(String::from_utf8_lossy(&init.stdout).contains(&written));
    assert!(written.contains("[modules."), "{written}");

    let check = seams(&["check", "--manifest-path", &workspace_manifest, "--format", "json"]);
    assert!(matches!(check.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&check.stderr));

    let again = seams(&["check", "--manifest-path", &workspace_manifest, "--init"]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(scratch.path().join("boundaries.toml")).unwrap(), written);
}

/// Runs `--init` on a copy of an `init/` fixture, then the check in every format: returns the
/// scratch copy, what `--init` printed, and the JSON report of the check that follows.
fn init_then_check(case: &str) -> (tempfile::TempDir, String, serde_json::Value) {
    let scratch = tempfile::tempdir().unwrap();
    copy_tree(&fixtures_root().join("init").join(case), scratch.path());
    let manifest = scratch.path().join("Cargo.toml").display().to_string();
    let init = seams(&["check", "--manifest-path", &manifest, "--init"]);
    assert_eq!(init.status.code(), Some(0), "{}", String::from_utf8_lossy(&init.stderr));
    let printed = String::from_utf8_lossy(&init.stdout).into_owned();
    for format in ["human", "github", "sarif", "junit"] {
        let check = seams(&["check", "--manifest-path", &manifest, "--format", format]);
        assert_eq!(check.status.code(), Some(0), "{format}: {}", String::from_utf8_lossy(&check.stderr));
    }
    let check = seams(&["check", "--manifest-path", &manifest, "--format", "json"]);
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stderr));
    (scratch, printed, serde_json::from_slice(&check.stdout).unwrap())
}

/// The rules of a JSON report's violations, in order.
fn rules_of(report: &serde_json::Value) -> Vec<String> {
    report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|violation| violation["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn init_on_a_modular_monolith_writes_one_module_per_top_level_mod_and_passes() {
    let (scratch, printed, report) = init_then_check("monolith");
    let written = std::fs::read_to_string(scratch.path().join("boundaries.toml")).unwrap();
    assert!(printed.starts_with(&written), "{printed}");
    // The test module is no module, the inline `util` is one, and `depends_on` is what the
    // checked code uses: orders' test-only use of shipping is no dependency.
    insta::assert_snapshot!("init_monolith", printed);
    assert!(rules_of(&report).is_empty(), "{report}");
    assert_eq!(report["stats"]["modules"], 4);
}

#[test]
fn init_reports_todays_cycles_as_warnings_and_says_so() {
    let (scratch, printed, report) = init_then_check("monolith_cycles");
    let written = std::fs::read_to_string(scratch.path().join("boundaries.toml")).unwrap();
    assert!(written.contains("severity = { \"dependency-cycle\" = \"warn\" }\n"), "{written}");
    assert!(printed.contains("break today's dependency cycles (1;"), "{printed}");
    insta::assert_snapshot!("init_monolith_cycles", printed);
    assert_eq!(rules_of(&report), ["dependency-cycle"]);
    assert_eq!(report["violations"][0]["severity"], "warning");
}

#[test]
fn init_on_several_members_writes_whole_crates_with_every_pub_item_public() {
    let (_scratch, printed, report) = init_then_check("members");
    // `app` uses `shop-core` through its Cargo rename and reaches below its root; `extra` is a
    // Cargo dependency that the code never names.
    insta::assert_snapshot!("init_members", printed);
    assert!(rules_of(&report).is_empty(), "{report}");
}

#[test]
fn without_manifest_path_the_workspace_is_found_from_any_subdirectory() {
    // As with Cargo itself: the nearest `Cargo.toml` upwards (here a member's), then its workspace.
    let case = fixtures_root().join("fail/extern_crate_alias");
    let from_subdirectory = Command::new(env!("CARGO_BIN_EXE_cargo-seams"))
        .args(["seams", "check", "--no-cache", "--format", "json"])
        .current_dir(case.join("crates/shop/src"))
        .output()
        .unwrap();
    assert_eq!(from_subdirectory.status.code(), Some(1), "{}", String::from_utf8_lossy(&from_subdirectory.stderr));
    let named =
        seams(&["check", "--no-cache", "--format", "json", "--manifest-path", &manifest("fail/extern_crate_alias")]);
    let violations = |output: &Output| {
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        report["violations"].clone()
    };
    assert_eq!(violations(&from_subdirectory), violations(&named));
    assert_eq!(violations(&named).as_array().map(Vec::len), Some(5));
}

pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let relative = entry.path().strip_prefix(from).unwrap();
        let destination = to.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&destination).unwrap();
        } else {
            std::fs::copy(entry.path(), &destination).unwrap();
        }
    }
}

#[test]
fn github_annotations_match_their_snapshot() {
    let outcome = crate::fixtures::check(&fixtures_root().join("fail/tables_cross_fk")).unwrap();
    insta::assert_snapshot!("github_tables_cross_fk", seams::report::github::render(&outcome));
}

#[test]
fn unused_dependency_warns_in_every_format_and_fails_with_exact() {
    let scratch = tempfile::tempdir().unwrap();
    copy_tree(&fixtures_root().join("fail/unused_dependency"), scratch.path());
    let manifest = scratch.path().join("Cargo.toml").display().to_string();
    let run = |format: &str| {
        let output = seams(&["check", "--manifest-path", &manifest, "--format", format, "--no-cache"]);
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    // A warning by default: listed at the entry in boundaries.toml, and the run passes.
    let (code, github) = run("github");
    assert_eq!(code, Some(0));
    assert!(
        github.starts_with("::warning file=boundaries.toml,line=8,col=27,title=seams(unused-dependency)::"),
        "{github}"
    );
    let (_, sarif) = run("sarif");
    let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["level"], "warning");
    assert_eq!(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "boundaries.toml");
    assert_eq!(result["locations"][0]["physicalLocation"]["region"]["startColumn"], 27);
    assert_eq!(result["locations"][0]["physicalLocation"]["region"]["endColumn"], 37);
    let (_, junit) = run("junit");
    assert!(
        junit.contains("failures=\"0\"") && junit.contains("warning: unused-dependency at boundaries.toml:8:27"),
        "{junit}"
    );

    // `exact = true` makes it an error: it fails the run, and the baseline records it.
    let config = scratch.path().join("boundaries.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replacen("public = [\"*\"]\n", "public = [\"*\"]\nexact = true\n", 1)).unwrap();
    let (code, json) = run("json");
    assert_eq!(code, Some(1));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let severities: Vec<&str> =
        report["violations"].as_array().unwrap().iter().map(|v| v["severity"].as_str().unwrap()).collect();
    assert_eq!(severities, ["error", "error", "error"]);
    let (_, junit) = run("junit");
    assert!(junit.contains("failures=\"1\""), "{junit}");
    let update = seams(&["check", "--manifest-path", &manifest, "--update-baseline", "--no-cache"]);
    assert_eq!(update.status.code(), Some(0));
    let baseline = std::fs::read_to_string(scratch.path().join("boundaries-baseline.toml")).unwrap();
    assert!(
        baseline
            .contains("rule = \"unused-dependency\", from = \"orders\", file = \"boundaries.toml\", target = \"util\""),
        "{baseline}"
    );
    assert_eq!(run("json").0, Some(0));

    // An explicit severity wins over `exact`.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replacen("exact = true\n", "exact = true\nseverity = { \"unused-dependency\" = \"warn\" }\n", 1),
    )
    .unwrap();
    std::fs::remove_file(scratch.path().join("boundaries-baseline.toml")).unwrap();
    assert_eq!(run("json").0, Some(0));
}
