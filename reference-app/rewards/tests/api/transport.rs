//! The hop itself, against small servers built from the real transport pieces: the guard demands the service
//! credential and re-verifies member tokens, each route checks that the token speaks for the user its call acts for,
//! `traceparent` and the member's token travel with each call, timeouts cut slow peers off, only idempotent calls
//! are retried after a timeout, no call outlives its overall deadline, and the breaker makes calls to a dead peer
//! fail fast.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::{Json, Router};
use rewards::composition::{Placement, compose, monolith_database_file};
use rewards::config::{StorageArgs, Topology};
use rewards::secrets::{Caller, CallerVerifiers, Secrets, ServiceCredential};
use rewards::seed::{SeedRequest, seed};
use rewards::transport::bindings::{AuthClient, PointsClient, points_routes};
use rewards::transport::breaker::BreakerPosition;
use rewards::transport::client::{Idempotence, PeerClient, PeerSettings};
use rewards::transport::context::{self, CallContext};
use rewards::transport::server::{RpcGuard, guarded};
use rewards::transport::tls::PeerRoots;
use rewards::transport::wire::SERVICE_CREDENTIAL_HEADER;
use rewards_auth::api::{AuthApi, AuthError, LoginRequest};
use rewards_platform::{HopRefusal, Role, TokenClaims, TokenSigner, now_unix_seconds};
use rewards_points::api::{EmitRequest, PointsApi, PointsError, RedeemRequest, SubscriberFailure};

const CREDENTIAL: &str = "the gateway's test credential, 32+ bytes";

fn credential() -> ServiceCredential {
    ServiceCredential::new(CREDENTIAL).unwrap()
}

fn token_signer() -> TokenSigner {
    TokenSigner::from_seed(b"a token seed of thirty-two bytes").unwrap()
}

fn guard() -> RpcGuard {
    RpcGuard {
        callers: CallerVerifiers::of(&[(Caller::Gateway, &credential())]),
        tokens: token_signer().verifier().clone(),
    }
}

fn client(url: &str, settings: PeerSettings) -> PeerClient {
    PeerClient::new("probe", url, credential(), settings, &PeerRoots::default()).unwrap()
}

/// Peer settings whose breaker opens after two consecutive failures.
fn settings(call_timeout: Duration, max_attempts: u32) -> PeerSettings {
    PeerSettings {
        call_timeout,
        max_attempts,
        retry_budget: call_timeout * 2,
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
    let guard = guard();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, guarded(routes, guard)).await.unwrap() });
    (url, slow_calls)
}

fn member_token() -> String {
    token_signer().sign(&TokenClaims { user_id: 7, role: Role::Member, expires_at: now_unix_seconds() + 60 })
}

