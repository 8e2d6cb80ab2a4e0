//! The Cargo workspace as seams sees it: packages, their compilation units, and the names by
//! which each unit's code can refer to other crates.
//!
//! Metadata is read with `cargo metadata --no-deps`: it needs no network, writes no lock file
//! into the checked workspace, and tells us every workspace package, target and declared
//! dependency (with its rename), which is all that name resolution needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cargo_metadata::{DependencyKind, MetadataCommand, TargetKind};

pub(crate) use crate::ids::{PackageId, UnitId};

#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    pub(crate) root: PathBuf,
    /// Cargo's target directory for the workspace, where the facts cache lives.
    pub(crate) target_directory: PathBuf,
    pub(crate) packages: Vec<Package>,
    pub(crate) units: Vec<Unit>,
}

#[derive(Debug, Clone)]
pub(crate) struct Package {
    /// Cargo's package id, as `cargo metadata` and cargo's JSON messages spell it.
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) manifest_dir: PathBuf,
    /// The unit of the library target, when the package has one.
    pub(crate) lib_unit: Option<UnitId>,
    pub(crate) dependencies: Vec<Dependency>,
}

/// A dependency as declared in Cargo.toml.
#[derive(Debug, Clone)]
pub(crate) struct Dependency {
    /// The package name (`billing-core`).
    pub(crate) package: String,
    /// The name it is renamed to, when `rename = { package = … }` is used.
    pub(crate) rename: Option<String>,
    pub(crate) kind: DependencyKind,
}

/// What a name of a unit's extern prelude stands for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum PreludeCrate {
    /// A library of the workspace, whose paths the module rules resolve further.
    Workspace(UnitId),
    /// A crate from outside the workspace, by its package name as Cargo.toml gives it (a
    /// dependency's rename undone): what `external` and `forbid_external` name.
    External(String),
    /// `std`, `core`, `alloc`, `proc_macro` and `test`, always allowed, and a workspace package
    /// that has no library: no rule looks at a path into them.
    Unchecked,
}

/// The crates a unit's code can name directly, by the name the code uses.
pub(crate) type ExternPrelude = BTreeMap<String, PreludeCrate>;

/// The crates that every crate may name without a dependency, and that no rule restricts.
pub(crate) const BUILTIN_CRATES: &[&str] = &["std", "core", "alloc", "proc_macro", "test"];

/// What a compilation unit is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum UnitKind {
    Lib,
    Bin,
    Test,
    Bench,
    Example,
}

impl UnitKind {
    /// Whether the unit exists only for tests, benches or examples.
    pub(crate) fn is_test_only(self) -> bool {
        matches!(self, UnitKind::Test | UnitKind::Bench | UnitKind::Example)
    }
}

/// One crate that rustc compiles: a target of a package.
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    pub(crate) package: PackageId,
    pub(crate) kind: UnitKind,
    /// The crate name, as code in other crates writes it (`billing_core`).
    pub(crate) crate_name: String,
    /// The target's name as Cargo.toml writes it (`billing-core`).
    pub(crate) target_name: String,
    pub(crate) root_file: PathBuf,
}

impl std::ops::Index<UnitId> for Vec<Unit> {
    type Output = Unit;

    fn index(&self, unit: UnitId) -> &Unit {
        &self[unit.index()]
    }
}

impl std::ops::Index<PackageId> for Vec<Package> {
    type Output = Package;

    fn index(&self, package: PackageId) -> &Package {
        &self[package.index()]
    }
}

/// A failure to read the workspace's metadata.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum WorkspaceError {
    #[error("`cargo metadata` failed for {}", manifest.display())]
    #[diagnostic(
        code("cargo-metadata"),
        help("run `cargo metadata --no-deps --manifest-path {}` to see Cargo's own message", manifest.display())
    )]
    Metadata {
        manifest: PathBuf,
        #[source]
        source: cargo_metadata::Error,
    },
    #[error("`cargo metadata` found no workspace from the current directory")]
    #[diagnostic(
        code("cargo-metadata"),
        help("run the check inside a Cargo workspace, or name its `Cargo.toml` with `--manifest-path`")
    )]
    NotFound {
        #[source]
        source: cargo_metadata::Error,
    },
}

impl Workspace {
    /// Loads the workspace that `manifest_path` belongs to or, without one, the workspace that
    /// the current directory is in, found as every Cargo command finds it (the nearest
    /// `Cargo.toml` upwards, then its workspace root).
    pub(crate) fn load_from(manifest_path: Option<&Path>) -> Result<Workspace, WorkspaceError> {
        let mut command = MetadataCommand::new();
        if let Some(manifest_path) = manifest_path {
            command.manifest_path(manifest_path);
        }
        let metadata =
            command.no_deps().other_options(vec!["--offline".to_owned()]).exec().map_err(
                |source| match manifest_path {
                    Some(manifest_path) => WorkspaceError::Metadata { manifest: manifest_path.to_owned(), source },
                    None => WorkspaceError::NotFound { source },
                },
            )?;

        let mut packages = Vec::new();
        let mut units = Vec::new();
        let mut members: Vec<&cargo_metadata::Package> =
            metadata.packages.iter().filter(|package| metadata.workspace_members.contains(&package.id)).collect();
        members.sort_by(|a, b| a.manifest_path.cmp(&b.manifest_path));

        for package in members {
            let package_id = PackageId::new(packages.len());
            let mut lib_unit = None;
            let mut targets: Vec<&cargo_metadata::Target> = package.targets.iter().collect();
            targets.sort_by(|a, b| (unit_kind(a), &a.name).cmp(&(unit_kind(b), &b.name)));
            for target in targets {
                let Some(kind) = unit_kind(target) else { continue };
                if kind == UnitKind::Lib {
                    lib_unit = Some(UnitId::new(units.len()));
                }
                units.push(Unit {
                    package: package_id,
                    kind,
                    crate_name: target.name.replace('-', "_"),
                    target_name: target.name.clone(),
                    root_file: target.src_path.clone().into_std_path_buf(),
                });
            }
            packages.push(Package {
                id: package.id.repr.clone(),
                name: package.name.to_string(),
                manifest_dir: package
                    .manifest_path
                    .parent()
                    .map(|dir| dir.as_std_path().to_owned())
                    .unwrap_or_default(),
                lib_unit,
                dependencies: package
                    .dependencies
                    .iter()
                    .map(|dependency| Dependency {
                        package: dependency.name.clone(),
                        rename: dependency.rename.clone(),
                        kind: dependency.kind,
                    })
                    .collect(),
            });
        }

        Ok(Workspace {
            root: metadata.workspace_root.into_std_path_buf(),
            target_directory: metadata.target_directory.into_std_path_buf(),
            packages,
            units,
        })
    }

