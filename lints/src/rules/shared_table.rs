//! `shared-table`: a table is claimed by two or more modules.
//!
//! # What it checks
//! A module claims a table through a `tables` pattern in `boundaries.toml`, a `CREATE TABLE`
//! in its own SQL, a diesel `table!` block or a sea-orm `table_name`. A table with two or more
//! claimants is reported once, at the first claim in code (or in `boundaries.toml` when every
//! claim is a pattern), with every claimant and its location in the message. In JSON its
//! `owner` is `null`, since no one module owns a shared table, and `claimants` lists the
//! claiming modules by name.
//!
//! # Why it matters
//! Shared tables are the strongest coupling between modules: both write the same rows with
//! their own invariants, and neither can change the schema alone. Database-per-service, the
//! prerequisite of any extraction, is impossible until each table has one owner.
//!
//! # Example
//! ```toml
//! [modules.points]
//! tables = ["points_*"]
//! [modules.audit]
//! tables = ["points_audit"]   # also matched by points_*: shared
//! ```

use std::collections::BTreeSet;

use super::common::with_guidance;
use crate::diagnostic::{Finding, RuleCode, Violation, ViolationDetails, Words};
use crate::model::Model;
use crate::model::{Claim, ClaimKind};

pub(crate) fn check(model: &Model, sink: &mut Vec<Violation>) {
    let catalog = &model.tables;
    for table in catalog.table_names() {
        let owners = catalog.owners(&table);
        if owners.len() < 2 {
            continue;
        }
        let matching: Vec<&Claim> =
            catalog.claims.iter().filter(|claim| crate::sql::table_pattern_matches(&claim.pattern, &table)).collect();
        let first = matching
            .iter()
            .filter(|claim| claim.kind == ClaimKind::Declared)
            .min_by(|a, b| (&a.source.file, &a.site).cmp(&(&b.source.file, &b.site)))
            .or_else(|| {
                matching
                    .iter()
                    .filter(|claim| claim.kind == ClaimKind::Configured)
                    .min_by_key(|claim| claim.site.bytes.start)
            });
        let Some(first) = first else { continue };
        let from = first.module;
        let others: BTreeSet<&str> =
            owners.iter().filter(|owner| **owner != from).map(|owner| model.modules[*owner].name.as_str()).collect();
        let Some(to_name) = others.iter().next().copied() else { continue };
        let to = model.modules.with_ids().find(|(_, module)| module.name == to_name).map_or(from, |(id, _)| id);
        let mut claimants: Vec<String> = matching
            .iter()
            .map(|claim| {
                let how = match claim.kind {
                    ClaimKind::Declared => "declares it",
                    ClaimKind::Configured => "claims it in boundaries.toml",
                };
                format!(
                    "`{}` {how} at {}:{}:{}",
                    model.modules[claim.module].name, claim.source.file, claim.site.line, claim.site.column
                )
            })
            .collect();
        claimants.sort();
        claimants.dedup();
        let names: Vec<&str> = owners.iter().map(|owner| model.modules[*owner].name.as_str()).collect();
        let message = format!("table `{table}` is claimed by {} modules: {}", owners.len(), claimants.join("; "));
        let help = format!(
            "give `{table}` one owner ({}): the others reach its data through the owner's API, or the table is split",
            names.join(" or ")
        );
        let help = with_guidance(model, to, help);
        let claimant_modules: BTreeSet<String> = names.iter().map(|name| (*name).to_owned()).collect();
        sink.push(Violation::new(
            RuleCode::SharedTable,
            Finding {
                from_module: model.modules[from].name.clone(),
                to_module: to_name.to_owned(),
                source: first.source.clone(),
                site: first.site.clone(),
                target: table.clone(),
            },
            Words {
                message,
                label: format!("also claimed by `{}`", others.into_iter().collect::<Vec<_>>().join("`, `")),
                help,
            },
            // No one module owns a shared table: that is the finding. JSON says `owner: null` and
            // lists the claimants, rather than crowning one of them.
            ViolationDetails::SharedTable { claimants: claimant_modules.into_iter().collect() },
        ));
    }
}
