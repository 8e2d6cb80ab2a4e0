//! `docs/ci.md` is executable: its adoption path and its pre-commit hook are run here, on a
//! temporary copy of a fixture, with the exit codes the page states.

use std::path::Path;
use std::process::Command;

use crate::command_line::copy_tree;
use crate::fixtures::fixtures_root;

fn ci_page() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ci.md")).unwrap()
}

/// The `sh` blocks of the page, in order.
fn shell_blocks(page: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in page.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), text) => block.push(text.to_owned()),
            _ => {}
        }
    }
    blocks
}

/// Runs a documented `cargo seams …` line with the real binary in `workspace`.
fn run_documented(line: &str, workspace: &Path) -> Option<i32> {
    let command = line.split('#').next().unwrap().trim();
    let arguments: Vec<&str> = command.strip_prefix("cargo seams ").unwrap().split_whitespace().collect();
    Command::new(env!("CARGO_BIN_EXE_cargo-seams"))
        .args(arguments)
        .current_dir(workspace)
        .output()
        .unwrap()
        .status
        .code()
}

#[test]
fn the_adoption_path_runs_as_documented() {
    let blocks = shell_blocks(&ci_page());
    let adoption = &blocks[0];
    assert!(adoption.len() >= 5, "{adoption:?}");
    let scratch = tempfile::tempdir().unwrap();
    // A workspace with violations and no configuration yet: a fixture without its own config.
    copy_tree(&fixtures_root().join("fail/crate_names"), scratch.path());
    std::fs::remove_file(scratch.path().join("boundaries.toml")).unwrap();
    for line in adoption {
        let expected: i32 = line.rsplit("# ").next().unwrap().split(':').next().unwrap().trim().parse().unwrap();
        assert_eq!(run_documented(line, scratch.path()), Some(expected), "`{line}`");
    }
    assert!(scratch.path().join("boundaries-baseline.toml").is_file());
}

#[test]
fn the_pre_commit_hook_runs_in_a_git_repository() {
    let blocks = shell_blocks(&ci_page());
    let hook = blocks.iter().find(|block| block.iter().any(|line| line.starts_with("exec cargo seams"))).unwrap();
    let command = hook.iter().find(|line| line.starts_with("exec ")).unwrap().trim_start_matches("exec ");
    let scratch = tempfile::tempdir().unwrap();
    copy_tree(&fixtures_root().join("pass/public_paths"), scratch.path());
    let git = |arguments: &[&str]| {
        let status = Command::new("git")
            .arg("-C")
            .arg(scratch.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"])
            .args(arguments)
            .status()
            .unwrap();
        assert!(status.success());
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "start"]);
    assert_eq!(run_documented(command, scratch.path()), Some(0));
}