    /// Finds a package by its package name, or by its library's crate name.
    pub(crate) fn package_by_name(&self, name: &str) -> Option<PackageId> {
        let position = self.packages.iter().position(|package| package.name == name).or_else(|| {
            self.packages
                .iter()
                .position(|package| package.lib_unit.is_some_and(|unit| self.units[unit].crate_name == name))
        });
        position.map(PackageId::new)
    }

    /// The crates a unit's code can name directly (its extern prelude): workspace libraries by
    /// their unit, and crates from outside the workspace by their package name. The latter hold
    /// no module, so the module rules resolve no path into them; `external-dependency` reads them.
    ///
    /// Test, bench and example targets also see the package's dev-dependencies.
    pub(crate) fn extern_prelude(&self, unit_id: UnitId) -> ExternPrelude {
        self.prelude_with(unit_id, self.units[unit_id].kind.is_test_only())
    }

    /// The extern prelude of a unit's `#[cfg(test)]` code: Cargo builds every target with its
    /// package's dev-dependencies when it builds it for tests, so test code can name them too.
    pub(crate) fn test_extern_prelude(&self, unit_id: UnitId) -> ExternPrelude {
        self.prelude_with(unit_id, true)
    }

    fn prelude_with(&self, unit_id: UnitId, dev_dependencies: bool) -> ExternPrelude {
        let unit = &self.units[unit_id];
        let package = &self.packages[unit.package];
        let mut prelude = BTreeMap::new();
        for dependency in &package.dependencies {
            let applies = match dependency.kind {
                DependencyKind::Normal => true,
                DependencyKind::Development => dev_dependencies,
                _ => false,
            };
            if !applies {
                continue;
            }
            let member = self.package_by_name(&dependency.package);
            let target = member.and_then(|id| self.packages[id].lib_unit);
            let name = match (&dependency.rename, target) {
                (Some(rename), _) => rename.replace('-', "_"),
                (None, Some(lib)) => self.units[lib].crate_name.clone(),
                (None, None) => dependency.package.replace('-', "_"),
            };
            let named = match (member, target) {
                (_, Some(lib)) => PreludeCrate::Workspace(lib),
                (Some(_), None) => PreludeCrate::Unchecked,
                (None, None) => PreludeCrate::External(dependency.package.clone()),
            };
            prelude.insert(name, named);
        }
        // Every non-library target of a package can use the package's own library by name.
        if unit.kind != UnitKind::Lib
            && let Some(lib) = package.lib_unit
        {
            prelude.insert(self.units[lib].crate_name.clone(), PreludeCrate::Workspace(lib));
        }
        for builtin in BUILTIN_CRATES {
            prelude.entry((*builtin).to_owned()).or_insert(PreludeCrate::Unchecked);
        }
        prelude
    }

    /// A path relative to the workspace root, with `/` separators, for reports.
    pub(crate) fn relative_path(&self, path: &Path) -> String {
        let normalized = normalize_lexically(path);
        let relative = normalized.strip_prefix(&self.root).unwrap_or(&normalized);
        relative.components().map(|component| component.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
    }
}

/// Removes `.` and `..` components without touching the file system, as `#[path = "../x.rs"]`
/// names a file relative to another one and reports should show where it really is.
pub(crate) fn normalize_lexically(path: &Path) -> PathBuf {
    let mut normalized = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !normalized.pop() {
                    normalized.push("..");
                }
            }
            other => normalized.push(other.as_os_str()),
        }
    }
    normalized
}

fn unit_kind(target: &cargo_metadata::Target) -> Option<UnitKind> {
    let kinds = &target.kind;
    if kinds.iter().any(|kind| {
        matches!(
            kind,
            TargetKind::Lib
                | TargetKind::RLib
                | TargetKind::DyLib
                | TargetKind::CDyLib
                | TargetKind::StaticLib
                | TargetKind::ProcMacro
        )
    }) {
        Some(UnitKind::Lib)
    } else if kinds.contains(&TargetKind::Bin) {
        Some(UnitKind::Bin)
    } else if kinds.contains(&TargetKind::Test) {
        Some(UnitKind::Test)
    } else if kinds.contains(&TargetKind::Bench) {
        Some(UnitKind::Bench)
    } else if kinds.contains(&TargetKind::Example) {
        Some(UnitKind::Example)
    } else {
        // Build scripts are not part of any module's code.
        None
    }
}
