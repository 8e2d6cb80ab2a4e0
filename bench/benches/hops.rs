//! Criterion benches of what one hop costs: a points balance call in-process through the trait and over loopback
//! HTTP through the services topology's own client, the parts of a hop on their own, and the whole dashboard at low
//! load in the monolith and in services. `cargo xtask bench` runs them and writes `docs/results/bench.md`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rewards::composition::{Placement, compose, monolith_database_file};
use rewards::config::{HashingCost, StorageArgs, Topology, Tuning};
use rewards::secrets::{Caller, CallerVerifiers, Secrets, ServiceCredential};
use rewards::seed::{SeedRequest, seed};
use rewards::transport::bindings::{PointsClient, points_routes};
use rewards::transport::client::{PeerClient, PeerSettings};
use rewards::transport::context::{CallContext, new_trace_id, run_within};
use rewards::transport::server::{RpcGuard, guarded};
use rewards::transport::tls::PeerRoots;
use rewards_platform::{Role, TokenClaims, TokenVerifier, now_unix_seconds};
use rewards_points::api::{PointsApi, PointsError};
use tokio::runtime::Runtime;

fn runtime() -> Runtime {
    // Two workers, as many as the machine the committed numbers come from has cores.
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime")
}

fn tuning() -> Tuning {
    Tuning {
        password_hashing: HashingCost::Fast,
        rate_limit_per_second: 1_000_000,
        rate_limit_burst: 1_000_000,
        ..Tuning::default()
    }
}

/// Points composed locally on a seeded database, and the same module served over loopback behind the guard that
/// every service has.
struct PointsFixture {
    _directory: tempfile::TempDir,
    local: Arc<dyn PointsApi>,
    remote: PointsClient,
    member_id: i64,
    token: String,
    tokens: TokenVerifier,
    credential: ServiceCredential,
    callers: CallerVerifiers,
}

async fn points_fixture() -> PointsFixture {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let tuning = tuning();
    let request = SeedRequest {
        members: 1,
        businesses: 1,
        offers_per_business: 1,
        welcome_purchase_bs: 100,
        budget_per_business: rewards::seed::DEFAULT_SEED_BUDGET,
    };
    let seeded =
        seed(directory.path(), &StorageArgs::default(), &Topology::Monolith, &tuning, &request).await.expect("seeding");
    let secrets = Secrets::load_for_all_modules(directory.path()).expect("secrets");
    let credential = ServiceCredential::new(&"c".repeat(64)).expect("a credential");
    // The callers a users service accepts: the gateway and points.
    let points_credential = ServiceCredential::new(&"p".repeat(64)).expect("a credential");
    let callers = CallerVerifiers::of(&[
        (Caller::Gateway, &credential),
        (Caller::Service(rewards::config::ModuleName::Points), &points_credential),
    ]);
    let placement = Placement::all_local_in(&monolith_database_file(directory.path()));
    let composition = compose(&placement, &secrets, &tuning).await.expect("composing the monolith");
    let local = composition.points.expect("points is local");
    let guard = RpcGuard { callers: callers.clone(), tokens: secrets.token_verifier.clone() };
    let router = guarded(points_routes(Arc::clone(&local)), guard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("the bound address"));
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serving points") });
    let client =
        PeerClient::new("points", &url, credential.clone(), PeerSettings::from_tuning(&tuning), &PeerRoots::default())
            .expect("the points client");
    let member_id = seeded.member_ids[0];
    let signer = secrets.token_signer.expect("the monolith signs tokens");
    let token =
        signer.sign(&TokenClaims { user_id: member_id, role: Role::Member, expires_at: now_unix_seconds() + 86_400 });
    PointsFixture {
        _directory: directory,
        local,
        remote: PointsClient(Arc::new(client)),
        member_id,
        token,
        tokens: secrets.token_verifier,
        credential,
        callers,
    }
}

