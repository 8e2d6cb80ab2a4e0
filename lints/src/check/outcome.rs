//! What a check is asked to do, and what it gives: the options, the outcome a report renders, and
//! the errors that stop a check before it has an outcome.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{CONFIG_FILE_NAME, ConfigError};
use crate::diagnostic::{Severity, Suppressed, Violation, Warning, WarningCode};
use crate::model::Model;
use crate::workspace::WorkspaceError;

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

/// What a check found, with the model it found it in, for the reports to render.
#[derive(Debug)]
pub struct CheckOutcome {
    pub(crate) model: Model,
    /// Sorted by file, position and rule.
    pub(crate) violations: Vec<Violation>,
    /// Violations that a `seams:allow` comment suppressed, sorted as the violations are.
    pub(crate) suppressed: Vec<Suppressed>,
    /// The baseline that was applied, if any.
    pub(crate) baseline: Option<crate::baseline::Baseline>,
    /// With [`CheckOptions::rebuild_baseline`]: why the baseline that should have been applied
    /// could not be (missing, unreadable or unparsable). No baseline was applied then.
    pub(crate) unusable_baseline: Option<ConfigError>,
    /// What the report covers, when it is not everything (`--changed-since`).
    pub(crate) scope: Option<ReportScope>,
    pub(crate) elapsed: Duration,
}

/// The size of what a check read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub modules: usize,
    /// Source files analysed; a file that two `mod` declarations load counts twice.
    pub files: usize,
    /// Lines of those files.
    pub lines: usize,
    /// Places where the modules' SQL names a table.
    pub table_uses: usize,
}

/// The findings a `--changed-since` report keeps: the whole workspace is analysed, but only
/// violations in changed files are reported (with every cycle, unused dependency and stale baseline entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReportScope {
    /// The git revision the files are compared with.
    pub(crate) changed_since: String,
    /// How many files changed since that revision (committed, staged, unstaged or untracked).
    pub(crate) changed_files: usize,
    /// Violations found in the whole workspace, before keeping only the changed files'.
    pub(crate) violations_found: usize,
}

impl CheckOutcome {
    /// Keeps only violations whose site is in one of `files` (workspace-relative paths changed
    /// since `revision`), a chain any of whose steps has a reference in one of them, and every
    /// cycle, unused dependency and stale baseline entry, which belong to no single changed file;
    /// records the scope for the reports.
    pub fn restrict_to_changed_files(&mut self, revision: &str, files: &std::collections::BTreeSet<String>) {
        let violations_found = self.violations.len();
        let model = &self.model;
        self.violations.retain(|violation| {
            violation.rule.is_workspace_wide()
                || files.contains(&violation.source.file)
                || violation.chain().is_some_and(|chain| chain.len() > 2 && chain_touches(model, chain, files))
        });
        self.suppressed.retain(|suppressed| files.contains(&suppressed.violation.source.file));
        self.scope =
            Some(ReportScope { changed_since: revision.to_owned(), changed_files: files.len(), violations_found });
    }

    /// Every violation, sorted by file, position and rule, including those the baseline covers.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Violations that a `seams:allow` comment suppressed, with its reason: they fail no run.
    pub fn suppressed(&self) -> &[Suppressed] {
        &self.suppressed
    }

    /// Problems with single inputs that did not stop the check, sorted by file and position.
    pub fn warnings(&self) -> &[Warning] {
        &self.model.warnings
    }

    /// The names of the modules of `boundaries.toml`, in the order of the file.
    pub fn module_names(&self) -> impl Iterator<Item = &str> {
        self.model.modules.iter().map(|module| module.name.as_str())
    }

    /// The analysed files, relative to the workspace root, sorted.
    pub fn file_paths(&self) -> impl Iterator<Item = &str> {
        self.model.files.iter().map(|file| file.relative.as_str())
    }

    pub fn stats(&self) -> Stats {
        Stats {
            modules: self.model.modules.len(),
            files: self.model.files.len(),
            lines: self.model.total_lines(),
            table_uses: self.model.tables.uses.len(),
        }
    }

    /// Whether seams failed on a file: a bug in seams, which makes the command exit 2.
    pub fn has_internal_error(&self) -> bool {
        self.model.warnings.iter().any(|warning| warning.code == WarningCode::InternalError)
    }

    /// Violations that fail the run: errors not covered by a baseline.
    /// Whether the check passes: no failing violation and no internal error (exit code 0).
    pub fn passes(&self) -> bool {
        !self.has_internal_error() && self.failing().next().is_none()
    }

    pub fn failing(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|violation| !violation.baselined && violation.severity == Severity::Error)
    }
}

/// Whether a step of a chain of modules (`a → b → c`) has a reference site in one of `files`:
/// a change to any step can make or reroute the chain, wherever the finding stands.
fn chain_touches(model: &Model, chain: &[String], files: &std::collections::BTreeSet<String>) -> bool {
    let id = |name: &String| model.modules.with_ids().find(|(_, module)| module.name == *name).map(|(id, _)| id);
    chain.windows(2).any(|step| {
        let (Some(from), Some(to)) = (id(&step[0]), id(&step[1])) else { return false };
        model
            .graph
            .dependency(from, to)
            .is_some_and(|edge| edge.sites.iter().any(|evidence| files.contains(&evidence.source.file)))
    })
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

impl CheckOptions {
    /// The manifest to read, when one is given. Without one, `cargo metadata` finds the workspace
    /// from the current directory, as Cargo does when run from any of its subdirectories.
    pub(crate) fn manifest_path(&self) -> Option<&Path> {
        self.manifest_path.as_deref()
    }

    /// The configuration file to read for a workspace.
    pub(crate) fn config_path(&self, workspace_root: &Path) -> PathBuf {
        self.config_path.clone().unwrap_or_else(|| workspace_root.join(CONFIG_FILE_NAME))
    }
}
