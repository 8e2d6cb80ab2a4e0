//! `unused-dependency`: a `depends_on` entry that the module's code never uses.
//!
//! # What it checks
//! Every entry of a module's `depends_on` must be used: the module's checked code must hold at
//! least one reference into the named module. An entry that none backs is reported at the entry
//! in `boundaries.toml`. It is a warning unless `[defaults] exact = true` (or `severity`) makes
//! it an error.
//!
//! # Why it matters
//! `depends_on` is read as the architecture. An entry that the code no longer needs claims a
//! coupling that does not exist, and silently allows it to come back.
//!
//! # Example
//! ```toml
//! [modules.orders]
//! crate = "shop"
//! path = "orders"
//! depends_on = ["payments", "shipping"]   # nothing in orders uses shipping
//! ```

use std::sync::Arc;

use crate::diagnostic::{Finding, RuleCode, Site, SourceRef, Violation, ViolationDetails, Words, line_column};
use crate::model::{Model, ModuleId};

pub(crate) fn check(model: &Model, sink: &mut Vec<Violation>) {
    let config = &model.config;
    let source = SourceRef { file: model.workspace.relative_path(&config.path), text: Arc::clone(&config.source) };
    for (from, module) in model.modules.with_ids() {
        let entry = model.module_config(from);
        for dependency in entry.depends_on.iter().flatten() {
            let Some(to) = module_named(model, dependency.get_ref()) else { continue };
            if model.graph.dependency(from, to).is_some_and(|edge| edge.is_actual()) {
                continue;
            }
            let span = dependency.span();
            let (line, column) = line_column(&config.source, span.start);
            let name = dependency.get_ref();
            let message = if to == from {
                format!("module `{}` lists itself in its `depends_on`", module.name)
            } else {
                format!("module `{}` declares a dependency on `{name}`, but its code never uses `{name}`", module.name)
            };
            let help = format!(
                "remove \"{name}\" from `depends_on` in [modules.{}], so that the file describes the dependencies the code has",
                module.name
            );
            sink.push(Violation::new(
                RuleCode::UnusedDependency,
                Finding {
                    from_module: module.name.clone(),
                    to_module: name.clone(),
                    source: source.clone(),
                    site: Site { line, column, bytes: span },
                    target: name.clone(),
                },
                Words { message, label: "never used".to_owned(), help },
                ViolationDetails::None,
            ));
        }
    }
}

/// The module of `boundaries.toml` with this name.
fn module_named(model: &Model, name: &str) -> Option<ModuleId> {
    model.modules.with_ids().find(|(_, module)| module.name == name).map(|(id, _)| id)
}
