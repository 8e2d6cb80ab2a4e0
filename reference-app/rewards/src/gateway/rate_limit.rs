//! A token-bucket rate limit per client: per signed-in user when the request carries a token that verifies, otherwise
//! per client IP address (per /64 network for IPv6).
//!
//! The key is never the bearer string itself: a client could make one up per request and get a fresh bucket each
//! time. A token that does not verify (made up, tampered, expired) counts against its sender's address instead.
//!
//! Logins and registrations are keyed on the address alone, whatever token they carry (a thousand throw-away accounts
//! would otherwise be a thousand buckets), and they also spend from [`AuthLimits`]: a budget per address and one per
//! target e-mail, much smaller than the general one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use rewards_platform::{TokenVerifier, now_unix_seconds};

/// The most buckets kept. Past it, full buckets are forgotten first (forgetting one changes nothing), then the
/// least recently used half, so that memory stays bounded however many addresses a client sends from.
const MAX_BUCKETS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

/// The rate-limit key of a request: `user:ID` for a token that verifies, otherwise `ip:ADDRESS`.
///
/// Verifying here is the same public-key check every hop makes, with no network call; the authoritative check is
/// still `auth.verify` in the authentication middleware.
pub fn client_key(tokens: &TokenVerifier, bearer_token: Option<&str>, client_address: Option<IpAddr>) -> String {
    if let Some(token) = bearer_token
        && let Ok(claims) = tokens.verify(token, now_unix_seconds())
    {
        return format!("user:{}", claims.user_id);
    }
    address_key(client_address)
}

/// `ip:ADDRESS` for IPv4, `ip:NETWORK::/64` for IPv6.
pub fn address_key(client_address: Option<IpAddr>) -> String {
    match client_address {
        Some(IpAddr::V4(address)) => format!("ip:{address}"),
        // One IPv6 host usually holds a whole /64; keying on the full address would give it 2^64 buckets.
        Some(IpAddr::V6(address)) => {
            let network = address.segments();
            format!("ip:{:x}:{:x}:{:x}:{:x}::/64", network[0], network[1], network[2], network[3])
        }
        None => "ip:unknown".to_owned(),
    }
}

/// The budgets of logins and registrations: one per client address and one per target e-mail.
#[derive(Debug)]
pub struct AuthLimits {
    per_address: RateLimiter,
    per_email: RateLimiter,
}

impl AuthLimits {
    /// Budgets of `per_address_per_minute` (bursts of `per_address_burst`) per address, and likewise per e-mail.
    pub fn new(
        per_address_per_minute: u32,
        per_address_burst: u32,
        per_email_per_minute: u32,
        per_email_burst: u32,
    ) -> AuthLimits {
        AuthLimits {
            per_address: RateLimiter::per_minute(per_address_per_minute, per_address_burst),
            per_email: RateLimiter::per_minute(per_email_per_minute, per_email_burst),
        }
    }

    /// Spends one attempt of `client_address`'s budget, then one of `email`'s; `false` means 429. An address that is
    /// already refused spends nothing of the e-mail's budget.
    pub fn admit(&self, client_address: Option<IpAddr>, email: &str) -> bool {
        if !self.per_address.try_acquire(&address_key(client_address)) {
            return false;
        }
        // The same normalisation auth applies, so that case and spaces do not make fresh buckets; bounded, because the
        // text is the client's and is checked only later.
        let email: String = email.trim().to_lowercase().chars().take(254).collect();
        self.per_email.try_acquire(&email)
    }
}

