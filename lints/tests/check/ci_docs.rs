//! `docs/ci.md` is executable: its adoption path, its `[defaults]` step, its ratchet, the report
//! commands of its GitHub and GitLab jobs, and its pre-commit hook are run here, on temporary
//! copies of fixtures, with the exit codes the page states.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::command_line::copy_tree;
use crate::fixtures::fixtures_root;

const BASELINE: &str = "boundaries-baseline.toml";

fn ci_page() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ci.md")).unwrap()
}

/// The fenced blocks of the page in one language (`sh`, `yaml`), in order.
fn fenced_blocks(page: &str, language: &str) -> Vec<Vec<String>> {
    let opening = format!("```{language}");
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in page.lines() {
        match (&mut current, line.trim_end()) {
            (None, text) if text == opening => current = Some(Vec::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), text) => block.push(text.to_owned()),
            _ => {}
        }
    }
    blocks
}

/// Runs a documented `cargo seams …` command (the rest of the line after `cargo seams`, up to a
/// `#` comment) with the real binary in `workspace`.
fn run_documented(line: &str, workspace: &Path) -> Output {
    let command = line.split(" #").next().unwrap().trim();
    let start = command.find("cargo seams ").unwrap_or_else(|| panic!("not a seams command: {line}"));
    let arguments: Vec<&str> = command[start + "cargo seams ".len()..].split_whitespace().collect();
    Command::new(env!("CARGO_BIN_EXE_cargo-seams")).args(arguments).current_dir(workspace).output().unwrap()
}

/// The exit code a documented line states in its comment (`# 1: …`).
fn stated_exit_code(line: &str) -> i32 {
    line.rsplit("# ").next().unwrap().split(':').next().unwrap().trim().parse().unwrap()
}

