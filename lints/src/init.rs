//! `--init`: a starter `boundaries.toml` drafted from the code as it is today, so that the first
//! check passes. Every workspace member is a whole-crate module whose `pub` items are its API; a
//! workspace of one package gets one module per top-level `mod` of its library instead. Each
//! module's `depends_on` is what its code uses today, found by checking the draft itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::check::{CheckError, CheckOptions, CheckOutcome, Engine};
use crate::diagnostic::RuleCode;
use crate::text::{plural, thousands};
use crate::workspace::{UnitKind, Workspace};

/// How many of the names other modules use are listed in a module's comment.
const USED_NAMES_SHOWN: usize = 12;

/// What `--init` wrote, and what it says about it.
#[derive(Debug)]
pub(crate) struct WrittenConfig {
    pub(crate) text: String,
    /// What was written and what to do next, for the person who ran `--init`.
    pub(crate) summary: String,
}

/// A drafted configuration, not written anywhere.
#[derive(Debug)]
pub struct StarterConfig {
    pub text: String,
    pub summary: String,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum InitError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Check(#[from] CheckError),
    #[error("{} already exists", path.display())]
    #[diagnostic(code("config-exists"), help("edit the existing file, or delete it and run --init again"))]
    Exists { path: PathBuf },
    #[error("cannot write {}: {message}", path.display())]
    #[diagnostic(code("write-failed"))]
    Write { path: PathBuf, message: String },
}

/// The starter configuration for the workspace that `manifest_path` belongs to, without writing
/// it, and without reading or writing the facts cache.
pub fn starter_config_for(manifest_path: &Path) -> Result<StarterConfig, CheckError> {
    let options =
        CheckOptions { manifest_path: Some(manifest_path.to_owned()), use_cache: false, ..CheckOptions::default() };
    draft(&mut Engine::in_memory(options))
}

/// Drafts the starter file and writes it next to the workspace root, refusing to overwrite one.
pub(crate) fn write_starter_config(options: &CheckOptions) -> Result<WrittenConfig, InitError> {
    let workspace = Workspace::load_from(options.manifest_path()).map_err(CheckError::from)?;
    let path = options.config_path(&workspace.root);
    if path.exists() {
        return Err(InitError::Exists { path });
    }
    // The drafts are checked through one engine, which parses each file once; with the cache on,
    // the facts are on disk for the check that follows.
    let mut engine = if options.use_cache { Engine::new(options.clone()) } else { Engine::in_memory(options.clone()) };
    let StarterConfig { text, summary } = draft(&mut engine)?;
    std::fs::write(&path, &text)
        .map_err(|error| InitError::Write { path: path.clone(), message: error.to_string() })?;
    let relative = workspace.relative_path(&path);
    Ok(WrittenConfig { text, summary: format!("wrote {relative}: {summary}") })
}

/// A module of the draft.
#[derive(Debug, Clone)]
struct DraftModule {
    name: String,
    crate_name: String,
    /// The top-level `mod` of a single package's library; `None` for a whole crate.
    path: Option<String>,
    /// The modules its code uses today, sorted.
    depends_on: Vec<String>,
    /// The names directly under its root that other modules use today, sorted.
    used_names: Vec<String>,
    /// Workspace members that its `Cargo.toml` depends on but its code never names.
    unused_in_code: Vec<String>,
}

impl DraftModule {
    fn new(name: &str, crate_name: &str, path: Option<&str>) -> DraftModule {
        DraftModule {
            name: name.to_owned(),
            crate_name: crate_name.to_owned(),
            path: path.map(str::to_owned),
            depends_on: Vec::new(),
            used_names: Vec::new(),
            unused_in_code: Vec::new(),
        }
    }
}

/// What the draft knows once it has been checked.
#[derive(Debug, Default)]
struct Findings {
    /// The modules of each dependency cycle in today's code.
    cycles: Vec<Vec<String>>,
}

/// Drafts the configuration: modules, then a check of them that gives each module's
/// `depends_on`, then a check of the result, which the summary reports.
fn draft(engine: &mut Engine) -> Result<StarterConfig, CheckError> {
    // The first check knows only the members, as whole crates that may use anything.
    let workspace = Workspace::load_from(engine.options().manifest_path())?;
    let mut modules: Vec<DraftModule> =
        workspace.packages.iter().map(|package| DraftModule::new(&package.name, &package.name, None)).collect();
    let outcome = engine.check_with_config_text(&render(&modules, &Findings::default()))?;
    let single_package = workspace.packages.len() == 1;
    if single_package {
        let top_level = top_level_modules(&outcome);
        if !top_level.is_empty() {
            let crate_name = &workspace.packages[0].name;
            modules = top_level.iter().map(|name| DraftModule::new(name, crate_name, Some(name))).collect();
        }
    }
    let outcome = if modules.iter().any(|module| module.path.is_some()) {
        engine.check_with_config_text(&render(&modules, &Findings::default()))?
    } else {
        outcome
    };
    let findings = describe_uses(&outcome, &mut modules);
    let text = render(&modules, &findings);
    let verified = engine.check_with_config_text(&text)?;
    let summary = summary(&modules, &findings, &verified, single_package);
    Ok(StarterConfig { text, summary })
}

/// The top-level modules of the one package's library (or, without one, of its first binary), as
/// `path` modules resolve them.
fn top_level_modules(outcome: &CheckOutcome) -> Vec<String> {
    let workspace = &outcome.model.workspace;
    let home = workspace.packages[0].lib_unit.or_else(|| {
        workspace.units.iter().position(|unit| unit.kind == UnitKind::Bin).map(crate::workspace::UnitId::new)
    });
    let Some(home) = home else { return Vec::new() };
    let mut names = BTreeSet::new();
    for file in outcome.model.files.iter().filter(|file| file.unit == home) {
        match file.module_path.as_slice() {
            [name] => {
                names.insert(name.clone());
            }
            [] => {
                for inline in &file.facts.inline_modules {
                    if let [name] = inline.as_slice() {
                        names.insert(name.clone());
                    }
                }
            }
            _ => {}
        }
    }
    names.into_iter().collect()
}

/// Fills in each module's `depends_on`, the names other modules use, and the Cargo dependencies
/// that code never uses, from a check of the modules; returns today's cycles.
fn describe_uses(outcome: &CheckOutcome, modules: &mut [DraftModule]) -> Findings {
    let model = &outcome.model;
    let name = |module: crate::ids::ModuleId| model.modules[module].name.clone();
    let mut depends_on: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut declared: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to, dependency) in model.graph.dependencies() {
        if dependency.is_actual() {
            depends_on.entry(name(from)).or_default().insert(name(to));
        }
        if dependency.declared {
            declared.entry(name(from)).or_default().insert(name(to));
        }
    }
    let mut used_names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for cross in model.cross_module_references() {
        if let Some(first) = cross.below_root.first().filter(|first| *first != "*") {
            used_names.entry(name(cross.to)).or_default().insert(first.clone());
        }
    }
    for module in modules.iter_mut() {
        let uses = depends_on.remove(&module.name).unwrap_or_default();
        module.unused_in_code = declared.remove(&module.name).unwrap_or_default().difference(&uses).cloned().collect();
        module.depends_on = uses.into_iter().collect();
        module.used_names = used_names.remove(&module.name).unwrap_or_default().into_iter().collect();
    }
    let cycles = model.cycles.iter().map(|cycle| cycle.modules.iter().map(|module| name(*module)).collect()).collect();
    Findings { cycles }
}

