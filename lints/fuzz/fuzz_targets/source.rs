//! Fuzz target: a source file's analysis (the one syn parse, reference extraction and SQL found
//! in literals) on arbitrary bytes; the properties checked are in `seams::fuzzing::source`.
//!
//! It runs the way the checker runs it: text that is not UTF-8 is turned away before analysis,
//! and the analysis runs on a thread with the checker's large stack, since deep nesting is
//! expected to recurse deeply there rather than to fail.
//!
//! Build it with `cargo fuzz run --no-cfg-fuzzing`: under `cfg(fuzzing)` proc-macro2 drops span
//! locations, every site would be at line 0, and the site checks would fail on any input.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let text = text.to_owned();
    let outcome = std::thread::Builder::new()
        .stack_size(seams::fuzzing::PARSER_STACK_BYTES)
        .spawn(move || seams_fuzz::crash_on_escaping_panic(|| seams::fuzzing::source(&text)))
        .expect("a fuzzing thread can be spawned")
        .join();
    if outcome.is_err() {
        std::process::abort();
    }
});
