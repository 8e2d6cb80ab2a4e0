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
fn a_configured_baseline_that_is_missing_or_broken_is_an_error_that_update_rebuilds() {
    let (scratch, manifest) = scratch_workspace();
    let debt = scratch.path().join("debt.toml");
    edit(&scratch.path().join("boundaries.toml"), |text| format!("[defaults]\nbaseline = \"debt.toml\"\n\n{text}"));
    let missing = seams(&manifest, &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("debt.toml"));
    // Pruning only lowers what a baseline allows: with no baseline it has nothing to work from.
    assert_eq!(seams(&manifest, &["--prune-baseline"]).status.code(), Some(2));
    assert!(!debt.exists(), "--prune-baseline must not write a baseline it could not read");

    // --update-baseline creates the configured file, after which the run passes.
    let update = seams(&manifest, &["--update-baseline"]);
    let stderr = String::from_utf8_lossy(&update.stderr).into_owned();
    assert_eq!(update.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("does not exist") && stderr.contains("writing a new baseline"), "{stderr}");
    assert!(std::fs::read_to_string(&debt).unwrap().contains("count = 2"));
    let (code, report) = json(&manifest);
    assert_eq!(code, Some(0));
    assert_eq!(report["violations"].as_array().unwrap().iter().filter(|v| v["baselined"] == true).count(), 4);

    // A baseline that cannot be parsed fails a normal run, and --update-baseline rebuilds it.
    for broken in ["[modules.b]\nviolations = [ { rule = 1 } ]\n", "not toml at all [[[\n"] {
        std::fs::write(&debt, broken).unwrap();
        let run = seams(&manifest, &[]);
        assert_eq!(run.status.code(), Some(2), "{broken:?}");
        assert!(String::from_utf8_lossy(&run.stderr).contains("the baseline cannot be read"), "{broken:?}");
        assert_eq!(seams(&manifest, &["--prune-baseline"]).status.code(), Some(2));
        assert_eq!(std::fs::read_to_string(&debt).unwrap(), broken, "--prune-baseline left the file alone");
        let update = seams(&manifest, &["--update-baseline"]);
        assert_eq!(update.status.code(), Some(0), "{}", String::from_utf8_lossy(&update.stderr));
        assert!(String::from_utf8_lossy(&update.stderr).contains("the baseline cannot be read"));
        assert_eq!(json(&manifest).0, Some(0), "{broken:?}: the rebuilt baseline covers today's violations");
    }
}

#[test]
fn an_unparsable_default_baseline_is_an_error_that_update_rebuilds() {
    let (scratch, manifest) = scratch_workspace();
    std::fs::write(scratch.path().join(BASELINE), "[modules.b\n").unwrap();
    assert_eq!(seams(&manifest, &[]).status.code(), Some(2));
    assert_eq!(seams(&manifest, &["--update-baseline"]).status.code(), Some(0));
    assert_eq!(json(&manifest).0, Some(0));
}

#[test]
fn the_header_names_the_command_that_wrote_the_baseline() {
    let (scratch, manifest) = scratch_workspace();
    let header = || std::fs::read_to_string(scratch.path().join(BASELINE)).unwrap().lines().next().unwrap().to_owned();
    seams(&manifest, &["--update-baseline"]);
    assert!(header().contains("--update-baseline") && !header().contains("--prune-baseline"), "{}", header());
    seams(&manifest, &["--prune-baseline"]);
    assert!(header().contains("--prune-baseline") && !header().contains("--update-baseline"), "{}", header());
}

#[test]
fn one_known_violation_is_singular() {
    let (scratch, manifest) = scratch_workspace();
    // Keep one violation in a file of its own, and baseline it.
    std::fs::write(scratch.path().join("src/a.rs"), "use crate::b::internal::Ledger;\n").unwrap();
    assert_eq!(seams(&manifest, &["--update-baseline"]).status.code(), Some(0));
    let human = String::from_utf8_lossy(&seams(&manifest, &["--color", "never"]).stderr).into_owned();
    assert!(
        human.lines().any(|line| line == "1 known violation in the baseline (run with --show-baselined to list them)"),
        "{human}"
    );
}

