//! `--init`: a starter `boundaries.toml` with one module per workspace member.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::check::CheckOptions;
use crate::workspace::{Workspace, WorkspaceError};

/// What `--init` wrote.
#[derive(Debug)]
pub(crate) struct WrittenConfig {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum InitError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error("{} already exists", path.display())]
    #[diagnostic(code("config-exists"), help("edit the existing file, or delete it and run --init again"))]
    Exists { path: PathBuf },
    #[error("cannot write {}: {message}", path.display())]
    #[diagnostic(code("write-failed"))]
    Write { path: PathBuf, message: String },
}

/// The starter text for the workspace that `manifest_path` belongs to, without writing it.
pub fn starter_config_for(manifest_path: &Path) -> Result<String, WorkspaceError> {
    Ok(starter_config(&Workspace::load(manifest_path)?))
}

/// The starter text for a workspace: every member is a whole-crate module that may depend on
/// the members it depends on in Cargo.toml today, so that the direction of dependencies is
/// enforced from the first run while `public` is tightened module by module.
fn starter_config(workspace: &Workspace) -> String {
    let mut text = String::new();
    text.push_str("# Module boundaries checked by `cargo xtask check-boundaries` (seams).\n");
    text.push_str("# Written by --init: one module per workspace member. See docs/configuration.md.\n\n");
    text.push_str("[defaults]\n");
    text.push_str("# Names directly under a module's root that other modules may use.\n");
    text.push_str("public = [\"api\"]\n");
    text.push_str("include_tests = false\n");
    let names: Vec<&str> = workspace.packages.iter().map(|package| package.name.as_str()).collect();
    for package in &workspace.packages {
        let mut depends_on: Vec<&str> = package
            .dependencies
            .iter()
            .filter(|dependency| dependency.kind == cargo_metadata::DependencyKind::Normal)
            .filter_map(|dependency| names.iter().find(|name| **name == dependency.package).copied())
            .collect();
        depends_on.sort_unstable();
        depends_on.dedup();
        let quoted: Vec<String> = depends_on.iter().map(|name| format!("\"{name}\"")).collect();
        let _ = write!(
            text,
            "\n[modules.\"{name}\"]\ncrate = \"{name}\"\ndepends_on = [{}]\n",
            quoted.join(", "),
            name = package.name
        );
    }
    text
}

/// Writes the starter file next to the workspace root, refusing to overwrite one.
pub(crate) fn write_starter_config(options: &CheckOptions) -> Result<WrittenConfig, InitError> {
    let workspace = Workspace::load_from(options.manifest_path())?;
    let path = options.config_path(&workspace.root);
    if path.exists() {
        return Err(InitError::Exists { path });
    }
    let text = starter_config(&workspace);
    std::fs::write(&path, &text)
        .map_err(|error| InitError::Write { path: path.clone(), message: error.to_string() })?;
    Ok(WrittenConfig { path, text })
}