/// A list of names as TOML strings.
fn quoted(names: &[String]) -> String {
    names.iter().map(|name| format!("\"{name}\"")).collect::<Vec<_>>().join(", ")
}

/// The text of a draft.
fn render(modules: &[DraftModule], findings: &Findings) -> String {
    let mut text = String::new();
    text.push_str("# Module boundaries, checked by `cargo seams check` (or `cargo xtask check-boundaries`).\n");
    text.push_str("# Written by --init from the code as it is today, so that the first check passes: each\n");
    text.push_str("# module's `depends_on` lists the modules its code uses now. See docs/configuration.md.\n\n");
    text.push_str("[defaults]\n");
    text.push_str("# A module's `pub` items are its API, as rustc already enforces: `*` lets the modules that\n");
    text.push_str("# may use a module name anything under its root. To tighten a module, give it the list of\n");
    text.push_str("# names other modules may use, for example `public = [\"api\"]`: every use of another name\n");
    text.push_str("# then fails the check. Each module's comment lists the names other modules use today.\n");
    text.push_str("public = [\"*\"]\n");
    text.push_str("include_tests = false\n");
    if !findings.cycles.is_empty() {
        let cycles: Vec<String> = findings.cycles.iter().map(|cycle| cycle.join(", ")).collect();
        let _ = writeln!(
            text,
            "# Today's code has {} ({}): reported as warnings until\n# they are broken; then remove this line so that a new cycle fails the check.",
            plural(findings.cycles.len(), "dependency cycle", "dependency cycles"),
            cycles.join("; ")
        );
        text.push_str("severity = { \"dependency-cycle\" = \"warn\" }\n");
    }
    for module in modules {
        let _ = write!(text, "\n[modules.\"{}\"]\ncrate = \"{}\"\n", module.name, module.crate_name);
        if let Some(path) = &module.path {
            let _ = writeln!(text, "path = \"{path}\"");
        }
        if !module.used_names.is_empty() {
            let shown: Vec<String> =
                module.used_names.iter().take(USED_NAMES_SHOWN).map(|name| format!("`{name}`")).collect();
            let more = module.used_names.len().saturating_sub(USED_NAMES_SHOWN);
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            let _ = writeln!(text, "# Other modules use {}{more}.", shown.join(", "));
        }
        if !module.unused_in_code.is_empty() {
            let _ = writeln!(
                text,
                "# Cargo.toml also depends on {}, which the code does not use.",
                module.unused_in_code.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
            );
        }
        let _ = writeln!(text, "depends_on = [{}]", quoted(&module.depends_on));
    }
    text
}

