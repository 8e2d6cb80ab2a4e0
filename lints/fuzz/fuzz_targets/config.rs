//! Fuzz target: `boundaries.toml` parsing must return a configuration or an error, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `Config::load` rejects bytes that are not UTF-8 before parsing, so only text reaches `parse`.
    let Ok(text) = std::str::from_utf8(data) else { return };
    seams_fuzz::crash_on_escaping_panic(|| seams::fuzzing::config(text));
});
