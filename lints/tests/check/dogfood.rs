//! The repository keeps its own promises: its modules, and the reference app's, pass the check.

use std::path::Path;

use seams::check::{CheckOptions, run_check};

fn repository_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn this_repository_passes_its_own_boundaries() {
    let root = repository_root();
    let outcome = run_check(&CheckOptions { manifest_path: Some(root.join("Cargo.toml")), config_path: None }).unwrap();
    let findings: Vec<String> =
        outcome.violations.iter().map(|v| format!("{}:{} {}", v.source.file, v.site.line, v.message)).collect();
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(outcome.model.warnings.is_empty(), "{:#?}", outcome.model.warnings);
    // The checker must have seen the toolkit's own crates, not an empty model.
    let modules: Vec<&str> = outcome.model.modules.iter().map(|module| module.name.as_str()).collect();
    assert!(modules.contains(&"lints") && modules.contains(&"xtask"), "{modules:?}");
    assert!(outcome.model.files.iter().any(|file| file.relative == "lints/src/extract.rs"));
}
