//! A circuit breaker per peer: closed, open, half-open.
//!
//! After `failure_threshold` consecutive failures the breaker opens and calls fail at once, without touching the
//! network, for `open_duration`. Then one trial call is let through (half-open): its success closes the breaker and
//! its failure opens it again. This keeps a dead service from making every caller wait for its own timeout.
//!
//! A trial call can end without reporting anything, for example when the request that made it is cancelled and its
//! future dropped. So the trial expires after `trial_expiry` (the longest a call may take), and the next call
//! becomes the new trial instead of the breaker staying half-open for ever.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BreakerState {
    Closed { consecutive_failures: u32 },
    Open { until: Instant },
    HalfOpen { trial_started_at: Instant },
}

/// The public name of a breaker's state, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerPosition {
    /// Calls go through.
    Closed,
    /// Calls fail at once.
    Open,
    /// One trial call may go through.
    HalfOpen,
}

/// One peer's breaker.
#[derive(Debug)]
pub struct CircuitBreaker {
    state: Mutex<BreakerState>,
    failure_threshold: u32,
    open_duration: Duration,
    trial_expiry: Duration,
}

impl CircuitBreaker {
    /// A closed breaker that opens after `failure_threshold` consecutive failures, for `open_duration`, and whose
    /// trial call is presumed lost if it reports nothing within `trial_expiry`.
    pub fn new(failure_threshold: u32, open_duration: Duration, trial_expiry: Duration) -> CircuitBreaker {
        CircuitBreaker {
            state: Mutex::new(BreakerState::Closed { consecutive_failures: 0 }),
            failure_threshold: failure_threshold.max(1),
            open_duration,
            trial_expiry,
        }
    }

    /// Asks to make a call now; `false` means fail fast without calling.
    pub fn allow_call(&self) -> bool {
        self.allow_call_at(Instant::now())
    }

    fn allow_call_at(&self, now: Instant) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return true;
        };
        match *state {
            BreakerState::Closed { .. } => true,
            BreakerState::Open { until } if now < until => false,
            BreakerState::HalfOpen { trial_started_at } if now < trial_started_at + self.trial_expiry => false,
            // The breaker has waited long enough, or the last trial was lost: this call is the trial.
            BreakerState::Open { .. } | BreakerState::HalfOpen { .. } => {
                *state = BreakerState::HalfOpen { trial_started_at: now };
                true
            }
        }
    }

    /// Reports that a call reached the peer and got an answer.
    pub fn record_success(&self) {
        if let Ok(mut state) = self.state.lock() {
            *state = BreakerState::Closed { consecutive_failures: 0 };
        }
    }

    /// Reports that a call failed to reach the peer or timed out.
    pub fn record_failure(&self) {
        self.record_failure_at(Instant::now());
    }

    fn record_failure_at(&self, now: Instant) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        *state = match *state {
            BreakerState::Closed { consecutive_failures } if consecutive_failures + 1 < self.failure_threshold => {
                BreakerState::Closed { consecutive_failures: consecutive_failures + 1 }
            }
            BreakerState::Open { until } => BreakerState::Open { until },
            _ => BreakerState::Open { until: now + self.open_duration },
        };
    }

    /// The current position.
    pub fn position(&self) -> BreakerPosition {
        match self.state.lock().map(|state| *state) {
            Ok(BreakerState::Closed { .. }) | Err(_) => BreakerPosition::Closed,
            Ok(BreakerState::Open { .. }) => BreakerPosition::Open,
            Ok(BreakerState::HalfOpen { .. }) => BreakerPosition::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_then_half_opens_and_closes_on_success() {
        let breaker = CircuitBreaker::new(3, Duration::from_secs(10), Duration::from_secs(5));
        let start = Instant::now();
        for _ in 0..2 {
            breaker.record_failure_at(start);
        }
        assert_eq!(breaker.position(), BreakerPosition::Closed);
        breaker.record_failure_at(start);
        assert_eq!(breaker.position(), BreakerPosition::Open);
        assert!(!breaker.allow_call_at(start + Duration::from_secs(9)));
        assert!(breaker.allow_call_at(start + Duration::from_secs(10)));
        assert_eq!(breaker.position(), BreakerPosition::HalfOpen);
        assert!(!breaker.allow_call_at(start + Duration::from_secs(10)), "only one trial call at a time");
        breaker.record_success();
        assert_eq!(breaker.position(), BreakerPosition::Closed);
    }

    #[test]
    fn failed_trial_reopens_and_success_resets_the_count() {
        let breaker = CircuitBreaker::new(2, Duration::from_secs(1), Duration::from_secs(5));
        let start = Instant::now();
        breaker.record_failure_at(start);
        breaker.record_success();
        breaker.record_failure_at(start);
        assert_eq!(breaker.position(), BreakerPosition::Closed);
        breaker.record_failure_at(start);
        assert!(breaker.allow_call_at(start + Duration::from_secs(2)));
        breaker.record_failure_at(start + Duration::from_secs(2));
        assert_eq!(breaker.position(), BreakerPosition::Open);
        assert!(!breaker.allow_call_at(start + Duration::from_millis(2_500)));
    }

    #[test]
    fn a_trial_that_never_reports_expires_and_the_next_call_becomes_the_trial() {
        let breaker = CircuitBreaker::new(1, Duration::from_secs(1), Duration::from_secs(3));
        let start = Instant::now();
        breaker.record_failure_at(start);
        let trial_at = start + Duration::from_secs(1);
        assert!(breaker.allow_call_at(trial_at), "the first call after the open period is the trial");
        // The trial's future is dropped here: it records neither success nor failure.
        assert!(!breaker.allow_call_at(trial_at + Duration::from_millis(2_999)), "the trial is still presumed alive");
        assert_eq!(breaker.position(), BreakerPosition::HalfOpen);
        assert!(breaker.allow_call_at(trial_at + Duration::from_secs(3)), "a lost trial expires");
        assert!(!breaker.allow_call_at(trial_at + Duration::from_secs(3)), "and only one new trial goes through");
        breaker.record_success();
        assert_eq!(breaker.position(), BreakerPosition::Closed);
    }
}
