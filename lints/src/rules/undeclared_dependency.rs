//! `undeclared-dependency`: a module uses a module that its `depends_on` does not list.
//!
//! # What it checks
//! When module A has a `depends_on` list, every path in A's code that points into module B ≠ A
//! (public or not) requires B in that list. It is reported at each place such a path is written.
//!
//! # Why it matters
//! `depends_on` is the intended direction of the architecture. A new dependency is a design
//! decision that should be made in review, in `boundaries.toml`, not discovered later as a cycle.
//!
//! # Example
//! ```toml
//! [modules.orders]
//! crate = "shop"
//! path = "modules::orders"
//! depends_on = ["payments"]   # orders may not use `shipping`
//! ```

use super::common::{reference_violation, with_guidance};
use crate::diagnostic::{RuleCode, Violation, Words};
use crate::model::Model;

pub(crate) fn check(model: &Model, sink: &mut Vec<Violation>) {
    for cross in model.cross_module_references() {
        let from = &model.modules[cross.from];
        let to = &model.modules[cross.to];
        let Some(allowed) = &from.depends_on else { continue };
        if allowed.contains(&to.name) {
            continue;
        }
        // A path through a `use` that already named the same module was reported at the `use`.
        if let Some(via) = &cross.reference.via_import
            && model.target_owner(via).is_some_and(|(owner, _)| owner == cross.to)
        {
            continue;
        }
        let target = model.display_target(cross.file.unit, &cross.reference.target);
        let message =
            format!("module `{}` uses module `{}` (`{target}`), which is not in its `depends_on`", from.name, to.name);
        let label = format!("`{}` is not a declared dependency", to.name);
        let help = format!(
            "add \"{}\" to `depends_on` in [modules.{}] of boundaries.toml if this dependency is intended, or remove the use",
            to.name, from.name
        );
        let help = with_guidance(model, cross.to, help);
        sink.push(reference_violation(model, &cross, RuleCode::UndeclaredDependency, Words { message, label, help }));
    }
}