/// Runs each line of an `sh` block and checks the exit code it states.
fn run_block(block: &[String], workspace: &Path) {
    for line in block.iter().filter(|line| !line.starts_with('#')) {
        let output = run_documented(line, workspace);
        assert_eq!(
            output.status.code(),
            Some(stated_exit_code(line)),
            "`{line}`:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// A workspace with violations and no configuration yet (a fixture without its own config),
/// taken through the page's adoption path: `--init`, the tightening the page describes, then the
/// baseline.
fn adopted_workspace() -> tempfile::TempDir {
    let page = ci_page();
    let blocks = fenced_blocks(&page, "sh");
    let (starter, tightened) = (&blocks[0], &blocks[1]);
    assert!(starter.len() >= 2 && tightened.len() >= 4, "{starter:?} {tightened:?}");
    let scratch = tempfile::tempdir().unwrap();
    copy_tree(&fixtures_root().join("fail/crate_names"), scratch.path());
    std::fs::remove_file(scratch.path().join("boundaries.toml")).unwrap();
    run_block(starter, scratch.path());
    // "for example `public = ["api"]`": the line the page tells the reader to give a module.
    let public = page.split("for example `").nth(1).unwrap().split('`').next().unwrap();
    assert_eq!(public, "public = [\"api\"]");
    edit(&scratch.path().join("boundaries.toml"), |text| {
        let header = "[modules.\"billing-core\"]\n";
        assert!(text.contains(header), "{text}");
        text.replacen(header, &format!("{header}{public}\n"), 1)
    });
    run_block(tightened, scratch.path());
    assert!(scratch.path().join(BASELINE).is_file());
    scratch
}

fn edit(path: &Path, change: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, change(text)).unwrap();
}

fn check_code(workspace: &Path, extra: &[&str]) -> Option<i32> {
    Command::new(env!("CARGO_BIN_EXE_cargo-seams"))
        .arg("check")
        .args(extra)
        .current_dir(workspace)
        .output()
        .unwrap()
        .status
        .code()
}

/// The file of the fixture whose violations the tests fix and add.
const ORDERS: &str = "crates/shop/src/orders.rs";

#[test]
fn the_adoption_path_runs_as_documented() {
    let scratch = adopted_workspace();
    let baseline = std::fs::read_to_string(scratch.path().join(BASELINE)).unwrap();
    assert!(baseline.contains("[modules.billing-core]"), "{baseline}");
}

#[test]
fn the_defaults_step_makes_a_missing_or_broken_baseline_fail() {
    let page = ci_page();
    // "Then add `baseline = "…"` to `[defaults]`": the line the page tells the reader to add.
    let before = page.split(" to `[defaults]`").next().unwrap();
    let line = before.rsplit('`').nth(1).unwrap();
    assert_eq!(line, format!("baseline = \"{BASELINE}\""));
    let scratch = adopted_workspace();
    let root = scratch.path();
    edit(&root.join("boundaries.toml"), |text| {
        assert!(text.contains("[defaults]\n"), "--init writes a [defaults] table:\n{text}");
        text.replacen("[defaults]\n", &format!("[defaults]\n{line}\n"), 1)
    });
    assert_eq!(check_code(root, &[]), Some(0));

    // Deleted: the run fails instead of passing; pruning has nothing to lower; updating recreates it.
    std::fs::remove_file(root.join(BASELINE)).unwrap();
    assert_eq!(check_code(root, &[]), Some(2));
    assert_eq!(check_code(root, &["--prune-baseline"]), Some(2));
    assert_eq!(check_code(root, &["--update-baseline"]), Some(0));
    assert_eq!(check_code(root, &[]), Some(0));

    // Broken (a merge conflict left in it): the same.
    edit(&root.join(BASELINE), |text| format!("<<<<<<< HEAD\n{text}"));
    assert_eq!(check_code(root, &[]), Some(2));
    assert_eq!(check_code(root, &["--prune-baseline"]), Some(2));
    assert_eq!(check_code(root, &["--update-baseline"]), Some(0));
    assert_eq!(check_code(root, &[]), Some(0));
}

#[test]
fn the_ratchet_runs_as_documented() {
    let blocks = fenced_blocks(&ci_page(), "sh");
    let ratchet = blocks.iter().find(|block| block.iter().any(|line| line.contains("is stale"))).unwrap();
    let scratch = adopted_workspace();
    let root = scratch.path();
    let count_of_ledger = || {
        let baseline = std::fs::read_to_string(root.join(BASELINE)).unwrap();
        let entry = baseline.lines().find(|line| line.contains("billing_core::internal::Ledger")).unwrap().to_owned();
        entry.rsplit("count = ").next().unwrap().trim_end_matches(" },").to_owned()
    };
    assert_eq!(count_of_ledger(), "2");
    // Fix one of the two recorded `Ledger` sites.
    let fixed_line = "    let ledger = ::billing_core::internal::Ledger;\n";
    edit(&root.join(ORDERS), |text| {
        assert!(text.contains(fixed_line));
        text.replace(fixed_line, "")
    });
    run_block(ratchet, root);
    assert_eq!(count_of_ledger(), "1");
    // The fixed violation cannot come back.
    edit(&root.join(ORDERS), |text| text.replace("pub fn run() {\n", &format!("pub fn run() {{\n{fixed_line}")));
    assert_eq!(check_code(root, &[]), Some(1));
}

/// The `cargo seams check …` commands of the page's CI jobs (GitHub Actions and GitLab CI).
fn ci_job_commands() -> Vec<String> {
    fenced_blocks(&ci_page(), "yaml")
        .into_iter()
        .flatten()
        .filter(|line| line.contains("cargo seams check"))
        .map(|line| line[line.find("cargo seams check").unwrap()..].to_owned())
        .collect()
}

/// The file a command's `--output` names.
fn output_file(command: &str) -> PathBuf {
    let words: Vec<&str> = command.split_whitespace().collect();
    let position = words.iter().position(|word| *word == "--output").unwrap();
    PathBuf::from(words[position + 1])
}

#[test]
fn the_ci_jobs_write_their_reports_offline() {
    let commands = ci_job_commands();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert!(commands[0].contains("--format sarif") && commands[1].contains("--format junit"), "{commands:?}");
    let scratch = adopted_workspace();
    let root = scratch.path();

    // Only baselined violations: the job passes, and the reports say what is known.
    let recorded = |command: &str, code: i32| {
        let output = run_documented(command, root);
        assert_eq!(output.status.code(), Some(code), "`{command}`: {}", String::from_utf8_lossy(&output.stderr));
        assert!(output.stdout.is_empty(), "with --output, stdout stays empty");
        assert!(!output.stderr.is_empty(), "with --output, the human diagnostics still go to the log");
        std::fs::read_to_string(root.join(output_file(command))).unwrap()
    };
    let sarif: serde_json::Value = serde_json::from_str(&recorded(&commands[0], 0)).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 0);
    assert_eq!(sarif["runs"][0]["properties"]["baselinedViolations"], 6);
    let junit = recorded(&commands[1], 0);
    let document = roxmltree::Document::parse(&junit).unwrap();
    assert_eq!(document.root_element().attribute("failures"), Some("0"));

    // A new violation fails the job and is in both reports.
    edit(&root.join(ORDERS), |text| format!("{text}\npub fn new_debt() {{\n    billing_core::internal::post();\n}}\n"));
    let sarif: serde_json::Value = serde_json::from_str(&recorded(&commands[0], 1)).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "internal-import");
    assert_eq!(results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], ORDERS);
    let junit = recorded(&commands[1], 1);
    let document = roxmltree::Document::parse(&junit).unwrap();
    assert_eq!(document.root_element().attribute("failures"), Some("1"));
    let failure = document.descendants().find(|node| node.has_tag_name("failure")).unwrap();
    assert!(failure.text().unwrap().contains(&format!("{ORDERS}:")), "{junit}");
}

