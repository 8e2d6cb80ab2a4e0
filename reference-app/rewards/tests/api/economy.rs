//! The minting attack of the security review, in every topology and on both databases: register a business and a
//! member, emit the maximum, redeem a real merchant's offers. It must end in 403 or 409, and concurrent emits must
//! never take a business past the budget the operator granted it.

use std::process::Command;

use rewards::config::{StorageArgs, Topology};
use serde_json::json;

use crate::support::{Db, assert_verify_passes, cast, error_code, rewards_binary, start_app_on, test_tuning};

/// Runs `rewards operator ARGUMENTS… --data-dir DIR` (with the deployment's database options) and returns its stdout.
fn operator(arguments: &[&str], data_dir: &std::path::Path, storage: &StorageArgs) -> String {
    let output = Command::new(rewards_binary())
        .arg("operator")
        .args(arguments)
        .arg("--data-dir")
        .arg(data_dir)
        .args(storage.to_args().into_iter().filter(|argument| !argument.starts_with("--database-max-connections")))
        .output()
        .unwrap();
    assert!(output.status.success(), "rewards operator {arguments:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

async fn minting_in(db: Db, topology: Topology) {
    let Some(app) = start_app_on(db, "minting", topology.clone(), test_tuning()).await else {
        return;
    };
    let api = app.api.clone();
    // A real merchant, approved and funded by the operator, with an offer its member redeems.
    let merchant = cast(&api, app.data_dir(), &app.storage, 1).await;
    let (status, offer) = api
        .post(
            &format!("/v1/businesses/{}/offers", merchant.business_id),
            Some(&merchant.owner_token),
            json!({"title": "Television", "cost_points": 500}),
        )
        .await;
    assert_eq!(status, 201, "{offer}");
    let offer_id = offer["offer_id"].as_i64().unwrap();

    // The attacker: no operator account at registration, then a business and a member of their own.
    let (status, body) = api
        .post(
            "/v1/auth/register",
            None,
            json!({"email": "root@example.com", "password": "password123", "name": "Root", "role": "operator"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (422, "invalid_body"), "{topology}: {body}");
    let (status, body) =
        api.post("/v1/auth/login", None, json!({"email": "root@example.com", "password": "password123"})).await;
    assert_eq!((status, error_code(&body)), (401, "invalid_credentials"), "{topology}: no account was made");
    api.register("mint@example.com", "business").await;
    let accomplice_id = api.register("accomplice@example.com", "member").await;
    let minter = api.login("mint@example.com").await;
    let accomplice = api.login("accomplice@example.com").await;
    let (status, body) =
        api.post("/v1/businesses", Some(&minter), json!({"name": "Mint", "points_per_boliviano": 1_000})).await;
    assert_eq!(status, 201, "{body}");
    let mint_id = body["business_id"].as_i64().unwrap();

    let emit_maximum = |key: &str| json!({"business_id": mint_id, "member_id": accomplice_id, "purchase_bs": 100_000, "idempotency_key": key});
    let (status, body) = api.post("/v1/points/emit", Some(&minter), emit_maximum("max-1")).await;
    assert_eq!((status, error_code(&body)), (403, "business_not_approved"), "{topology}: {body}");
    let (status, body) =
        api.post("/v1/points/qr", Some(&minter), json!({"business_id": mint_id, "purchase_bs": 100_000})).await;
    assert_eq!((status, error_code(&body)), (403, "business_not_approved"), "{topology}: {body}");
    let redeem = |key: &str| json!({"offer_id": offer_id, "idempotency_key": key});
    let (status, body) = api.post("/v1/points/redeem", Some(&accomplice), redeem("loot-1")).await;
    assert_eq!((status, error_code(&body)), (409, "insufficient_points"), "{topology}: {body}");

    // Even once the operator approves it and grants a small budget, the maximum is refused.
    let mint = mint_id.to_string();
    let approved = operator(&["approve-business", &mint], app.data_dir(), &app.storage);
    assert_eq!(approved.trim(), format!("approved business {mint_id} (Mint)"));
    let granted = operator(&["grant-budget", &mint, "1000"], app.data_dir(), &app.storage);
    assert_eq!(granted.trim(), format!("business {mint_id}: 1000 points granted in all, 0 emitted, 1000 left"));
    let (status, body) = api.post("/v1/points/emit", Some(&minter), emit_maximum("max-2")).await;
    assert_eq!((status, error_code(&body)), (409, "emission_budget_exceeded"), "{topology}: {body}");
    let (status, body) = api.post("/v1/points/redeem", Some(&accomplice), redeem("loot-2")).await;
    assert_eq!((status, error_code(&body)), (409, "insufficient_points"), "{topology}: {body}");

    // Twenty emits of 100 points at once against that budget of 1,000: exactly ten get through, whatever the order.
    let mut emits = tokio::task::JoinSet::new();
    for index in 0..20 {
        let api = api.clone();
        let minter = minter.clone();
        let body = json!({"business_id": mint_id, "member_id": accomplice_id, "purchase_bs": 0.1, "idempotency_key": format!("race-{index}")});
        emits.spawn(async move { api.post("/v1/points/emit", Some(&minter), body).await });
    }
    let mut credited = 0;
    while let Some(answer) = emits.join_next().await {
        let (status, body) = answer.unwrap();
        match status {
            201 => credited += body["points"].as_i64().unwrap(),
            _ => assert_eq!((status, error_code(&body)), (409, "emission_budget_exceeded"), "{topology}: {body}"),
        }
    }
    assert_eq!(credited, 1_000, "{topology}");
    let (status, dashboard) = api.get("/v1/dashboard", Some(&accomplice)).await;
    assert_eq!((status, dashboard["balance"].clone()), (200, json!(1_000)), "{topology}: {dashboard}");
    // What the budget bought is all the accomplice can spend: two televisions, not the shop.
    for attempt in 0..3 {
        let (status, body) =
            api.post("/v1/points/redeem", Some(&accomplice), redeem(&format!("spend-{attempt}"))).await;
        let expected = if attempt < 2 { (201, "") } else { (409, "insufficient_points") };
        let code = if status == 201 { "" } else { error_code(&body) };
        assert_eq!((status, code), expected, "{topology}: {body}");
    }
    assert_verify_passes(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minting_ends_in_403_or_409_in_the_monolith() {
    minting_in(Db::Sqlite, Topology::Monolith).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minting_ends_in_403_or_409_in_services() {
    minting_in(Db::Sqlite, Topology::Services).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minting_ends_in_403_or_409_with_points_extracted() {
    minting_in(Db::Sqlite, "extract=points".parse().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minting_ends_in_403_or_409_in_the_monolith_on_postgres() {
    minting_in(Db::Postgres, Topology::Monolith).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minting_ends_in_403_or_409_in_services_on_postgres() {
    minting_in(Db::Postgres, Topology::Services).await;
}
