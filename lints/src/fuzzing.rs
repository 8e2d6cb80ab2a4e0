//! The entry points of the fuzz targets (`lints/fuzz`, docs/fuzzing.md): each stage that reads
//! untrusted text, on its own, with the properties a target checks of what comes back. A broken
//! property panics, which the fuzz target records as a crash. They are public only so that the
//! fuzz targets, a workspace of their own, can call them; the seeds run through them in the tests.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::Config;
use crate::diagnostic::Site;
use crate::extract::{FileContext, analyse_source};
use crate::ids::UnitId;
use crate::sql::{extract_table_references, looks_like_prose, looks_like_sql};
use crate::workspace::{ExternPrelude, PreludeCrate};

/// The stack of the checker's parsing threads: [`source`] needs as much on deeply nested input.
pub const PARSER_STACK_BYTES: usize = crate::parse::PARSER_STACK_BYTES;

/// `boundaries.toml` parsing: a configuration or an error whose position and message can be
/// computed, for any text.
pub fn config(text: &str) {
    if let Err(error) = Config::parse(Path::new("boundaries.toml"), text.to_owned()) {
        let _ = error.line_column();
        let _ = error.to_string();
    }
}

/// SQL detection and table extraction on the text of a string literal: every table range and
/// error offset lies inside the text.
pub fn sql(text: &str) {
    let _ = looks_like_sql(text);
    let _ = looks_like_prose(text);
    match extract_table_references(text) {
        Ok(references) => {
            for reference in references {
                // Reports slice the literal with these ranges, so they must lie inside it.
                assert!(
                    text.get(reference.byte_range.clone()).is_some(),
                    "table range {:?} is not a slice of the text",
                    reference.byte_range
                );
            }
        }
        Err(error) => {
            if let Some(offset) = error.byte_offset {
                assert!(offset <= text.len(), "error offset {offset} is past the end of the text");
            }
        }
    }
}

/// One source file's analysis (the one syn parse, reference extraction and SQL in literals), as
/// `src/orders/store.rs` of a crate whose prelude has a workspace library `other` and an outside
/// crate `serde`: every site lies inside the text. Run it on a thread with the checker's parser
/// stack (see docs/fuzzing.md), as the checker does.
pub fn source(text: &str) {
    let (own, other) = (UnitId::new(0), UnitId::new(1));
    let prelude: ExternPrelude = [
        ("other".to_owned(), PreludeCrate::Workspace(other)),
        ("serde".to_owned(), PreludeCrate::External("serde".to_owned())),
        ("std".to_owned(), PreludeCrate::Unchecked),
    ]
    .into();
    let root_aliases = BTreeMap::new();
    let module_path = vec!["orders".to_owned(), "store".to_owned()];
    let context = FileContext {
        unit: own,
        file: Path::new("/fuzz/src/orders/store.rs"),
        module_path: &module_path,
        children_dir: Path::new("/fuzz/src/orders/store"),
        in_test: false,
        // Test code is analysed too, so that every extraction path is reached.
        include_tests: true,
        extern_prelude: &prelude,
        test_extern_prelude: &prelude,
        root_extern_aliases: &root_aliases,
    };
    let facts = analyse_source(&context, text);
    let inside = |site: &Site, what: &str| {
        assert!(
            site.bytes.start <= site.bytes.end && site.bytes.end <= text.len() && site.line >= 1 && site.column >= 1,
            "{what} site {site:?} is outside a text of {} bytes",
            text.len()
        );
    };
    facts.references.iter().for_each(|reference| inside(&reference.site, "reference"));
    facts.external_references.iter().for_each(|reference| inside(&reference.site, "outside crate reference"));
    facts.children.iter().for_each(|child| inside(&child.site, "module declaration"));
    facts.tables.iter().for_each(|table| inside(&table.site, "table"));
    facts.sql_problems.iter().for_each(|problem| inside(&problem.site, "SQL problem"));
    if let Some(failure) = &facts.parse_error {
        assert!(failure.bytes.end <= text.len(), "parse error range {:?} is past the end", failure.bytes);
    }
}
