//! Fuzz target: SQL detection and table extraction on the text of any string literal.
//!
//! The checker runs `looks_like_sql` on every literal of a workspace and parses those it accepts,
//! so both must cope with any text. Extraction runs on every input, not only SQL-looking ones, to
//! reach the parser's error paths as well.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    seams_fuzz::crash_on_escaping_panic(|| {
        let _ = seams::sql::looks_like_sql(text);
        let _ = seams::sql::looks_like_prose(text);
        match seams::sql::extract_table_references(text) {
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
    });
});
