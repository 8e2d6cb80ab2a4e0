//! The reference app keeps its own architecture rules: the seams checker finds no violation with
//! `reference-app/boundaries.toml`, whose modules own their PostgreSQL schemas (`points.*`) and, through their SQLite
//! migrations, their prefixed SQLite tables; and a query planted in a copy of the app that reads another module's
//! tables, in either dialect, is reported.

use std::path::Path;

use seams::check::{CheckOptions, run_check};
use seams::diagnostic::RuleCode;

fn workspace_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_reference_app_has_no_boundary_violations() {
    let workspace_root = workspace_root();
    let outcome = run_check(&CheckOptions {
        manifest_path: Some(workspace_root.join("Cargo.toml")),
        config_path: Some(workspace_root.join("reference-app/boundaries.toml")),
        ..CheckOptions::default()
    })
    .unwrap();
    let failing: Vec<String> = outcome.failing().map(|violation| format!("{violation:?}")).collect();
    assert!(failing.is_empty(), "boundary violations in the reference app: {failing:#?}");
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_tree(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the app's modules and platform in a workspace of their own, with the real workspace's dependency table.
fn copy_of_the_app(directory: &Path) {
    let root = workspace_root();
    for part in ["platform", "modules"] {
        copy_tree(&root.join("reference-app").join(part), &directory.join("reference-app").join(part));
    }
    std::fs::copy(root.join("reference-app/boundaries.toml"), directory.join("reference-app/boundaries.toml")).unwrap();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members_start = manifest.find("members = [").unwrap();
    let members_end = members_start + manifest[members_start..].find(']').unwrap() + 1;
    let manifest = format!(
        "{}members = [\"reference-app/platform\", \"reference-app/modules/*\"]{}",
        &manifest[..members_start],
        &manifest[members_end..]
    )
    .replace("exclude = [\"lints/tests/fixtures\", \"lints/fuzz\"]\n", "");
    std::fs::write(directory.join("Cargo.toml"), manifest).unwrap();
}

#[test]
fn a_planted_cross_schema_query_in_a_copy_of_the_app_is_reported_in_both_dialects() {
    let directory = tempfile::tempdir().unwrap();
    copy_of_the_app(directory.path());
    let audit_service = directory.path().join("reference-app/modules/audit/src/service.rs");
    let mut source = std::fs::read_to_string(&audit_service).unwrap();
    source.push_str(
        "\n/// Planted: audit reading the ledger behind points' API.\n\
         #[allow(dead_code)]\n\
         const PLANTED: Sql = Sql {\n    \
             sqlite: \"SELECT balance_after FROM points_ledger WHERE member_id = ?1\",\n    \
             postgres: \"SELECT balance_after FROM points.ledger WHERE member_id = $1\",\n\
         };\n",
    );
    std::fs::write(&audit_service, source).unwrap();
    let outcome = run_check(&CheckOptions {
        manifest_path: Some(directory.path().join("Cargo.toml")),
        config_path: Some(directory.path().join("reference-app/boundaries.toml")),
        ..CheckOptions::default()
    })
    .unwrap();
    let mut found: Vec<(RuleCode, String, String, String)> = outcome
        .failing()
        .map(|violation| {
            (violation.rule, violation.from_module.clone(), violation.to_module.clone(), violation.target.clone())
        })
        .collect();
    found.sort();
    let expected = |table: &str| (RuleCode::ForeignTable, "audit".to_owned(), "points".to_owned(), table.to_owned());
    assert_eq!(found, vec![expected("points.ledger"), expected("points_ledger")]);
}
