//! In-code allows, and the rule `unused-allow`. This stage runs after the rules and before the
//! baseline: a suppressed finding is taken out of the violations (every report still shows it,
//! with its reason), an allow without a reason suppresses nothing and the finding says so, and an
//! allow that suppresses nothing is an `unused-allow` violation at the rule it names.
//!
//! # What it checks
//! `// seams:allow(rule): reason` on the line of a finding, or alone on the line above it,
//! suppresses that rule at that one site. Each rule of each allow must suppress something.
//!
//! # Why it matters
//! An exception to the architecture is a decision, written where it applies with why; one that
//! excuses nothing any more would silently excuse the next violation written there.
//!
//! # Example
//! ```text
//! // seams:allow(internal-import): the nightly report reads the ledger until the api has it
//! use crate::payments::ledger::Ledger;
//! ```

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{Finding, RuleCode, Suppressed, Violation, ViolationDetails, Words};
use crate::model::Model;

/// The violations once the allows are applied.
#[derive(Debug, Default)]
pub(crate) struct Allowed {
    /// The violations no allow suppressed, in their order.
    pub(crate) violations: Vec<Violation>,
    pub(crate) suppressed: Vec<Suppressed>,
    /// One `unused-allow` per rule of an allow that suppressed nothing, at the default severity.
    pub(crate) unused: Vec<Violation>,
}

/// Applies every allow of the model to the rules' violations.
pub(crate) fn apply_allows(model: &Model, violations: Vec<Violation>) -> Allowed {
    if model.allows.is_empty() {
        return Allowed { violations, ..Allowed::default() };
    }
    // The allows that may cover each (file, line), for look-ups once per violation.
    let mut by_line: HashMap<(&str, usize), Vec<usize>> = HashMap::new();
    for (index, allow) in model.allows.iter().enumerate() {
        let comment = &allow.comment;
        for line in (comment.site.line..=comment.last_line + 1).filter(|line| comment.covers(*line)) {
            by_line.entry((allow.source.file.as_str(), line)).or_default().push(index);
        }
    }
    // Whether each rule of each allow was used (suppressed something), or met a finding it could
    // not suppress for want of a reason (the finding then says so).
    let mut used: Vec<Vec<bool>> = model.allows.iter().map(|allow| vec![false; allow.rules.len()]).collect();
    let mut allowed = Allowed::default();
    for mut violation in violations {
        let candidates = by_line.get(&(violation.source.file.as_str(), violation.site.line));
        let matching: Vec<(usize, usize)> = candidates
            .into_iter()
            .flatten()
            .filter_map(|index| {
                let position = model.allows[*index].rules.iter().position(|(rule, _)| *rule == violation.rule)?;
                Some((*index, position))
            })
            .collect();
        if matching.is_empty() {
            allowed.violations.push(violation);
            continue;
        }
        // An allow on the finding's own line comes before one on the line above.
        let reasoned = matching
            .iter()
            .filter(|(index, _)| model.allows[*index].reason.is_some())
            .min_by_key(|(index, _)| violation.site.line != model.allows[*index].comment.site.line);
        match reasoned {
            Some((index, position)) => {
                used[*index][*position] = true;
                let allow = &model.allows[*index];
                allowed.suppressed.push(Suppressed {
                    violation,
                    reason: allow.reason.clone().unwrap_or_default(),
                    allow: allow.comment.site.clone(),
                });
            }
            None => {
                for (index, position) in &matching {
                    used[*index][*position] = true;
                }
                let line = model.allows[matching[0].0].comment.site.line;
                violation.message.push_str(&format!(
                    " (the `seams:allow` on line {line} gives no reason, so it does not apply: write one after a colon)"
                ));
                allowed.violations.push(violation);
            }
        }
    }
    for (allow, used) in model.allows.iter().zip(&used) {
        for ((rule, site), used) in allow.rules.iter().zip(used) {
            if *used {
                continue;
            }
            let rule_name = rule.as_str();
            let place = if allow.comment.alone { "on its line or the next" } else { "on its line" };
            let message = match &allow.reason {
                Some(_) => format!("`seams:allow({rule_name})` suppresses nothing: no `{rule_name}` finding {place}"),
                None => format!(
                    "`seams:allow({rule_name})` suppresses nothing: no `{rule_name}` finding {place}, and it gives no reason"
                ),
            };
            allowed.unused.push(Violation::new(
                RuleCode::UnusedAllow,
                Finding {
                    from_module: allow.module.clone(),
                    to_module: String::new(),
                    source: allow.source.clone(),
                    site: site.clone(),
                    target: rule_name.to_owned(),
                },
                Words {
                    message,
                    label: "suppresses nothing".to_owned(),
                    help: "remove the allow: the finding it excused is gone, or it stands on another line (an allow covers its own line, and the next when it is alone on its line)".to_owned(),
                },
                ViolationDetails::None,
            ));
        }
    }
    allowed
}

/// The lines, by file, where a reasoned allow of `rule` would suppress a finding: what `sync`
/// leaves out of `depends_on` for `undeclared-dependency`.
pub(crate) fn allowed_lines(model: &Model, rule: RuleCode) -> HashSet<(String, usize)> {
    let mut lines = HashSet::new();
    for allow in model.allows.iter().filter(|allow| allow.reason.is_some()) {
        if !allow.rules.iter().any(|(allowed, _)| *allowed == rule) {
            continue;
        }
        let comment = &allow.comment;
        for line in (comment.site.line..=comment.last_line + 1).filter(|line| comment.covers(*line)) {
            lines.insert((allow.source.file.clone(), line));
        }
    }
    lines
}
