//! The rules: each reads the model and pushes violations into a sink. Rules never fail.

mod cross_module_foreign_key;
mod dependency_cycle;
mod external_dependency;
mod forbidden_dependency;
mod foreign_table;
mod internal_import;
mod layer_violation;
mod shared_table;
mod undeclared_dependency;
mod unowned_table;
mod unused_dependency;

mod chains;
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
    unused_dependency::check(model, &mut violations);
    layer_violation::check(model, &mut violations);
    forbidden_dependency::check(model, &mut violations);
    external_dependency::check(model, &mut violations);
    apply_severity(&model.config, &mut violations);
    violations.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    violations
}

/// Gives each violation the severity its rule has in this configuration. The check calls it
/// again for `stale-baseline` violations, which exist only once the baseline is applied.
pub(crate) fn apply_severity(config: &Config, violations: &mut [Violation]) {
    for violation in violations {
        violation.severity = configured_severity(config, violation.rule);
    }
}

/// The severity a rule has in this configuration: what `[defaults] severity` says, else `error`
/// for `unused-dependency` with `[defaults] exact = true`, else the rule's default.
pub(crate) fn configured_severity(config: &Config, rule: RuleCode) -> Severity {
    if let Some(severity) = config.defaults.severity.get(&rule) {
        return *severity;
    }
    if rule == RuleCode::UnusedDependency && config.defaults.exact {
        return Severity::Error;
    }
    rule.default_severity()
}
