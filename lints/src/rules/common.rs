//! What the rules share: the violation shells they fill in, and the guidance of a module that
//! `boundaries.toml` adds to a help line.

use std::sync::Arc;

use crate::diagnostic::{Finding, RuleCode, SourceRef, Violation, ViolationDetails, Words};
use crate::model::{CrossReference, Model, ModuleId, TableSite};

/// The violation shell for a cross-module reference; the rule fills in the words.
pub(crate) fn reference_violation(
    model: &Model,
    cross: &CrossReference<'_>,
    rule: RuleCode,
    words: Words,
) -> Violation {
    Violation::new(
        rule,
        Finding {
            from_module: model.modules[cross.from].name.clone(),
            to_module: model.modules[cross.to].name.clone(),
            source: SourceRef { file: cross.file.relative.clone(), text: Arc::clone(&cross.file.text) },
            site: cross.reference.site.clone(),
            target: model.display_target(cross.file.unit, &cross.reference.target),
        },
        words,
        ViolationDetails::None,
    )
}

/// A violation at a table use: the shell that the table rules fill in.
pub(crate) fn table_violation(
    model: &Model,
    rule: RuleCode,
    site: &TableSite,
    from: ModuleId,
    to: Option<ModuleId>,
    words: Words,
) -> Violation {
    let to_name = to.map(|to| model.modules[to].name.clone());
    Violation::new(
        rule,
        Finding {
            from_module: model.modules[from].name.clone(),
            to_module: to_name.clone().unwrap_or_default(),
            source: site.source.clone(),
            site: site.site.clone(),
            target: site.name.clone(),
        },
        words,
        ViolationDetails::Table { owner: to_name },
    )
}

/// The module's guidance from `boundaries.toml` (`why`, `instructions`), appended to a help line.
pub(crate) fn with_guidance(model: &Model, module: ModuleId, help: String) -> String {
    let entry = model.module_config(module);
    let mut help = help;
    if let Some(instructions) = &entry.instructions {
        help.push_str(&format!("; {}: {instructions}", model.modules[module].name));
    }
    if let Some(why) = &entry.why {
        help.push_str(&format!(" (why: {why})"));
    }
    help
}
