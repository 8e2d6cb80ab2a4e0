//! The baseline: known violations recorded so that a team can turn the check on today, fail only
//! on new violations, and ratchet the debt down.
//!
//! Entries are fingerprints without line numbers (rule, from-module, to-module, file, target) with
//! a count of sites, so moving code does not churn the file. A dependency cycle's entry is the
//! component's modules instead, under the component's alphabetically first module. Entries are grouped by the offended
//! module, so that the module's owners can review them, and the file is sorted deterministically.
//! An entry that no longer matches as many sites as it allows is stale, and fails the run, so that
//! fixed violations leave the baseline and cannot silently come back.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{ConfigError, ConfigErrorKind};
use crate::diagnostic::Site;
use crate::diagnostic::{Finding, RuleCode, Severity, SourceRef, Violation, ViolationDetails, Words};
use crate::text::plural;

/// The baseline file's name when `[defaults] baseline` does not name one.
pub(crate) const DEFAULT_BASELINE_FILE: &str = "boundaries-baseline.toml";

/// What identifies a violation across edits.
///
/// For a `dependency-cycle`, it is the component's modules (`from` and `to` are then its first
/// module, and `file` and `target` are empty): a cycle has no one site, and identifying it by its
/// first evidence site would make a new, earlier site look like a new cycle, and a module that
/// joins the component look like the same one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Fingerprint {
    pub(crate) to: String,
    pub(crate) rule: String,
    pub(crate) from: String,
    pub(crate) file: String,
    pub(crate) target: String,
    /// The modules of a dependency cycle's component, sorted by name (empty for other rules).
    pub(crate) modules: Vec<String>,
}

impl Fingerprint {
    pub(crate) fn of(violation: &Violation) -> Fingerprint {
        if violation.rule == RuleCode::DependencyCycle {
            let first = violation.component().first().cloned().unwrap_or_default();
            return Fingerprint {
                to: first.clone(),
                rule: violation.rule.as_str().to_owned(),
                from: first,
                file: String::new(),
                target: String::new(),
                modules: violation.component().to_vec(),
            };
        }
        Fingerprint {
            to: violation.to_module.clone(),
            rule: violation.rule.as_str().to_owned(),
            from: violation.from_module.clone(),
            file: violation.source.file.clone(),
            target: violation.target.clone(),
            modules: Vec::new(),
        }
    }

    /// The fingerprint as one line without line numbers, for SARIF's `partialFingerprints`.
    pub(crate) fn key(&self) -> String {
        if self.modules.is_empty() {
            [self.rule.as_str(), &self.from, &self.to, &self.file, &self.target].join("|")
        } else {
            format!("{}|{}", self.rule, self.modules.join(","))
        }
    }

    /// What the entry is about, for messages: the target and file, or the cycle's modules.
    fn describe(&self) -> String {
        if self.modules.is_empty() {
            format!("{} `{}` in {}", self.rule, self.target, self.file)
        } else {
            let modules: Vec<String> = self.modules.iter().map(|module| format!("`{module}`")).collect();
            format!("{} among {}", self.rule, modules.join(", "))
        }
    }
}

/// One recorded entry, with its place in the baseline file.
#[derive(Debug, Clone)]
pub(crate) struct BaselineEntry {
    pub(crate) fingerprint: Fingerprint,
    pub(crate) count: usize,
    pub(crate) span: Range<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    pub(crate) path: PathBuf,
    /// The path relative to the workspace root, for reports.
    pub(crate) relative: String,
    pub(crate) source: Arc<String>,
    pub(crate) entries: Vec<BaselineEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    #[serde(default)]
    modules: BTreeMap<String, RawModule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModule {
    #[serde(default)]
    violations: Vec<Spanned<RawEntry>>,
}

/// An entry as written: `from`, `file` and `target` for a violation at a site, or `modules` for a
/// dependency cycle.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    rule: String,
    from: Option<String>,
    file: Option<String>,
    target: Option<String>,
    modules: Option<Vec<String>>,
    count: usize,
}