/// A temporary copy of `fail/cycles_reaching_module`: the component {beta, gamma}, which
/// `alpha` reaches without being reached back.
fn cycle_workspace() -> (tempfile::TempDir, PathBuf) {
    let scratch = tempfile::tempdir().unwrap();
    copy_tree(&fixtures_root().join("fail/cycles_reaching_module"), scratch.path());
    let manifest = scratch.path().join("Cargo.toml");
    (scratch, manifest)
}

fn cycle_of(report: &serde_json::Value) -> &serde_json::Value {
    report["violations"].as_array().unwrap().iter().find(|violation| violation["rule"] == "dependency-cycle").unwrap()
}

#[test]
fn a_baselined_cycle_is_identified_by_its_modules_not_its_first_site() {
    let (scratch, manifest) = cycle_workspace();
    assert_eq!(seams(&manifest, &["--update-baseline"]).status.code(), Some(0));
    let baseline_path = scratch.path().join(BASELINE);
    let recorded = std::fs::read_to_string(&baseline_path).unwrap();
    assert!(
        recorded.contains("[modules.beta]\nviolations = [\n  { rule = \"dependency-cycle\", modules = [\"beta\", \"gamma\"], count = 1 },\n]"),
        "{recorded}"
    );
    let (code, report) = json(&manifest);
    assert_eq!(code, Some(0));
    assert_eq!(cycle_of(&report)["line"], 4);

    // A new site before the first one moves the violation's site, but it is the same cycle.
    edit(&scratch.path().join("crates/shop/src/beta.rs"), |text| {
        text.replacen("\npub fn first()", "\npub fn zero() -> u32 {\n    crate::gamma::both()\n}\n\npub fn first()", 1)
    });
    let (code, report) = json(&manifest);
    assert_eq!(code, Some(0), "{:?}", failing_rules(&report));
    assert_eq!(
        (&cycle_of(&report)["line"], &cycle_of(&report)["baselined"]),
        (&serde_json::json!(4), &serde_json::json!(true))
    );
    assert_eq!(cycle_of(&report)["target"], "crate::gamma::both", "the first evidence site is the new one");
    seams(&manifest, &["--update-baseline"]);
    assert_eq!(std::fs::read_to_string(&baseline_path).unwrap(), recorded, "a new site churned the baseline");

    // `alpha` joins the component: a new violation, and the old entry is stale.
    edit(&scratch.path().join("crates/shop/src/gamma.rs"), |text| {
        format!("{text}\npub fn back() -> u32 {{\n    crate::alpha::run()\n}}\n")
    });
    let (code, report) = json(&manifest);
    assert_eq!(code, Some(1));
    assert_eq!(
        failing_rules(&report),
        ["stale-baseline beta, gamma", "dependency-cycle crate::gamma::third"],
        "{report:#}"
    );
    let stale = report["violations"].as_array().unwrap().iter().find(|v| v["rule"] == "stale-baseline").unwrap();
    assert!(stale["message"].as_str().unwrap().contains("dependency-cycle among `beta`, `gamma`"), "{stale}");
    seams(&manifest, &["--update-baseline"]);
    let updated = std::fs::read_to_string(&baseline_path).unwrap();
    assert!(
        updated.contains("[modules.alpha]") && updated.contains("modules = [\"alpha\", \"beta\", \"gamma\"]"),
        "{updated}"
    );
    assert!(!updated.contains("[modules.beta]"), "{updated}");
}

