//! Tests of the workspace generator: the checker finds exactly what was planted, the output is
//! the same for the same seed, and every generated Rust file parses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use seams_workspace_gen::{EXPECTED_FILE, GenOptions, Planted, differences, expectation_lines, generate};

fn generate_into(dir: &Path, lines: usize, modules: usize, seed: u64) -> Planted {
    generate(&GenOptions { lines, modules, seed, out_dir: dir.to_owned() }).unwrap()
}

/// Every file under a directory, by relative path, with its bytes.
fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .map(Result::unwrap)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| (entry.path().strip_prefix(root).unwrap().to_owned(), std::fs::read(entry.path()).unwrap()))
        .collect()
}

#[test]
fn the_checker_finds_exactly_the_planted_violations() {
    for (lines, modules, seed) in [(3_000, 6, 1), (6_000, 11, 42)] {
        let dir = tempfile::tempdir().unwrap();
        let planted = generate_into(dir.path(), lines, modules, seed);
        let outcome = seams::check::run_check(&seams::check::CheckOptions {
            manifest_path: Some(dir.path().join("Cargo.toml")),
            config_path: None,
            ..Default::default()
        })
        .unwrap();
        let found = expectation_lines(&outcome);
        let (missing, unexpected) = differences(&planted.expected, &found);
        assert!(
            missing.is_empty() && unexpected.is_empty(),
            "seed {seed}: planted but not found:\n  {}\nfound but not planted:\n  {}",
            missing.join("\n  "),
            unexpected.join("\n  ")
        );
        assert_eq!(outcome.stats().lines, planted.rust_lines, "the checker counts the lines that were written");
    }
}

#[test]
fn every_rule_is_planted() {
    let dir = tempfile::tempdir().unwrap();
    let planted = generate_into(dir.path(), 2_000, 6, 3);
    // `unowned-table` needs `require_owner`, which the generated configuration leaves off.
    for rule in [
        "internal-import",
        "undeclared-dependency",
        "foreign-table",
        "shared-table",
        "cross-module-foreign-key",
        "dependency-cycle",
    ] {
        assert!(planted.expected.iter().any(|line| line.starts_with(&format!("{rule} "))), "{rule} is not planted");
    }
    assert_eq!(planted.expected.iter().filter(|line| line.starts_with("cycle ")).count(), 2, "two planted cycles");
    let written = std::fs::read_to_string(dir.path().join(EXPECTED_FILE)).unwrap();
    let listed: Vec<&str> = written.lines().filter(|line| !line.starts_with('#')).collect();
    assert_eq!(listed, planted.expected.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let (first, second, other) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate_into(first.path(), 5_000, 9, 11);
    generate_into(second.path(), 5_000, 9, 11);
    generate_into(other.path(), 5_000, 9, 12);
    let first = tree(first.path());
    assert_eq!(first, tree(second.path()));
    assert_ne!(first, tree(other.path()), "another seed plants elsewhere");
}

#[test]
fn every_generated_rust_file_parses_with_syn() {
    let dir = tempfile::tempdir().unwrap();
    generate_into(dir.path(), 8_000, 12, 5);
    let mut parsed = 0;
    for (path, bytes) in tree(dir.path()) {
        if path.extension().is_some_and(|extension| extension == "rs") {
            let text = String::from_utf8(bytes).unwrap();
            if let Err(error) = syn::parse_file(&text) {
                let start = error.span().start();
                panic!("{}:{}:{}: {error}", path.display(), start.line, start.column + 1);
            }
            parsed += 1;
        }
    }
    assert!(parsed > 50, "only {parsed} Rust files");
}

#[test]
fn the_line_count_is_close_to_the_one_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let planted = generate_into(dir.path(), 40_000, 10, 9);
    assert!((36_000..=46_000).contains(&planted.rust_lines), "{} lines", planted.rust_lines);
}
