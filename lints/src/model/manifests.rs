//! The outside crates that whole-crate modules' manifests list, each at its key's line: what
//! `external-dependency` reports in `Cargo.toml` besides the code's references.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use crate::config::Config;
use crate::diagnostic::{Site, SourceRef, line_column};
use crate::workspace::{PackageId, Workspace};

use super::modules::{ModuleId, Modules};

/// An outside crate that a whole-crate module's `Cargo.toml` lists, at its key.
#[derive(Debug, Clone)]
pub(crate) struct ManifestDependency {
    pub(crate) module: ModuleId,
    /// The crate's package name.
    pub(crate) package: String,
    pub(crate) source: SourceRef,
    pub(crate) site: Site,
}

/// The outside crates listed in the manifests of whole-crate modules that some policy restricts:
/// `[dependencies]` (also per target), and `[dev-dependencies]` when test code is checked. Build
/// dependencies are no module's code. A manifest that cannot be read gives nothing: Cargo has
/// read it already, and the code's references are reported anyway.
pub(crate) fn manifest_dependencies(
    workspace: &Workspace,
    config: &Config,
    modules: &Modules,
) -> Vec<ManifestDependency> {
    let mut found = Vec::new();
    for (module, entry) in modules.with_ids() {
        if !entry.prefix.is_empty() || entry.external.is_open() {
            continue;
        }
        let path = workspace.packages[entry.package].manifest_dir.join("Cargo.toml");
        let Some((text, keys)) = read_dependency_keys(&path, config.defaults.include_tests) else { continue };
        let source = SourceRef { file: workspace.relative_path(&path), text: Arc::clone(&text) };
        for (key, span) in keys {
            let Some(package) = outside_package(workspace, entry.package, &key) else { continue };
            let (line, column) = line_column(&text, span.start);
            found.push(ManifestDependency {
                module,
                package,
                source: source.clone(),
                site: Site { line, column, bytes: span },
            });
        }
    }
    found
}

/// The package that a dependency key of a member's manifest names, when it is not a workspace
/// member: Cargo's metadata knows the key as the dependency's rename, or as its package name.
fn outside_package(workspace: &Workspace, package: PackageId, key: &str) -> Option<String> {
    let dependency = workspace.packages[package].dependencies.iter().find(|dependency| match &dependency.rename {
        Some(rename) => rename == key,
        None => dependency.package == key,
    })?;
    workspace.package_by_name(&dependency.package).is_none().then(|| dependency.package.clone())
}

type DependencyTable = BTreeMap<Spanned<String>, IgnoredAny>;

/// The dependency tables of a manifest, or of one of its `[target.'…']` tables. (serde's
/// `flatten` would lose the spans, so a manifest is read twice: its top-level tables, and its
/// targets.)
#[derive(Deserialize, Default)]
struct RawDependencies {
    #[serde(default)]
    dependencies: DependencyTable,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: DependencyTable,
    #[serde(default, rename = "dev_dependencies")]
    dev_dependencies_underscored: DependencyTable,
}

/// The `[target.'…']` tables of a manifest; its top-level tables are read as [`RawDependencies`].
#[derive(Deserialize)]
struct RawTargets {
    #[serde(default)]
    target: BTreeMap<String, RawDependencies>,
}

/// A dependency's key in a manifest, with its byte span.
type DependencyKey = (String, Range<usize>);

/// The text of a manifest and the key of every dependency that a module's code may name, in the
/// order of the file.
fn read_dependency_keys(path: &Path, include_tests: bool) -> Option<(Arc<String>, Vec<DependencyKey>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let top: RawDependencies = toml::from_str(&text).ok()?;
    let targets: RawTargets = toml::from_str(&text).ok()?;
    let mut keys = Vec::new();
    for tables in std::iter::once(top).chain(targets.target.into_values()) {
        let mut lists = vec![tables.dependencies];
        if include_tests {
            lists.push(tables.dev_dependencies);
            lists.push(tables.dev_dependencies_underscored);
        }
        keys.extend(lists.into_iter().flat_map(BTreeMap::into_keys).map(|key| (key.get_ref().clone(), key.span())));
    }
    keys.sort_by_key(|(_, span)| span.start);
    Some((Arc::new(text), keys))
}