impl Baseline {
    /// Reads a baseline file. A file that cannot be read or parsed is a configuration error:
    /// a broken baseline must never pass silently.
    pub(crate) fn load(path: &Path, relative: String) -> Result<Baseline, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| ConfigError::MissingBaseline { path: path.to_owned(), message: error.to_string() })?;
        let source = Arc::new(text);
        let invalid = |span: Range<usize>, message: String| {
            ConfigError::in_file(
                ConfigErrorKind::InvalidBaseline,
                path,
                &source,
                span,
                format!("the baseline cannot be read: {message}"),
                "regenerate it with `--update-baseline`".to_owned(),
            )
        };
        let raw: RawBaseline = toml::from_str(&source)
            .map_err(|error| invalid(error.span().unwrap_or(0..0), error.message().trim().to_owned()))?;
        let mut entries = Vec::new();
        for (module, entries_of_module) in raw.modules {
            for entry in entries_of_module.violations {
                let span = entry.span();
                let entry = entry.into_inner();
                let count = entry.count;
                let fingerprint = match (entry.rule == RuleCode::DependencyCycle.as_str(), entry) {
                    (true, RawEntry { rule, from: None, file: None, target: None, modules: Some(mut modules), .. }) => {
                        modules.sort();
                        Fingerprint {
                            to: module.clone(),
                            rule,
                            from: module.clone(),
                            file: String::new(),
                            target: String::new(),
                            modules,
                        }
                    }
                    (
                        false,
                        RawEntry {
                            rule, from: Some(from), file: Some(file), target: Some(target), modules: None, ..
                        },
                    ) => Fingerprint { to: module.clone(), rule, from, file, target, modules: Vec::new() },
                    (true, _) => {
                        return Err(invalid(
                            span,
                            "a dependency-cycle entry has `modules` and no `from`, `file` or `target`".to_owned(),
                        ));
                    }
                    (false, _) => {
                        return Err(invalid(
                            span,
                            "an entry has `from`, `file` and `target` (only a dependency-cycle entry has `modules`)"
                                .to_owned(),
                        ));
                    }
                };
                entries.push(BaselineEntry { fingerprint, count, span });
            }
        }
        Ok(Baseline { path: path.to_owned(), relative, source, entries })
    }

    /// Marks the violations the baseline covers as baselined, and returns a `stale-baseline`
    /// violation for each entry that now matches fewer sites than it allows.
    pub(crate) fn apply(&self, violations: &mut [Violation]) -> Vec<Violation> {
        let mut allowed: BTreeMap<&Fingerprint, usize> = BTreeMap::new();
        for entry in &self.entries {
            *allowed.entry(&entry.fingerprint).or_default() += entry.count;
        }
        let mut found: BTreeMap<Fingerprint, usize> = BTreeMap::new();
        for violation in violations.iter_mut() {
            let fingerprint = Fingerprint::of(violation);
            let seen = found.entry(fingerprint.clone()).or_default();
            *seen += 1;
            // The first sites in report order are covered; sites beyond the count are new.
            if allowed.get(&fingerprint).is_some_and(|count| *seen <= *count) {
                violation.baselined = true;
            }
        }
        let index = crate::diagnostic::LineIndex::new(&self.source);
        let mut stale = Vec::new();
        for entry in &self.entries {
            let now = found.get(&entry.fingerprint).copied().unwrap_or(0);
            if now >= entry.count {
                continue;
            }
            let (line, column) = index.line_column(&self.source, entry.span.start);
            let fingerprint = &entry.fingerprint;
            let allowed = if fingerprint.modules.is_empty() {
                plural(entry.count, "site", "sites")
            } else {
                // A component is one violation: its entry is stale once those modules stop
                // forming exactly that component.
                plural(entry.count, "cycle", "cycles")
            };
            // The configured severity of `stale-baseline` is applied by the caller.
            stale.push(Violation::new(
                RuleCode::StaleBaseline,
                Finding {
                    from_module: fingerprint.from.clone(),
                    to_module: fingerprint.to.clone(),
                    source: SourceRef { file: self.relative.clone(), text: Arc::clone(&self.source) },
                    site: Site { line, column, bytes: entry.span.clone() },
                    target: if fingerprint.modules.is_empty() {
                        fingerprint.target.clone()
                    } else {
                        fingerprint.modules.join(", ")
                    },
                },
                Words {
                    message: format!("baseline entry for {} allows {allowed}, but {now} remain", fingerprint.describe()),
                    label: "stale entry".to_owned(),
                    help: "the debt went down: run with `--prune-baseline` (or `--update-baseline`) to lower the entry, so that it cannot come back"
                        .to_owned(),
                },
                ViolationDetails::None,
            ));
        }
        stale
    }
}

