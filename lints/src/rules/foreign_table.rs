//! `foreign-table`: a module's SQL reads or writes a table that another module owns.
//!
//! # What it checks
//! Every table named in a module's SQL (string literals in its code, `.sql` files under its
//! directory, files named by `sqlx::query_file!`) is looked up in the ownership claims. Naming a
//! table that another module owns, in any statement but `REFERENCES` (see
//! `cross-module-foreign-key`), is a violation, reported at the table name.
//!
//! # Why it matters
//! A table is part of its owner's implementation, exactly like an internal type. A query from
//! outside couples two modules through the schema, where no API review sees it, and it is the
//! first thing that breaks when the owner becomes a service with its own database.
//!
//! # Example
//! ```sql
//! -- in module `orders`, while `payments` owns payments_*:
//! SELECT amount FROM payments_ledger WHERE order_id = $1
//! ```

use super::common::{table_violation, with_guidance};
use crate::diagnostic::{RuleCode, Violation, Words};
use crate::model::Model;
use crate::sql::TableAccess;

pub(crate) fn check(model: &Model, sink: &mut Vec<Violation>) {
    for site in &model.tables.uses {
        if site.access == TableAccess::ForeignKey {
            continue;
        }
        let owners = model.tables.owners(&site.name);
        if owners.is_empty() || owners.contains(&site.module) {
            continue;
        }
        let Some(owner) = owners.iter().copied().min_by_key(|owner| &model.modules[*owner].name) else { continue };
        let from = &model.modules[site.module].name;
        let owner_name = &model.modules[owner].name;
        let verb = match site.access {
            TableAccess::Read => "reads",
            TableAccess::Write => "writes",
            TableAccess::Create => "creates",
            TableAccess::Alter => "alters",
            TableAccess::Drop => "drops",
            TableAccess::Truncate => "truncates",
            TableAccess::Index => "indexes",
            TableAccess::ForeignKey => "references",
        };
        let message = format!("module `{from}` {verb} table `{}`, which module `{owner_name}` owns", site.name);
        let label = format!("owned by `{owner_name}`");
        let help = format!(
            "call `{owner_name}`'s public API for this data, or move the query into `{owner_name}`; a module's tables are reached only through its owner"
        );
        let help = with_guidance(model, owner, help);
        sink.push(table_violation(
            model,
            RuleCode::ForeignTable,
            site,
            site.module,
            Some(owner),
            Words { message, label, help },
        ));
    }
}
