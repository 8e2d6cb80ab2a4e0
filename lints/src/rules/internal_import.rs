//! `internal-import`: a module refers to another module's internals.
//!
//! # What it checks
//! Every path written in module A's code (a `use`, an expression, a type, a pattern, a bound, an
//! `impl` header, a macro argument) is resolved to an absolute path. When it points into module
//! B ≠ A, the first segment below B's root must be one of B's `public` names.
//!
//! # Why it matters
//! A module's public API is the contract that lets its internals change, and later lets it be
//! extracted as a service: code that reaches past the API couples to the implementation.
//!
//! # Example
//! ```text
//! use crate::payments::ledger::Ledger;   // `ledger` is internal to `payments`
//! use crate::payments::api::Payments;    // fine: `api` is public
//! ```

use std::collections::HashMap;

use super::common::{reference_violation, with_guidance};
use crate::diagnostic::{RuleCode, Violation, Words};
use crate::extract::{ReferenceKind, Target};
use crate::model::{Model, ModuleId};

pub(crate) fn check(model: &Model, sink: &mut Vec<Violation>) {
    let reexports = public_reexports(model);
    for cross in model.cross_module_references() {
        let to = &model.modules[cross.to];
        if to.is_public_path(cross.below_root) {
            continue;
        }
        // A later path that goes through a `use` which was itself reported is not reported again.
        if let Some(via) = &cross.reference.via_import
            && let Some((via_owner, via_below)) = model.target_owner(via)
            && via_owner == cross.to
            && !to.is_public_path(via_below)
        {
            continue;
        }
        let from = &model.modules[cross.from];
        let internal = cross.below_root.first().map(String::as_str).unwrap_or_default();
        let target = model.display_target(cross.file.unit, &cross.reference.target);
        let message =
            format!("module `{}` reaches into `{}`, which is internal to module `{}`", from.name, target, to.name);
        let label = if internal == "*" {
            "glob import of internals".to_owned()
        } else {
            format!("`{internal}` is internal to `{}`", to.name)
        };
        let alternative = reexports
            .get(&(cross.to, cross.reference.target.clone()))
            .map(|public_path| model.display_target(cross.file.unit, public_path));
        let help = match &alternative {
            Some(alternative) => format!("use the public path `{alternative}` instead"),
            None if internal == "*" => format!(
                "a glob of `{}`'s root brings its internals into scope: import what you need from its public API by name",
                to.name
            ),
            None => {
                let public_roots: Vec<String> = to
                    .public
                    .iter()
                    .map(|name| {
                        let mut path = to.prefix.clone();
                        path.push(name.clone());
                        model.display_target(
                            cross.file.unit,
                            &crate::extract::Target { unit: cross.reference.target.unit, segments: path },
                        )
                    })
                    .collect();
                format!(
                    "go through `{}`'s public API ({}), or, if `{internal}` is meant to be public, add it to `public` in [modules.{}] of boundaries.toml",
                    to.name,
                    public_roots.join(", "),
                    to.name
                )
            }
        };
        let help = with_guidance(model, cross.to, help);
        // A glob's site is the whole `use` tree's path; only a named item has one public path.
        let suggestion = alternative.filter(|_| internal != "*");
        sink.push(
            reference_violation(model, &cross, RuleCode::InternalImport, Words { message, label, help })
                .with_suggestion(suggestion),
        );
    }
}

/// Public paths to internal items: every `pub use` in a module's public part, keyed by the module
/// and the item it re-exports, so that a violation's help can name the public way to the same
/// item. Built once, not searched per violation.
fn public_reexports(model: &Model) -> HashMap<(ModuleId, Target), Target> {
    let mut reexports = HashMap::new();
    for file in &model.files {
        for reference in file.references() {
            if !matches!(reference.kind, ReferenceKind::Use { reexport: true }) {
                continue;
            }
            let Some(module_id) = model.owner_of(file.unit, &reference.scope) else { continue };
            let module = &model.modules[module_id];
            let below_root = &reference.scope[module.prefix.len()..];
            let Some(name) = reference.target.segments.last().filter(|name| *name != "*") else { continue };
            if below_root.is_empty() || !module.is_public_path(below_root) || renamed(&file.text, &reference.site) {
                continue;
            }
            let mut segments = reference.scope.clone();
            segments.push(name.clone());
            reexports.entry((module_id, reference.target.clone())).or_insert(Target { unit: file.unit, segments });
        }
    }
    reexports
}

/// Whether a `use` leaf is renamed (`… as other`): its public name is then not the item's, and
/// the extracted facts keep only the path.
fn renamed(text: &str, site: &crate::diagnostic::Site) -> bool {
    let rest = text.get(site.bytes.end..).unwrap_or_default().trim_start();
    rest.strip_prefix("as").is_some_and(|after| after.starts_with(|character: char| character.is_whitespace()))
}
