//! A token-bucket rate limit per client: per bearer token when one is sent, otherwise per client IP address.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// When the table of buckets grows past this, buckets that have refilled completely are forgotten.
const BUCKETS_BEFORE_PRUNING: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

/// The limiter shared by every request of the gateway.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Allows `burst` requests at once per client, refilled at `per_second`.
    pub fn new(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `client`'s bucket; `false` means the request must be refused with 429.
    pub fn try_acquire(&self, client: &str) -> bool {
        self.try_acquire_at(client, Instant::now())
    }

    fn try_acquire_at(&self, client: &str, now: Instant) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        if buckets.len() > BUCKETS_BEFORE_PRUNING {
            let (per_second, burst) = (self.per_second, self.burst);
            buckets.retain(|_, bucket| {
                bucket.tokens + now.duration_since(bucket.refilled_at).as_secs_f64() * per_second < burst
            });
        }
        let bucket = buckets.entry(client.to_owned()).or_insert(Bucket { tokens: self.burst, refilled_at: now });
        let refill = now.duration_since(bucket.refilled_at).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn burst_then_refusal_then_refill_per_client() {
        let limiter = RateLimiter::new(10, 3);
        let start = Instant::now();
        assert!((0..3).all(|_| limiter.try_acquire_at("a", start)));
        assert!(!limiter.try_acquire_at("a", start));
        assert!(limiter.try_acquire_at("b", start), "clients have separate buckets");
        assert!(limiter.try_acquire_at("a", start + Duration::from_millis(100)));
        assert!(!limiter.try_acquire_at("a", start + Duration::from_millis(100)));
    }
}