async fn echo(client: &PeerClient, call: CallContext) -> Result<(String, Option<String>), SubscriberFailure> {
    context::run_within(call, client.call("echo", &(), Idempotence::Idempotent)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_carry_the_trace_and_the_member_token_and_need_the_credential() {
    let (url, _) = start_probe_server().await;
    let client = client(&url, settings(Duration::from_secs(2), 1));
    let trace_id = context::new_trace_id();
    let token = member_token();
    let seen = echo(&client, CallContext { trace_id: trace_id.clone(), member_token: Some(token.clone()) }).await;
    assert_eq!(seen, Ok((trace_id.clone(), Some(token.clone()))));

    let tampered = CallContext { trace_id: trace_id.clone(), member_token: Some(format!("{token}x")) };
    let refused = echo(&client, tampered).await.unwrap_err();
    assert!(refused.message.contains("malformed"), "a tampered member token must be refused at the hop: {refused}");

    let wrong = ServiceCredential::new("a wrong credential of 32 bytes or more").unwrap();
    let impostor =
        PeerClient::new("probe", &url, wrong, settings(Duration::from_secs(2), 1), &PeerRoots::default()).unwrap();
    let refused = echo(&impostor, CallContext { trace_id, member_token: None }).await.unwrap_err();
    assert!(refused.message.contains("401"), "a wrong credential must be refused: {refused}");
    let bare = reqwest::Client::new().post(format!("{url}/rpc/probe/echo")).body("null").send().await.unwrap();
    assert_eq!(bare.status().as_u16(), 401);
    let empty = reqwest::Client::new()
        .post(format!("{url}/rpc/probe/echo"))
        .header(SERVICE_CREDENTIAL_HEADER, "")
        .body("null")
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status().as_u16(), 401, "an empty credential is refused before any comparison");
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
    let client = client(&url, patient_breaker);
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
    let client = client(&dead_url, settings(Duration::from_millis(500), 1));
    for _ in 0..2 {
        let outcome: Result<(), SubscriberFailure> = client.call("echo", &(), Idempotence::Idempotent).await;
        assert!(outcome.is_err());
    }
    assert_eq!(client.breaker().position(), BreakerPosition::Open);
    let outcome: Result<(), SubscriberFailure> = client.call("echo", &(), Idempotence::Idempotent).await;
    let failure = outcome.unwrap_err();
    assert!(failure.message.contains("circuit") && failure.message.contains("open"), "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_peer_costs_one_call_timeout_plus_the_retry_budget_however_many_attempts_are_allowed() {
    let (url, slow_calls) = start_probe_server().await;
    let call_timeout = Duration::from_millis(300);
    let bounded = PeerSettings {
        retry_budget: Duration::from_millis(100),
        breaker_failure_threshold: 100,
        ..settings(call_timeout, 10)
    };
    let client = client(&url, bounded);
    let started = Instant::now();
    let outcome: Result<(), SubscriberFailure> = client.call("slow", &(), Idempotence::Idempotent).await;
    let elapsed = started.elapsed();
    assert!(outcome.is_err());
    // Ten attempts of 300 ms would take three seconds; the deadline allows 400 ms. The bound leaves room for a
    // loaded machine while staying far below what per-attempt timeouts alone would cost.
    assert!(elapsed < Duration::from_millis(1_500), "took {elapsed:?}");
    assert!(slow_calls.load(Ordering::SeqCst) < 10, "the deadline must end the retries before the attempts run out");
}

/// Points served over loopback behind the real guard, on a seeded monolith database, and a client for it.
struct PointsOverLoopback {
    _directory: tempfile::TempDir,
    client: PointsClient,
    token_signer: TokenSigner,
    member_ids: Vec<i64>,
    owner_id: i64,
    business_id: i64,
}

async fn points_over_loopback() -> PointsOverLoopback {
    let directory = tempfile::tempdir().unwrap();
    let tuning = crate::support::test_tuning();
    let request = SeedRequest {
        members: 2,
        businesses: 1,
        offers_per_business: 1,
        welcome_purchase_bs: 10,
        budget_per_business: 1_000_000,
    };
    let seeded = seed(directory.path(), &StorageArgs::default(), &Topology::Monolith, &tuning, &request).await.unwrap();
    let secrets = Secrets::load_for_all_modules(directory.path()).unwrap();
    let composition =
        compose(&Placement::all_local_in(&monolith_database_file(directory.path())), &secrets, &tuning).await.unwrap();
    let guard = RpcGuard {
        callers: CallerVerifiers::of(&[(Caller::Gateway, &credential())]),
        tokens: secrets.token_verifier.clone(),
    };
    let router = guarded(points_routes(composition.points.unwrap()), guard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let client =
        PeerClient::new("points", &url, credential(), PeerSettings::from_tuning(&tuning), &PeerRoots::default())
            .unwrap();
    // Seeded accounts are numbered in order: the business owner first, then the members.
    let owner_id = seeded.member_ids[0] - 1;
    PointsOverLoopback {
        _directory: directory,
        client: PointsClient(Arc::new(client)),
        token_signer: secrets.token_signer.unwrap(),
        member_ids: seeded.member_ids,
        owner_id,
        business_id: seeded.business_ids[0],
    }
}

impl PointsOverLoopback {
    fn token(&self, user_id: i64, role: Role, lifetime_seconds: i64) -> String {
        self.token_signer.sign(&TokenClaims { user_id, role, expires_at: now_unix_seconds() + lifetime_seconds })
    }

    async fn as_caller<T>(&self, token: Option<String>, call: impl Future<Output = T>) -> T {
        context::run_within(CallContext { trace_id: context::new_trace_id(), member_token: token }, call).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_refuses_a_call_whose_token_speaks_for_someone_else() {
    let points = points_over_loopback().await;
    let (member, other_member) = (points.member_ids[0], points.member_ids[1]);
    let member_token = points.token(member, Role::Member, 60);
    let balance = |token: Option<String>| points.as_caller(token, points.client.balance(member));

    assert_eq!(balance(Some(member_token.clone())).await, Ok(10), "the member's own balance");
    let refusals = [
        ("no token", None, HopRefusal::MissingToken),
        ("another member's token", Some(points.token(other_member, Role::Member, 60)), HopRefusal::Forbidden),
        ("the same id as a business account", Some(points.token(member, Role::Business, 60)), HopRefusal::Forbidden),
        ("an expired token", Some(points.token(member, Role::Member, -1)), HopRefusal::TokenExpired),
        (
            "a token signed with another key",
            Some(TokenSigner::random().sign(&TokenClaims {
                user_id: member,
                role: Role::Member,
                expires_at: now_unix_seconds() + 60,
            })),
            HopRefusal::InvalidToken,
        ),
    ];
    for (case, token, refusal) in refusals {
        assert_eq!(balance(token).await, Err(PointsError::RefusedAtHop(refusal)), "{case}");
    }

    // An emit acts for the owner it names: a member's token, or another owner's, cannot make it.
    let emit = |acting_user_id: i64| EmitRequest {
        acting_user_id,
        business_id: points.business_id,
        member_id: member,
        purchase_cents: 1_000,
        idempotency_key: format!("hop-{acting_user_id}"),
    };
    let forged = points.as_caller(Some(member_token.clone()), points.client.emit(emit(points.owner_id))).await;
    assert_eq!(forged, Err(PointsError::RefusedAtHop(HopRefusal::Forbidden)));
    let owner_token = points.token(points.owner_id, Role::Business, 60);
    let impersonated =
        points.as_caller(Some(owner_token.clone()), points.client.emit(emit(points.owner_id + 100))).await;
    assert_eq!(impersonated, Err(PointsError::RefusedAtHop(HopRefusal::Forbidden)));
    let genuine = points.as_caller(Some(owner_token), points.client.emit(emit(points.owner_id))).await.unwrap();
    assert_eq!((genuine.points, genuine.balance), (10, 20));
    // A redeem acts for the member it names.
    let redeem = RedeemRequest { member_id: other_member, offer_id: 1, idempotency_key: "hop-redeem".to_owned() };
    let forged = points.as_caller(Some(member_token), points.client.redeem(redeem)).await;
    assert_eq!(forged, Err(PointsError::RefusedAtHop(HopRefusal::Forbidden)));
}

/// Serves `/rpc/auth/login` and `/rpc/auth/register` behind the real guard, answering every call 503 after counting
/// it, and returns the base URL and the count.
async fn start_overloaded_auth() -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let overloaded = |calls: Arc<AtomicUsize>| {
        post(move || {
            let calls = Arc::clone(&calls);
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                axum::http::StatusCode::SERVICE_UNAVAILABLE
            }
        })
    };
    let routes = Router::new()
        .route("/rpc/auth/login", overloaded(Arc::clone(&calls)))
        .route("/rpc/auth/register", overloaded(Arc::clone(&calls)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, guarded(routes, guard())).await.unwrap() });
    (url, calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_is_sent_once_even_when_auth_is_overloaded() {
    let (url, calls) = start_overloaded_auth().await;
    // Five attempts allowed and a generous deadline: only the call's idempotence can keep it to one.
    let generous = PeerSettings { retry_budget: Duration::from_secs(5), ..settings(Duration::from_secs(2), 5) };
    let auth =
        AuthClient(Arc::new(PeerClient::new("auth", &url, credential(), generous, &PeerRoots::default()).unwrap()));
    let login = LoginRequest { email: "ana@example.com".to_owned(), password: "correct horse".to_owned() };
    let answer = auth.login(login).await;
    assert!(matches!(answer, Err(AuthError::Unavailable(_))), "{answer:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a login is never retried by the client");
}
