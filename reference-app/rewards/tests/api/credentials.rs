//! Secrets and internal routes, attacked from outside: a weak secret stops start-up, a service's credential is refused
//! on routes that do not list that service, `/rpc` is not served on the public port, the internal listener has the
//! public API's body limit, and the data directory is private.

use std::path::Path;
use std::process::Command;

use rewards::config::{ModuleName, Topology};
use rewards::transport::wire::SERVICE_CREDENTIAL_HEADER;
use rewards_platform::{Role, TokenClaims, TokenSigner, now_unix_seconds};
use serde_json::{Value, json};

use crate::support::{cast, error_code, rewards_binary, serve_config, start_app, start_app_with, test_tuning};

/// Runs `rewards ARGUMENTS` with `environment` until it exits, and returns its exit code and stderr.
fn run_rewards(arguments: &[&str], environment: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(rewards_binary())
        .args(arguments)
        .envs(environment.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

fn secret_file(data_dir: &Path, name: &str) -> std::path::PathBuf {
    data_dir.join("secrets").join(name)
}

fn write_secret(data_dir: &Path, name: &str, value: &str) {
    std::fs::create_dir_all(data_dir.join("secrets")).unwrap();
    std::fs::write(secret_file(data_dir, name), value).unwrap();
}

#[test]
fn a_weak_secret_from_a_file_or_the_environment_stops_start_up_naming_its_source() {
    let serve = |data_dir: &Path| format!("serve --listen=127.0.0.1:0 --data-dir={}", data_dir.display());
    let run = |command: String, environment: &[(&str, &str)]| {
        run_rewards(&command.split(' ').collect::<Vec<_>>(), environment)
    };

    // An empty signing-key file, as a crashed or racing writer would have left it before the atomic rename.
    let empty = tempfile::tempdir().unwrap();
    write_secret(empty.path(), "token-signing-key", "");
    let (code, stderr) = run(serve(empty.path()), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("token-signing-key") && stderr.contains("shorter than 32 bytes"), "{stderr}");

    // A key of 31 bytes.
    let short = tempfile::tempdir().unwrap();
    write_secret(short.path(), "token-signing-key", &hex::encode([7u8; 31]));
    let (code, stderr) = run(serve(short.path()), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("shorter than 32 bytes (31 bytes)"), "{stderr}");

    // A short credential from the environment, for a process that calls others (the gateway of services).
    let environment = tempfile::tempdir().unwrap();
    let services = format!("{} --topology=services", serve(environment.path()));
    let (code, stderr) = run(services, &[("REWARDS_SERVICE_CREDENTIAL_GATEWAY", "too-short")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("REWARDS_SERVICE_CREDENTIAL_GATEWAY") && stderr.contains("shorter than 32 bytes"),
        "{stderr}"
    );
    // Set but empty is not "unset": it stops too, rather than falling back to a file.
    let (code, stderr) = run(serve(environment.path()), &[("REWARDS_TOKEN_SIGNING_KEY", "")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("REWARDS_TOKEN_SIGNING_KEY") && stderr.contains("shorter than 32 bytes"), "{stderr}");
    // A credential file read by a service that calls others.
    let service = tempfile::tempdir().unwrap();
    write_secret(service.path(), "credential-points", "short\n");
    let directory = service.path().to_str().unwrap();
    let (code, stderr) = run_rewards(
        &[
            "serve-module",
            "points",
            "--listen=127.0.0.1:0",
            "--data-dir",
            directory,
            "--peer=business=http://127.0.0.1:9",
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("credential-points") && stderr.contains("shorter than 32 bytes"), "{stderr}");
    // The variables of earlier versions are refused rather than ignored.
    let (code, stderr) = run(serve(environment.path()), &[("REWARDS_TOKEN_KEY", &"k".repeat(64))]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("REWARDS_TOKEN_KEY is no longer read"), "{stderr}");
}

/// POSTs `body` to `url` with `credential` (none when `None`) and `token`, and returns the status and body.
async fn call(url: &str, credential: Option<&str>, token: Option<&str>, body: Value) -> (u16, String) {
    let mut request = reqwest::Client::new().post(url).header("content-type", "application/json").json(&body);
    if let Some(credential) = credential {
        request = request.header(SERVICE_CREDENTIAL_HEADER, credential);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn service_url(data_dir: &Path, module: &str) -> String {
    let services: Value = serde_json::from_slice(&std::fs::read(data_dir.join("services.json")).unwrap()).unwrap();
    services[module]["url"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_credential_is_refused_on_another_services_routes() {
    let app = start_app(Topology::Services, test_tuning()).await;
    let people = cast(&app.api, app.data_dir(), &app.storage, 1).await;
    let data_dir = app.data_dir();
    let credential =
        |caller: &str| std::fs::read_to_string(secret_file(data_dir, &format!("credential-{caller}"))).unwrap();
    let (gateway, points) = (credential("gateway"), credential("points"));
    let movement = json!([{
        "transaction_id": 999, "member_id": people.member_id, "business_id": people.business_id, "kind": "emit",
        "points": 1_000_000, "balance_after": 1_000_000, "occurred_at": 1
    }]);

    // The gateway process faces the internet; its credential must not let it write the audit record or statistics.
    // Analytics knows the gateway (which reads statistics) and refuses it on this route; audit, which only points
    // calls, does not know the gateway's credential at all.
    let analytics = format!("{}/rpc/analytics/record_movement", service_url(data_dir, "analytics"));
    let (status, body) = call(&analytics, Some(&gateway), None, movement.clone()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("does not accept calls from gateway"), "{body}");
    let audit = format!("{}/rpc/audit/record_movement", service_url(data_dir, "audit"));
    let (status, body) = call(&audit, Some(&gateway), None, movement.clone()).await;
    assert_eq!(status, 401, "{body}");
    // Points may read a profile, but not create one, nor log anyone in (auth holds no verifier for points at all).
    let users = service_url(data_dir, "users");
    let profile = json!([{"user_id": 999, "display_name": "Mallory", "role": "member"}]);
    let (status, body) = call(&format!("{users}/rpc/users/create_profile"), Some(&points), None, profile).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = call(
        &format!("{users}/rpc/users/get_profile"),
        Some(&points),
        Some(&people.member_token),
        json!([people.member_id]),
    )
    .await;
    assert_eq!(status, 200, "points reads profiles with its own credential");
    let login = json!([{"email": "member@example.com", "password": "password123"}]);
    let auth = service_url(data_dir, "auth");
    let (status, _) = call(&format!("{auth}/rpc/auth/login"), Some(&points), None, login.clone()).await;
    assert_eq!(status, 401, "auth does not know points' credential");
    // No credential, an empty one and a made-up one are refused before any route runs.
    for credential in [None, Some(""), Some("a made-up credential of more than 32 bytes")] {
        let (status, _) = call(&format!("{auth}/rpc/auth/login"), credential, None, login.clone()).await;
        assert_eq!(status, 401, "{credential:?}");
    }
    // What only `verify` reads is served to no peer at all.
    let (status, _) = call(
        &format!("{}/rpc/points/ledger_summary", service_url(data_dir, "points")),
        Some(&gateway),
        None,
        json!(null),
    )
    .await;
    assert_eq!(status, 404);
    // Nothing was written by the refused calls: the audit record and the statistics have no such movement.
    assert_eq!(crate::support::row_count(&data_dir.join("audit.db"), "audit_records"), 0);
    assert_eq!(crate::support::row_count(&data_dir.join("analytics.db"), "analytics_processed_movements"), 0);
    assert_eq!(crate::support::row_count(&data_dir.join("users.db"), "users_profiles"), 2);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_is_not_served_on_the_public_port_and_the_monolith_has_no_internal_listener() {
    let app = start_app(Topology::Monolith, test_tuning()).await;
    assert_eq!(app.internal_url, None, "the monolith opens no internal listener");
    let credential = "any credential of thirty-two bytes or more";
    for path in ["/rpc/auth/login", "/rpc/points/balance", "/rpc/audit/record_movement", "/rpc/users/create_profile"] {
        let (status, body) = call(&format!("{}{path}", app.api.base_url()), Some(credential), None, json!([1])).await;
        assert_eq!(status, 404, "{path}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error_code(&body), "not_found");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extracted_module_reaches_the_gateways_modules_on_the_internal_listener_only() {
    let app = start_app(Topology::Extract([ModuleName::Points].into()), test_tuning()).await;
    let people = cast(&app.api, app.data_dir(), &app.storage, 2).await;
    // Points, a child, calls business and users in the gateway's process: through the internal listener.
    let emit = json!({"business_id": people.business_id, "member_id": people.member_id, "purchase_bs": 10, "idempotency_key": "k-1"});
    let (status, body) = app.api.post("/v1/points/emit", Some(&people.owner_token), emit).await;
    assert_eq!(status, 201, "{body}");
    let internal = app.internal_url.clone().expect("extract=points gives the gateway an internal listener");
    let points = std::fs::read_to_string(secret_file(app.data_dir(), "credential-points")).unwrap();
    let get_business = json!([people.business_id]);
    let (status, _) = call(
        &format!("{}/rpc/business/get_business", app.api.base_url()),
        Some(&points),
        Some(&people.owner_token),
        get_business.clone(),
    )
    .await;
    assert_eq!(status, 404, "not on the public port");
    let (status, _) =
        call(&format!("{internal}/rpc/business/get_business"), Some(&points), Some(&people.owner_token), get_business)
            .await;
    assert_eq!(status, 200, "on the internal listener, with points' credential");
    // Only what an extracted module calls is served there: points never calls auth.
    let (status, _) = call(&format!("{internal}/rpc/auth/login"), Some(&points), None, json!([{}])).await;
    assert_eq!(status, 404);
    // The public API's body limit holds on the internal listener too.
    let oversized = reqwest::Client::new()
        .post(format!("{internal}/rpc/business/get_business"))
        .header(SERVICE_CREDENTIAL_HEADER, &points)
        .header("content-type", "application/json")
        .body(vec![b' '; 64 * 1024])
        .send()
        .await;
    if let Ok(response) = oversized {
        assert_eq!(response.status().as_u16(), 413);
    }
    app.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_and_secrets_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let data_dir = parent.path().join("fresh").join("data");
    let config = serve_config(&data_dir, Topology::Services, test_tuning());
    let app = start_app_with(parent, config).await;
    cast(&app.api, app.data_dir(), &app.storage, 1).await;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data_dir), 0o700);
    assert_eq!(mode(&data_dir.join("secrets")), 0o700);
    for entry in std::fs::read_dir(data_dir.join("secrets")).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_can_only_be_made_where_the_signing_key_is() {
    // A services deployment: only auth's process loads the signing key. A token signed with anything else (say, the
    // public key's owner guessed wrong, or an old shared key) is refused by the gateway and at every hop.
    let app = start_app(Topology::Services, test_tuning()).await;
    let people = cast(&app.api, app.data_dir(), &app.storage, 1).await;
    let forged = TokenSigner::random().sign(&TokenClaims {
        user_id: people.member_id,
        role: Role::Member,
        expires_at: now_unix_seconds() + 60,
    });
    let (status, body) = app.api.get("/v1/dashboard", Some(&forged)).await;
    assert_eq!((status, error_code(&body)), (401, "invalid_token"));
    // The deployment's own key, read from its file, signs tokens every process accepts.
    let seed = hex::decode(std::fs::read_to_string(secret_file(app.data_dir(), "token-signing-key")).unwrap()).unwrap();
    let genuine = TokenSigner::from_seed(&seed).unwrap().sign(&TokenClaims {
        user_id: people.member_id,
        role: Role::Member,
        expires_at: now_unix_seconds() + 60,
    });
    let (status, body) = app.api.get("/v1/dashboard", Some(&genuine)).await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}