#[test]
fn the_pre_commit_hook_refuses_a_commit_that_stages_a_violation() {
    let blocks = fenced_blocks(&ci_page(), "sh");
    let hook = blocks.iter().find(|block| block.iter().any(|line| line.starts_with("exec cargo seams"))).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    copy_tree(&fixtures_root().join("pass/public_paths"), root);
    std::fs::write(root.join(".gitignore"), "/target\n").unwrap();
    // `cargo seams` finds `cargo-seams` on PATH, as it would after `cargo install`.
    let binary_dir = Path::new(env!("CARGO_BIN_EXE_cargo-seams")).parent().unwrap().to_owned();
    let mut path_entries = vec![binary_dir];
    if let Some(cargo) = std::env::var_os("CARGO") {
        path_entries.extend(Path::new(&cargo).parent().map(Path::to_owned));
    }
    path_entries.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    let path = std::env::join_paths(path_entries).unwrap();
    let git = |arguments: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"])
            .args(arguments)
            .env("PATH", &path)
            .output()
            .unwrap()
    };
    let head = || String::from_utf8(git(&["rev-parse", "HEAD"]).stdout).unwrap();
    assert!(git(&["init", "-q"]).status.success());
    assert!(git(&["add", "-A"]).status.success());
    assert!(git(&["commit", "-q", "-m", "start"]).status.success());
    let hook_path = root.join(".git/hooks/pre-commit");
    std::fs::write(&hook_path, hook.join("\n") + "\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook_path, std::fs::Permissions::from_mode(0o755)).unwrap();

    // A clean change commits.
    let orders = root.join("crates/shop/src/orders.rs");
    edit(&orders, |text| format!("{text}\npub fn clean() {{\n    crate::payments::api::pay();\n}}\n"));
    assert!(git(&["add", "-A"]).status.success());
    let clean = git(&["commit", "-q", "-m", "clean"]);
    assert!(clean.status.success(), "the hook refused a clean commit: {}", String::from_utf8_lossy(&clean.stderr));
    let before = head();

    // A staged violation is refused, and nothing is committed.
    edit(&orders, |text| format!("{text}\npub fn sneak() {{\n    crate::payments::internal::settle();\n}}\n"));
    assert!(git(&["add", "-A"]).status.success());
    let refused = git(&["commit", "-q", "-m", "sneak"]);
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success(), "the hook let a violation through: {stderr}");
    assert!(stderr.contains("internal-import") && stderr.contains("crate::payments::internal"), "{stderr}");
    assert_eq!(head(), before);
}
