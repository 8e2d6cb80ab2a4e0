//! Fuzz target: a source file's analysis (the one syn parse, reference extraction and SQL found
//! in literals) on arbitrary bytes.
//!
//! It runs the way the checker runs it: text that is not UTF-8 is turned away before analysis,
//! and the analysis runs on a thread with the checker's large stack, since deep nesting is
//! expected to recurse deeply there rather than to fail.
//!
//! Build it with `cargo fuzz run --no-cfg-fuzzing`: under `cfg(fuzzing)` proc-macro2 drops span
//! locations, every site would be at line 0, and the site checks below would fail on any input.

#![no_main]

use std::collections::BTreeMap;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use seams::extract::{FileContext, FileFacts, Site, analyse_source};

/// The checker's parser stack (`PARSER_STACK_BYTES` in `lints/src/model.rs`).
const PARSER_STACK_BYTES: usize = 256 * 1024 * 1024;

fn analyse(text: &str) -> FileFacts {
    // Unit 0 is the file's own crate; `other` is a workspace library (unit 1), `serde` is not.
    let prelude: BTreeMap<String, Option<usize>> =
        [("other".to_owned(), Some(1)), ("serde".to_owned(), None), ("std".to_owned(), None)].into();
    let root_aliases = BTreeMap::new();
    let module_path = vec!["orders".to_owned(), "store".to_owned()];
    let context = FileContext {
        unit: 0,
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
    analyse_source(&context, text)
}

/// Reports label and slice the file with these ranges, so they must lie inside it.
fn assert_inside(site: &Site, text: &str, what: &str) {
    assert!(
        site.bytes.start <= site.bytes.end && site.bytes.end <= text.len() && site.line >= 1 && site.column >= 1,
        "{what} site {site:?} is outside a text of {} bytes",
        text.len()
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let text = text.to_owned();
    let outcome = std::thread::Builder::new()
        .stack_size(PARSER_STACK_BYTES)
        .spawn(move || {
            seams_fuzz::crash_on_escaping_panic(|| {
                let facts = analyse(&text);
                for reference in &facts.references {
                    assert_inside(&reference.site, &text, "reference");
                }
                for child in &facts.children {
                    assert_inside(&child.site, &text, "module declaration");
                }
                for table in &facts.tables {
                    assert_inside(&table.site, &text, "table");
                }
                for problem in &facts.sql_problems {
                    assert_inside(&problem.site, &text, "SQL problem");
                }
                if let Some(failure) = &facts.parse_error {
                    assert!(failure.bytes.end <= text.len(), "parse error range {:?} is past the end", failure.bytes);
                }
            })
        })
        .expect("a fuzzing thread can be spawned")
        .join();
    if outcome.is_err() {
        std::process::abort();
    }
});
