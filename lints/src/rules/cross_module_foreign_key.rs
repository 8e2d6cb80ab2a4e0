//! `cross-module-foreign-key`: a table declares a foreign key to a table of another module.
//!
//! # What it checks
//! For every `REFERENCES` clause (in a column constraint, a table-level `FOREIGN KEY`, or
//! `ALTER TABLE … ADD CONSTRAINT`), the owner of the declaring table and the owner of the
//! referenced table must be the same module. It is reported at the referenced table's name.
//!
//! # Why it matters
//! A foreign key makes the database enforce a link between two modules' data: neither table can
//! move to another database, so neither module can be extracted, and a migration in one module
//! can fail because of rows in the other. Across modules, keep the other module's id as a plain
//! column and let the owner's API validate it.
//!
//! # Example
//! ```sql
//! -- in `orders`' migration, while `customers` owns customers:
//! CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT REFERENCES customers (id));
//! ```

use super::common::{table_violation, with_guidance};
use crate::diagnostic::{RuleCode, Violation, Words};
use crate::model::Model;
use crate::sql::TableAccess;

pub(crate) fn check(model: &Model, sink: &mut Vec<Violation>) {
    for site in &model.tables.uses {
        if site.access != TableAccess::ForeignKey {
            continue;
        }
        let referenced_owners = model.tables.owners(&site.name);
        let declaring_table = site.declared_by.clone().unwrap_or_default();
        let mut declaring_owners = model.tables.owners(&declaring_table);
        if declaring_owners.is_empty() {
            declaring_owners.insert(site.module);
        }
        if referenced_owners.is_empty() || !declaring_owners.is_disjoint(&referenced_owners) {
            continue;
        }
        let by_name = |owners: &std::collections::BTreeSet<crate::model::ModuleId>| {
            owners.iter().copied().min_by_key(|owner| model.modules[*owner].name.clone())
        };
        let (Some(from), Some(to)) = (by_name(&declaring_owners), by_name(&referenced_owners)) else { continue };
        let from_name = &model.modules[from].name;
        let to_name = &model.modules[to].name;
        let message = format!(
            "table `{declaring_table}` of module `{from_name}` has a foreign key to table `{}` of module `{to_name}`",
            site.name
        );
        let label = format!("owned by `{to_name}`");
        let help = format!(
            "keep the id as a plain column and validate it through `{to_name}`'s API: a foreign key across modules ties both tables to one database, so neither module can be extracted"
        );
        let help = with_guidance(model, to, help);
        sink.push(table_violation(
            model,
            RuleCode::CrossModuleForeignKey,
            site,
            from,
            Some(to),
            Words { message, label, help },
        ));
    }
}
