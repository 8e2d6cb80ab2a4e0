//! The same user journey against every topology: the answers must be identical, and `verify` must pass after each.

use std::time::Duration;

use rewards::config::Topology;
use rewards_platform::{Sql, StorageErrorKind};
use serde_json::{Value, json};

use crate::support::{Api, Db, RunningApp, assert_verify_passes, start_app_on, test_tuning};

/// Removes what legitimately differs between runs (times and random codes), keeping everything else.
fn without_volatile_fields(mut value: Value) -> Value {
    match &mut value {
        Value::Object(fields) => {
            for volatile in ["member_since", "occurred_at", "expires_at", "token"] {
                if fields.contains_key(volatile) {
                    fields.insert(volatile.to_owned(), json!("<volatile>"));
                }
            }
            // A QR code is random; an error code (also under "code") is not.
            if fields.get("code").and_then(Value::as_str).is_some_and(|code| code.len() == 32) {
                fields.insert("code".to_owned(), json!("<volatile>"));
            }
            for field in fields.values_mut() {
                *field = without_volatile_fields(field.take());
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                *item = without_volatile_fields(item.take());
            }
        }
        _ => {}
    }
    value
}

/// Waits for the statistics, which are eventually consistent behind an outbox, to reach `expected`, and returns the
/// last answer (which the caller compares, so a timeout shows what was seen).
async fn settled_stats(api: &Api, business_id: i64, token: &str, expected: &Value) -> (u16, Value) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = api.get(&format!("/v1/businesses/{business_id}/stats"), Some(token)).await;
        if (status == 200 && &body == expected) || tokio::time::Instant::now() > deadline {
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the journey and returns every answer, in order, as `[step, status, body]`.
async fn run_journey(app: &RunningApp) -> Vec<Value> {
    let api = &app.api;
    let mut transcript = Vec::new();
    let mut record = |step: &str, (status, body): (u16, Value)| {
        transcript.push(json!([step, status, without_volatile_fields(body.clone())]));
        (status, body)
    };
    let owner_credentials = json!({"email": "owner@example.com", "password": "password123"});
    let member_credentials = json!({"email": "member@example.com", "password": "password123"});
    record(
        "register owner",
        api.post(
            "/v1/auth/register",
            None,
            json!({"email": "owner@example.com", "password": "password123", "name": "Owner", "role": "business"}),
        )
        .await,
    );
    let (_, member) = record(
        "register member",
        api.post(
            "/v1/auth/register",
            None,
            json!({"email": "member@example.com", "password": "password123", "name": "Member", "role": "member"}),
        )
        .await,
    );
    let member_id = member["user_id"].as_i64().unwrap();
    let (_, owner_login) = record("login owner", api.post("/v1/auth/login", None, owner_credentials).await);
    let (_, member_login) = record("login member", api.post("/v1/auth/login", None, member_credentials).await);
    let owner_token = owner_login["token"].as_str().unwrap().to_owned();
    let member_token = member_login["token"].as_str().unwrap().to_owned();
    let owner = Some(owner_token.as_str());
    let member = Some(member_token.as_str());

    let (_, business) = record(
        "create business",
        api.post("/v1/businesses", owner, json!({"name": "Café Central", "points_per_boliviano": 2})).await,
    );
    let business_id = business["business_id"].as_i64().unwrap();
    let (_, offer) = record(
        "create offer",
        api.post(
            &format!("/v1/businesses/{business_id}/offers"),
            owner,
            json!({"title": "Free coffee", "cost_points": 40}),
        )
        .await,
    );
    let offer_id = offer["offer_id"].as_i64().unwrap();

    // A business made through the public API emits nothing until the operator approves it and grants it a budget.
    let emit =
        json!({"business_id": business_id, "member_id": member_id, "purchase_bs": 25.5, "idempotency_key": "early"});
    record("emit unapproved", api.post("/v1/points/emit", owner, emit.clone()).await);
    rewards::operator::approve_business(app.data_dir(), &app.storage, business_id).await.unwrap();
    record("emit without budget", api.post("/v1/points/emit", owner, emit).await);
    rewards::operator::grant_budget(app.data_dir(), &app.storage, business_id, 1_000).await.unwrap();

    let emit = json!({"business_id": business_id, "member_id": member_id, "purchase_bs": 25.5, "idempotency_key": "purchase-1"});
    record("emit", api.post("/v1/points/emit", owner, emit.clone()).await);
    record("emit replay", api.post("/v1/points/emit", owner, emit).await);

    let (_, qr) = record(
        "create qr",
        api.post("/v1/points/qr", owner, json!({"business_id": business_id, "purchase_bs": 10})).await,
    );
    let code = qr["code"].as_str().unwrap().to_owned();
    record("claim", api.post("/v1/points/claim", member, json!({"code": code})).await);
    record("claim again", api.post("/v1/points/claim", member, json!({"code": code})).await);

    record(
        "redeem",
        api.post("/v1/points/redeem", member, json!({"offer_id": offer_id, "idempotency_key": "redeem-1"})).await,
    );
    record("dashboard", api.get("/v1/dashboard", member).await);
    let expected_stats = json!({"emitted": 71, "redeemed": 40, "members": 1});
    record("stats", settled_stats(api, business_id, &owner_token, &expected_stats).await);
    transcript
}

fn expected_statuses() -> Vec<(&'static str, u16)> {
    vec![
        ("register owner", 201),
        ("register member", 201),
        ("login owner", 200),
        ("login member", 200),
        ("create business", 201),
        ("create offer", 201),
        ("emit unapproved", 403),
        ("emit without budget", 409),
        ("emit", 201),
        ("emit replay", 200),
        ("create qr", 201),
        ("claim", 201),
        ("claim again", 409),
        ("redeem", 201),
        ("dashboard", 200),
        ("stats", 200),
    ]
}

/// A read of another module's table, as a module that tried it would run it through its own store.
const AUDIT_READS_THE_LEDGER: Sql =
    Sql { sqlite: "SELECT COUNT(*) FROM points_ledger", postgres: "SELECT COUNT(*) FROM points.ledger" };
const POINTS_READS_THE_AUDIT_RECORD: Sql =
    Sql { sqlite: "SELECT COUNT(*) FROM audit_records", postgres: "SELECT COUNT(*) FROM audit.records" };
const AUDIT_READS_ITS_RECORD: Sql =
    Sql { sqlite: "SELECT COUNT(*) FROM audit_records", postgres: "SELECT COUNT(*) FROM audit.records" };

/// On PostgreSQL, each module's role may use only its own schema: the database refuses the read, whoever logs in.
async fn assert_postgres_refuses_cross_module_reads(app: &RunningApp) {
    let Some(scratch) = app.postgres() else {
        return;
    };
    let database = rewards_platform::Database::connect_postgres(scratch.url(), 2).await.unwrap();
    let audit = database.module_store("audit").unwrap();
    let points = database.module_store("points").unwrap();
    let records: i64 = audit.query_one(&AUDIT_READS_ITS_RECORD, &[]).await.unwrap().get(0).unwrap();
    assert_eq!(records, 3, "audit reads its own schema");
    for (store, sql, schema) in
        [(&audit, &AUDIT_READS_THE_LEDGER, "points"), (&points, &POINTS_READS_THE_AUDIT_RECORD, "audit")]
    {
        let refused = store.query(sql, &[]).await.unwrap_err();
        assert_eq!(refused.kind(), StorageErrorKind::PermissionDenied, "{refused}");
        // "for schema" when the statement is prepared by the role; "for table" when the connection had it prepared
        // already (another role ran the same text): the schema is checked when a statement is parsed, the table
        // every time it runs.
        let message = refused.message();
        assert!(
            message.contains(&format!("permission denied for schema {schema}"))
                || message.contains("permission denied for table"),
            "{refused}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_gives_identical_answers_in_every_topology_and_verify_passes() {
    journey_in_every_topology(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_gives_identical_answers_in_every_topology_and_verify_passes_on_postgres() {
    journey_in_every_topology(Db::Postgres).await;
}

async fn journey_in_every_topology(db: Db) {
    let topologies = [Topology::Monolith, Topology::Services, "extract=points,audit".parse::<Topology>().unwrap()];
    let mut transcripts = Vec::new();
    for topology in topologies {
        let Some(app) = start_app_on(db, "the_journey_on_postgres", topology.clone(), test_tuning()).await else {
            return;
        };
        let transcript = run_journey(&app).await;
        assert_verify_passes(&app).await;
        assert_postgres_refuses_cross_module_reads(&app).await;
        app.stop().await;
        transcripts.push((topology, transcript));
    }
    let (_, monolith) = &transcripts[0];
    let statuses: Vec<(String, u16)> = monolith
        .iter()
        .map(|entry| (entry[0].as_str().unwrap().to_owned(), u16::try_from(entry[1].as_u64().unwrap()).unwrap()))
        .collect();
    let expected: Vec<(String, u16)> =
        expected_statuses().into_iter().map(|(step, status)| (step.to_owned(), status)).collect();
    assert_eq!(statuses, expected, "{monolith:#?}");

    // The emit credits 25.5 × 2 = 51 points and its replay returns the same body; the QR adds 20; redeem takes 40.
    assert_eq!(monolith[6][2]["error"]["code"], json!("business_not_approved"));
    assert_eq!(monolith[7][2]["error"]["code"], json!("emission_budget_exceeded"));
    assert_eq!(monolith[8][2], json!({"transaction_id": 1, "points": 51, "balance": 51}));
    assert_eq!(monolith[9][2], monolith[8][2]);
    assert_eq!(monolith[12][2]["error"]["code"], json!("code_used"));
    assert_eq!(monolith[13][2], json!({"transaction_id": 3, "points": 40, "balance": 31}));
    let dashboard = &monolith[14][2];
    assert_eq!(dashboard["balance"], json!(31));
    assert_eq!(dashboard["tier"], json!("bronze"));
    assert_eq!(dashboard["recent_transactions"].as_array().unwrap().len(), 3);
    assert_eq!(dashboard["offers"][0]["title"], json!("Free coffee"));
    assert_eq!(monolith[15][2], json!({"emitted": 71, "redeemed": 40, "members": 1}));

    for (topology, transcript) in &transcripts[1..] {
        assert_eq!(transcript, monolith, "{topology} answered differently from the monolith");
    }
}
