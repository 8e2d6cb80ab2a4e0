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
        outcome.violations().iter().map(|v| format!("{}:{} {}", v.source.file, v.site.line, v.message)).collect();
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(outcome.warnings().is_empty(), "{:#?}", outcome.warnings());
    // The checker must have seen the toolkit's own crates, not an empty model.
    let modules: Vec<&str> = outcome.module_names().collect();
    assert!(modules.contains(&"lints") && modules.contains(&"xtask"), "{modules:?}");
    assert!(outcome.file_paths().any(|file| file == "lints/src/check/pipeline.rs"));
}

#[test]
fn every_rule_has_a_unique_code_a_doc_section_and_a_failing_fixture() {
    let root = repository_root();
    let rules_doc = std::fs::read_to_string(root.join("docs/rules.md")).unwrap();
    let mut codes = std::collections::BTreeSet::new();
    for rule in seams::diagnostic::RuleCode::ALL {
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
        outcome.violations().iter().map(|v| format!("{}:{} {}", v.source.file, v.site.line, v.message)).collect();
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(outcome.warnings().is_empty(), "{:#?}", outcome.warnings());
    // The table rules must have seen the app's migrations and queries.
    let stats = outcome.stats();
    assert!(stats.table_uses > 20, "only {} table uses found", stats.table_uses);
    assert!(stats.modules >= 6);
}

/// ARCHITECTURE.md's code map names every source file of the checker: a file by its path under
/// `lints/src/` (`ids.rs`, `extract/visitor.rs`), or by its name in its folder's entry (the entry
/// that starts with `` `extract/` `` and says `` `visitor.rs` ``); a folder's `mod.rs` by the folder.
#[test]
fn the_code_map_names_every_source_file_of_the_checker() {
    let root = repository_root();
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let start = architecture.find("### `lints/` (package `seams`)").expect("ARCHITECTURE.md has a `lints/` code map");
    let section = &architecture[start..];
    let section = &section[..section[4..].find("\n### ").map_or(section.len(), |end| end + 4)];
    // Each entry of the list with its continuation lines.
    let mut entries: Vec<String> = Vec::new();
    for line in section.lines() {
        match line.strip_prefix("- ") {
            Some(entry) => entries.push(entry.to_owned()),
            None if line.starts_with("  ") => {
                if let Some(last) = entries.last_mut() {
                    last.push(' ');
                    last.push_str(line.trim());
                }
            }
            None => {}
        }
    }
    let sources = root.join("lints/src");
    let mut unnamed = Vec::new();
    for entry in walkdir::WalkDir::new(&sources).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.path().extension().is_none_or(|extension| extension != "rs") {
            continue;
        }
        let relative = entry.path().strip_prefix(&sources).unwrap().to_string_lossy().replace('\\', "/");
        let (folder, inside) = match relative.split_once('/') {
            Some((folder, inside)) => (Some(folder), inside),
            None => (None, relative.as_str()),
        };
        let named = entries.iter().any(|text| {
            text.contains(&format!("`{relative}`"))
                || folder.is_some_and(|folder| {
                    text.starts_with(&format!("`{folder}/`"))
                        && (inside == "mod.rs"
                            || text.contains(&format!("`{inside}`"))
                            || inside.rsplit_once('/').is_some_and(|(sub, file)| {
                                text.contains(&format!("`{sub}/`"))
                                    && (file == "mod.rs" || text.contains(&format!("`{file}`")))
                            }))
                })
        });
        if !named {
            unnamed.push(relative);
        }
    }
    assert!(unnamed.is_empty(), "ARCHITECTURE.md's code map for `lints/` does not name {unnamed:?}");
}