fn module_call(criterion: &mut Criterion) {
    let runtime = runtime();
    let fixture = runtime.block_on(points_fixture());
    let mut group = criterion.benchmark_group("module_call");
    group.bench_function("in_process", |bencher| {
        bencher
            .to_async(&runtime)
            .iter(|| async { fixture.local.balance(fixture.member_id).await.expect("a balance") });
    });
    group.bench_function("loopback_http", |bencher| {
        bencher.to_async(&runtime).iter(|| async {
            // The member's token travels with the call and is re-verified by the service, as on every real hop.
            let context = CallContext { trace_id: new_trace_id(), member_token: Some(fixture.token.clone()) };
            run_within(context, fixture.remote.balance(fixture.member_id)).await.expect("a balance")
        });
    });
    group.finish();

    let mut parts = criterion.benchmark_group("hop_parts");
    parts.bench_function("json_encode_decode", |bencher| {
        // The four conversions of one balance hop: arguments out and in, the result out and in.
        bencher.iter(|| {
            let arguments = serde_json::to_vec(&(std::hint::black_box(fixture.member_id),)).expect("encoding");
            let (member_id,): (i64,) = serde_json::from_slice(&arguments).expect("decoding");
            let answer = serde_json::to_vec(&Ok::<i64, PointsError>(member_id * 3)).expect("encoding");
            serde_json::from_slice::<Result<i64, PointsError>>(&answer).expect("decoding")
        });
    });
    parts.bench_function("token_verify", |bencher| {
        bencher.iter(|| fixture.tokens.verify(std::hint::black_box(&fixture.token), now_unix_seconds()))
    });
    parts.bench_function("token_signature_verify", |bencher| {
        bencher.iter(|| fixture.tokens.verify_signature(std::hint::black_box(&fixture.token)))
    });
    parts.bench_function("credential_check", |bencher| {
        let presented = fixture.credential.expose().as_bytes();
        bencher.iter(|| fixture.callers.identify(Some(std::hint::black_box(presented))))
    });
    let bare_url = runtime.block_on(bare_server());
    let http = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(64)
        .tcp_nodelay(true)
        .build()
        .expect("an HTTP client");
    parts.bench_function("bare_http_round_trip", |bencher| {
        bencher.to_async(&runtime).iter(|| async {
            let response = http.post(&bare_url).body("[1]").send().await.expect("a response");
            response.bytes().await.expect("a body")
        });
    });
    parts.finish();
}

/// A server with one route that answers at once: the loopback round trip and HTTP parsing, and nothing else.
async fn bare_server() -> String {
    let router = axum::Router::new().route("/echo", axum::routing::post(|| async { "{\"Ok\":0}" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("http://{}/echo", listener.local_addr().expect("the bound address"));
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serving") });
    url
}

/// A `rewards serve` process on a seeded data directory, killed on drop.
struct Served {
    child: Child,
    url: String,
    token: String,
    _directory: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        // SIGKILL: the services' children die with their parent through PR_SET_PDEATHSIG.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rewards_binary() -> PathBuf {
    // Benches run from target/release/deps; `cargo xtask bench` builds `rewards` into target/release first.
    let executable = std::env::current_exe().expect("the bench executable");
    let release = executable.parent().and_then(Path::parent).expect("the target directory");
    let binary = release.join("rewards");
    assert!(binary.is_file(), "{} is missing: run `cargo build --release -p rewards` first", binary.display());
    binary
}

fn serve(topology: &str, runtime: &Runtime) -> Served {
    let binary = rewards_binary();
    let directory = tempfile::tempdir().expect("a temporary directory");
    let fast = ["--password-hashing=fast", "--rate-limit-per-second=1000000", "--rate-limit-burst=1000000"];
    let seeded = Command::new(&binary)
        .args(["seed", "--members", "10", "--businesses", "2", "--offers", "3", "--topology", topology, "--data-dir"])
        .arg(directory.path())
        .args(fast)
        .env("RUST_LOG", "warn")
        .output()
        .expect("running rewards seed");
    assert!(seeded.status.success(), "seed failed: {}", String::from_utf8_lossy(&seeded.stderr));
    let accounts: serde_json::Value = serde_json::from_slice(&seeded.stdout).expect("the seeded accounts");
    let mut child = Command::new(&binary)
        .args(["serve", "--listen", "127.0.0.1:0", "--topology", topology, "--data-dir"])
        .arg(directory.path())
        .args(fast)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting rewards serve");
    let stdout = child.stdout.take().expect("the server's stdout");
    let url = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("listening on ").map(str::to_owned))
        .expect("rewards serve announces its address");
    let email = accounts["member_emails"][0].as_str().expect("a member").to_owned();
    let password = accounts["password"].as_str().expect("the password").to_owned();
    let token = runtime.block_on(async {
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client.get(format!("{url}/healthz")).send().await.is_ok_and(|response| response.status() == 200) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let response = client
            .post(format!("{url}/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .expect("logging in");
        let body: serde_json::Value = response.json().await.expect("the login answer");
        body["token"].as_str().expect("a token").to_owned()
    });
    Served { child, url, token, _directory: directory }
}

fn dashboard(criterion: &mut Criterion) {
    let runtime = runtime();
    let client = reqwest::Client::builder().http1_only().tcp_nodelay(true).build().expect("an HTTP client");
    let mut group = criterion.benchmark_group("dashboard");
    for topology in ["monolith", "services"] {
        let served = serve(topology, &runtime);
        let url = format!("{}/v1/dashboard", served.url);
        group.bench_function(topology, |bencher| {
            bencher.to_async(&runtime).iter(|| async {
                let response = client.get(&url).bearer_auth(&served.token).send().await.expect("a response");
                assert_eq!(response.status(), 200);
                response.bytes().await.expect("a body")
            });
        });
    }
    group.finish();
}

fn quiet_tracing() {
    // The same level the load tests give the app: spans exist on every hop, events below warn are filtered out.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .with_writer(std::io::stderr)
        .try_init();
}

fn all(criterion: &mut Criterion) {
    quiet_tracing();
    module_call(criterion);
    dashboard(criterion);
}

criterion_group!(benches, all);
criterion_main!(benches);
