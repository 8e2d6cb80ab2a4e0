//! The repository keeps its own promises: its modules, and the reference app's, pass the check.

use std::path::Path;

use seams::check::{CheckOptions, run_check};

fn repository_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn this_repository_passes_its_own_boundaries() {
    let root = repository_root();
    let outcome = run_check(&CheckOptions {
        manifest_path: Some(root.join("Cargo.toml")),
        config_path: None,
        ..Default::default()
    })
    .unwrap();
    let findings: Vec<String> =
        outcome.violations.iter().map(|v| format!("{}:{} {}", v.source.file, v.site.line, v.message)).collect();
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(outcome.model.warnings.is_empty(), "{:#?}", outcome.model.warnings);
    // The checker must have seen the toolkit's own crates, not an empty model.
    let modules: Vec<&str> = outcome.model.modules.iter().map(|module| module.name.as_str()).collect();
    assert!(modules.contains(&"lints") && modules.contains(&"xtask"), "{modules:?}");
    assert!(outcome.model.files.iter().any(|file| file.relative == "lints/src/extract.rs"));
}

#[test]
fn every_rule_has_a_unique_code_a_doc_section_and_a_failing_fixture() {
    let root = repository_root();
    let rules_doc = std::fs::read_to_string(root.join("docs/rules.md")).unwrap();
    let mut codes = std::collections::BTreeSet::new();
    for rule in seams::rules::RuleCode::ALL {
        let code = rule.as_str();
        assert!(codes.insert(code), "duplicate rule code {code}");
        assert!(rules_doc.contains(&format!("\n## {code}\n")), "docs/rules.md has no `## {code}` section");
        let fixtures = crate::fixtures::fixtures_root().join("fail");
        let exercised = std::fs::read_dir(&fixtures).unwrap().filter_map(Result::ok).any(|case| {
            std::fs::read_to_string(case.path().join("expect.txt"))
                .is_ok_and(|expect| expect.lines().any(|line| line.starts_with(&format!("{code} "))))
        });
        assert!(exercised, "no fixture under tests/fixtures/fail expects `{code}`");
        assert!(!rule.description().is_empty());
    }
}

#[test]
fn the_reference_app_passes_its_own_boundaries() {
    let root = repository_root();
    let outcome = run_check(&CheckOptions {
        manifest_path: Some(root.join("Cargo.toml")),
        config_path: Some(root.join("reference-app/boundaries.toml")),
        ..Default::default()
    })
    .unwrap();
    let findings: Vec<String> =
        outcome.violations.iter().map(|v| format!("{}:{} {}", v.source.file, v.site.line, v.message)).collect();
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(outcome.model.warnings.is_empty(), "{:#?}", outcome.model.warnings);
    // The table rules must have seen the app's migrations and queries.
    assert!(outcome.model.tables.uses.len() > 20, "only {} table uses found", outcome.model.tables.uses.len());
    assert!(outcome.model.modules.len() >= 6);
}
