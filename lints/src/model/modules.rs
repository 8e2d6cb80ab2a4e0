//! The modules of `boundaries.toml`, resolved against the workspace: which crate and units each
//! one's code lives in, its prefix, its public names, and the look-up of the module that owns a
//! path (the longest prefix wins).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::{Config, ConfigError, ConfigErrorKind};
use crate::extract::Target;
use crate::workspace::{PackageId, UnitId, UnitKind, Workspace};

use super::external::{ExternalPolicy, validate_builtins};

pub(crate) use crate::ids::ModuleId;

/// A module of `boundaries.toml`, resolved against the workspace.
#[derive(Debug, Clone)]
pub(crate) struct Module {
    pub(crate) name: String,
    pub(crate) package: PackageId,
    /// The units whose code the module's prefix applies to.
    pub(crate) units: Vec<UnitId>,
    /// Module path of the module's root inside its crate (empty for a whole crate).
    pub(crate) prefix: Vec<String>,
    /// Names under the root that other modules may use; `*` means all.
    pub(crate) public: Vec<String>,
    /// `None` when the module may depend on any module.
    pub(crate) depends_on: Option<Vec<String>>,
    /// Its layer in `[layers] order` (0 is the highest), if it is in one.
    pub(crate) layer: Option<usize>,
    /// The modules it must not reach by any chain.
    pub(crate) forbid: Vec<ModuleId>,
    /// What it may name of the crates from outside the workspace.
    pub(crate) external: ExternalPolicy,
    /// The directory that holds the module's own files (for `.sql` discovery).
    pub(crate) directory: PathBuf,
    /// Index of the module's entry in [`Config::modules`].
    pub(crate) config_index: usize,
}

impl Module {
    /// Whether a path below this module's root (the segments after the prefix) is public.
    pub(crate) fn is_public_path(&self, below_root: &[String]) -> bool {
        match below_root.first() {
            None => true,
            Some(first) => self.public.iter().any(|name| name == "*" || name == first),
        }
    }
}

/// Every module, and the modules whose code lives in each unit, so that ownership look-ups,
/// made once per reference, scan only the few modules of one crate.
#[derive(Debug, Clone, Default)]
pub(crate) struct Modules {
    list: Vec<Module>,
    by_unit: Vec<Vec<ModuleId>>,
}

impl Modules {
    pub(crate) fn new(list: Vec<Module>, unit_count: usize) -> Modules {
        let mut by_unit = vec![Vec::new(); unit_count];
        for (index, module) in list.iter().enumerate() {
            for unit in &module.units {
                by_unit[unit.index()].push(ModuleId::new(index));
            }
        }
        Modules { list, by_unit }
    }

    pub(crate) fn get_mut(&mut self, module: ModuleId) -> &mut Module {
        &mut self.list[module.index()]
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    pub(crate) fn iter(&self) -> std::slice::Iter<'_, Module> {
        self.list.iter()
    }

    /// Every module with its id.
    pub(crate) fn with_ids(&self) -> impl Iterator<Item = (ModuleId, &Module)> {
        self.list.iter().enumerate().map(|(index, module)| (ModuleId::new(index), module))
    }

    /// The module that owns a path in a unit: the one whose prefix is the longest match.
    pub(crate) fn owner_of(&self, unit: UnitId, segments: &[String]) -> Option<ModuleId> {
        self.by_unit
            .get(unit.index())?
            .iter()
            .copied()
            .filter(|module| segments.starts_with(&self.list[module.index()].prefix))
            .max_by_key(|module| self.list[module.index()].prefix.len())
    }

    /// The module a target points into, with the part of its path below the module's root.
    pub(crate) fn target_owner<'a>(&self, target: &'a Target) -> Option<(ModuleId, &'a [String])> {
        let owner = self.owner_of(target.unit, &target.segments)?;
        Some((owner, &target.segments[self.list[owner.index()].prefix.len()..]))
    }
}

impl std::ops::Index<ModuleId> for Modules {
    type Output = Module;

    fn index(&self, module: ModuleId) -> &Module {
        &self.list[module.index()]
    }
}

/// Resolves each configured module to a package, its units and its prefix. Fails on a module
/// whose crate is not a workspace member, and on two modules with the same root.
pub(crate) fn resolve_modules(workspace: &Workspace, config: &Config) -> Result<Modules, ConfigError> {
    validate_builtins(config)?;
    let mut modules: Vec<Module> = Vec::new();
    let mut roots: BTreeMap<(PackageId, Vec<String>), String> = BTreeMap::new();
    for (config_index, entry) in config.modules.iter().enumerate() {
        let Some(package) = workspace.package_by_name(entry.crate_name.get_ref()) else {
            let members: Vec<&str> = workspace.packages.iter().map(|package| package.name.as_str()).collect();
            return Err(config.error(
                ConfigErrorKind::UnknownCrate,
                entry.crate_name.span(),
                format!(
                    "module `{}` names crate `{}`, which is not a workspace member",
                    entry.name,
                    entry.crate_name.get_ref()
                ),
                format!("use the name of a workspace package: {}", members.join(", ")),
            ));
        };
        let prefix = entry.path_segments();
        if let Some(previous) = roots.insert((package, prefix.clone()), entry.name.clone()) {
            let span = entry.path.as_ref().map(|path| path.span()).unwrap_or_else(|| entry.crate_name.span());
            return Err(config.error(
                ConfigErrorKind::DuplicateRoot,
                span,
                format!("modules `{previous}` and `{}` have the same root", entry.name),
                "give each module its own crate or module path, or merge the two entries".to_owned(),
            ));
        }
        let units: Vec<UnitId> = workspace
            .units
            .iter()
            .enumerate()
            .filter(|(_, unit)| unit.package == package)
            .filter(|(id, unit)| {
                if prefix.is_empty() {
                    true
                } else {
                    // A module path lives in the library, or in the first binary of a package
                    // that has no library.
                    let home = workspace.packages[package].lib_unit.or_else(|| {
                        workspace
                            .units
                            .iter()
                            .position(|u| u.package == package && u.kind == UnitKind::Bin)
                            .map(UnitId::new)
                    });
                    home == Some(UnitId::new(*id)) && !unit.kind.is_test_only()
                }
            })
            .map(|(id, _)| UnitId::new(id))
            .collect();
        let public = config.public_names(entry).iter().map(|name| name.get_ref().clone()).collect();
        let depends_on =
            entry.depends_on.as_ref().map(|names| names.iter().map(|name| name.get_ref().clone()).collect());
        let forbid = entry
            .forbid
            .iter()
            .filter_map(|name| config.modules.iter().position(|other| other.name == *name.get_ref()))
            .map(ModuleId::new)
            .collect();
        modules.push(Module {
            name: entry.name.clone(),
            layer: config.layer_of(&entry.name),
            forbid,
            external: ExternalPolicy::of(config, entry),
            package,
            units,
            prefix,
            public,
            depends_on,
            directory: workspace.packages[package].manifest_dir.clone(),
            config_index,
        });
    }
    Ok(Modules::new(modules, workspace.units.len()))
}