/// What was written, what a check with it finds, and what to do next.
fn summary(modules: &[DraftModule], findings: &Findings, verified: &CheckOutcome, single_package: bool) -> String {
    let mut text = String::new();
    let shape = match (single_package, modules.first().and_then(|module| module.path.as_ref())) {
        (true, Some(_)) => format!(
            "one per top-level `mod` of the library of `{}`",
            modules.first().map(|module| module.crate_name.as_str()).unwrap_or_default()
        ),
        _ => "one whole-crate module per workspace member".to_owned(),
    };
    let entries: usize = modules.iter().map(|module| module.depends_on.len()).sum();
    let _ = writeln!(
        text,
        "{} ({shape}), with {} taken from what the code uses today; every module's `pub` items are its API (`public = [\"*\"]`)",
        plural(modules.len(), "module", "modules"),
        plural(entries, "`depends_on` entry", "`depends_on` entries"),
    );
    let stats = verified.stats();
    let failing: Vec<_> = verified.failing().collect();
    if failing.is_empty() {
        let _ = writeln!(
            text,
            "a check with this file passes: no violation in {} ({} lines)",
            plural(stats.files, "file", "files"),
            thousands(stats.lines)
        );
    } else {
        let mut per_rule: BTreeMap<RuleCode, usize> = BTreeMap::new();
        for violation in &failing {
            *per_rule.entry(violation.rule).or_default() += 1;
        }
        let breakdown: Vec<String> =
            per_rule.iter().map(|(rule, count)| format!("{count} {}", rule.as_str())).collect();
        let _ = writeln!(
            text,
            "a check with this file still finds {} ({}), which the module declarations cannot describe: see docs/rules.md",
            plural(failing.len(), "violation", "violations"),
            breakdown.join(", ")
        );
    }
    text.push_str("next:\n");
    text.push_str(
        "  - run the check and commit boundaries.toml: from now on, a new dependency between modules fails the check until it is added to `depends_on`\n",
    );
    if !findings.cycles.is_empty() {
        let _ = writeln!(
            text,
            "  - break today's dependency cycles ({}; reported as warnings until then, see `severity` in [defaults])",
            findings.cycles.len()
        );
    }
    text.push_str(
        "  - tighten the modules one by one: give a module `public = [...]`, the names other modules may use (its comment lists the ones they use today)\n",
    );
    text.push_str(
        "  - remove the `depends_on` entries that should not exist, and record what then fails with `--update-baseline` (docs/ci.md)\n",
    );
    text
}
