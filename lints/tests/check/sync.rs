//! `cargo seams sync` and `cargo xtask check-boundaries --sync`, through the real binary on a
//! temporary copy of `fixtures/sync/formatting`: only the out-of-date `depends_on` arrays change,
//! byte for byte; `--check` exits 1 and writes nothing; a second run changes nothing; uses that
//! `forbid` or `[layers]` refuse are left out and fail the run.

use std::path::Path;
use std::process::Output;

use crate::command_line::copy_tree;
use crate::fixtures::fixtures_root;

fn run(root: &Path, arguments: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cargo-seams"))
        .args(arguments)
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--no-cache")
        .output()
        .unwrap()
}

/// The fixture's boundaries.toml with exactly the three arrays that sync must change, changed.
fn expected_after_sync(before: &str) -> String {
    let replacements = [
        (r#"depends_on = ["a"] }"#, r#"depends_on = ["a", "c"] }"#),
        ("    \"b\",\n    # d was for the old report\n    \"d\",\n]", "    \"b\",\n    \"c\",\n]"),
        (r#"depends_on   =   [ "c" ,"a"  ]"#, "depends_on   =   []"),
    ];
    let mut after = before.to_owned();
    for (old, new) in replacements {
        assert_eq!(after.matches(old).count(), 1, "{old}");
        after = after.replace(old, new);
    }
    after
}

#[test]
fn sync_rewrites_only_the_out_of_date_arrays_and_a_second_run_is_a_no_op() {
    let scratch = tempfile::tempdir().unwrap();
    copy_tree(&fixtures_root().join("sync/formatting"), scratch.path());
    let config = scratch.path().join("boundaries.toml");
    let before = std::fs::read_to_string(&config).unwrap();

    // --check writes nothing, prints the diff, and exits 1: the file is out of date.
    let checked = run(scratch.path(), &["sync", "--check"]);
    assert_eq!(checked.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before);
    let diff = String::from_utf8(checked.stdout).unwrap();
    assert!(diff.starts_with("--- boundaries.toml\n+++ boundaries.toml\n"), "{diff}");
    assert!(diff.contains("-    # d was for the old report\n-    \"d\",\n+    \"c\",\n"), "{diff}");

    // sync writes exactly the three arrays, and still exits 1 for the two refused uses.
    let synced = run(scratch.path(), &["sync"]);
    let stderr = String::from_utf8_lossy(&synced.stderr).into_owned();
    assert_eq!(synced.status.code(), Some(1), "{stderr}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), expected_after_sync(&before));
    assert!(stderr.contains("[modules.d] depends_on: not added \"web\""), "{stderr}");
    assert!(stderr.contains("[modules.e] depends_on: not added \"web\""), "{stderr}");
    assert!(!stderr.contains("added \"a\""), "the allowed use of `a` in `f` is not added:\n{stderr}");

    // Again: nothing changes, byte for byte, and nothing is printed on stdout.
    let after = std::fs::read(&config).unwrap();
    let again = run(scratch.path(), &["sync"]);
    assert_eq!(std::fs::read(&config).unwrap(), after);
    assert!(again.stdout.is_empty());

    // Without the refused uses, the file is up to date, both commands agree, and the check passes.
    for file in ["src/d.rs", "src/e.rs"] {
        let path = scratch.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("    crate::web::page();\n", "")).unwrap();
    }
    assert_eq!(run(scratch.path(), &["sync", "--check"]).status.code(), Some(0));
    let xtask_form = run(scratch.path(), &["check", "--sync", "--check"]);
    assert_eq!(xtask_form.status.code(), Some(0), "{}", String::from_utf8_lossy(&xtask_form.stderr));
    let check = run(scratch.path(), &["check"]);
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stderr));
}

#[test]
fn check_without_sync_refuses_the_check_flag() {
    let output =
        std::process::Command::new(env!("CARGO_BIN_EXE_cargo-seams")).args(["check", "--check"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}
