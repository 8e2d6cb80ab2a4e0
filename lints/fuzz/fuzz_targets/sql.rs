//! Fuzz target: SQL detection and table extraction on the text of any string literal.
//!
//! The checker runs `looks_like_sql` on every literal of a workspace and parses those it accepts,
//! so both must cope with any text. Extraction runs on every input, not only SQL-looking ones, to
//! reach the parser's error paths as well. The properties checked are in `seams::fuzzing::sql`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    seams_fuzz::crash_on_escaping_panic(|| seams::fuzzing::sql(text));
});
