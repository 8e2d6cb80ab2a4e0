//! The wall clock, in whole seconds since the Unix epoch, which is the unit every stored timestamp uses.

use std::time::{SystemTime, UNIX_EPOCH};

/// Returns the current time in seconds since the Unix epoch.
///
/// A clock set before 1970 is treated as the epoch itself rather than a panic, because a wrong clock must not crash
/// a request.
pub fn now_unix_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
