//! The parse stage: every unit's module tree is walked from its root file, following `mod`
//! declarations as rustc does, and each file is read once and analysed once, in parallel. A file
//! whose text and place are unchanged takes its facts from the cache instead; a file open in an
//! editor is read from its buffer.

mod cache;
mod read;

use std::collections::{BTreeMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::diagnostic::{Site, Warning, WarningCode};
use crate::extract::{FileContext, FileFacts, Reference, analyse_source};
use crate::timings::{self, Stage};
use crate::workspace::{ExternPrelude, PreludeCrate, UnitId, Workspace, normalize_lexically};

pub use cache::ParseCounts;
pub(crate) use cache::{CacheKey, FactsCache};
pub(crate) use read::Buffers;

/// A source file of the workspace and what was extracted from it.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub(crate) unit: UnitId,
    pub(crate) path: PathBuf,
    /// Path relative to the workspace root, with `/` separators.
    pub(crate) relative: String,
    pub(crate) module_path: Vec<String>,
    pub(crate) text: Arc<String>,
    /// Shared with the facts cache.
    pub(crate) facts: Arc<FileFacts>,
    /// The facts cache's key for this file, when the check ran with a cache.
    pub(crate) cache_key: Option<CacheKey>,
    /// The file's references once glob imports are resolved against the whole workspace (see
    /// the model), when it has any reference found only through a glob; `None` otherwise.
    pub(crate) resolved_references: Option<Vec<Reference>>,
}

impl SourceFile {
    /// Every path written in the file that resolves into a workspace crate.
    pub(crate) fn references(&self) -> &[Reference] {
        self.resolved_references.as_deref().unwrap_or(&self.facts.references)
    }
}

/// What the parse stage needs besides the workspace.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParseInput<'a> {
    pub(crate) workspace: &'a Workspace,
    /// Whether test code (test targets, `#[cfg(test)]`) is checked.
    pub(crate) include_tests: bool,
    pub(crate) cache: Option<&'a FactsCache>,
    pub(crate) buffers: &'a Buffers,
}

/// Every file of the workspace, sorted by relative path then unit, and the warnings of reading
/// and parsing them, sorted by file and position.
#[derive(Debug)]
pub(crate) struct ParsedWorkspace {
    pub(crate) files: Vec<SourceFile>,
    pub(crate) warnings: Vec<Warning>,
}

/// A file waiting to be parsed.
struct FileTask {
    unit: UnitId,
    path: PathBuf,
    module_path: Vec<String>,
    children_dir: PathBuf,
    in_test: bool,
    /// The crate's extern prelude, extended by `extern crate … as …` at the crate root.
    prelude: Arc<ExternPrelude>,
    /// The same for the crate's test code, which also sees the dev-dependencies.
    test_prelude: Arc<ExternPrelude>,
    /// The crate root's `extern crate … as …` aliases alone.
    root_aliases: Arc<ExternPrelude>,
}

struct ParseState<'a> {
    input: ParseInput<'a>,
    visited: Mutex<HashSet<(UnitId, Vec<String>, PathBuf)>>,
    files: Mutex<Vec<SourceFile>>,
    warnings: Mutex<Vec<Warning>>,
}

/// Module nesting deeper than this is a `#[path]` loop, not code.
const MAX_MODULE_DEPTH: usize = 64;

/// The stack size of parsing threads: syn recurses once per nesting level of the source, and a
/// machine-generated file can nest far deeper than the default 2 MiB stack allows.
pub(crate) const PARSER_STACK_BYTES: usize = 256 * 1024 * 1024;