/// How a new baseline is derived from the old one and today's violations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BaselineUpdate {
    /// Record exactly today's violations: adds new ones and removes fixed ones.
    Update,
    /// Only ever lower counts or remove entries, for CI jobs that must never add debt.
    Prune,
}

/// The text of a new baseline file.
pub(crate) fn render(violations: &[Violation], previous: Option<&Baseline>, mode: BaselineUpdate) -> String {
    let mut today: BTreeMap<Fingerprint, usize> = BTreeMap::new();
    for violation in violations {
        if violation.rule == RuleCode::StaleBaseline || violation.severity != Severity::Error {
            continue;
        }
        *today.entry(Fingerprint::of(violation)).or_default() += 1;
    }
    let counts: BTreeMap<Fingerprint, usize> = match (mode, previous) {
        (BaselineUpdate::Update, _) => today,
        (BaselineUpdate::Prune, None) => BTreeMap::new(),
        (BaselineUpdate::Prune, Some(previous)) => {
            let mut kept = BTreeMap::new();
            for entry in &previous.entries {
                let now = today.get(&entry.fingerprint).copied().unwrap_or(0);
                let count = now.min(entry.count);
                if count > 0 {
                    *kept.entry(entry.fingerprint.clone()).or_default() += count;
                }
            }
            kept
        }
    };
    let mut text = String::new();
    text.push_str(match mode {
        BaselineUpdate::Update => {
            "# Known module-boundary violations, written by seams `check --update-baseline` (records exactly today's).\n"
        }
        BaselineUpdate::Prune => {
            "# Known module-boundary violations, last written by seams `check --prune-baseline` (only lowers or removes).\n"
        }
    });
    text.push_str("# Violations listed here do not fail the check; new ones, and more sites of a listed one, do.\n");
    text.push_str("# Entries have no line numbers, so moving code does not change this file. An entry that\n");
    text.push_str("# matches fewer sites than its count is stale and fails the check: run --prune-baseline.\n");
    text.push_str("# Grouped by the module whose boundary is crossed, so that its owners can review them; a\n");
    text.push_str("# dependency cycle is listed by its modules, under the first of them.\n");
    let mut by_module: BTreeMap<&str, Vec<(&Fingerprint, usize)>> = BTreeMap::new();
    for (fingerprint, count) in &counts {
        by_module.entry(fingerprint.to.as_str()).or_default().push((fingerprint, *count));
    }
    for (module, entries) in by_module {
        text.push_str(&format!("\n[modules.{}]\nviolations = [\n", toml_key(module)));
        for (fingerprint, count) in entries {
            if fingerprint.modules.is_empty() {
                text.push_str(&format!(
                    "  {{ rule = {}, from = {}, file = {}, target = {}, count = {count} }},\n",
                    toml_string(&fingerprint.rule),
                    toml_string(&fingerprint.from),
                    toml_string(&fingerprint.file),
                    toml_string(&fingerprint.target),
                ));
            } else {
                let modules: Vec<String> = fingerprint.modules.iter().map(|module| toml_string(module)).collect();
                text.push_str(&format!(
                    "  {{ rule = {}, modules = [{}], count = {count} }},\n",
                    toml_string(&fingerprint.rule),
                    modules.join(", "),
                ));
            }
        }
        text.push_str("]\n");
    }
    text
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

fn toml_key(text: &str) -> String {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        text.to_owned()
    } else {
        toml_string(text)
    }
}

/// Where the baseline is: the configured file (which must exist), or the default file when it
/// exists. `None` when there is no baseline.
pub(crate) fn locate(config: &crate::config::Config, workspace_root: &Path) -> Result<Option<PathBuf>, ConfigError> {
    match &config.defaults.baseline {
        Some(configured) => {
            let path = workspace_root.join(configured.get_ref());
            if path.is_file() {
                Ok(Some(path))
            } else {
                Err(config.error(
                    ConfigErrorKind::MissingBaseline,
                    configured.span(),
                    format!("the configured baseline `{}` does not exist", configured.get_ref()),
                    "create it with `--update-baseline`, or remove `baseline` from [defaults]".to_owned(),
                ))
            }
        }
        None => {
            let path = workspace_root.join(DEFAULT_BASELINE_FILE);
            Ok(path.is_file().then_some(path))
        }
    }
}
