//! The loss of a service: with analytics killed, the dashboard and emits keep working, stats fail fast with 503,
//! and after a restart the outbox delivers what was missed; and a service killed from outside comes back by itself.

use std::time::{Duration, Instant};

use rewards::config::{ModuleName, Topology};
use serde_json::json;

use crate::support::{assert_verify_passes, cast, error_code, is_running, service_pids, start_app, test_tuning};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_analytics_degrades_only_stats_and_the_outbox_catches_up_after_restart() {
    let tuning = test_tuning();
    let call_timeout = Duration::from_millis(tuning.peer_timeout_ms);
    let app = start_app(Topology::Services, tuning).await;
    let api = app.api.clone();
    let people = cast(&api, 1).await;
    let supervisor = app.supervisor.clone().unwrap();
    let emit = |key: &str| json!({"business_id": people.business_id, "member_id": people.member_id, "purchase_bs": 100, "idempotency_key": key});
    let stats_path = format!("/v1/businesses/{}/stats", people.business_id);
    let (status, body) = api.post("/v1/points/emit", Some(&people.owner_token), emit("before")).await;
    assert_eq!(status, 201, "{body}");

    supervisor.stop(ModuleName::Analytics).await.unwrap();

    let (status, body) = api.post("/v1/points/emit", Some(&people.owner_token), emit("during")).await;
    assert_eq!(status, 201, "emits must not depend on analytics: {body}");
    let (status, body) = api.get("/v1/dashboard", Some(&people.member_token)).await;
    assert_eq!(status, 200, "the dashboard must not depend on analytics: {body}");
    assert_eq!(body["balance"], json!(200));
    for attempt in 0..8 {
        let started = Instant::now();
        let (status, body) = api.get(&stats_path, Some(&people.owner_token)).await;
        let elapsed = started.elapsed();
        assert_eq!((status, error_code(&body)), (503, "service_unavailable"), "attempt {attempt}: {body}");
        // Where the service lives and what the transport said belong in the log, not in the public answer.
        let message = body["error"]["message"].as_str().unwrap();
        assert!(!message.contains("http") && !message.contains("127.0.0.1"), "attempt {attempt}: {message}");
        // Every attempt is bounded by the peer timeout (retries of a refused connection add only backoff).
        assert!(elapsed < call_timeout * 2, "attempt {attempt} took {elapsed:?}");
    }

    supervisor.restart(ModuleName::Analytics).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let stats = loop {
        let (status, body) = api.get(&stats_path, Some(&people.owner_token)).await;
        if (status == 200 && body["emitted"] == json!(200)) || Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(stats, (200, json!({"emitted": 200, "redeemed": 0, "members": 1})));
    assert_verify_passes(app.data_dir()).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_killed_from_outside_is_restarted_by_the_supervisor() {
    let app = start_app(Topology::Services, test_tuning()).await;
    let api = app.api.clone();
    let people = cast(&api, 1).await;
    let supervisor = app.supervisor.clone().unwrap();
    let killed = service_pids(app.data_dir())["users"];
    // SIGKILL, as the kernel's OOM killer or a crash would end it: the supervisor is not told.
    let pid = rustix::process::Pid::from_raw(i32::try_from(killed).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).unwrap();

    // It comes back on its own, on the same address, under a new process id.
    let deadline = Instant::now() + Duration::from_secs(30);
    let restarted = loop {
        let pid = service_pids(app.data_dir()).get("users").copied();
        if let Some(pid) = pid.filter(|pid| *pid != killed && is_running(*pid)) {
            break pid;
        }
        assert!(Instant::now() < deadline, "users was not restarted within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!is_running(killed));
    assert_eq!(supervisor.restarts_of(ModuleName::Users), 1);
    assert!(is_running(restarted));
    // And it serves: the dashboard reads the member's profile from it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = api.get("/v1/dashboard", Some(&people.member_token)).await;
        if status == 200 {
            assert_eq!(body["profile"]["user_id"], json!(people.member_id));
            break;
        }
        // The gateway's breaker may still be open from the calls that failed while users was down.
        assert!(Instant::now() < deadline, "the dashboard did not recover: {status} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await;
}
