//! A circuit breaker per peer: closed, open, half-open.
//!
//! After `failure_threshold` consecutive failures the breaker opens and calls fail at once, without touching the
//! network, for `open_duration`. Then one trial call is let through (half-open): its success closes the breaker and
//! its failure opens it again. This keeps a dead service from making every caller wait for its own timeout.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BreakerState {
    Closed { consecutive_failures: u32 },
    Open { until: Instant },
    HalfOpen { trial_in_flight: bool },
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
}

impl CircuitBreaker {
    /// A closed breaker that opens after `failure_threshold` consecutive failures, for `open_duration`.
    pub fn new(failure_threshold: u32, open_duration: Duration) -> CircuitBreaker {
        CircuitBreaker {
            state: Mutex::new(BreakerState::Closed { consecutive_failures: 0 }),
            failure_threshold: failure_threshold.max(1),
            open_duration,
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
            BreakerState::Open { .. } => {
                *state = BreakerState::HalfOpen { trial_in_flight: true };
                true
            }
            BreakerState::HalfOpen { trial_in_flight: true } => false,
            BreakerState::HalfOpen { trial_in_flight: false } => {
                *state = BreakerState::HalfOpen { trial_in_flight: true };
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
        let breaker = CircuitBreaker::new(3, Duration::from_secs(10));
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
        let breaker = CircuitBreaker::new(2, Duration::from_secs(1));
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
}
