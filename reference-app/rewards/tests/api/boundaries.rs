//! The reference app keeps its own architecture rules: the seams checker finds no violation with
//! `reference-app/boundaries.toml`.

use std::path::Path;

use seams::check::{CheckOptions, run_check};

#[test]
fn the_reference_app_has_no_boundary_violations() {
    let workspace_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let outcome = run_check(&CheckOptions {
        manifest_path: Some(workspace_root.join("Cargo.toml")),
        config_path: Some(workspace_root.join("reference-app/boundaries.toml")),
        ..CheckOptions::default()
    })
    .unwrap();
    let failing: Vec<String> = outcome.failing().map(|violation| format!("{violation:?}")).collect();
    assert!(failing.is_empty(), "boundary violations in the reference app: {failing:#?}");
}
