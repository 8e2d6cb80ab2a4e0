//! Bad input gets the right 4xx in the public error shape, nothing panics, and nothing is written.

use reqwest::Method;
use rewards::config::{Topology, Tuning};
use serde_json::json;

use crate::support::{Api, assert_verify_passes, cast, error_code, row_count, start_app, test_tuning};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_bad_tokens_and_invalid_fields_are_refused_without_writing() {
    let app = start_app(Topology::Monolith, test_tuning()).await;
    let api = app.api.clone();
    let people = cast(&api, app.data_dir(), &app.storage, 1).await;
    let owner = Some(people.owner_token.as_str());
    let member = Some(people.member_token.as_str());
    let emit_path = "/v1/points/emit";
    let offers_path = format!("/v1/businesses/{}/offers", people.business_id);

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
        (
            "empty business name",
            api.post("/v1/businesses", owner, json!({"name": "  ", "points_per_boliviano": 2})).await,
            422,
            "invalid_input",
        ),
        (
            "a bidi override in a display name",
            api.post("/v1/auth/register", None, json!({"email": "new@example.com", "password": "password123", "name": "Ana\u{202e}nimda", "role": "member"})).await,
            422,
            "invalid_input",
        ),
        (
            "a zero-width space in a business name",
            api.post("/v1/businesses", owner, json!({"name": "Caf\u{e9}\u{200b} Central", "points_per_boliviano": 2})).await,
            422,
            "invalid_input",
        ),
        (
            "a bidi isolate in an offer title",
            api.post(&offers_path, owner, json!({"title": "\u{2066}Free coffee\u{2069}", "cost_points": 10})).await,
            422,
            "invalid_input",
        ),
        (
            "emission rate of zero",
            api.post("/v1/businesses", owner, json!({"name": "Shop", "points_per_boliviano": 0})).await,
            422,
            "invalid_input",
        ),
        (
            "emission rate above the cap",
            api.post("/v1/businesses", owner, json!({"name": "Shop", "points_per_boliviano": 1_001})).await,
            422,
            "invalid_input",
        ),
        (
            "member creating a business",
            api.post("/v1/businesses", member, json!({"name": "Shop", "points_per_boliviano": 2})).await,
            403,
            "forbidden",
        ),
        (
            "offer costing nothing",
            api.post(&offers_path, owner, json!({"title": "Free", "cost_points": 0})).await,
            422,
            "invalid_input",
        ),
        (
            "offer title too long",
            api.post(&offers_path, owner, json!({"title": "x".repeat(101), "cost_points": 10})).await,
            422,
            "invalid_input",
        ),
        (
            "member creating an offer",
            api.post(&offers_path, member, json!({"title": "Coffee", "cost_points": 10})).await,
            403,
            "forbidden",
        ),
        (
            "QR code for a negative purchase",
            api.post("/v1/points/qr", owner, json!({"business_id": people.business_id, "purchase_bs": -1})).await,
            422,
            "invalid_input",
        ),
        (
            "QR code for an unknown business",
            api.post("/v1/points/qr", owner, json!({"business_id": 999, "purchase_bs": 10})).await,
            404,
            "business_not_found",
        ),
        (
            "member creating a QR code",
            api.post("/v1/points/qr", member, json!({"business_id": people.business_id, "purchase_bs": 10})).await,
            403,
            "forbidden",
        ),
        ("unknown route", api.get("/v1/nothing-here", None).await, 404, "not_found"),
        ("wrong method", api.get("/v1/points/emit", owner).await, 405, "method_not_allowed"),
    ];
    for (case, (status, body), expected_status, expected_code) in &cases {
        assert_eq!((*status, error_code(body)), (*expected_status, *expected_code), "{case}: {body}");
    }

    // Nothing was written: only the cast's business exists, with no offer and no QR code, the refused registrations
    // left their email free, and the ledger is still empty.
    let database = app.data_dir().join("rewards.db");
    assert_eq!(row_count(&database, "business_businesses"), 1);
    assert_eq!(row_count(&database, "business_offers"), 0);
    assert_eq!(row_count(&database, "points_qr_codes"), 0);
    assert_eq!(row_count(&database, "auth_accounts"), 2);
    assert_eq!(row_count(&database, "users_profiles"), 2);
    api.register("new@example.com", "member").await;
    let (status, dashboard) = api.get("/v1/dashboard", member).await;
    assert_eq!(status, 200, "{dashboard}");
    assert_eq!(dashboard["balance"], json!(0));
    assert_eq!(dashboard["recent_transactions"], json!([]));
    let report = rewards::verify::verify(app.data_dir(), &app.storage, std::time::Duration::ZERO).await.unwrap();
    assert_eq!(report.ledger_entries, 0);
    assert_verify_passes(&app).await;
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
    let people = cast(&api, app.data_dir(), &app.storage, 1).await;
    let (status, qr) = api
        .post("/v1/points/qr", Some(&people.owner_token), json!({"business_id": people.business_id, "purchase_bs": 10}))
        .await;
    assert_eq!(status, 201, "{qr}");
    let (status, body) = api.post("/v1/points/claim", Some(&people.member_token), json!({"code": qr["code"]})).await;
    assert_eq!((status, error_code(&body)), (410, "code_expired"), "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_is_per_signed_in_user_and_made_up_tokens_count_against_the_address() {
    // No refill: every bucket only drains, however long the test takes.
    let tuning = Tuning { rate_limit_per_second: 0, rate_limit_burst: 4, ..test_tuning() };
    let app = start_app(Topology::Monolith, tuning).await;
    let api = app.api.clone();
    // Two requests from this address: registering and logging in.
    api.register("member@example.com", "member").await;
    let token = api.login("member@example.com").await;

    // A signed-in user has a bucket of its own, whatever the address has spent.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (status, body) = api.get("/v1/dashboard", Some(&token)).await;
        if status == 429 {
            assert_eq!(error_code(&body), "rate_limited");
        }
        statuses.push(status);
    }
    assert_eq!(statuses, vec![200, 200, 200, 200, 429]);

    // A fresh made-up bearer string per request does not buy a fresh bucket: each counts against the address,
    // which has two requests left, and so does a tampered copy of a real token.
    let made_up =
        ["random-0f3a9c".to_owned(), "random-77d01b".to_owned(), format!("{token}x"), "random-c41e52".to_owned()];
    let mut statuses = Vec::new();
    for bearer in &made_up {
        statuses.push(api.get("/v1/dashboard", Some(bearer)).await.0);
    }
    assert_eq!(statuses, vec![401, 401, 429, 429]);
    // Login and registration are limited per address too.
    let (status, body) =
        api.post("/v1/auth/login", None, json!({"email": "member@example.com", "password": "password123"})).await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"));
    app.stop().await;
}

