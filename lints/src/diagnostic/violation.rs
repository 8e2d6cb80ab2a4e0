//! One violation of one rule at one site: what every report renders.

use super::code::{RuleCode, Severity};
use super::location::{Site, SourceRef};

/// One violation of one rule at one site. It is built only by [`Violation::new`], so that the
/// fields every rule shares are filled in the same way, and what only some rules know is in
/// [`ViolationDetails`]. Outside the crate it can be read but not built (`non_exhaustive`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Violation {
    pub rule: RuleCode,
    pub severity: Severity,
    pub from_module: String,
    pub to_module: String,
    pub source: SourceRef,
    pub site: Site,
    /// What the offending code names: a resolved path, or a table.
    pub target: String,
    pub message: String,
    /// A short label under the offending text.
    pub label: String,
    pub help: String,
    pub baselined: bool,
    /// Text that replaces the site's bytes to fix the finding, when the rule knows one for sure
    /// (an internal path whose item the target module's API re-exports): the quick fix of the
    /// language server and the `suggested_replacement` of cargo's message format.
    pub suggestion: Option<String>,
    /// What this rule knows beyond the fields every rule has.
    pub details: ViolationDetails,
}

/// A violation that a `seams:allow` comment suppressed: it fails no run and is not matched
/// against the baseline, but every report still shows it, with the reason.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Suppressed {
    pub violation: Violation,
    /// The reason written after the allow's colon.
    pub reason: String,
    /// The allow comment.
    pub allow: Site,
}

/// What a rule knows about a violation beyond where it is and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViolationDetails {
    /// `internal-import`, `undeclared-dependency` and `stale-baseline`: nothing more.
    None,
    /// `foreign-table`, `unowned-table`, `cross-module-foreign-key`: the one module that owns
    /// the table, or `None` when no module owns it.
    Table { owner: Option<String> },
    /// `shared-table`: every module that claims the table, sorted by name. No one module owns
    /// it: that is the finding.
    SharedTable { claimants: Vec<String> },
    /// `dependency-cycle`: the modules of the component, sorted by name. They, not the first
    /// evidence site, identify the cycle in the baseline.
    DependencyCycle { component: Vec<String> },
    /// `layer-violation` and `forbidden-dependency`: the modules from the user to the module it
    /// must not reach; two for a direct reference, more for a chain through other modules.
    Chain { chain: Vec<String> },
}

/// Where a violation is and whom it concerns: the part every rule fills in.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub(crate) from_module: String,
    pub(crate) to_module: String,
    pub(crate) source: SourceRef,
    pub(crate) site: Site,
    pub(crate) target: String,
}

/// What a violation says: the message, the label under the offending text, and the help line.
#[derive(Debug, Clone)]
pub(crate) struct Words {
    pub(crate) message: String,
    pub(crate) label: String,
    pub(crate) help: String,
}

impl Violation {
    /// The one constructor: an error that no baseline covers yet. The configured severity and
    /// the baseline are applied later, by the check.
    pub(crate) fn new(rule: RuleCode, finding: Finding, words: Words, details: ViolationDetails) -> Violation {
        Violation {
            rule,
            severity: Severity::Error,
            from_module: finding.from_module,
            to_module: finding.to_module,
            source: finding.source,
            site: finding.site,
            target: finding.target,
            message: words.message,
            label: words.label,
            help: words.help,
            baselined: false,
            suggestion: None,
            details,
        }
    }

    /// The same violation with a replacement for its site's text.
    pub(crate) fn with_suggestion(self, suggestion: Option<String>) -> Violation {
        Violation { suggestion, ..self }
    }

    /// The order reports use: by file, then position, then rule.
    pub(crate) fn sort_key(&self) -> (&str, usize, usize, RuleCode, &str) {
        (&self.source.file, self.site.line, self.site.column, self.rule, &self.target)
    }

    /// For table rules: the one module that owns the target table (`None` for other rules, for
    /// an unowned table, and for a shared one).
    pub(crate) fn owner(&self) -> Option<&str> {
        match &self.details {
            ViolationDetails::Table { owner } => owner.as_deref(),
            _ => None,
        }
    }

    /// For `shared-table`: the modules that claim the table (empty for other rules).
    pub(crate) fn claimants(&self) -> &[String] {
        match &self.details {
            ViolationDetails::SharedTable { claimants } => claimants,
            _ => &[],
        }
    }

    /// For `layer-violation` and `forbidden-dependency`: the chain of modules (`None` for other
    /// rules).
    pub fn chain(&self) -> Option<&[String]> {
        match &self.details {
            ViolationDetails::Chain { chain } => Some(chain),
            _ => None,
        }
    }

    /// For `dependency-cycle`: the modules of the component (empty for other rules).
    pub(crate) fn component(&self) -> &[String] {
        match &self.details {
            ViolationDetails::DependencyCycle { component } => component,
            _ => &[],
        }
    }
}
