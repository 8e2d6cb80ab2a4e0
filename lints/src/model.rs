//! The one model every rule reads: the workspace, its declared modules, and the facts of every
//! source file, parsed once and in parallel.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::config::{Config, ConfigError, ConfigErrorKind, ModuleConfig};
use crate::extract::{FileContext, FileFacts, Site, Target, analyse_source};
use crate::workspace::{PackageId, UnitId, UnitKind, Workspace};

/// Index of a module in [`Model::modules`].
pub type ModuleId = usize;

/// A module of `boundaries.toml`, resolved against the workspace.
#[derive(Debug, Clone)]
pub struct Module {
    pub name: String,
    pub package: PackageId,
    /// The units whose code the module's prefix applies to.
    pub units: Vec<UnitId>,
    /// Module path of the module's root inside its crate (empty for a whole crate).
    pub prefix: Vec<String>,
    /// Names under the root that other modules may use; `*` means all.
    pub public: Vec<String>,
    /// `None` when the module may depend on any module.
    pub depends_on: Option<Vec<String>>,
    /// The directory that holds the module's own files (for `.sql` discovery).
    pub directory: PathBuf,
    /// Index of the module's entry in [`Config::modules`].
    pub config_index: usize,
}

impl Module {
    /// Whether a path below this module's root (the segments after the prefix) is public.
    pub fn is_public_path(&self, below_root: &[String]) -> bool {
        match below_root.first() {
            None => true,
            Some(first) => self.public.iter().any(|name| name == "*" || name == first),
        }
    }
}

/// A source file and what was extracted from it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub unit: UnitId,
    pub path: PathBuf,
    /// Path relative to the workspace root, with `/` separators.
    pub relative: String,
    pub module_path: Vec<String>,
    pub text: Arc<String>,
    pub facts: FileFacts,
    /// The facts cache's key for this file, when the check ran with a cache.
    pub cache_key: Option<crate::cache::CacheKey>,
}

/// A problem with one input that does not stop the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub code: WarningCode,
    pub file: String,
    pub site: Option<Site>,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WarningCode {
    UnparsedFile,
    UnparsedSql,
    UnreadableFile,
    MissingModuleFile,
    InternalError,
}

impl WarningCode {
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::UnparsedFile => "unparsed-file",
            WarningCode::UnparsedSql => "unparsed-sql",
            WarningCode::UnreadableFile => "unreadable-file",
            WarningCode::MissingModuleFile => "missing-module-file",
            WarningCode::InternalError => "internal-error",
        }
    }
}

#[derive(Debug)]
pub struct Model {
    pub workspace: Workspace,
    pub config: Config,
    pub modules: Vec<Module>,
    /// Files sorted by relative path, then unit.
    pub files: Vec<SourceFile>,
    pub warnings: Vec<Warning>,
    /// Every module path that exists, per unit (from files and inline `mod` blocks).
    pub module_paths: HashSet<(UnitId, Vec<String>)>,
    /// The modules whose code lives in each unit, so that ownership look-ups, made once per
    /// reference, scan only the few modules of one crate.
    modules_by_unit: Vec<Vec<ModuleId>>,
    /// Table ownership and every table use of the modules' SQL.
    pub tables: crate::tables::TableCatalog,
}

impl Model {
    /// Parses every file of the workspace once and resolves the configuration against it.
    pub fn build(workspace: Workspace, config: Config) -> Result<Model, ConfigError> {
        Model::build_with_cache(workspace, config, None)
    }

