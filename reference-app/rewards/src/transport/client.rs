//! The client half of a hop: one [`PeerClient`] per remote module, with pooled keep-alive connections, a deadline on
//! every call (retries included), retries with exponential backoff and full jitter for idempotent calls, a circuit
//! breaker, the service credential, and `traceparent` and member-token propagation.

use std::time::{Duration, Instant};

use rewards_platform::{HopRefusal, RemoteFailure};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::config::Tuning;
use crate::secrets::ServiceCredential;
use crate::transport::breaker::CircuitBreaker;
use crate::transport::context;
use crate::transport::tls::PeerRoots;
use crate::transport::wire::{HopRefusalBody, SERVICE_CREDENTIAL_HEADER, TRACEPARENT_HEADER};

/// The first retry waits up to this long; each later one doubles the ceiling.
const FIRST_BACKOFF: Duration = Duration::from_millis(20);

/// A retry is not started with less time than this left before the call's deadline.
const SHORTEST_USEFUL_ATTEMPT: Duration = Duration::from_millis(5);

/// How every peer call behaves.
#[derive(Debug, Clone, Copy)]
pub struct PeerSettings {
    /// The deadline of one attempt, connection included.
    pub call_timeout: Duration,
    /// How many attempts an idempotent call gets in all, if its deadline leaves time for them.
    pub max_attempts: u32,
    /// The time a call may spend on retries beyond one `call_timeout`: a call's overall deadline is
    /// `call_timeout + retry_budget`, so a hung peer costs at most that, however many attempts are allowed.
    pub retry_budget: Duration,
    /// Consecutive failures that open the breaker.
    pub breaker_failure_threshold: u32,
    /// How long the breaker stays open before a trial call.
    pub breaker_open_duration: Duration,
}

impl PeerSettings {
    /// The settings `tuning` gives every peer client.
    pub fn from_tuning(tuning: &Tuning) -> PeerSettings {
        PeerSettings {
            call_timeout: Duration::from_millis(tuning.peer_timeout_ms.max(1)),
            max_attempts: tuning.peer_max_attempts.max(1),
            retry_budget: Duration::from_millis(tuning.peer_retry_budget_ms),
            breaker_failure_threshold: tuning.breaker_failure_threshold.max(1),
            breaker_open_duration: Duration::from_millis(tuning.breaker_open_ms),
        }
    }

    /// The longest one call may take, retries included.
    pub fn call_deadline(&self) -> Duration {
        self.call_timeout + self.retry_budget
    }
}

/// Whether a call may be sent twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotence {
    /// Reads, calls with an idempotency key, and deliveries to idempotent consumers: retried on failure.
    Idempotent,
    /// Calls that would act twice if repeated: sent once (unless the connection was refused before sending).
    NotIdempotent,
}

/// How one attempt ended, when it did not produce an answer.
enum AttemptFailure {
    /// The peer could not be reached, timed out, or answered 5xx: counts against the breaker.
    Unreachable { message: String, request_was_sent: bool },
    /// The peer refused the member's token for this call (401 or 403): the caller's answer, not an outage.
    RefusedAtHop(HopRefusal),
    /// The peer answered but refused the call for another reason (bad service credential, unknown method,
    /// unreadable arguments): a deployment fault that retrying cannot help.
    Refused(String),
}

/// A client for one remote module.
pub struct PeerClient {
    module: &'static str,
    base_url: String,
    http: reqwest::Client,
    breaker: CircuitBreaker,
    service_credential: ServiceCredential,
    settings: PeerSettings,
}

impl std::fmt::Debug for PeerClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("PeerClient").field("module", &self.module).field("base_url", &self.base_url).finish()
    }
}

impl PeerClient {
    /// A client for `module` served at `base_url` (for example `http://127.0.0.1:4001`, or `https://…`, whose
    /// certificate must chain to one of `roots`), calling with this process's own `service_credential`.
    pub fn new(
        module: &'static str,
        base_url: &str,
        service_credential: ServiceCredential,
        settings: PeerSettings,
        roots: &PeerRoots,
    ) -> anyhow::Result<PeerClient> {
        if base_url.starts_with("https://") && roots.is_empty() {
            anyhow::bail!("{module} is at {base_url}, but no --peer-ca names the authority that signs its certificate");
        }
        let mut builder = reqwest::Client::builder().tls_built_in_root_certs(false);
        for root in roots.certificates() {
            builder = builder.add_root_certificate(root.clone());
        }
        let http = builder
            .http1_only()
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .connect_timeout(settings.call_timeout)
            .timeout(settings.call_timeout)
            .build()?;
        Ok(PeerClient {
            module,
            base_url: base_url.trim_end_matches('/').to_owned(),
            http,
            // A trial call cannot outlive the call that makes it, so after a call's deadline it is presumed lost.
            breaker: CircuitBreaker::new(
                settings.breaker_failure_threshold,
                settings.breaker_open_duration,
                settings.call_deadline(),
            ),
            service_credential,
            settings,
        })
    }

