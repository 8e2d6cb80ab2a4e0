//! `unowned-table`: with `require_owner = true`, a module's SQL names a table no module owns.
//!
//! # What it checks
//! Only when `[defaults] require_owner = true`: every table named in a module's SQL must be
//! owned by some module (through `tables`, a `CREATE TABLE` in its SQL, or an ORM declaration).
//! Without the setting, unowned tables are only listed under `unowned_tables` in JSON.
//!
//! # Why it matters
//! A table nobody owns is a table everybody may change. Requiring an owner makes every table's
//! future, including which service keeps it after an extraction, a decision someone has made.
//!
//! # Example
//! ```toml
//! [defaults]
//! require_owner = true   # `SELECT * FROM legacy_settings` now needs an owner for legacy_settings
//! ```

use super::common::table_violation;
use crate::diagnostic::{RuleCode, Violation, Words};
use crate::model::Model;

pub(crate) fn check(model: &Model, sink: &mut Vec<Violation>) {
    if !model.config.defaults.require_owner {
        return;
    }
    for site in &model.tables.uses {
        if !model.tables.owners(&site.name).is_empty() {
            continue;
        }
        let from = &model.modules[site.module].name;
        let message = format!("module `{from}` uses table `{}`, which no module owns", site.name);
        let label = "no owner".to_owned();
        let help = format!(
            "add \"{}\" to `tables` of the module that owns it in boundaries.toml, or create it in that module's migrations",
            site.name
        );
        sink.push(table_violation(
            model,
            RuleCode::UnownedTable,
            site,
            site.module,
            None,
            Words { message, label, help },
        ));
    }
}