    /// Like [`Model::build`], taking unchanged files' facts from `cache` instead of parsing them.
    pub fn build_with_cache(
        workspace: Workspace,
        config: Config,
        cache: Option<&crate::cache::FactsCache>,
    ) -> Result<Model, ConfigError> {
        let mut modules = resolve_modules(&workspace, &config)?;
        let include_tests = config.defaults.include_tests;
        let (files, warnings) = parse_workspace(&workspace, include_tests, cache);

        let mut module_paths = HashSet::new();
        for file in &files {
            module_paths.insert((file.unit, file.module_path.clone()));
            for inline in &file.facts.inline_modules {
                module_paths.insert((file.unit, inline.clone()));
            }
        }
        let mut files = files;
        for file in &mut files {
            keep_existing_glob_references(&mut file.facts.references, &module_paths);
        }
        for (module, entry) in modules.iter_mut().zip(&config.modules) {
            if module.prefix.is_empty() {
                continue;
            }
            let exists = module.units.iter().any(|unit| module_paths.contains(&(*unit, module.prefix.clone())));
            if !exists {
                let path = entry.path.as_ref().map(|path| path.span()).unwrap_or(entry.name_span.clone());
                return Err(config.error(
                    ConfigErrorKind::MissingPath,
                    path,
                    format!(
                        "crate `{}` has no module `{}`",
                        entry.crate_name.get_ref(),
                        module.prefix.join("::")
                    ),
                    "write the module path as it is declared with `mod` from the crate root, for example `modules::orders`"
                        .to_owned(),
                ));
            }
            if let Some(file) =
                files.iter().find(|file| module.units.contains(&file.unit) && file.module_path == module.prefix)
            {
                if let Some(directory) = file.path.parent() {
                    // `orders/mod.rs` and `orders.rs` + `orders/` both give the `orders` directory.
                    module.directory = if file.path.file_name().is_some_and(|name| name == "mod.rs") {
                        directory.to_owned()
                    } else {
                        directory.join(module.prefix.last().cloned().unwrap_or_default())
                    };
                }
            }
        }
        let mut model = Model {
            workspace,
            config,
            modules,
            files,
            warnings,
            module_paths,
            modules_by_unit: Vec::new(),
            tables: crate::tables::TableCatalog::default(),
        };
        let mut modules_by_unit = vec![Vec::new(); model.workspace.units.len()];
        for (module_id, module) in model.modules.iter().enumerate() {
            for unit in &module.units {
                modules_by_unit[*unit].push(module_id);
            }
        }
        model.modules_by_unit = modules_by_unit;
        let (tables, sql_warnings) = crate::tables::build_catalog(&model);
        model.tables = tables;
        model.warnings.extend(sql_warnings);
        model.warnings.sort_by(|a, b| (&a.file, &a.site, a.code).cmp(&(&b.file, &b.site, b.code)));
        Ok(model)
    }

    /// The module that owns a path in a unit: the one whose prefix is the longest match.
    pub fn owner_of(&self, unit: UnitId, segments: &[String]) -> Option<ModuleId> {
        self.modules_by_unit
            .get(unit)?
            .iter()
            .copied()
            .filter(|module| segments.starts_with(&self.modules[*module].prefix))
            .max_by_key(|module| self.modules[*module].prefix.len())
    }

    /// The module a target points into, with the part of its path below the module's root.
    pub fn target_owner<'a>(&self, target: &'a Target) -> Option<(ModuleId, &'a [String])> {
        let owner = self.owner_of(target.unit, &target.segments)?;
        Some((owner, &target.segments[self.modules[owner].prefix.len()..]))
    }

    /// A target written for a report: `crate::…` inside the same crate, `name::…` outside it.
    pub fn display_target(&self, from_unit: UnitId, target: &Target) -> String {
        let root =
            if target.unit == from_unit { "crate" } else { self.workspace.units[target.unit].crate_name.as_str() };
        std::iter::once(root).chain(target.segments.iter().map(String::as_str)).collect::<Vec<_>>().join("::")
    }

    pub fn module_config(&self, module: ModuleId) -> &ModuleConfig {
        &self.config.modules[self.modules[module].config_index]
    }

    pub fn total_lines(&self) -> usize {
        self.files.iter().map(|file| file.facts.lines).sum()
    }
}

/// Keeps a reference found through a glob import only when the glob's base plus the path's first
/// segment is a module that exists, and only the first such candidate for each site.
fn keep_existing_glob_references(
    references: &mut Vec<crate::extract::Reference>,
    module_paths: &HashSet<(UnitId, Vec<String>)>,
) {
    let mut kept_sites = HashSet::new();
    references.retain(|reference| match reference.glob_base_len {
        None => true,
        Some(base_len) => {
            let module = reference.target.segments[..(base_len + 1).min(reference.target.segments.len())].to_vec();
            module_paths.contains(&(reference.target.unit, module)) && kept_sites.insert(reference.site.clone())
        }
    });
}

/// Resolves each configured module to a package, its units and its prefix.
fn resolve_modules(workspace: &Workspace, config: &Config) -> Result<Vec<Module>, ConfigError> {
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
                        workspace.units.iter().position(|u| u.package == package && u.kind == UnitKind::Bin)
                    });
                    home == Some(*id) && !unit.kind.is_test_only()
                }
            })
            .map(|(id, _)| id)
            .collect();
        let public = config.public_names(entry).iter().map(|name| name.get_ref().clone()).collect();
        let depends_on =
            entry.depends_on.as_ref().map(|names| names.iter().map(|name| name.get_ref().clone()).collect());
        modules.push(Module {
            name: entry.name.clone(),
            package,
            units,
            prefix,
            public,
            depends_on,
            directory: workspace.packages[package].manifest_dir.clone(),
            config_index,
        });
    }
    Ok(modules)
}

