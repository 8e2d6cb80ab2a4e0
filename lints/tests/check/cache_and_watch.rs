//! The facts cache (re-checks parse only changed files, a corrupt cache is ignored), an editor's
//! unsaved buffers, and watch mode (a saved file gives a fresh result), on temporary copies of
//! fixtures.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use seams::check::{CheckOptions, Engine};

use crate::command_line::copy_tree;
use crate::fixtures::{expectation_lines, fixtures_root};

fn scratch(case: &str) -> tempfile::TempDir {
    let scratch = tempfile::tempdir().unwrap();
    copy_tree(&fixtures_root().join(case), scratch.path());
    scratch
}

/// Options of a check that reads and writes the facts cache under the workspace's target directory.
fn options(root: &Path) -> CheckOptions {
    CheckOptions { manifest_path: Some(root.join("Cargo.toml")), use_cache: true, ..CheckOptions::default() }
}

#[test]
fn a_warm_check_parses_only_changed_files_and_finds_the_same() {
    let workspace = scratch("fail/use_groups");
    let cache_file = workspace.path().join("target/seams-cache/facts.bin");

    // Each engine starts from the cache on disk, as a new run of the command does.
    let mut cold = Engine::new(options(workspace.path()));
    let first = cold.check().unwrap();
    let counts = cold.parse_counts();
    assert_eq!(counts.from_cache, 0);
    assert_eq!(counts.parsed, first.stats().files);
    assert!(cache_file.is_file(), "the check writes the cache");

    let mut warm = Engine::new(options(workspace.path()));
    let second = warm.check().unwrap();
    assert_eq!((warm.parse_counts().from_cache, warm.parse_counts().parsed), (first.stats().files, 0));
    assert_eq!(expectation_lines(&Ok(second)), expectation_lines(&Ok(first)));

    // One changed file is parsed again, and its new violation is found.
    let file = workspace.path().join("src/a.rs");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}\npub fn later() {{ crate::c::internal::Secret; }}\n")).unwrap();
    let mut changed = Engine::new(options(workspace.path()));
    let third = changed.check().unwrap();
    assert_eq!(changed.parse_counts().parsed, 1);
    assert!(
        expectation_lines(&Ok(third))
            .iter()
            .any(|line| line.contains("crate::c::internal::Secret") && line.contains(":20:"))
    );
}

#[test]
fn an_unsaved_buffer_is_checked_in_place_of_the_file_on_disk() {
    let workspace = scratch("fail/use_groups");
    // Cargo reports the workspace's files by their canonical absolute paths, and so must an editor.
    let file = std::fs::canonicalize(workspace.path().join("src/a.rs")).unwrap();
    let on_disk = std::fs::read_to_string(&file).unwrap();
    let mut engine = Engine::new(CheckOptions { use_cache: false, ..options(workspace.path()) });
    let saved = expectation_lines(&engine.check());

    engine.set_buffer(file.clone(), format!("{on_disk}\npub fn later() {{ crate::c::internal::Secret; }}\n"));
    let edited = expectation_lines(&engine.check());
    assert!(
        edited.iter().any(|line| line.contains("crate::c::internal::Secret") && line.contains(":20:")),
        "{edited:#?}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), on_disk, "a buffer is never written to disk");

    engine.remove_buffer(&file);
    assert_eq!(expectation_lines(&engine.check()), saved);
}

#[test]
fn a_corrupt_cache_is_ignored_and_the_binary_writes_it_under_target_only() {
    let workspace = scratch("fail/use_simple");
    let cache_file = workspace.path().join("target/seams-cache/facts.bin");
    std::fs::create_dir_all(cache_file.parent().unwrap()).unwrap();
    std::fs::write(&cache_file, b"not a cache at all").unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cargo-seams"))
            // Cargo puts the target directory (and so the cache) where this variable says.
            .env_remove("CARGO_TARGET_DIR")
            .args(["check", "--format", "json", "--manifest-path"])
            .arg(workspace.path().join("Cargo.toml"))
            .args(extra)
            .output()
            .unwrap()
    };
    let first = run(&[]);
    assert_eq!(first.status.code(), Some(1));
    assert_ne!(std::fs::read(&cache_file).unwrap(), b"not a cache at all", "the run rewrites a corrupt cache");
    let report = |output: &std::process::Output| {
        let mut value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        value["stats"]["elapsed_ms"] = 0.into();
        value
    };
    assert_eq!(report(&run(&[])), report(&first), "a warm run reports exactly what a cold one does");

    std::fs::remove_dir_all(workspace.path().join("target")).unwrap();
    assert_eq!(report(&run(&["--no-cache"])), report(&first));
    assert!(!workspace.path().join("target").exists(), "--no-cache must not write a cache");
    // Nothing but the cache is ever written: the source tree is as it was.
    let mut names: Vec<String> = std::fs::read_dir(workspace.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["Cargo.toml", "boundaries.toml", "expect.txt", "src"]);
}

