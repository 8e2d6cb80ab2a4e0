//! What the fuzz targets share: the rule that only a panic escaping seams' own API is a crash.
//!
//! libFuzzer's harness aborts on every panic, even one that seams catches on purpose (sqlparser
//! runs under `catch_unwind`, and a file whose analysis panics becomes an `internal-error`
//! warning). Those caught panics are still printed, so that a campaign's log shows them, but only
//! a panic that reaches the target is turned into an abort, which libFuzzer records as a crash.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

static PRINT_WITHOUT_ABORTING: Once = Once::new();

/// Runs `body`, and aborts the process when a panic escapes it.
pub fn crash_on_escaping_panic<T>(body: impl FnOnce() -> T) -> T {
    PRINT_WITHOUT_ABORTING.call_once(|| {
        // Replaces the aborting hook that libfuzzer-sys installs with the default one, which prints.
        let _ = std::panic::take_hook();
    });
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(_) => std::process::abort(),
    }
}