/// A file waiting to be parsed.
struct FileTask {
    unit: UnitId,
    path: PathBuf,
    module_path: Vec<String>,
    children_dir: PathBuf,
    in_test: bool,
    /// The crate's extern prelude, extended by `extern crate … as …` at the crate root.
    prelude: Arc<BTreeMap<String, Option<UnitId>>>,
    /// The same for the crate's test code, which also sees the dev-dependencies.
    test_prelude: Arc<BTreeMap<String, Option<UnitId>>>,
    /// The crate root's `extern crate … as …` aliases alone.
    root_aliases: Arc<BTreeMap<String, Option<UnitId>>>,
}

struct ParseState<'a> {
    workspace: &'a Workspace,
    include_tests: bool,
    cache: Option<&'a crate::cache::FactsCache>,
    visited: Mutex<HashSet<(UnitId, Vec<String>)>>,
    files: Mutex<Vec<SourceFile>>,
    warnings: Mutex<Vec<Warning>>,
}

/// Module nesting deeper than this is a `#[path]` loop, not code.
const MAX_MODULE_DEPTH: usize = 64;

/// The stack size of parsing threads: syn recurses once per nesting level of the source, and a
/// machine-generated file can nest far deeper than the default 2 MiB stack allows.
const PARSER_STACK_BYTES: usize = 256 * 1024 * 1024;

/// Parses every unit's module tree, in parallel, one parse per file.
fn parse_workspace(
    workspace: &Workspace,
    include_tests: bool,
    cache: Option<&crate::cache::FactsCache>,
) -> (Vec<SourceFile>, Vec<Warning>) {
    let state = ParseState {
        workspace,
        include_tests,
        cache,
        visited: Mutex::new(HashSet::new()),
        files: Mutex::new(Vec::new()),
        warnings: Mutex::new(Vec::new()),
    };
    let pool = rayon::ThreadPoolBuilder::new().stack_size(PARSER_STACK_BYTES).build();
    let run = |state: &ParseState<'_>| {
        rayon::scope(|scope| {
            for (unit_id, unit) in workspace.units.iter().enumerate() {
                if unit.kind.is_test_only() && !include_tests {
                    continue;
                }
                let prelude = Arc::new(workspace.extern_prelude(unit_id));
                // Test code is skipped altogether unless it is checked, and the prelude of a
                // test target already has the dev-dependencies.
                let test_prelude = if include_tests && !unit.kind.is_test_only() {
                    Arc::new(workspace.test_extern_prelude(unit_id))
                } else {
                    Arc::clone(&prelude)
                };
                let task = FileTask {
                    unit: unit_id,
                    path: unit.root_file.clone(),
                    module_path: Vec::new(),
                    children_dir: unit.root_file.parent().map(Path::to_owned).unwrap_or_default(),
                    in_test: unit.kind.is_test_only(),
                    prelude,
                    test_prelude,
                    root_aliases: Arc::new(BTreeMap::new()),
                };
                scope.spawn(move |scope| parse_file(scope, state, task));
            }
        });
    };
    match pool {
        Ok(pool) => pool.install(|| run(&state)),
        Err(_) => run(&state),
    }
    let mut files = state.files.into_inner().unwrap_or_else(|poison| poison.into_inner());
    files.sort_by(|a, b| (&a.relative, a.unit, &a.module_path).cmp(&(&b.relative, b.unit, &b.module_path)));
    let mut warnings = state.warnings.into_inner().unwrap_or_else(|poison| poison.into_inner());
    warnings.sort_by(|a, b| (&a.file, &a.site, a.code).cmp(&(&b.file, &b.site, b.code)));
    warnings.dedup();
    (files, warnings)
}

