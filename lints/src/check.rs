//! The check as a library call: load the workspace and the configuration, build the model once,
//! run every rule, and return the outcome for a report to render.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::{CONFIG_FILE_NAME, Config, ConfigError};
use crate::model::Model;
use crate::rules::Violation;
use crate::workspace::{Workspace, WorkspaceError};

#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// `Cargo.toml` of the workspace (or of any member); the current directory's when `None`.
    pub manifest_path: Option<PathBuf>,
    /// `boundaries.toml`; the workspace root's when `None`.
    pub config_path: Option<PathBuf>,
    /// Read and write the facts cache under the workspace's target directory.
    pub use_cache: bool,
}

#[derive(Debug)]
pub struct CheckOutcome {
    pub model: Model,
    pub graph: crate::graph::ModuleGraph,
    pub cycles: Vec<crate::graph::Cycle>,
    pub violations: Vec<Violation>,
    /// The baseline that was applied, if any.
    pub baseline: Option<crate::baseline::Baseline>,
    pub elapsed: Duration,
}

impl CheckOutcome {
    /// Keeps only violations whose site is in one of `files` (workspace-relative paths), and
    /// every cycle and stale baseline entry, which belong to no single changed file.
    pub fn restrict_to_files(&mut self, files: &std::collections::BTreeSet<String>) {
        self.violations.retain(|violation| {
            matches!(violation.rule, crate::rules::RuleCode::DependencyCycle | crate::rules::RuleCode::StaleBaseline)
                || files.contains(&violation.source.file)
        });
    }

    /// Violations that fail the run: errors not covered by a baseline.
    pub fn failing(&self) -> impl Iterator<Item = &Violation> {
        self.violations
            .iter()
            .filter(|violation| !violation.baselined && violation.severity == crate::rules::Severity::Error)
    }
}

/// Why a check could not run at all (exit code 2).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CheckError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] ConfigError),
}

/// The manifest to read: the one given, or `Cargo.toml` in the current directory.
pub fn manifest_path(options: &CheckOptions) -> PathBuf {
    options.manifest_path.clone().unwrap_or_else(|| PathBuf::from("Cargo.toml"))
}

/// The configuration file to read for a workspace.
pub fn config_path(options: &CheckOptions, workspace_root: &Path) -> PathBuf {
    options.config_path.clone().unwrap_or_else(|| workspace_root.join(CONFIG_FILE_NAME))
}

/// Loads the workspace, the configuration and the model, and runs every rule.
pub fn run_check(options: &CheckOptions) -> Result<CheckOutcome, CheckError> {
    let started = Instant::now();
    let workspace = Workspace::load(&manifest_path(options))?;
    if options.use_cache {
        let cache_path = crate::cache::FactsCache::path(&workspace.target_directory);
        let cache = crate::cache::FactsCache::load(&cache_path);
        let outcome = check_workspace(options, workspace, Some(&cache), started)?;
        cache.save(&cache_path, &outcome.model);
        Ok(outcome)
    } else {
        check_workspace(options, workspace, None, started)
    }
}

/// Runs the check with a cache the caller keeps (watch mode keeps one in memory across runs).
pub fn run_check_with_cache(
    options: &CheckOptions,
    cache: &crate::cache::FactsCache,
) -> Result<CheckOutcome, CheckError> {
    let started = Instant::now();
    let workspace = Workspace::load(&manifest_path(options))?;
    check_workspace(options, workspace, Some(cache), started)
}

fn check_workspace(
    options: &CheckOptions,
    workspace: Workspace,
    cache: Option<&crate::cache::FactsCache>,
    started: Instant,
) -> Result<CheckOutcome, CheckError> {
    let config = Config::load(&config_path(options, &workspace.root))?;
    let model = Model::build_with_cache(workspace, config, cache)?;
    let graph = crate::graph::ModuleGraph::build(&model);
    let cycles = graph.cycles(&model);
    let mut violations = crate::rules::run_all(&model, &graph, &cycles);
    let baseline = match crate::baseline::locate(&model.config, &model.workspace.root)? {
        Some(path) => {
            let relative = model.workspace.relative_path(&path);
            let baseline = crate::baseline::Baseline::load(&path, relative)?;
            let stale = baseline.apply(&mut violations);
            violations.extend(stale);
            violations.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
            Some(baseline)
        }
        None => None,
    };
    Ok(CheckOutcome { model, graph, cycles, violations, baseline, elapsed: started.elapsed() })
}
