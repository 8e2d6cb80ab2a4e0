//! The hop itself, against a small server built from the real transport pieces: the guard demands the service
//! credential and re-verifies member tokens, `traceparent` and the member's token travel with each call, timeouts
//! cut slow peers off, only idempotent calls are retried after a timeout, and the breaker makes calls to a dead peer
//! fail fast.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::{Json, Router};
use rewards::transport::breaker::BreakerPosition;
use rewards::transport::client::{Idempotence, PeerClient, PeerSettings, SERVICE_CREDENTIAL_HEADER};
use rewards::transport::context::{self, CallContext};
use rewards::transport::server::{RpcGuard, guarded};
use rewards_platform::{Role, TokenClaims, TokenKey, now_unix_seconds};
use rewards_points::api::SubscriberFailure;

const CREDENTIAL: &str = "test-service-credential";

fn token_key() -> TokenKey {
    TokenKey::new(b"a token key of thirty-two bytes!".to_vec())
}

/// Peer settings whose breaker opens after two consecutive failures.
fn settings(call_timeout: Duration, max_attempts: u32) -> PeerSettings {
    PeerSettings {
        call_timeout,
        max_attempts,
        breaker_failure_threshold: 2,
        breaker_open_duration: Duration::from_secs(60),
    }
}

/// Serves `/rpc/probe/echo` (answers the call context it saw) and `/rpc/probe/slow` (answers after two seconds,
/// counting its calls) behind the real guard, and returns the base URL and the slow route's call counter.
async fn start_probe_server() -> (String, Arc<AtomicUsize>) {
    let slow_calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&slow_calls);
    let routes = Router::new()
        .route(
            "/rpc/probe/echo",
            post(|| async {
                let call = context::current().unwrap_or_default();
                Json(Ok::<_, SubscriberFailure>((call.trace_id, call.member_token)))
            }),
        )
        .route(
            "/rpc/probe/slow",
            post(move || {
                let counter = Arc::clone(&counter);
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    Json(Ok::<_, SubscriberFailure>(()))
                }
            }),
        );
    let guard = RpcGuard { service_credential: Arc::from(CREDENTIAL), token_key: token_key() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, guarded(routes, guard)).await.unwrap() });
    (url, slow_calls)
}

fn member_token() -> String {
    token_key().sign(&TokenClaims { user_id: 7, role: Role::Member, expires_at: now_unix_seconds() + 60 })
}

async fn echo(client: &PeerClient, call: CallContext) -> Result<(String, Option<String>), SubscriberFailure> {
    context::run_within(call, client.call("echo", &(), Idempotence::Idempotent)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_carry_the_trace_and_the_member_token_and_need_the_credential() {
    let (url, _) = start_probe_server().await;
    let client = PeerClient::new("probe", &url, CREDENTIAL.to_owned(), settings(Duration::from_secs(2), 1)).unwrap();
    let trace_id = context::new_trace_id();
    let token = member_token();
    let seen = echo(&client, CallContext { trace_id: trace_id.clone(), member_token: Some(token.clone()) }).await;
    assert_eq!(seen, Ok((trace_id.clone(), Some(token.clone()))));

    let tampered = CallContext { trace_id: trace_id.clone(), member_token: Some(format!("{token}x")) };
    let refused = echo(&client, tampered).await.unwrap_err();
    assert!(refused.0.contains("401"), "a tampered member token must be refused at the hop: {refused}");

    let impostor = PeerClient::new("probe", &url, "wrong".to_owned(), settings(Duration::from_secs(2), 1)).unwrap();
    let refused = echo(&impostor, CallContext { trace_id, member_token: None }).await.unwrap_err();
    assert!(refused.0.contains("401"), "a wrong credential must be refused: {refused}");
    let bare = reqwest::Client::new().post(format!("{url}/rpc/probe/echo")).body("null").send().await.unwrap();
    assert_eq!(bare.status().as_u16(), 401);
    let with_credential = reqwest::Client::new()
        .post(format!("{url}/rpc/probe/echo"))
        .header(SERVICE_CREDENTIAL_HEADER, CREDENTIAL)
        .body("null")
        .send()
        .await
        .unwrap();
    assert_eq!(with_credential.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_peer_is_cut_off_at_the_timeout_and_only_idempotent_calls_are_retried() {
    let (url, slow_calls) = start_probe_server().await;
    // The breaker must stay closed here, so that only the retry policy decides how many attempts are made.
    let patient_breaker = PeerSettings { breaker_failure_threshold: 10, ..settings(Duration::from_millis(200), 2) };
    let client = PeerClient::new("probe", &url, CREDENTIAL.to_owned(), patient_breaker).unwrap();
    let started = Instant::now();
    let outcome: Result<(), SubscriberFailure> = client.call("slow", &(), Idempotence::NotIdempotent).await;
    assert!(outcome.is_err());
    assert!(started.elapsed() < Duration::from_millis(1_500), "took {:?}", started.elapsed());
    assert_eq!(slow_calls.load(Ordering::SeqCst), 1, "a call that may have been sent is not repeated");

    let outcome: Result<(), SubscriberFailure> = client.call("slow", &(), Idempotence::Idempotent).await;
    assert!(outcome.is_err());
    assert_eq!(slow_calls.load(Ordering::SeqCst), 3, "an idempotent call is retried up to its attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_on_a_dead_peer_and_then_fails_without_calling() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client =
        PeerClient::new("probe", &dead_url, CREDENTIAL.to_owned(), settings(Duration::from_millis(500), 1)).unwrap();
    for _ in 0..2 {
        let outcome: Result<(), SubscriberFailure> = client.call("echo", &(), Idempotence::Idempotent).await;
        assert!(outcome.is_err());
    }
    assert_eq!(client.breaker().position(), BreakerPosition::Open);
    let outcome: Result<(), SubscriberFailure> = client.call("echo", &(), Idempotence::Idempotent).await;
    let failure = outcome.unwrap_err();
    assert!(failure.0.contains("circuit") && failure.0.contains("open"), "{failure}");
}
