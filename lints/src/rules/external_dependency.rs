//! `external-dependency`: a module names a crate from outside the workspace that its `external`
//! or `forbid_external` refuses.
//!
//! # What it checks
//! `external = ["serde", "thiserror"]` lists the only crates from outside the workspace that a
//! module's code may name, and `forbid_external = ["sqlx"]` crates it must not name; both may
//! also stand in `[defaults]`. Every path in the module's code that names a refused crate is
//! reported where it is written: `use`, `extern crate`, paths in expressions, types and
//! attributes, and macro paths and arguments, with Cargo renames and `extern crate … as …`
//! undone. `std`, `core`, `alloc`, `proc_macro` and `test` are always allowed. For a whole-crate
//! module, a refused crate that its `Cargo.toml` lists is also reported at that line.
//!
//! # Why it matters
//! Which module talks to the database, the network or a serialization format is part of the
//! architecture: when any module can reach for `sqlx` or `reqwest`, storage and transport leak
//! into the domain one convenient call at a time, and no module can be moved or tested alone.
//!
//! # Example
//! ```toml
//! [modules.domain]
//! crate = "shop"
//! path = "domain"
//! external = ["serde", "thiserror"]   # `use sqlx::PgPool;` in domain is reported
//! ```

use std::sync::Arc;

use super::common::with_guidance;
use crate::diagnostic::{Finding, RuleCode, Site, SourceRef, Violation, ViolationDetails, Words};
use crate::model::{ExternalVerdict, Level, Model, ModuleId};

pub(crate) fn check(model: &Model, sink: &mut Vec<Violation>) {
    if model.modules.iter().all(|module| module.external.is_open()) {
        return;
    }
    for file in &model.files {
        for reference in &file.facts.external_references {
            // A path through a `use` of the same crate in the same module was reported at the `use`.
            if reference.via_import {
                continue;
            }
            let Some(from) = model.owner_of(file.unit, &reference.scope) else { continue };
            let verdict = model.modules[from].external.verdict(&reference.package);
            if verdict == ExternalVerdict::Allowed {
                continue;
            }
            let crate_name = reference.package.replace('-', "_");
            let target = std::iter::once(crate_name.as_str())
                .chain(reference.segments.iter().map(String::as_str))
                .collect::<Vec<_>>();
            let place = Place {
                source: SourceRef { file: file.relative.clone(), text: Arc::clone(&file.text) },
                site: reference.site.clone(),
                target: target.join("::"),
            };
            sink.push(violation(model, from, &reference.package, &verdict, place, false));
        }
    }
    for dependency in &model.manifest_dependencies {
        let verdict = model.modules[dependency.module].external.verdict(&dependency.package);
        if verdict == ExternalVerdict::Allowed {
            continue;
        }
        let place = Place {
            source: dependency.source.clone(),
            site: dependency.site.clone(),
            target: dependency.package.clone(),
        };
        sink.push(violation(model, dependency.module, &dependency.package, &verdict, place, true));
    }
}

/// Where a finding stands, and what it names there.
struct Place {
    source: SourceRef,
    site: Site,
    target: String,
}

fn violation(
    model: &Model,
    from: ModuleId,
    package: &str,
    verdict: &ExternalVerdict,
    place: Place,
    in_manifest: bool,
) -> Violation {
    let module = &model.modules[from].name;
    let table = |level: &Level| match level {
        Level::Module => format!("[modules.{module}]"),
        Level::Defaults => "[defaults]".to_owned(),
    };
    let (why, label, fix) = match verdict {
        ExternalVerdict::Forbidden { pattern, level } => {
            let named = if crate::config::normalize_crate_name(package) == *pattern {
                String::new()
            } else {
                format!(" (pattern `{pattern}`)")
            };
            let fix = match level {
                Level::Module => format!(
                    "move the code into a module that may use `{package}`; `forbid_external` in {} of boundaries.toml says `{module}` must never name it",
                    table(level)
                ),
                Level::Defaults => format!(
                    "move the code into a module whose own `external` lists `{package}`; `forbid_external` in [defaults] of boundaries.toml forbids it everywhere else"
                ),
            };
            (
                format!("which `forbid_external` in {}{named} forbids", table(level)),
                format!("`{package}` is forbidden here"),
                fix,
            )
        }
        ExternalVerdict::NotListed { level } => {
            let fix = match level {
                Level::Module => {
                    format!(
                        "add \"{package}\" to `external` in [modules.{module}] of boundaries.toml if it is intended"
                    )
                }
                Level::Defaults => format!(
                    "add \"{package}\" to `external` in [defaults] of boundaries.toml, or give [modules.{module}] an `external` of its own that lists it, if it is intended"
                ),
            };
            (
                format!("which is not in `external` of {}", table(level)),
                format!("`{package}` is not in `external`"),
                fix,
            )
        }
        ExternalVerdict::Allowed => (String::new(), String::new(), String::new()),
    };
    let (message, label, help) = if in_manifest {
        (
            format!("the manifest of module `{module}` lists crate `{package}`, {why}"),
            "listed here".to_owned(),
            format!("remove the dependency and the code that uses it, or {fix}"),
        )
    } else {
        // `extern crate x;` and `use x;` name the crate alone.
        let path = if place.target.contains("::") { format!(" (`{}`)", place.target) } else { String::new() };
        (format!("module `{module}` uses crate `{package}`{path}, {why}"), label, format!("remove the use, or {fix}"))
    };
    Violation::new(
        RuleCode::ExternalDependency,
        Finding {
            from_module: module.clone(),
            to_module: package.to_owned(),
            source: place.source,
            site: place.site,
            target: place.target,
        },
        Words { message, label, help: with_guidance(model, from, help) },
        ViolationDetails::None,
    )
}
