//! Throttling that holds: logins and registrations spend a budget of their address and of their target e-mail
//! whatever token they carry, failed logins back off per e-mail (known or not), a flood of logins is shed instead of
//! queued, and forwarded addresses are believed only from trusted proxies.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rewards::config::{HashingCost, Topology, Tuning};
use rewards::gateway::{ForwardedHeader, TrustedProxies, parse_trusted_proxy};
use rewards_platform::{Role, TokenClaims, TokenSigner, now_unix_seconds};
use serde_json::{Value, json};

use crate::support::{Api, cast, error_code, serve_config, start_app, start_app_with, test_tuning};

/// Test settings with fixed (never refilled) login budgets.
fn auth_budgets(per_address: u32, per_email: u32) -> Tuning {
    Tuning {
        auth_rate_limit_per_minute: 0,
        auth_rate_limit_burst: per_address,
        auth_email_rate_limit_per_minute: 0,
        auth_email_rate_limit_burst: per_email,
        ..test_tuning()
    }
}

/// A login with `token` as bearer and `forwarded_for` as `X-Forwarded-For`, returning status and body.
async fn login(api: &Api, email: &str, token: Option<&str>, forwarded_for: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/auth/login", api.base_url()))
        .json(&json!({"email": email, "password": "wrong password"}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(forwarded_for) = forwarded_for {
        request = request.header("x-forwarded-for", forwarded_for);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn deployment_signer(data_dir: &std::path::Path) -> TokenSigner {
    let seed = std::fs::read_to_string(data_dir.join("secrets").join("token-signing-key")).unwrap();
    TokenSigner::from_seed(&hex::decode(seed.trim()).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_throw_away_tokens_do_not_raise_the_login_budget_of_one_address() {
    let app = start_app(Topology::Monolith, auth_budgets(5, 1_000)).await;
    // A thousand genuine tokens of a thousand accounts, as an attacker who registered them would hold (signed here
    // with the deployment's own key, so that each is one the gateway verifies).
    let signer = deployment_signer(app.data_dir());
    let tokens: Vec<String> = (1..=1_000)
        .map(|user_id| signer.sign(&TokenClaims { user_id, role: Role::Member, expires_at: now_unix_seconds() + 600 }))
        .collect();
    let mut admitted = 0;
    for (index, token) in tokens.iter().enumerate() {
        // A different target each time, so that only the address's budget can refuse.
        let (status, body) = login(&app.api, &format!("victim{index}@example.com"), Some(token), None).await;
        match status {
            401 => admitted += 1,
            429 => assert_eq!(error_code(&body), "rate_limited"),
            other => panic!("attempt {index}: {other} {body}"),
        }
    }
    assert_eq!(admitted, 5, "one address gets its five attempts, however many tokens it holds");
    // Registration spends the same budget, token or not.
    let (status, body) = app
        .api
        .post(
            "/v1/auth/register",
            Some(&tokens[0]),
            json!({"email": "new@example.com", "password": "password123", "name": "New", "role": "member"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_email_has_a_budget_of_its_own_across_addresses() {
    // The test's own address is a trusted proxy, so X-Forwarded-For stands for many clients.
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = serve_config(data_dir.path(), Topology::Monolith, auth_budgets(1_000, 3));
    config.trusted_proxies =
        TrustedProxies::new(vec![parse_trusted_proxy("127.0.0.1").unwrap()], ForwardedHeader::XForwardedFor);
    let app = start_app_with(data_dir, config).await;
    let mut statuses = Vec::new();
    for client in 0..10 {
        let address = format!("198.51.100.{}", client + 1);
        statuses.push(login(&app.api, "ana@example.com", None, Some(&address)).await.0);
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 429, 429, 429, 429, 429, 429, 429],
        "three attempts at one e-mail, from anywhere"
    );
    // Another e-mail is untouched.
    assert_eq!(login(&app.api, "bea@example.com", None, Some("198.51.100.1")).await.0, 401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_forwarded_addresses_from_an_untrusted_peer_are_ignored() {
    // No trusted proxy (the default), and one that trusts only 10.0.0.0/8: in both, the test's loopback address is
    // the client, whatever X-Forwarded-For says.
    for trusted in [vec![], vec![parse_trusted_proxy("10.0.0.0/8").unwrap()]] {
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = serve_config(data_dir.path(), Topology::Monolith, auth_budgets(3, 1_000));
        config.trusted_proxies = TrustedProxies::new(trusted.clone(), ForwardedHeader::XForwardedFor);
        let app = start_app_with(data_dir, config).await;
        let mut admitted = 0;
        for client in 0..10 {
            let spoofed = format!("203.0.113.{}", client + 1);
            let (status, _) = login(&app.api, &format!("user{client}@example.com"), None, Some(&spoofed)).await;
            admitted += usize::from(status == 401);
        }
        assert_eq!(admitted, 3, "ten made-up addresses from one peer share its budget ({trusted:?})");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_client_cannot_choose_its_address_by_prepending_one() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = serve_config(data_dir.path(), Topology::Monolith, auth_budgets(3, 1_000));
    config.trusted_proxies =
        TrustedProxies::new(vec![parse_trusted_proxy("127.0.0.0/8").unwrap()], ForwardedHeader::XForwardedFor);
    let app = start_app_with(data_dir, config).await;
    // The proxy appends the real client (198.51.100.7); what the client wrote before it changes nothing.
    let mut admitted = 0;
    for client in 0..10 {
        let chain = format!("203.0.113.{}, 198.51.100.7", client + 1);
        let (status, _) = login(&app.api, &format!("user{client}@example.com"), None, Some(&chain)).await;
        admitted += usize::from(status == 401);
    }
    assert_eq!(admitted, 3, "one real client behind the proxy, one budget");
    // A different real client behind the same proxy has its own.
    assert_eq!(login(&app.api, "other@example.com", None, Some("198.51.100.8")).await.0, 401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_back_off_per_email_and_unknown_emails_answer_alike() {
    let app = start_app(Topology::Monolith, test_tuning()).await;
    app.api.register("ana@example.com", "member").await;
    for email in ["ana@example.com", "nobody@example.com"] {
        let mut answers = Vec::new();
        for _ in 0..5 {
            let (status, body) = login(&app.api, email, None, None).await;
            answers.push((status, error_code(&body).to_owned()));
        }
        let wrong = (401, "invalid_credentials".to_owned());
        let backing_off = (429, "login_backoff".to_owned());
        assert_eq!(answers, [wrong.clone(), wrong.clone(), wrong.clone(), wrong, backing_off], "{email}");
    }
    // While it backs off, the right password is not even checked.
    let (status, body) =
        app.api.post("/v1/auth/login", None, json!({"email": "ana@example.com", "password": "password123"})).await;
    assert_eq!((status, error_code(&body)), (429, "login_backoff"));
    // Other accounts log in as usual.
    app.api.register("bea@example.com", "member").await;
    app.api.login("bea@example.com").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_logins_is_shed_while_the_dashboard_keeps_answering() {
    // The standard argon2 cost, one hashing thread and room for four waiting hashes.
    let tuning = Tuning {
        password_hashing: HashingCost::Standard,
        password_hashing_threads: Some(1),
        password_hashing_queue: 4,
        ..test_tuning()
    };
    let app = start_app(Topology::Monolith, tuning).await;
    let people = cast(&app.api, app.data_dir(), &app.storage, 1).await;
    let api = Arc::new(app.api.clone());
    let finished = Arc::new(AtomicUsize::new(0));
    let mut flood = tokio::task::JoinSet::new();
    for index in 0..64 {
        let (api, finished) = (Arc::clone(&api), Arc::clone(&finished));
        flood.spawn(async move {
            let answer = login(&api, &format!("flood{index}@example.com"), None, None).await;
            finished.fetch_add(1, Ordering::SeqCst);
            answer
        });
    }
    // The dashboard needs no hash: it answers while the logins are being hashed or shed.
    let mut dashboards_during_flood = 0;
    for _ in 0..10 {
        let (status, body) = app.api.get("/v1/dashboard", Some(&people.member_token)).await;
        assert_eq!(status, 200, "{body}");
        if finished.load(Ordering::SeqCst) < 64 {
            dashboards_during_flood += 1;
        }
    }
    let mut shed = 0;
    while let Some(answer) = flood.join_next().await {
        let (status, body) = answer.unwrap();
        match (status, error_code(&body)) {
            (401, "invalid_credentials") => {}
            (503, "auth_busy") => shed += 1,
            other => panic!("a login in the flood answered {other:?}"),
        }
    }
    assert!(shed > 0, "with one thread and four places, some of 64 simultaneous logins must be shed");
    assert!(dashboards_during_flood > 0, "no dashboard was answered while the logins were in flight");
    app.stop().await;
}