/// The owner of one business acting on another's is refused with 403, and nothing is written. Run in both
/// topologies, where the second owner's token passes every hop but the business module refuses the act.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_acting_on_another_owners_business_is_forbidden() {
    for topology in [Topology::Monolith, Topology::Services] {
        let app = start_app(topology.clone(), test_tuning()).await;
        let api = app.api.clone();
        let people = cast(&api, app.data_dir(), &app.storage, 1).await;
        api.register("rival@example.com", "business").await;
        let rival = api.login("rival@example.com").await;
        let rival = Some(rival.as_str());
        let business_id = people.business_id;
        let attempts = [
            (
                "offer",
                api.post(&format!("/v1/businesses/{business_id}/offers"), rival, json!({"title": "Gift", "cost_points": 1}))
                    .await,
            ),
            (
                "emit",
                api.post(
                    "/v1/points/emit",
                    rival,
                    json!({"business_id": business_id, "member_id": people.member_id, "purchase_bs": 10, "idempotency_key": "rival-1"}),
                )
                .await,
            ),
            ("qr", api.post("/v1/points/qr", rival, json!({"business_id": business_id, "purchase_bs": 10})).await),
            ("stats", api.get(&format!("/v1/businesses/{business_id}/stats"), rival).await),
        ];
        for (action, (status, body)) in &attempts {
            assert_eq!((*status, error_code(body)), (403, "forbidden"), "{topology}: {action}: {body}");
        }
        let (status, dashboard) = api.get("/v1/dashboard", Some(&people.member_token)).await;
        assert_eq!((status, &dashboard["balance"]), (200, &json!(0)), "{topology}: {dashboard}");
        let (business_file, points_file) = match topology {
            Topology::Monolith => ("rewards.db", "rewards.db"),
            _ => ("business.db", "points.db"),
        };
        assert_eq!(row_count(&app.data_dir().join(business_file), "business_offers"), 0, "{topology}");
        assert_eq!(row_count(&app.data_dir().join(points_file), "points_qr_codes"), 0, "{topology}");
        assert_eq!(row_count(&app.data_dir().join(points_file), "points_ledger"), 0, "{topology}");
        app.stop().await;
    }
}

async fn create_offer(api: &Api, token: &str, business_id: i64, cost_points: i64) -> i64 {
    let (status, body) = api
        .post(
            &format!("/v1/businesses/{business_id}/offers"),
            Some(token),
            json!({"title": format!("Offer for {cost_points}"), "cost_points": cost_points}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["offer_id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_reused_for_a_different_request_is_refused() {
    let app = start_app(Topology::Monolith, test_tuning()).await;
    let api = app.api.clone();
    let people = cast(&api, app.data_dir(), &app.storage, 1).await;
    let owner = Some(people.owner_token.as_str());
    let member = Some(people.member_token.as_str());
    let emit = |purchase_bs: i64| json!({"business_id": people.business_id, "member_id": people.member_id, "purchase_bs": purchase_bs, "idempotency_key": "receipt-1"});
    let (status, first) = api.post("/v1/points/emit", owner, emit(100)).await;
    assert_eq!(status, 201, "{first}");
    let (status, body) = api.post("/v1/points/emit", owner, emit(250)).await;
    assert_eq!((status, error_code(&body)), (409, "idempotency_key_reused"), "{body}");
    let (status, replay) = api.post("/v1/points/emit", owner, emit(100)).await;
    assert_eq!((status, &replay), (200, &first), "the same request with the same key is still a replay");

    let coffee = create_offer(&api, &people.owner_token, people.business_id, 10).await;
    let cake = create_offer(&api, &people.owner_token, people.business_id, 20).await;
    let redeem = |offer_id: i64| json!({"offer_id": offer_id, "idempotency_key": "redeem-1"});
    let (status, body) = api.post("/v1/points/redeem", member, redeem(coffee)).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api.post("/v1/points/redeem", member, redeem(cake)).await;
    assert_eq!((status, error_code(&body)), (409, "idempotency_key_reused"), "{body}");

    // Only the first emit and the first redeem moved points.
    let (_, dashboard) = api.get("/v1/dashboard", member).await;
    assert_eq!(dashboard["balance"], json!(90));
    assert_eq!(dashboard["recent_transactions"].as_array().unwrap().len(), 2);
    assert_verify_passes(&app).await;
    app.stop().await;
}