    /// The module this client reaches.
    pub fn module(&self) -> &'static str {
        self.module
    }

    /// The peer's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The peer's breaker, for health reporting.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// Asks the peer's `/healthz`; true when it answers 200 in time.
    pub async fn is_healthy(&self) -> bool {
        let response =
            self.http.get(format!("{}/healthz", self.base_url)).timeout(self.settings.call_timeout).send().await;
        matches!(response, Ok(response) if response.status().is_success())
    }

    /// Calls `method` on the peer with `arguments`, and decodes its `Result<T, E>` answer.
    ///
    /// Transport failures become `E::unavailable`, and a refusal of the member's token becomes
    /// `E::refused_at_hop`. Idempotent calls are retried up to `max_attempts` times with exponential backoff and
    /// full jitter, but never past the call's deadline (`call_timeout + retry_budget`); every attempt first asks the
    /// breaker.
    pub async fn call<A, T, E>(&self, method: &'static str, arguments: &A, idempotence: Idempotence) -> Result<T, E>
    where
        A: Serialize + Sync,
        T: DeserializeOwned,
        E: DeserializeOwned + RemoteFailure,
    {
        let deadline = Instant::now() + self.settings.call_deadline();
        let call_context = context::current()
            .unwrap_or_else(|| context::CallContext { trace_id: context::new_trace_id(), member_token: None });
        let span = tracing::info_span!("peer_call", peer = self.module, method, trace_id = %call_context.trace_id);
        async {
            let body = serde_json::to_vec(arguments)
                .map_err(|error| E::unavailable(format!("could not encode the call to {}: {error}", self.module)))?;
            let url = format!("{}/rpc/{}/{method}", self.base_url, self.module);
            let mut attempt = 0;
            loop {
                attempt += 1;
                if !self.breaker.allow_call() {
                    return Err(E::unavailable(format!("the circuit to {} is open", self.module)));
                }
                let attempt_timeout =
                    self.settings.call_timeout.min(deadline.saturating_duration_since(Instant::now()));
                let failure = match self.attempt::<T, E>(&url, &body, &call_context, attempt_timeout).await {
                    Ok(answer) => {
                        self.breaker.record_success();
                        return answer;
                    }
                    Err(failure) => failure,
                };
                let (message, may_retry) = match failure {
                    AttemptFailure::RefusedAtHop(refusal) => {
                        // The peer is alive and did its per-hop check; the answer belongs to the caller.
                        self.breaker.record_success();
                        return Err(E::refused_at_hop(refusal));
                    }
                    AttemptFailure::Refused(message) => {
                        // The peer is alive; it is the call that is wrong, so the breaker is not charged.
                        self.breaker.record_success();
                        tracing::warn!(%message, "peer refused the call");
                        return Err(E::unavailable(message));
                    }
                    AttemptFailure::Unreachable { message, request_was_sent } => {
                        self.breaker.record_failure();
                        (message, idempotence == Idempotence::Idempotent || !request_was_sent)
                    }
                };
                let backoff = backoff_before_retry(attempt);
                let time_left = deadline.saturating_duration_since(Instant::now());
                if !may_retry || attempt >= self.settings.max_attempts || time_left < backoff + SHORTEST_USEFUL_ATTEMPT
                {
                    tracing::debug!(attempt, %message, "peer call failed");
                    return Err(E::unavailable(message));
                }
                tokio::time::sleep(backoff).await;
            }
        }
        .instrument(span)
        .await
    }

    async fn attempt<T, E>(
        &self,
        url: &str,
        body: &[u8],
        call_context: &context::CallContext,
        timeout: Duration,
    ) -> Result<Result<T, E>, AttemptFailure>
    where
        T: DeserializeOwned,
        E: DeserializeOwned,
    {
        let mut request = self
            .http
            .post(url)
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SERVICE_CREDENTIAL_HEADER, self.service_credential.expose())
            .header(TRACEPARENT_HEADER, context::traceparent_for(&call_context.trace_id))
            .body(body.to_vec());
        if let Some(token) = &call_context.member_token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|error| AttemptFailure::Unreachable {
            message: format!("{} did not answer: {error}", self.module),
            request_was_sent: !error.is_connect(),
        })?;
        let status = response.status();
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(AttemptFailure::Unreachable {
                message: format!("{} answered {status}", self.module),
                request_was_sent: true,
            });
        }
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            let bytes = response.bytes().await.unwrap_or_default();
            return Err(match serde_json::from_slice::<HopRefusalBody>(&bytes) {
                Ok(body) => AttemptFailure::RefusedAtHop(body.hop_refusal),
                Err(_) => AttemptFailure::Refused(format!(
                    "{} refused the call with {status}: {}",
                    self.module,
                    String::from_utf8_lossy(&bytes)
                )),
            });
        }
        if !status.is_success() {
            return Err(AttemptFailure::Refused(format!("{} refused the call with {status}", self.module)));
        }
        let bytes = response.bytes().await.map_err(|error| AttemptFailure::Unreachable {
            message: format!("{} broke off its answer: {error}", self.module),
            request_was_sent: true,
        })?;
        serde_json::from_slice::<Result<T, E>>(&bytes)
            .map_err(|error| AttemptFailure::Refused(format!("{} sent an unreadable answer: {error}", self.module)))
    }
}

/// Exponential backoff with full jitter: a random wait between zero and `FIRST_BACKOFF * 2^(attempt-1)`, so that
/// callers that failed together do not retry together.
fn backoff_before_retry(attempt: u32) -> Duration {
    let ceiling = FIRST_BACKOFF.saturating_mul(1 << attempt.saturating_sub(1).min(6));
    let ceiling_micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(rand::random_range(0..=ceiling_micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_a_doubling_ceiling() {
        for attempt in 1..=4 {
            let ceiling = FIRST_BACKOFF * (1 << (attempt - 1));
            let wait = backoff_before_retry(attempt);
            assert!(wait <= ceiling, "attempt {attempt}: {wait:?}");
        }
        // Full jitter draws from the whole range; a thousand draws all in its upper half would take odds of 2^-1000.
        assert!((0..1_000).any(|_| backoff_before_retry(3) < FIRST_BACKOFF * 2));
    }
}
