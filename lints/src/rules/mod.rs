//! The rules: each reads the model and pushes violations into a sink. Rules never fail.

mod cross_module_foreign_key;
mod dependency_cycle;
mod foreign_table;
mod internal_import;
mod shared_table;
mod undeclared_dependency;
mod unowned_table;

mod common;

use crate::config::Config;
use crate::diagnostic::{RuleCode, Severity, Violation};
use crate::model::Model;

pub(crate) use dependency_cycle::EVIDENCE_PER_EDGE;

/// Runs every rule over the model: each is a pure function of it that pushes violations.
pub(crate) fn run_all(model: &Model) -> Vec<Violation> {
    let mut violations = Vec::new();
    dependency_cycle::check(model, &mut violations);
    internal_import::check(model, &mut violations);
    undeclared_dependency::check(model, &mut violations);
    foreign_table::check(model, &mut violations);
    shared_table::check(model, &mut violations);
    cross_module_foreign_key::check(model, &mut violations);
    unowned_table::check(model, &mut violations);
    apply_severity(&model.config, &mut violations);
    violations.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    violations
}

/// Gives each violation the severity its rule has in `[defaults] severity`. The check calls it
/// again for `stale-baseline` violations, which exist only once the baseline is applied.
pub(crate) fn apply_severity(config: &Config, violations: &mut [Violation]) {
    for violation in violations {
        if let Some(severity) = config.defaults.severity.get(&violation.rule) {
            violation.severity = *severity;
        }
    }
}

/// The severity a rule has in this configuration: `error` unless `[defaults] severity` says otherwise.
pub(crate) fn configured_severity(config: &Config, rule: RuleCode) -> Severity {
    config.defaults.severity.get(&rule).copied().unwrap_or(Severity::Error)
}