#[test]
fn a_cycle_entry_must_name_its_modules() {
    let (scratch, manifest) = cycle_workspace();
    std::fs::write(
        scratch.path().join(BASELINE),
        "[modules.beta]\nviolations = [\n  { rule = \"dependency-cycle\", from = \"beta\", file = \"crates/shop/src/beta.rs\", target = \"crate::gamma::third\", count = 1 },\n]\n",
    )
    .unwrap();
    let run = seams(&manifest, &["--color", "never"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("a dependency-cycle entry has `modules`"));
    assert_eq!(seams(&manifest, &["--update-baseline"]).status.code(), Some(0));
    assert_eq!(json(&manifest).0, Some(0));
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

fn git_in(directory: &Path) -> impl Fn(&[&str]) + '_ {
    move |arguments: &[&str]| {
        let status = Command::new("git")
            .arg("-C")
            .arg(directory)
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"])
            .args(arguments)
            .status()
            .unwrap();
        assert!(status.success(), "git {arguments:?}");
    }
}

#[test]
fn changed_since_still_reports_cycles_and_stale_entries_and_says_what_it_covers() {
    let (scratch, manifest) = cycle_workspace();
    // An entry that matches nothing: stale, in a file that will not change.
    std::fs::write(
        scratch.path().join(BASELINE),
        "[modules.delta]\nviolations = [\n  { rule = \"internal-import\", from = \"beta\", file = \"crates/shop/src/beta.rs\", target = \"delta::gone\", count = 1 },\n]\n",
    )
    .unwrap();
    // As in any Cargo repository, the target directory (where the facts cache lives) is ignored.
    std::fs::write(scratch.path().join(".gitignore"), "/target\n").unwrap();
    let git = git_in(scratch.path());
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "start"]);
    // Only delta's file changes; the cycle is in beta and gamma, the stale entry in the baseline.
    edit(&scratch.path().join("crates/delta/src/lib.rs"), |text| format!("{text}\n// touched\n"));

    let output = seams(&manifest, &["--changed-since", "HEAD", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(failing_rules(&report), ["stale-baseline delta::gone", "dependency-cycle crate::gamma::third"]);
    assert_eq!(
        report["scope"],
        serde_json::json!({
            "analysed": "workspace",
            "reported": "changed-files",
            "changed_since": "HEAD",
            "changed_files": 1,
            "violations_found": 2,
        })
    );
    let sarif = seams(&manifest, &["--changed-since", "HEAD", "--format", "sarif"]);
    let log: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let run = &log["runs"][0];
    assert_eq!(
        run["properties"]["scope"],
        serde_json::json!({
            "analysed": "workspace",
            "reported": "changed-files",
            "changedSince": "HEAD",
            "changedFiles": 1,
            "violationsFound": 2,
        })
    );
    let rules: Vec<&str> = run["results"].as_array().unwrap().iter().map(|r| r["ruleId"].as_str().unwrap()).collect();
    assert_eq!(rules, ["stale-baseline", "dependency-cycle"]);
    let human = seams(&manifest, &["--changed-since", "HEAD", "--color", "never"]);
    assert!(String::from_utf8_lossy(&human.stderr).contains("the whole workspace was analysed"));

    // Without --changed-since the report covers everything and has no scope.
    assert!(json(&manifest).1.get("scope").is_none());
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
    let human = String::from_utf8_lossy(&seams(&manifest, &["--color", "never"]).stderr).into_owned();
    assert_eq!(human.matches("\n  ⚠ ").count(), 4, "{human}");
    assert_eq!(flattened(&human).matches("ask #team-b (why: b is extracted next)").count(), 4, "{human}");
    let sarif: serde_json::Value = serde_json::from_slice(&seams(&manifest, &["--format", "sarif"]).stdout).unwrap();
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    for result in results {
        assert_eq!(result["level"], "warning");
        let text = result["message"]["text"].as_str().unwrap();
        assert!(text.contains("ask #team-b") && text.contains("b is extracted next"), "{text}");
    }
    let junit = String::from_utf8_lossy(&seams(&manifest, &["--format", "junit"]).stdout).into_owned();
    assert!(!junit.contains("<failure"), "a warning fails no test case:\n{junit}");
    assert_eq!(junit.matches("ask #team-b").count(), 4, "{junit}");

    edit(&scratch.path().join("boundaries.toml"), |text| text.replace("\"warn\"", "\"loud\""));
    assert_eq!(seams(&manifest, &[]).status.code(), Some(2), "an unknown severity is a configuration error");
}

/// Human output with its line breaks, wrapping indentation and gutters collapsed into single
/// spaces, so that wrapped help can be searched.
fn flattened(human: &str) -> String {
    human.replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text a module's guidance adds to help: `instructions` and `why` for `beta` and `gamma`.
fn with_cycle_guidance(text: String) -> String {
    text.replace("path = \"beta\"", "path = \"beta\"\nwhy = \"beta is split next\"\ninstructions = \"ask #beta\"")
        .replace("path = \"gamma\"", "path = \"gamma\"\ninstructions = \"call gamma through events\"")
}

#[test]
fn guidance_of_every_module_in_a_cycle_reaches_every_report() {
    let (scratch, manifest) = cycle_workspace();
    edit(&scratch.path().join("boundaries.toml"), with_cycle_guidance);
    let guidance = ["beta: ask #beta (why: beta is split next)", "gamma: call gamma through events"];
    let (code, report) = json(&manifest);
    assert_eq!(code, Some(1));
    let help = cycle_of(&report)["help"].as_str().unwrap();
    for text in guidance {
        assert!(help.contains(text), "{help}");
    }
    assert!(!help.contains("alpha:"), "alpha is not in the component: {help}");
    let human = flattened(&String::from_utf8_lossy(&seams(&manifest, &["--color", "never"]).stderr));
    let sarif = String::from_utf8_lossy(&seams(&manifest, &["--format", "sarif"]).stdout).into_owned();
    let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let sarif_text = sarif["runs"][0]["results"][0]["message"]["text"].as_str().unwrap().to_owned();
    let junit = String::from_utf8_lossy(&seams(&manifest, &["--format", "junit"]).stdout).into_owned();
    let github = String::from_utf8_lossy(&seams(&manifest, &["--format", "github"]).stdout).into_owned();
    for text in guidance {
        assert!(human.contains(text), "human lacks {text:?}: {human}");
        assert!(sarif_text.contains(text), "SARIF lacks {text:?}: {sarif_text}");
        assert!(junit.contains(text), "JUnit lacks {text:?}: {junit}");
        assert!(github.contains(text), "GitHub lacks {text:?}: {github}");
    }
}

#[test]
fn a_configured_severity_applies_to_stale_entries_and_to_sarif_rule_levels() {
    let (scratch, manifest) = scratch_workspace();
    seams(&manifest, &["--update-baseline"]);
    // Fix one site of the Ledger fingerprint: its entry is stale.
    edit(&scratch.path().join("src/a.rs"), |text| text.replace("use crate::b::internal::Ledger;\n", ""));
    let (code, report) = json(&manifest);
    assert_eq!(code, Some(1));
    assert_eq!(failing_rules(&report), ["stale-baseline crate::b::internal::Ledger"]);

    edit(&scratch.path().join("boundaries.toml"), |text| {
        format!("[defaults]\nseverity = {{ \"stale-baseline\" = \"warn\" }}\n\n{text}")
    });
    let (code, report) = json(&manifest);
    assert_eq!(code, Some(0), "a stale entry at `warn` never fails the run");
    let stale: Vec<&serde_json::Value> =
        report["violations"].as_array().unwrap().iter().filter(|v| v["rule"] == "stale-baseline").collect();
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0]["severity"], "warning");
    let human = String::from_utf8_lossy(&seams(&manifest, &["--color", "never"]).stderr).into_owned();
    assert!(
        human.contains("\n  ⚠ baseline entry for internal-import") && human.contains("ok: no boundary violations"),
        "{human}"
    );

    let sarif: serde_json::Value = serde_json::from_slice(&seams(&manifest, &["--format", "sarif"]).stdout).unwrap();
    let run = &sarif["runs"][0];
    let level_of = |id: &str| {
        run["tool"]["driver"]["rules"].as_array().unwrap().iter().find(|rule| rule["id"] == id).unwrap()
            ["defaultConfiguration"]["level"]
            .clone()
    };
    assert_eq!(level_of("stale-baseline"), "warning");
    assert_eq!(level_of("internal-import"), "error");
    let result = run["results"].as_array().unwrap().iter().find(|r| r["ruleId"] == "stale-baseline").unwrap();
    assert_eq!(result["level"], "warning");
    let junit = String::from_utf8_lossy(&seams(&manifest, &["--format", "junit"]).stdout).into_owned();
    assert!(!junit.contains("<failure"), "{junit}");
    assert!(junit.contains("warning: stale-baseline"), "{junit}");
}

