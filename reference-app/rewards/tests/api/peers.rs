//! `serve --peer NAME=URL`: an extracted module that already runs elsewhere (started by hand with `serve-module`, as
//! on another host) is reached at its URL instead of being started as a child. Both processes are real, and so is
//! everything between them: the API works, one request's trace id appears in both processes' JSON logs, a token
//! the service refuses is answered 401 rather than 503, and stopping the gateway leaves the service it did not
//! start alone.

use std::process::Command;
use std::time::{Duration, Instant};

use rewards::config::StorageArgs;
use rewards::secrets::ServiceCredential;
use rewards_platform::TokenSigner;
use serde_json::{Value, json};

use crate::support::{
    Api, RewardsProcess, assert_verify_passes_in, cast, error_code, is_running, rewards_binary, row_count, service_pids,
};

/// Whether a JSON log line was written inside a span whose `trace_id` is `trace_id`.
fn carries_trace_id(line: &Value, trace_id: &str) -> bool {
    let in_span = |span: &Value| span["trace_id"] == json!(trace_id);
    in_span(&line["span"]) || line["spans"].as_array().is_some_and(|spans| spans.iter().any(in_span))
}

/// Waits up to five seconds for a JSON log line of `process` that `wanted` accepts, and returns it.
fn wait_for_log_line(process: &RewardsProcess, wanted: impl Fn(&Value) -> bool) -> Option<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = process
            .log_lines()
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|line| wanted(line));
        if found.is_some() || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reaches_a_hand_started_service_and_one_trace_id_runs_through_both_logs() {
    let data_dir = tempfile::tempdir().unwrap();
    let directory = data_dir.path().to_str().unwrap();
    let fast = ["--password-hashing", "fast", "--relay-interval-ms", "20"];
    let mut analytics_arguments =
        vec!["--log-format", "json", "serve-module", "analytics", "--data-dir", directory, "--listen", "127.0.0.1:0"];
    analytics_arguments.extend(fast);
    let analytics = RewardsProcess::start(&analytics_arguments, &[]);
    let peer = format!("analytics={}", analytics.url);
    let mut gateway_arguments = vec![
        "--log-format",
        "json",
        "serve",
        "--data-dir",
        directory,
        "--listen",
        "127.0.0.1:0",
        "--topology",
        "extract=points,analytics",
        "--peer",
        &peer,
    ];
    gateway_arguments.extend(fast);
    let mut gateway = RewardsProcess::start(&gateway_arguments, &[]);

    // The gateway started points only; analytics is the hand-started process, which points delivers to.
    let children = service_pids(data_dir.path());
    assert_eq!(children.keys().collect::<Vec<_>>(), vec!["points"]);
    let api = Api::new(gateway.url.clone());
    assert_eq!(api.get("/healthz", None).await, (200, json!({"status": "ok"})));
    let people = cast(&api, data_dir.path(), &StorageArgs::default(), 2).await;
    let emit = json!({"business_id": people.business_id, "member_id": people.member_id, "purchase_bs": 10, "idempotency_key": "k-1"});
    let (status, body) = api.post("/v1/points/emit", Some(&people.owner_token), emit).await;
    assert_eq!(status, 201, "{body}");

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let stats_url = format!("{}/v1/businesses/{}/stats", gateway.url, people.business_id);
    let deadline = Instant::now() + Duration::from_secs(10);
    let stats = loop {
        let response = reqwest::Client::new()
            .get(&stats_url)
            .bearer_auth(&people.owner_token)
            .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
            .send()
            .await
            .unwrap();
        let stats: Value = response.json().await.unwrap();
        if stats["emitted"] == json!(20) || Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(stats, json!({"emitted": 20, "redeemed": 0, "members": 1}));

    // The same trace id in the gateway's log (the public request) and in the service's (the hop it made).
    let answered = wait_for_log_line(&gateway, |line| {
        carries_trace_id(line, trace_id) && line["fields"]["message"] == json!("answered")
    });
    assert!(answered.is_some(), "no gateway log line with the trace id: {:#?}", gateway.log_lines());
    let served = wait_for_log_line(&analytics, |line| {
        carries_trace_id(line, trace_id) && line["span"]["path"] == json!("/rpc/analytics/business_stats")
    });
    assert!(served.is_some(), "no service log line with the trace id: {:#?}", analytics.log_lines());
    assert_verify_passes_in(data_dir.path(), &StorageArgs::default()).await;

    // Stopping the gateway stops the child it started, and leaves the service it was only given alone.
    let status = gateway.terminate();
    assert!(status.success(), "{status:?}");
    assert!(!is_running(children["points"]), "the gateway's own child outlived it");
    assert!(is_running(u64::from(analytics.pid())), "the hand-started service must not be stopped by the gateway");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_refused_at_a_hop_is_answered_401_not_503() {
    // Every secret comes from the environment, as on separate hosts. The service accepts the gateway's and points'
    // credentials (points runs in the gateway's process here), but verifies tokens with another deployment's public
    // key, so it refuses every member token that the gateway accepts.
    let gateway_dir = tempfile::tempdir().unwrap();
    let service_dir = tempfile::tempdir().unwrap();
    let gateway_credential = hex::encode(rand::random::<[u8; 32]>());
    let points_credential = hex::encode(rand::random::<[u8; 32]>());
    let verifier = |credential: &str| hex::encode(ServiceCredential::new(credential).unwrap().verifier());
    let verifiers = format!("gateway={},points={}", verifier(&gateway_credential), verifier(&points_credential));
    let other_deployment = hex::encode(TokenSigner::random().public_key());
    let analytics = RewardsProcess::start(
        &["serve-module", "analytics", "--listen", "127.0.0.1:0", "--data-dir", service_dir.path().to_str().unwrap()],
        &[("REWARDS_CALLER_VERIFIERS", &verifiers), ("REWARDS_TOKEN_PUBLIC_KEY", &other_deployment)],
    );
    let peer = format!("analytics={}", analytics.url);
    let signing_key = hex::encode(rand::random::<[u8; 32]>());
    let audit_chain_key = hex::encode(rand::random::<[u8; 32]>());
    let gateway = RewardsProcess::start(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--topology",
            "extract=analytics",
            "--peer",
            &peer,
            "--password-hashing",
            "fast",
            "--breaker-failure-threshold",
            "2",
            "--data-dir",
            gateway_dir.path().to_str().unwrap(),
        ],
        &[
            ("REWARDS_SERVICE_CREDENTIAL_GATEWAY", &gateway_credential),
            ("REWARDS_SERVICE_CREDENTIAL_POINTS", &points_credential),
            ("REWARDS_TOKEN_SIGNING_KEY", &signing_key),
            ("REWARDS_AUDIT_CHAIN_KEY", &audit_chain_key),
        ],
    );
    let api = Api::new(gateway.url.clone());
    assert_eq!(api.get("/healthz", None).await, (200, json!({"status": "ok"})));
    let people = cast(&api, gateway_dir.path(), &StorageArgs::default(), 1).await;
    // More refusals than the breaker's threshold: a refusal is an answer from a healthy peer, not a failure.
    for attempt in 0..4 {
        let (status, body) =
            api.get(&format!("/v1/businesses/{}/stats", people.business_id), Some(&people.owner_token)).await;
        assert_eq!((status, error_code(&body)), (401, "invalid_token"), "attempt {attempt}: {body}");
    }
    // Points, inside the gateway's process, still delivers to the service with its own credential.
    let emit = json!({"business_id": people.business_id, "member_id": people.member_id, "purchase_bs": 10, "idempotency_key": "k-1"});
    let (status, body) = api.post("/v1/points/emit", Some(&people.owner_token), emit).await;
    assert_eq!(status, 201, "{body}");
    let analytics_file = service_dir.path().join("analytics.db");
    let deadline = Instant::now() + Duration::from_secs(10);
    while row_count(&analytics_file, "analytics_processed_movements") < 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(row_count(&analytics_file, "analytics_processed_movements"), 1, "the delivery reached the service");
    // Nothing was written under either data directory's secrets: every value came from the environment.
    assert!(!gateway_dir.path().join("secrets").exists());
    assert!(!service_dir.path().join("secrets").exists());
}

#[test]
fn a_peer_for_a_module_the_topology_runs_in_process_is_refused() {
    let data_dir = tempfile::tempdir().unwrap();
    let output = Command::new(rewards_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--peer", "analytics=http://127.0.0.1:9", "--data-dir"])
        .arg(data_dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--peer analytics=URL") && stderr.contains("extract=analytics"), "{stderr}");
}
