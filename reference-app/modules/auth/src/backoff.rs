//! Failed logins back off per account: after a few wrong passwords for one e-mail, further attempts on it are
//! refused for a while, doubling with each further failure, without spending a hash on them.
//!
//! The table is keyed by the e-mail as given (normalised), whether or not an account has it: an unknown e-mail backs
//! off exactly as a known one does, so the answers tell an attacker nothing about which accounts exist. A correct
//! password ends the backoff. The table lives in memory, per process, and is bounded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong passwords in a row that cost nothing more than the answer.
const FREE_FAILURES: u32 = 3;
/// The first wait after the free failures; each further failure doubles it.
const FIRST_WAIT: Duration = Duration::from_secs(1);
/// The longest wait.
const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);
/// An e-mail whose last failure is older than this starts again from zero.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// The most e-mails remembered at once.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    in_a_row: u32,
    last_failure: Instant,
    blocked_until: Instant,
}

/// Failed logins per e-mail.
#[derive(Debug, Default)]
pub(crate) struct FailedLogins {
    entries: Mutex<HashMap<String, Failures>>,
}

/// How long to wait after `in_a_row` failures: nothing for the first few, then 1 s, 2 s, 4 s… up to 15 minutes.
pub(crate) fn wait_after(in_a_row: u32) -> Duration {
    if in_a_row <= FREE_FAILURES {
        return Duration::ZERO;
    }
    let doublings = (in_a_row - FREE_FAILURES - 1).min(20);
    FIRST_WAIT.saturating_mul(1 << doublings).min(LONGEST_WAIT)
}

impl FailedLogins {
    /// `Err(wait)` while `email` is backing off: the attempt must be refused without checking the password.
    pub(crate) fn check(&self, email: &str, now: Instant) -> Result<(), Duration> {
        let Ok(entries) = self.entries.lock() else {
            return Ok(());
        };
        match entries.get(email) {
            Some(failures) if failures.blocked_until > now => Err(failures.blocked_until - now),
            _ => Ok(()),
        }
    }

    /// Records a wrong password (or an unknown e-mail) for `email`.
    pub(crate) fn record_failure(&self, email: &str, now: Instant) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(email) {
            make_room(&mut entries, now);
        }
        let failures =
            entries.entry(email.to_owned()).or_insert(Failures { in_a_row: 0, last_failure: now, blocked_until: now });
        if now.duration_since(failures.last_failure) > FORGET_AFTER {
            failures.in_a_row = 0;
        }
        failures.in_a_row = failures.in_a_row.saturating_add(1);
        failures.last_failure = now;
        failures.blocked_until = now + wait_after(failures.in_a_row);
    }

    /// A correct password: `email` starts again from zero.
    pub(crate) fn record_success(&self, email: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(email);
        }
    }
}

/// Forgets e-mails that are no longer blocked; if that is not enough, the least recently failed half.
fn make_room(entries: &mut HashMap<String, Failures>, now: Instant) {
    entries.retain(|_, failures| failures.blocked_until > now);
    if entries.len() >= MAX_ENTRIES / 2 {
        let mut by_age: Vec<(Instant, String)> =
            entries.iter().map(|(email, failures)| (failures.last_failure, email.clone())).collect();
        let forget = by_age.len() - MAX_ENTRIES / 2;
        by_age.select_nth_unstable_by_key(forget, |(last_failure, _)| *last_failure);
        for (_, email) in &by_age[..forget] {
            entries.remove(email);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_after_the_free_failures_and_is_capped() {
        assert_eq!(wait_after(1), Duration::ZERO);
        assert_eq!(wait_after(FREE_FAILURES), Duration::ZERO);
        assert_eq!(wait_after(FREE_FAILURES + 1), Duration::from_secs(1));
        assert_eq!(wait_after(FREE_FAILURES + 2), Duration::from_secs(2));
        assert_eq!(wait_after(FREE_FAILURES + 5), Duration::from_secs(16));
        assert_eq!(wait_after(FREE_FAILURES + 40), LONGEST_WAIT);
        assert_eq!(wait_after(u32::MAX), LONGEST_WAIT);
    }

    #[test]
    fn an_email_is_blocked_after_repeated_failures_until_its_wait_is_over_and_a_success_clears_it() {
        let failed = FailedLogins::default();
        let start = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(failed.check("ana@example.com", start), Ok(()));
            failed.record_failure("ana@example.com", start);
        }
        assert_eq!(failed.check("ana@example.com", start), Ok(()), "the free failures cost nothing");
        failed.record_failure("ana@example.com", start);
        assert_eq!(failed.check("ana@example.com", start), Err(Duration::from_secs(1)));
        assert_eq!(failed.check("bea@example.com", start), Ok(()), "other e-mails are not affected");
        let later = start + Duration::from_secs(1);
        assert_eq!(failed.check("ana@example.com", later), Ok(()));
        failed.record_failure("ana@example.com", later);
        assert_eq!(failed.check("ana@example.com", later), Err(Duration::from_secs(2)));
        failed.record_success("ana@example.com");
        assert_eq!(failed.check("ana@example.com", later), Ok(()));
    }

    #[test]
    fn failures_long_ago_are_forgotten() {
        let failed = FailedLogins::default();
        let start = Instant::now();
        for _ in 0..=FREE_FAILURES {
            failed.record_failure("ana@example.com", start);
        }
        let much_later = start + FORGET_AFTER + Duration::from_secs(1);
        failed.record_failure("ana@example.com", much_later);
        assert_eq!(failed.check("ana@example.com", much_later), Ok(()), "the count started again from one");
    }
}
