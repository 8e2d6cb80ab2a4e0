//! The one model every rule reads, built once and complete: the workspace, the configuration,
//! the modules with their owners' look-up, every file's facts, the table catalog and the module
//! graph with its cycles.

mod allows;
mod dependencies;
mod external;
mod manifests;
mod modules;
mod references;
mod sql_files;
mod tables;

use std::collections::HashSet;

use crate::config::{Config, ConfigError, ConfigErrorKind, ModuleConfig};
use crate::diagnostic::Warning;
use crate::extract::Target;
use crate::graph::{Cycle, ModuleGraph, find_cycles};
use crate::parse::{ParsedWorkspace, SourceFile};
use crate::workspace::{UnitId, Workspace};

pub(crate) use allows::Allow;
pub(crate) use external::{ExternalVerdict, Level};
pub(crate) use manifests::ManifestDependency;
pub(crate) use modules::{Module, ModuleId, Modules, resolve_modules};
pub(crate) use references::CrossReference;
pub(crate) use tables::{Claim, ClaimKind, TableCatalog, TableSite};

#[derive(Debug)]
pub(crate) struct Model {
    pub(crate) workspace: Workspace,
    pub(crate) config: Config,
    pub(crate) modules: Modules,
    /// Files sorted by relative path, then unit.
    pub(crate) files: Vec<SourceFile>,
    /// Warnings of parsing and of the table catalog, sorted by file and position.
    pub(crate) warnings: Vec<Warning>,
    /// Table ownership and every table use of the modules' SQL.
    pub(crate) tables: TableCatalog,
    /// Modules and the references between them.
    pub(crate) graph: ModuleGraph,
    /// The graph's cycles, sorted by the name of each one's first module.
    pub(crate) cycles: Vec<Cycle>,
    /// Every `seams:allow` comment whose rules are known, in file order.
    pub(crate) allows: Vec<Allow>,
    /// The outside crates that the manifests of restricted whole-crate modules list.
    pub(crate) manifest_dependencies: Vec<ManifestDependency>,
}

impl Model {
    /// Completes the model from the parsed files: the modules' paths must exist, glob imports
    /// are resolved against them, and the table catalog and module graph are built.
    pub(crate) fn build(
        workspace: Workspace,
        config: Config,
        mut modules: Modules,
        parsed: ParsedWorkspace,
    ) -> Result<Model, ConfigError> {
        let ParsedWorkspace { mut files, mut warnings } = parsed;
        let mut module_paths = HashSet::new();
        for file in &files {
            module_paths.insert((file.unit, file.module_path.clone()));
            for inline in &file.facts.inline_modules {
                module_paths.insert((file.unit, inline.clone()));
            }
        }
        references::resolve_glob_references(&mut files, &module_paths);
        for (module_id, entry) in config.modules.iter().enumerate() {
            let module = modules.get_mut(ModuleId::new(module_id));
            if module.prefix.is_empty() {
                continue;
            }
            let exists = module.units.iter().any(|unit| module_paths.contains(&(*unit, module.prefix.clone())));
            if !exists {
                let path = entry.path.as_ref().map(|path| path.span()).unwrap_or(entry.name_span.clone());
                return Err(config.error(
                    ConfigErrorKind::MissingPath,
                    path,
                    format!("crate `{}` has no module `{}`", entry.crate_name.get_ref(), module.prefix.join("::")),
                    "write the module path as it is declared with `mod` from the crate root, for example `modules::orders`"
                        .to_owned(),
                ));
            }
            if let Some(file) =
                files.iter().find(|file| module.units.contains(&file.unit) && file.module_path == module.prefix)
                && let Some(directory) = file.path.parent()
            {
                // `orders/mod.rs` and `orders.rs` + `orders/` both give the `orders` directory.
                module.directory = if file.path.file_name().is_some_and(|name| name == "mod.rs") {
                    directory.to_owned()
                } else {
                    directory.join(module.prefix.last().cloned().unwrap_or_default())
                };
            }
        }
        let (tables, sql_warnings) = tables::build_catalog(&workspace, &config, &modules, &files);
        warnings.extend(sql_warnings);
        let (allows, allow_warnings) = allows::resolve_allows(&modules, &files);
        warnings.extend(allow_warnings);
        warnings.sort_by(|a, b| (&a.file, &a.site, a.code).cmp(&(&b.file, &b.site, b.code)));
        let graph = dependencies::module_graph(&workspace, &modules, &files);
        let names: Vec<&str> = modules.iter().map(|module| module.name.as_str()).collect();
        let cycles = find_cycles(&graph, &names);
        let manifest_dependencies = manifests::manifest_dependencies(&workspace, &config, &modules);
        Ok(Model { workspace, config, modules, files, warnings, tables, graph, cycles, allows, manifest_dependencies })
    }

    /// Every reference written in a module's checked code that points into another module.
    pub(crate) fn cross_module_references(&self) -> impl Iterator<Item = CrossReference<'_>> {
        references::cross_module_references(&self.modules, &self.files)
    }

    /// The module that owns a path in a unit: the one whose prefix is the longest match.
    pub(crate) fn owner_of(&self, unit: UnitId, segments: &[String]) -> Option<ModuleId> {
        self.modules.owner_of(unit, segments)
    }

    /// The module a target points into, with the part of its path below the module's root.
    pub(crate) fn target_owner<'a>(&self, target: &'a Target) -> Option<(ModuleId, &'a [String])> {
        self.modules.target_owner(target)
    }

    /// A target written for a report: `crate::…` inside the same crate, `name::…` outside it.
    pub(crate) fn display_target(&self, from_unit: UnitId, target: &Target) -> String {
        references::display_target(&self.workspace, from_unit, target)
    }

    /// Every module's name, indexed by module id.
    pub(crate) fn module_names(&self) -> Vec<&str> {
        self.modules.iter().map(|module| module.name.as_str()).collect()
    }

    pub(crate) fn module_config(&self, module: ModuleId) -> &ModuleConfig {
        &self.config.modules[self.modules[module].config_index]
    }

    pub(crate) fn total_lines(&self) -> usize {
        self.files.iter().map(|file| file.facts.lines).sum()
    }
}
