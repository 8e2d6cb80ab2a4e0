//! The loss of a service: with analytics killed, the dashboard and emits keep working, stats fail fast with 503,
//! and after a restart the outbox delivers what was missed; and a service killed from outside comes back by itself.

use std::time::{Duration, Instant};

use rewards::config::{ModuleName, Topology};
use serde_json::json;

use crate::support::{
    Db, assert_verify_passes, cast, error_code, is_running, service_pids, start_app, start_app_on, test_tuning,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_analytics_degrades_only_stats_and_the_outbox_catches_up_after_restart() {
    let tuning = test_tuning();
    let call_timeout = Duration::from_millis(tuning.peer_timeout_ms);
    let app = start_app(Topology::Services, tuning).await;
    let api = app.api.clone();
    let people = cast(&api, app.data_dir(), &app.storage, 1).await;
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
    assert_verify_passes(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_killed_from_outside_is_restarted_by_the_supervisor() {
    let app = start_app(Topology::Services, test_tuning()).await;
    let api = app.api.clone();
    let people = cast(&api, app.data_dir(), &app.storage, 1).await;
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

/// Emits with keys `worker-index`, each once, and returns the keys that were acknowledged (201).
async fn emit_load(
    api: crate::support::Api,
    token: String,
    body: impl Fn(&str) -> serde_json::Value,
    worker: usize,
) -> Vec<String> {
    let mut acknowledged = Vec::new();
    for index in 0..EMITS_PER_WORKER {
        let key = format!("load-{worker}-{index}");
        let (status, _) = api.post("/v1/points/emit", Some(&token), body(&key)).await;
        if status == 201 {
            acknowledged.push(key);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    acknowledged
}

const LOAD_WORKERS: usize = 4;
const EMITS_PER_WORKER: usize = 40;

async fn points_killed_mid_load_and_restarted(db: Db) {
    let Some(app) = start_app_on(db, "points_killed_mid_load", Topology::Services, test_tuning()).await else {
        return;
    };
    let api = app.api.clone();
    let people = cast(&api, app.data_dir(), &app.storage, 1).await;
    let supervisor = app.supervisor.clone().unwrap();
    let business_id = people.business_id;
    let member_id = people.member_id;
    let body = move |key: &str| json!({"business_id": business_id, "member_id": member_id, "purchase_bs": 10, "idempotency_key": key});
    let mut load = tokio::task::JoinSet::new();
    for worker in 0..LOAD_WORKERS {
        load.spawn(emit_load(api.clone(), people.owner_token.clone(), body, worker));
    }
    // Let the load run, then kill the points service (SIGKILL, in the middle of whatever it was doing).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, dashboard) = api.get("/v1/dashboard", Some(&people.member_token)).await;
        if dashboard["balance"].as_i64().unwrap_or(0) >= 200 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    supervisor.stop(ModuleName::Points).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    supervisor.restart(ModuleName::Points).await.unwrap();
    let mut acknowledged = std::collections::BTreeSet::new();
    while let Some(keys) = load.join_next().await {
        acknowledged.extend(keys.unwrap());
    }
    assert!(acknowledged.len() < LOAD_WORKERS * EMITS_PER_WORKER, "the kill should have cost some requests");
    // Every request that was not acknowledged is retried with its key: a movement that committed before the kill is
    // replayed (200), one that did not is written now (201). None is lost, none is applied twice.
    for worker in 0..LOAD_WORKERS {
        for index in 0..EMITS_PER_WORKER {
            let key = format!("load-{worker}-{index}");
            if acknowledged.contains(&key) {
                continue;
            }
            let mut answer = (0, serde_json::Value::Null);
            for _ in 0..50 {
                answer = api.post("/v1/points/emit", Some(&people.owner_token), body(&key)).await;
                if answer.0 == 200 || answer.0 == 201 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(answer.0 == 200 || answer.0 == 201, "{key}: {answer:?}");
        }
    }
    let (status, dashboard) = api.get("/v1/dashboard", Some(&people.member_token)).await;
    assert_eq!(status, 200, "{dashboard}");
    assert_eq!(dashboard["balance"], json!(10 * LOAD_WORKERS * EMITS_PER_WORKER), "{db:?}");
    assert_verify_passes(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_killed_mid_load_and_restarted_loses_and_doubles_nothing() {
    points_killed_mid_load_and_restarted(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_killed_mid_load_and_restarted_loses_and_doubles_nothing_on_postgres() {
    points_killed_mid_load_and_restarted(Db::Postgres).await;
}
