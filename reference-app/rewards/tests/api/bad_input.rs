//! Bad input gets the right 4xx in the public error shape, nothing panics, and nothing is written.

use reqwest::Method;
use rewards::config::{Topology, Tuning};
use serde_json::json;

use crate::support::{assert_verify_passes, cast, error_code, start_app, test_tuning};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_bad_tokens_and_invalid_fields_are_refused_without_writing() {
    let app = start_app(Topology::Monolith, test_tuning()).await;
    let api = app.api.clone();
    let people = cast(&api, 1).await;
    let owner = Some(people.owner_token.as_str());
    let member = Some(people.member_token.as_str());
    let emit_path = "/v1/points/emit";

    let cases: Vec<(&str, (u16, serde_json::Value), u16, &str)> = vec![
        (
            "malformed JSON",
            api.send_raw(Method::POST, emit_path, owner, Some("application/json"), b"{\"business_id\": ".to_vec()).await,
            400,
            "malformed_json",
        ),
        (
            "wrong types",
            api.post(emit_path, owner, json!({"business_id": "one", "member_id": 2, "purchase_bs": 10, "idempotency_key": "k"})).await,
            422,
            "invalid_body",
        ),
        (
            "unknown field",
            api.post(emit_path, owner, json!({"business_id": 1, "member_id": 2, "purchase_bs": 10, "idempotency_key": "k", "bonus": 5})).await,
            422,
            "invalid_body",
        ),
        (
            "oversized body",
            api.send_oversized(emit_path, owner, 64 * 1024).await,
            413,
            "body_too_large",
        ),
        (
            "missing content type",
            api.send_raw(Method::POST, emit_path, owner, None, b"{}".to_vec()).await,
            415,
            "unsupported_media_type",
        ),
        (
            "missing token",
            api.post(emit_path, None, json!({"business_id": 1, "member_id": 2, "purchase_bs": 10, "idempotency_key": "k"})).await,
            401,
            "missing_token",
        ),
        (
            "tampered token",
            api.get("/v1/dashboard", Some(&format!("x{}", people.member_token))).await,
            401,
            "invalid_token",
        ),
        ("garbage token", api.get("/v1/dashboard", Some("not-a-token")).await, 401, "invalid_token"),
        (
            "negative purchase",
            api.post(emit_path, owner, json!({"business_id": people.business_id, "member_id": people.member_id, "purchase_bs": -5, "idempotency_key": "k"})).await,
            422,
            "invalid_input",
        ),
        (
            "purchase above the cap",
            api.post(emit_path, owner, json!({"business_id": people.business_id, "member_id": people.member_id, "purchase_bs": 1e9, "idempotency_key": "k"})).await,
            422,
            "invalid_input",
        ),
        (
            "malformed idempotency key",
            api.post(emit_path, owner, json!({"business_id": people.business_id, "member_id": people.member_id, "purchase_bs": 10, "idempotency_key": "no spaces allowed"})).await,
            422,
            "invalid_input",
        ),
        (
            "member emitting",
            api.post(emit_path, member, json!({"business_id": people.business_id, "member_id": people.member_id, "purchase_bs": 10, "idempotency_key": "k"})).await,
            403,
            "forbidden",
        ),
        ("business asking for a dashboard", api.get("/v1/dashboard", owner).await, 403, "forbidden"),
        (
            "negative member id",
            api.post(emit_path, owner, json!({"business_id": people.business_id, "member_id": -2, "purchase_bs": 10, "idempotency_key": "k"})).await,
            422,
            "invalid_input",
        ),
        (
            "malformed path id",
            api.post("/v1/businesses/abc/offers", owner, json!({"title": "x", "cost_points": 1})).await,
            422,
            "invalid_input",
        ),
        (
            "unknown business",
            api.post("/v1/businesses/999/offers", owner, json!({"title": "x", "cost_points": 1})).await,
            404,
            "business_not_found",
        ),
        (
            "malformed QR code",
            api.post("/v1/points/claim", member, json!({"code": "../../etc/passwd"})).await,
            422,
            "invalid_input",
        ),
        (
            "unknown QR code",
            api.post("/v1/points/claim", member, json!({"code": "0123456789abcdef0123456789abcdef"})).await,
            404,
            "code_not_found",
        ),
        (
            "bad email",
            api.post("/v1/auth/register", None, json!({"email": "not-an-email", "password": "password123", "name": "X", "role": "member"})).await,
            422,
            "invalid_input",
        ),
        (
            "short password",
            api.post("/v1/auth/register", None, json!({"email": "new@example.com", "password": "short", "name": "X", "role": "member"})).await,
            422,
            "invalid_input",
        ),
        (
            "empty name",
            api.post("/v1/auth/register", None, json!({"email": "new@example.com", "password": "password123", "name": "  ", "role": "member"})).await,
            422,
            "invalid_input",
        ),
        (
            "unknown role",
            api.post("/v1/auth/register", None, json!({"email": "new@example.com", "password": "password123", "name": "X", "role": "admin"})).await,
            422,
            "invalid_body",
        ),
        (
            "duplicate email",
            api.post("/v1/auth/register", None, json!({"email": "MEMBER@example.com", "password": "password123", "name": "X", "role": "member"})).await,
            409,
            "email_taken",
        ),
        (
            "wrong password",
            api.post("/v1/auth/login", None, json!({"email": "member@example.com", "password": "wrong-password"})).await,
            401,
            "invalid_credentials",
        ),
        ("unknown route", api.get("/v1/nothing-here", None).await, 404, "not_found"),
        ("wrong method", api.get("/v1/points/emit", owner).await, 405, "method_not_allowed"),
    ];
    for (case, (status, body), expected_status, expected_code) in &cases {
        assert_eq!((*status, error_code(body)), (*expected_status, *expected_code), "{case}: {body}");
    }

    // Nothing was written: the refused registrations left their email free, and the ledger is still empty.
    api.register("new@example.com", "member").await;
    let (status, dashboard) = api.get("/v1/dashboard", member).await;
    assert_eq!(status, 200, "{dashboard}");
    assert_eq!(dashboard["balance"], json!(0));
    assert_eq!(dashboard["recent_transactions"], json!([]));
    let report = rewards::verify::verify(app.data_dir(), std::time::Duration::ZERO).await.unwrap();
    assert_eq!(report.ledger_entries, 0);
    assert_verify_passes(app.data_dir()).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_refused() {
    // A lifetime of zero makes every token expire the second it is issued.
    let tuning = Tuning { token_lifetime_seconds: 0, ..test_tuning() };
    let app = start_app(Topology::Monolith, tuning).await;
    let api = app.api.clone();
    api.register("member@example.com", "member").await;
    let expired = api.login("member@example.com").await;
    let (status, body) = api.get("/v1/dashboard", Some(&expired)).await;
    assert_eq!((status, error_code(&body)), (401, "token_expired"), "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_qr_codes_answer_gone() {
    let tuning = Tuning { qr_lifetime_seconds: 0, ..test_tuning() };
    let app = start_app(Topology::Monolith, tuning).await;
    let api = app.api.clone();
    let people = cast(&api, 1).await;
    let (status, qr) = api
        .post("/v1/points/qr", Some(&people.owner_token), json!({"business_id": people.business_id, "purchase_bs": 10}))
        .await;
    assert_eq!(status, 201, "{qr}");
    let (status, body) = api.post("/v1/points/claim", Some(&people.member_token), json!({"code": qr["code"]})).await;
    assert_eq!((status, error_code(&body)), (410, "code_expired"), "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_rate_limit_gets_429() {
    let tuning = Tuning { rate_limit_per_second: 1, rate_limit_burst: 3, ..test_tuning() };
    let app = start_app(Topology::Monolith, tuning).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, body) = app.api.get("/v1/dashboard", Some("the-same-client")).await;
        if status == 429 {
            assert_eq!(error_code(&body), "rate_limited");
        }
        statuses.push(status);
    }
    assert_eq!(statuses, vec![401, 401, 401, 429]);
    app.stop().await;
}