/// Parses every unit's module tree, in parallel, one parse per file.
pub(crate) fn parse_workspace(input: ParseInput<'_>) -> ParsedWorkspace {
    let workspace = input.workspace;
    let state = ParseState {
        input,
        visited: Mutex::new(HashSet::new()),
        files: Mutex::new(Vec::new()),
        warnings: Mutex::new(Vec::new()),
    };
    let pool = rayon::ThreadPoolBuilder::new().stack_size(PARSER_STACK_BYTES).build();
    let run = |state: &ParseState<'_>| {
        rayon::scope(|scope| {
            for (index, unit) in workspace.units.iter().enumerate() {
                let unit_id = UnitId::new(index);
                if unit.kind.is_test_only() && !input.include_tests {
                    continue;
                }
                let prelude = Arc::new(workspace.extern_prelude(unit_id));
                // Test code is skipped altogether unless it is checked, and the prelude of a
                // test target already has the dev-dependencies.
                let test_prelude = if input.include_tests && !unit.kind.is_test_only() {
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
    ParsedWorkspace { files, warnings }
}

fn parse_file<'s>(scope: &rayon::Scope<'s>, state: &'s ParseState<'s>, task: FileTask) {
    // A file is parsed once per module path of a unit. Keying on both lets one file be loaded by
    // two `mod` declarations, as rustc allows, and parses every `#[cfg]` variant of a module
    // (`#[cfg(a)] #[path = "x_a.rs"] mod x;` beside `#[cfg(not(a))] … mod x;`), whichever the
    // threads reach first; a `#[path]` loop, whose module paths only grow, is cut off by the
    // depth limit.
    if task.module_path.len() > MAX_MODULE_DEPTH {
        return;
    }
    {
        let mut visited = state.visited.lock().unwrap_or_else(|poison| poison.into_inner());
        if !visited.insert((task.unit, task.module_path.clone(), task.path.clone())) {
            return;
        }
    }
    let workspace = state.input.workspace;
    let relative = workspace.relative_path(&task.path);
    let warn = |code: WarningCode, site: Option<Site>, message: String| {
        let warning = Warning { code, file: relative.clone(), site, message };
        state.warnings.lock().unwrap_or_else(|poison| poison.into_inner()).push(warning);
    };
    let text = match timings::time(Stage::Read, || state.input.buffers.read(&task.path)) {
        Ok(text) => text,
        Err(unreadable) => {
            warn(WarningCode::UnreadableFile, unreadable.site, unreadable.message);
            return;
        }
    };
    let context = FileContext {
        unit: task.unit,
        file: &task.path,
        module_path: &task.module_path,
        children_dir: &task.children_dir,
        in_test: task.in_test,
        include_tests: state.input.include_tests,
        extern_prelude: &task.prelude,
        test_extern_prelude: &task.test_prelude,
        root_extern_aliases: &task.root_aliases,
    };
    let (cache_key, cached) = timings::time(Stage::CacheLookup, || {
        let cache_key = state.input.cache.map(|_| cache::key(&context, &text));
        let cached = state.input.cache.zip(cache_key.as_ref()).and_then(|(cache, key)| cache.get(key));
        (cache_key, cached)
    });
    // One file's bug must not take the run down: it becomes an internal error for that file.
    let analysed = match cached {
        Some(facts) => Ok(facts),
        None => std::panic::catch_unwind(AssertUnwindSafe(|| {
            let facts = analyse_source(&context, &text);
            // Spans are converted to plain positions by now; free proc-macro2's per-thread source map.
            proc_macro2::extra::invalidate_current_thread_spans();
            Arc::new(facts)
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
        let crate_named = |prelude: &ExternPrelude, crate_name: &str| match crate_name {
            "self" => Some(PreludeCrate::Workspace(task.unit)),
            _ => prelude.get(crate_name).cloned(),
        };
        let mut extended = (*task.prelude).clone();
        let mut extended_test = (*task.test_prelude).clone();
        let mut aliases = BTreeMap::new();
        for (alias, crate_name) in &facts.extern_crate_aliases {
            if let Some(named) = crate_named(&task.prelude, crate_name) {
                extended.insert(alias.clone(), named.clone());
                aliases.insert(alias.clone(), named);
            }
            if let Some(unit) = crate_named(&task.test_prelude, crate_name) {
                extended_test.insert(alias.clone(), unit);
            }
        }
        (Arc::new(extended), Arc::new(extended_test), Arc::new(aliases))
    };
    for child in &facts.children {
        if child.in_test && !state.input.include_tests {
            continue;
        }
        let found = child.candidates.iter().zip(&child.children_dirs).find(|(candidate, _)| candidate.is_file());
        match found {
            Some((file, children_dir)) => {
                let child_task = FileTask {
                    unit: task.unit,
                    path: normalize_lexically(file),
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
                let tried: Vec<String> = child.candidates.iter().map(|path| workspace.relative_path(path)).collect();
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
        resolved_references: None,
    };
    state.files.lock().unwrap_or_else(|poison| poison.into_inner()).push(file);
}