/// The limiter shared by every request of the gateway.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    max_buckets: usize,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Allows `burst` requests at once per client, refilled at `per_second` (0: a fixed budget, never refilled).
    pub fn new(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter::with_max_buckets(per_second, burst, MAX_BUCKETS)
    }

    /// Allows `burst` requests at once per client, refilled at `per_minute` (0: a fixed budget, never refilled).
    pub fn per_minute(per_minute: u32, burst: u32) -> RateLimiter {
        let mut limiter = RateLimiter::new(0, burst);
        limiter.per_second = f64::from(per_minute) / 60.0;
        limiter
    }

    fn with_max_buckets(per_second: u32, burst: u32, max_buckets: usize) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            max_buckets: max_buckets.max(2),
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
        if buckets.len() >= self.max_buckets && !buckets.contains_key(client) {
            self.make_room(&mut buckets, now);
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

    /// Forgets buckets that have refilled completely; if that is not enough, forgets the least recently used half.
    /// Either way the next `max_buckets / 2` new clients fit before this runs again, so its cost is amortised.
    fn make_room(&self, buckets: &mut HashMap<String, Bucket>, now: Instant) {
        let (per_second, burst) = (self.per_second, self.burst);
        buckets.retain(|_, bucket| {
            bucket.tokens + now.duration_since(bucket.refilled_at).as_secs_f64() * per_second < burst
        });
        let keep = self.max_buckets / 2;
        if buckets.len() > keep {
            let mut by_last_use: Vec<(Instant, String)> =
                buckets.iter().map(|(client, bucket)| (bucket.refilled_at, client.clone())).collect();
            let forget = by_last_use.len() - keep;
            by_last_use.select_nth_unstable_by_key(forget, |(last_used, _)| *last_used);
            for (_, client) in &by_last_use[..forget] {
                buckets.remove(client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::time::Duration;

    use rewards_platform::{Role, TokenClaims, TokenSigner};

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

    #[test]
    fn only_a_token_that_verifies_gets_a_bucket_of_its_own() {
        let signer = TokenSigner::random();
        let key = signer.verifier();
        let genuine =
            signer.sign(&TokenClaims { user_id: 42, role: Role::Member, expires_at: now_unix_seconds() + 60 });
        let expired = signer.sign(&TokenClaims { user_id: 42, role: Role::Member, expires_at: 1 });
        let address = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)));
        assert_eq!(client_key(key, Some(&genuine), address), "user:42");
        for made_up in ["random-bearer-1", "random-bearer-2", &format!("{genuine}x"), &expired] {
            assert_eq!(client_key(key, Some(made_up), address), "ip:10.0.0.7", "{made_up}");
        }
        assert_eq!(client_key(key, None, address), "ip:10.0.0.7");
        let first = Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 3, 4, 5, 6)));
        let same_network = Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 9, 9, 9, 9)));
        assert_eq!(client_key(key, None, first), client_key(key, None, same_network));
        assert_eq!(client_key(key, None, None), "ip:unknown");
    }

    #[test]
    fn the_table_of_buckets_stays_bounded_and_keeps_recent_clients_limited() {
        let limiter = RateLimiter::with_max_buckets(1, 2, 8);
        let start = Instant::now();
        let mut now = start;
        for index in 0..1_000 {
            now += Duration::from_micros(10);
            // One client keeps hammering and stays recently used; everyone else comes once.
            let allowed = limiter.try_acquire_at("hammer", now);
            // Its burst of two is spent by the third request, and 10 ms refill a hundredth of a token.
            assert_eq!(allowed, index < 2, "a busy client's empty bucket is never forgotten (request {index})");
            limiter.try_acquire_at(&format!("once-{index}"), now);
            assert!(limiter.buckets.lock().unwrap().len() <= 8);
        }
    }

    #[test]
    fn logins_spend_the_budgets_of_their_address_and_of_their_email() {
        let limits = AuthLimits::new(0, 3, 0, 2);
        let (first, second) =
            (Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))), Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))));
        assert!(limits.admit(first, "ana@example.com"));
        assert!(limits.admit(second, " ANA@example.com"), "the same e-mail, however written");
        assert!(!limits.admit(first, "ana@example.com"), "the e-mail's budget of two is spent, from any address");
        assert!(limits.admit(first, "bea@example.com"));
        assert!(!limits.admit(first, "cid@example.com"), "the address's budget of three is spent, for any e-mail");
        assert!(limits.admit(second, "cid@example.com"), "a refused address spent nothing of cid's budget");
    }
}