fn parse_file<'s>(scope: &rayon::Scope<'s>, state: &'s ParseState<'s>, task: FileTask) {
    // A module path is defined once per unit. Keying on it (not on the file) lets one file be
    // loaded by two `mod` declarations, as rustc allows, while a `#[path]` loop, whose module
    // paths only grow, is cut off by the depth limit.
    if task.module_path.len() > MAX_MODULE_DEPTH {
        return;
    }
    {
        let mut visited = state.visited.lock().unwrap_or_else(|poison| poison.into_inner());
        if !visited.insert((task.unit, task.module_path.clone())) {
            return;
        }
    }
    let relative = state.workspace.relative_path(&task.path);
    let warn = |code: WarningCode, site: Option<Site>, message: String| {
        let warning = Warning { code, file: relative.clone(), site, message };
        state.warnings.lock().unwrap_or_else(|poison| poison.into_inner()).push(warning);
    };
    let bytes = match std::fs::read(&task.path) {
        Ok(bytes) => bytes,
        Err(error) => {
            warn(WarningCode::UnreadableFile, None, format!("cannot read the file: {error}"));
            return;
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let offset = error.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(error.as_bytes());
            let (line, column) = crate::source::line_column(&lossy, offset);
            let site = Site { line, column, bytes: offset..offset };
            warn(
                WarningCode::UnreadableFile,
                Some(site),
                format!("the file is not valid UTF-8 (first bad byte at offset {offset})"),
            );
            return;
        }
    };
    let prelude = &*task.prelude;
    let test_prelude = &*task.test_prelude;
    let context = FileContext {
        unit: task.unit,
        file: &task.path,
        module_path: &task.module_path,
        children_dir: &task.children_dir,
        in_test: task.in_test,
        include_tests: state.include_tests,
        extern_prelude: prelude,
        test_extern_prelude: test_prelude,
        root_extern_aliases: &task.root_aliases,
    };
    let cache_key = state.cache.map(|_| crate::cache::key(&context, &text));
    let cached = state.cache.zip(cache_key.as_ref()).and_then(|(cache, key)| cache.take(key));
    // One file's bug must not take the run down: it becomes an internal error for that file.
    let analysed = match cached {
        Some(facts) => Ok(facts),
        None => std::panic::catch_unwind(AssertUnwindSafe(|| {
            let facts = analyse_source(&context, &text);
            // Spans are converted to plain positions by now; free proc-macro2's per-thread source map.
            proc_macro2::extra::invalidate_current_thread_spans();
            facts
        })),
    };
    let facts = match analysed {
        Ok(facts) => facts,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            warn(WarningCode::InternalError, None, format!("seams failed while analysing this file: {message}"));
            return;
        }
    };
    if let Some(failure) = &facts.parse_error {
        let site = Site { line: failure.line, column: failure.column, bytes: failure.bytes.clone() };
        warn(WarningCode::UnparsedFile, Some(site), format!("syn cannot parse this file: {}", failure.message));
    }
    let (child_prelude, child_test_prelude, child_root_aliases) = if facts.extern_crate_aliases.is_empty() {
        (Arc::clone(&task.prelude), Arc::clone(&task.test_prelude), Arc::clone(&task.root_aliases))
    } else {
        // `extern crate self as x;` names this crate.
        let crate_named = |prelude: &BTreeMap<String, Option<UnitId>>, crate_name: &str| match crate_name {
            "self" => Some(Some(task.unit)),
            _ => prelude.get(crate_name).copied(),
        };
        let mut extended = (*task.prelude).clone();
        let mut extended_test = (*task.test_prelude).clone();
        let mut aliases = BTreeMap::new();
        for (alias, crate_name) in &facts.extern_crate_aliases {
            if let Some(unit) = crate_named(&task.prelude, crate_name) {
                extended.insert(alias.clone(), unit);
                aliases.insert(alias.clone(), unit);
            }
            if let Some(unit) = crate_named(&task.test_prelude, crate_name) {
                extended_test.insert(alias.clone(), unit);
            }
        }
        (Arc::new(extended), Arc::new(extended_test), Arc::new(aliases))
    };
    for child in &facts.children {
        if child.in_test && !state.include_tests {
            continue;
        }
        let found = child.candidates.iter().zip(&child.children_dirs).find(|(candidate, _)| candidate.is_file());
        match found {
            Some((file, children_dir)) => {
                let child_task = FileTask {
                    unit: task.unit,
                    path: crate::workspace::normalize_lexically(file),
                    module_path: child.module_path.clone(),
                    children_dir: children_dir.clone(),
                    in_test: child.in_test,
                    prelude: Arc::clone(&child_prelude),
                    test_prelude: Arc::clone(&child_test_prelude),
                    root_aliases: Arc::clone(&child_root_aliases),
                };
                scope.spawn(move |scope| parse_file(scope, state, child_task));
            }
            None => {
                let tried: Vec<String> =
                    child.candidates.iter().map(|path| state.workspace.relative_path(path)).collect();
                warn(
                    WarningCode::MissingModuleFile,
                    Some(child.site.clone()),
                    format!(
                        "module `{}` has no file (looked for {})",
                        child.module_path.join("::"),
                        tried.join(" and ")
                    ),
                );
            }
        }
    }
    let file = SourceFile {
        unit: task.unit,
        path: task.path,
        relative,
        module_path: task.module_path,
        text: Arc::new(text),
        facts,
        cache_key,
    };
    state.files.lock().unwrap_or_else(|poison| poison.into_inner()).push(file);
}

/// The module names of every unit, for messages that list what exists.
pub fn known_module_paths(model: &Model, unit: UnitId) -> BTreeSet<String> {
    model.module_paths.iter().filter(|(candidate, _)| *candidate == unit).map(|(_, path)| path.join("::")).collect()
}