#[test]
fn watch_mode_prints_a_fresh_result_after_a_save() {
    let workspace = scratch("pass/public_paths");
    let child = Command::new(env!("CARGO_BIN_EXE_cargo-seams"))
        .args(["check", "--watch", "--color", "never", "--manifest-path"])
        .arg(workspace.path().join("Cargo.toml"))
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // The watcher never exits on its own: kill it however the test ends, so no run leaves one.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = KillOnDrop(child);
    let (lines, received) = mpsc::channel();
    let stderr = child.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    // Generous bounds, so that a loaded CI machine cannot fail the test; they only stop a hang.
    // The first check runs `cargo metadata`, which waits for Cargo's package-cache lock while
    // the registry sweep in robustness.rs runs it on hundreds of crates in parallel.
    let wait_for = |needle: &str| -> Vec<String> {
        let mut seen = Vec::new();
        while let Ok(line) = received.recv_timeout(Duration::from_secs(300)) {
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return seen;
            }
        }
        panic!("no line containing {needle:?} came; saw {seen:#?}");
    };
    let first = wait_for("watching for changes");
    assert!(first.iter().any(|line| line.starts_with("ok: no boundary violations")), "{first:#?}");
    let file = workspace.path().join("crates/shop/src/orders.rs");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}\npub fn extra() {{ crate::payments::secret::post(); }}\n")).unwrap();
    let second = wait_for("watching for changes");
    // An allow written on that line in the editor suppresses the finding at the next save.
    std::fs::write(
        &file,
        format!(
            "{text}\npub fn extra() {{ crate::payments::secret::post(); }} // seams:allow(internal-import): until payments has an api for it\n"
        ),
    )
    .unwrap();
    let third = wait_for("watching for changes");
    drop(child);
    assert!(
        second.iter().any(|line| line.starts_with("error: 1 boundary violation (1 internal-import)")),
        "{second:#?}"
    );
    assert!(second.iter().any(|line| line.contains("(1 files parsed, 2 from the cache)")), "{second:#?}");
    assert!(
        third.iter().any(|line| line.starts_with("ok: no boundary violations")
            && line.contains(", 1 finding suppressed by seams:allow (")),
        "{third:#?}"
    );
}

#[test]
fn an_allow_added_or_removed_in_one_file_is_seen_by_a_warm_check() {
    let workspace = scratch("fail/use_simple");
    let mut engine = Engine::new(options(workspace.path()));
    let before = expectation_lines(&engine.check());
    assert!(before.iter().any(|line| line.starts_with("internal-import src/a.rs:6:5")), "{before:#?}");

    let file = workspace.path().join("src/a.rs");
    let text = std::fs::read_to_string(&file).unwrap();
    let allowed = text.replace(
        "use super::b::internal::total;",
        "// seams:allow(internal-import): totals move to the api next\nuse super::b::internal::total;",
    );
    std::fs::write(&file, &allowed).unwrap();
    let after = expectation_lines(&engine.check());
    assert_eq!(engine.parse_counts().parsed, 1, "only the edited file is parsed again");
    assert!(
        after.iter().any(|line| line
            == "suppressed internal-import src/a.rs:7:5 a -> b crate::b::internal::total: totals move to the api next"),
        "{after:#?}"
    );
    assert!(!after.iter().any(|line| line.starts_with("internal-import src/a.rs:7:5")), "{after:#?}");

    // Back as it was: the facts the engine kept for the old text give the first result again.
    std::fs::write(&file, &text).unwrap();
    assert_eq!(expectation_lines(&engine.check()), before);
    assert_eq!(engine.parse_counts().parsed, 1);
}

/// Watch mode re-checks through one engine that keeps the facts between checks: a save to a
/// manifest (a rename) or to `boundaries.toml` changes what `external-dependency` finds, with
/// nothing stale kept.
#[test]
fn an_engine_sees_manifest_and_configuration_edits_for_outside_crates() {
    let workspace = scratch("fail/external_dependency_manifest");
    let mut engine = Engine::new(options(workspace.path()));
    let audit_lines = |engine: &mut Engine| -> Vec<String> {
        expectation_lines(&engine.check()).into_iter().filter(|line| line.contains(" audit -> ")).collect()
    };
    assert_eq!(
        audit_lines(&mut engine),
        [
            "external-dependency crates/audit/Cargo.toml:9:1 audit -> reqwest reqwest",
            "external-dependency crates/audit/Cargo.toml:16:1 audit -> sqlx sqlx",
            "external-dependency crates/audit/src/lib.rs:4:13 audit -> reqwest reqwest::get",
        ]
    );
    // The rename changes in the manifest only: the code's `http` names no crate any more. Facts
    // kept from the first check must not hide that, though the file's text is the same.
    let manifest = workspace.path().join("crates/audit/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("http = {", "transport = {")).unwrap();
    assert_eq!(
        audit_lines(&mut engine),
        [
            "external-dependency crates/audit/Cargo.toml:9:1 audit -> reqwest reqwest",
            "external-dependency crates/audit/Cargo.toml:16:1 audit -> sqlx sqlx",
        ]
    );
    assert_eq!((engine.parse_counts().parsed, engine.parse_counts().from_cache), (1, 1));
    // Then the code follows the rename.
    let source = workspace.path().join("crates/audit/src/lib.rs");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, text.replace("http::get", "transport::get")).unwrap();
    assert_eq!(
        audit_lines(&mut engine),
        [
            "external-dependency crates/audit/Cargo.toml:9:1 audit -> reqwest reqwest",
            "external-dependency crates/audit/Cargo.toml:16:1 audit -> sqlx sqlx",
            "external-dependency crates/audit/src/lib.rs:4:13 audit -> reqwest reqwest::get",
        ]
    );
    // Allowing reqwest in audit leaves the crate that [defaults] forbids.
    let config = workspace.path().join("boundaries.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("forbid_external = [\"reqwest\"]", "external = [\"reqwest\", \"log\", \"tokio\"]"),
    )
    .unwrap();
    assert_eq!(audit_lines(&mut engine), ["external-dependency crates/audit/Cargo.toml:16:1 audit -> sqlx sqlx"]);
}
