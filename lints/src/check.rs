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
    /// `Cargo.toml` of the workspace (or of any member); when `None`, the workspace that the
    /// current directory is in, found as Cargo finds it.
    pub manifest_path: Option<PathBuf>,
    /// `boundaries.toml`; the workspace root's when `None`.
    pub config_path: Option<PathBuf>,
    /// Read and write the facts cache under the workspace's target directory.
    pub use_cache: bool,
    /// Go on when the baseline is missing or cannot be parsed, keeping the reason in
    /// [`CheckOutcome::unusable_baseline`]: for `--update-baseline`, which rebuilds the file.
    /// Otherwise either is a configuration error, so that a broken baseline never passes.
    pub rebuild_baseline: bool,
}

#[derive(Debug)]
pub struct CheckOutcome {
    pub model: Model,
    pub graph: crate::graph::ModuleGraph,
    pub cycles: Vec<crate::graph::Cycle>,
    pub violations: Vec<Violation>,
    /// The baseline that was applied, if any.
    pub baseline: Option<crate::baseline::Baseline>,
    /// With [`CheckOptions::rebuild_baseline`]: why the baseline that should have been applied
    /// could not be (missing, unreadable or unparsable). No baseline was applied then.
    pub unusable_baseline: Option<ConfigError>,
    /// What the report covers, when it is not everything (`--changed-since`).
    pub scope: Option<ReportScope>,
    pub elapsed: Duration,
}

/// The findings a `--changed-since` report keeps: the whole workspace is analysed, but only
/// violations in changed files are reported (with every cycle and stale baseline entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportScope {
    /// The git revision the files are compared with.
    pub changed_since: String,
    /// How many files changed since that revision (committed, staged, unstaged or untracked).
    pub changed_files: usize,
    /// Violations found in the whole workspace, before keeping only the changed files'.
    pub violations_found: usize,
}

impl CheckOutcome {
    /// Keeps only violations whose site is in one of `files` (workspace-relative paths changed
    /// since `revision`), and every cycle and stale baseline entry, which belong to no single
    /// changed file; records the scope for the reports.
    pub fn restrict_to_changed_files(&mut self, revision: &str, files: &std::collections::BTreeSet<String>) {
        let violations_found = self.violations.len();
        self.violations.retain(|violation| {
            matches!(violation.rule, crate::rules::RuleCode::DependencyCycle | crate::rules::RuleCode::StaleBaseline)
                || files.contains(&violation.source.file)
        });
        self.scope =
            Some(ReportScope { changed_since: revision.to_owned(), changed_files: files.len(), violations_found });
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

/// The manifest to read, when one is given. Without one, `cargo metadata` finds the workspace
/// from the current directory, as Cargo does when run from any of its subdirectories.
pub fn manifest_path(options: &CheckOptions) -> Option<&Path> {
    options.manifest_path.as_deref()
}

/// The configuration file to read for a workspace.
pub fn config_path(options: &CheckOptions, workspace_root: &Path) -> PathBuf {
    options.config_path.clone().unwrap_or_else(|| workspace_root.join(CONFIG_FILE_NAME))
}

/// Loads the workspace, the configuration and the model, and runs every rule.
pub fn run_check(options: &CheckOptions) -> Result<CheckOutcome, CheckError> {
    let started = Instant::now();
    let workspace = Workspace::load_from(manifest_path(options))?;
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
    let workspace = Workspace::load_from(manifest_path(options))?;
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
    let mut unusable_baseline = None;
    let located = crate::baseline::locate(&model.config, &model.workspace.root).and_then(|path| match path {
        Some(path) => {
            let relative = model.workspace.relative_path(&path);
            crate::baseline::Baseline::load(&path, relative).map(Some)
        }
        None => Ok(None),
    });
    let baseline = match located {
        Ok(baseline) => baseline,
        Err(error) if options.rebuild_baseline => {
            unusable_baseline = Some(error);
            None
        }
        Err(error) => return Err(error.into()),
    };
    if let Some(baseline) = &baseline {
        let mut stale = baseline.apply(&mut violations);
        crate::rules::apply_severity(&model.config, &mut stale);
        violations.extend(stale);
        violations.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    }
    Ok(CheckOutcome {
        model,
        graph,
        cycles,
        violations,
        baseline,
        unusable_baseline,
        scope: None,
        elapsed: started.elapsed(),
    })
}