/// The rules of each violation that fails the run, and the rules of the suppressed findings.
fn failing_and_suppressed(report: &serde_json::Value) -> (Vec<String>, Vec<String>) {
    let suppressed = report["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|found| format!("{} {}", found["rule"].as_str().unwrap(), found["reason"].as_str().unwrap()))
        .collect();
    (failing_rules(report), suppressed)
}

#[test]
fn an_allow_takes_a_site_out_of_the_baseline_whose_entry_then_goes_stale() {
    let (scratch, manifest) = scratch_workspace();
    seams(&manifest, &["--update-baseline"]);
    assert_eq!(json(&manifest).0, Some(0));
    // The `total` import is now allowed in code: it is suppressed, not matched against the
    // baseline, whose entry for it is then stale.
    edit(&scratch.path().join("src/a.rs"), |text| {
        text.replace(
            "use super::b::internal::total;",
            "use super::b::internal::total; // seams:allow(internal-import): totals move to the api next",
        )
    });
    let (code, report) = json(&manifest);
    assert_eq!(code, Some(1));
    let (failing, suppressed) = failing_and_suppressed(&report);
    assert_eq!(failing, ["stale-baseline crate::b::internal::total"]);
    assert_eq!(suppressed, ["internal-import totals move to the api next"]);
    // Pruning drops the entry; the suppressed site is never recorded.
    assert_eq!(seams(&manifest, &["--prune-baseline"]).status.code(), Some(0));
    let baseline = std::fs::read_to_string(scratch.path().join(BASELINE)).unwrap();
    assert!(!baseline.contains("internal::total"), "{baseline}");
    assert_eq!(json(&manifest).0, Some(0));
    seams(&manifest, &["--update-baseline"]);
    let updated = std::fs::read_to_string(scratch.path().join(BASELINE)).unwrap();
    assert!(!updated.contains("internal::total"), "{updated}");
}

#[test]
fn changed_since_reports_suppressed_findings_and_unused_allows_of_changed_files_only() {
    let (scratch, manifest) = scratch_workspace();
    // An allow in b.rs that suppresses nothing, committed: an unchanged file.
    edit(&scratch.path().join("src/b/mod.rs"), |text| format!("// seams:allow(internal-import): stale\n{text}"));
    let git = git_in(scratch.path());
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "start"]);
    let (_, whole) = json(&manifest);
    let rules = |report: &serde_json::Value| -> Vec<String> {
        report["violations"].as_array().unwrap().iter().map(|v| v["rule"].as_str().unwrap().to_owned()).collect()
    };
    assert!(rules(&whole).contains(&"unused-allow".to_owned()), "{whole}");
    // a.rs changes: an allow is added there. Its suppressed finding is reported; b.rs's unused
    // allow is not, since b.rs did not change.
    edit(&scratch.path().join("src/a.rs"), |text| {
        text.replace(
            "use super::b::internal::total;",
            "// seams:allow(internal-import): totals move to the api next\nuse super::b::internal::total;",
        )
    });
    let output = seams(&manifest, &["--changed-since", "HEAD", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rules(&report), ["internal-import", "internal-import", "internal-import"]);
    let (_, suppressed) = failing_and_suppressed(&report);
    assert_eq!(suppressed, ["internal-import totals move to the api next"]);
    // b.rs changes too: its unused allow is reported again.
    edit(&scratch.path().join("src/b/mod.rs"), |text| format!("{text}\n"));
    let output = seams(&manifest, &["--changed-since", "HEAD", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(rules(&report).contains(&"unused-allow".to_owned()), "{report}");
}

/// `external-dependency` findings, in code and at a manifest's line, are fingerprinted like any
/// other, and `--changed-since` reports each one when its own file changed.
#[test]
fn outside_crate_findings_are_baselined_and_scoped_by_their_own_file() {
    let scratch = tempfile::tempdir().unwrap();
    copy_tree(&fixtures_root().join("fail/external_dependency_manifest"), scratch.path());
    let manifest = scratch.path().join("Cargo.toml");
    let update = seams(&manifest, &["--update-baseline"]);
    assert_eq!(update.status.code(), Some(0), "{}", String::from_utf8_lossy(&update.stderr));
    let baseline = std::fs::read_to_string(scratch.path().join(BASELINE)).unwrap();
    for entry in [
        r#"rule = "external-dependency", from = "audit", file = "crates/audit/Cargo.toml", target = "reqwest""#,
        r#"rule = "external-dependency", from = "audit", file = "crates/audit/src/lib.rs", target = "reqwest::get""#,
    ] {
        assert!(baseline.contains(entry), "{entry} is not in\n{baseline}");
    }
    let (code, report) = json(&manifest);
    assert_eq!((code, report["violations"].as_array().unwrap().len()), (Some(0), 5));
    // A second site of a known fingerprint fails.
    let source = scratch.path().join("crates/audit/src/lib.rs");
    edit(&source, |text| format!("{text}\npub fn again() {{\n    http::get(\"\");\n}}\n"));
    let (code, report) = json(&manifest);
    assert_eq!((code, failing_rules(&report)), (Some(1), vec!["external-dependency reqwest::get".to_owned()]));

    // Without the baseline, a change to audit's manifest alone reports its lines, and not the code.
    std::fs::remove_file(scratch.path().join(BASELINE)).unwrap();
    std::fs::write(scratch.path().join(".gitignore"), "/target\n").unwrap();
    let git = git_in(scratch.path());
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "start"]);
    edit(&scratch.path().join("crates/audit/Cargo.toml"), |text| format!("{text}\n# touched\n"));
    let output = seams(&manifest, &["--changed-since", "HEAD", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let sites: Vec<String> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|violation| {
            format!("{}:{} {}", violation["file"].as_str().unwrap(), violation["line"], violation["target"])
        })
        .collect();
    assert_eq!(sites, ["crates/audit/Cargo.toml:9 \"reqwest\"", "crates/audit/Cargo.toml:16 \"sqlx\""]);
}

/// A chain finding stands at its first step, but any step can make it: `--changed-since` reports
/// it when a file of any of its steps changed, and a direct finding only when its own file did.
#[test]
fn changed_since_reports_a_chain_when_any_of_its_steps_changed() {
    let scratch = tempfile::tempdir().unwrap();
    copy_tree(&fixtures_root().join("fail/forbid"), scratch.path());
    let manifest = scratch.path().join("Cargo.toml");
    std::fs::write(scratch.path().join(".gitignore"), "/target\n").unwrap();
    let git = git_in(scratch.path());
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "start"]);
    let reported = |revision: &str| -> Vec<String> {
        let output = seams(&manifest, &["--changed-since", revision, "--format", "json"]);
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        report["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|violation| {
                format!("{}:{} {}", violation["file"].as_str().unwrap(), violation["line"], violation["target"])
            })
            .collect()
    };
    // util.rs is the last step of both chains (util → web), and holds no finding of its own.
    edit(&scratch.path().join("src/util.rs"), |text| format!("{text}\n// touched\n"));
    assert_eq!(
        reported("HEAD"),
        ["src/domain.rs:7 \"domain -> tools -> util -> web\"", "src/reports.rs:3 \"reports -> util -> web\""]
    );
    git(&["commit", "-q", "-am", "util"]);
    // tools.rs is the middle step of domain's chain only.
    edit(&scratch.path().join("src/tools.rs"), |text| format!("{text}\n// touched\n"));
    assert_eq!(reported("HEAD"), ["src/domain.rs:7 \"domain -> tools -> util -> web\""]);
    git(&["commit", "-q", "-am", "tools"]);
    // web.rs is the end of every chain but the start of no step: nothing is reported.
    edit(&scratch.path().join("src/web.rs"), |text| format!("{text}\n// touched\n"));
    assert_eq!(reported("HEAD"), Vec::<String>::new());
}
