//! Reports: the same outcome rendered for people (miette), for machines (JSON) and for CI
//! annotations (GitHub workflow commands). Reports build strings; binaries print them.

pub mod cargo;
pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod sarif;

use std::collections::BTreeMap;

use crate::check::CheckOutcome;
use crate::diagnostic::RuleCode;
use crate::text::plural;

/// The closing line of a human report, and the counts it is made of.
pub(crate) fn summary_line(outcome: &CheckOutcome) -> String {
    let files = outcome.model.files.len();
    let modules = outcome.model.modules.len();
    let failing: Vec<_> = outcome.failing().collect();
    // Suppressed findings stay visible: the line counts them.
    let suppressed = match outcome.suppressed.len() {
        0 => String::new(),
        count => format!(", {} suppressed by seams:allow", plural(count, "finding", "findings")),
    };
    if failing.is_empty() {
        return format!(
            "ok: no boundary violations in {files} files across {modules} modules{suppressed} ({} lines, {:.2} s)",
            outcome.model.total_lines(),
            outcome.elapsed.as_secs_f64()
        );
    }
    let mut per_rule: BTreeMap<RuleCode, usize> = BTreeMap::new();
    for violation in &failing {
        *per_rule.entry(violation.rule).or_default() += 1;
    }
    let breakdown: Vec<String> = per_rule.iter().map(|(rule, count)| format!("{count} {}", rule.as_str())).collect();
    format!(
        "error: {} ({}) in {files} files across {modules} modules{suppressed}",
        plural(failing.len(), "boundary violation", "boundary violations"),
        breakdown.join(", ")
    )
}
