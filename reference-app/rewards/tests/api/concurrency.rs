//! Fifty parallel claims of one QR code, and fifty parallel redeems that together exceed the balance, in each of the
//! three topologies (the monolith, services, and points and audit extracted), on SQLite and on PostgreSQL.

use rewards::config::Topology;
use serde_json::json;

use crate::support::{Db, assert_verify_passes, cast, error_code, start_app_on, test_tuning};

const PARALLEL_REQUESTS: usize = 50;

async fn race_in(db: Db, topology: Topology) {
    let Some(app) = start_app_on(db, "parallel_claims_and_redeems", topology, test_tuning()).await else {
        return;
    };
    let api = app.api.clone();
    let people = cast(&api, app.data_dir(), &app.storage, 1).await;

    let (status, qr) = api
        .post(
            "/v1/points/qr",
            Some(&people.owner_token),
            json!({"business_id": people.business_id, "purchase_bs": 500}),
        )
        .await;
    assert_eq!(status, 201, "{qr}");
    let mut claims = tokio::task::JoinSet::new();
    for _ in 0..PARALLEL_REQUESTS {
        let api = api.clone();
        let token = people.member_token.clone();
        let code = qr["code"].clone();
        claims.spawn(async move { api.post("/v1/points/claim", Some(&token), json!({"code": code})).await });
    }
    let mut claim_statuses = Vec::new();
    while let Some(answer) = claims.join_next().await {
        let (status, body) = answer.unwrap();
        if status != 201 {
            assert_eq!((status, error_code(&body)), (409, "code_used"), "{body}");
        }
        claim_statuses.push(status);
    }
    assert_eq!(claim_statuses.iter().filter(|status| **status == 201).count(), 1);

    // The member now has 500 points; 50 redeems of 30 points would need 1,500, so exactly 16 can succeed.
    let (status, offer) = api
        .post(
            &format!("/v1/businesses/{}/offers", people.business_id),
            Some(&people.owner_token),
            json!({"title": "Sandwich", "cost_points": 30}),
        )
        .await;
    assert_eq!(status, 201, "{offer}");
    let mut redeems = tokio::task::JoinSet::new();
    for attempt in 0..PARALLEL_REQUESTS {
        let api = api.clone();
        let token = people.member_token.clone();
        let offer_id = offer["offer_id"].clone();
        redeems.spawn(async move {
            api.post(
                "/v1/points/redeem",
                Some(&token),
                json!({"offer_id": offer_id, "idempotency_key": format!("redeem-{attempt}")}),
            )
            .await
        });
    }
    let mut successes = 0;
    while let Some(answer) = redeems.join_next().await {
        let (status, body) = answer.unwrap();
        match status {
            201 => successes += 1,
            _ => assert_eq!((status, error_code(&body)), (409, "insufficient_points"), "{body}"),
        }
    }
    assert_eq!(successes, 500 / 30);
    let (status, dashboard) = api.get("/v1/dashboard", Some(&people.member_token)).await;
    assert_eq!(status, 200, "{dashboard}");
    assert_eq!(dashboard["balance"], json!(500 - 30 * (500 / 30)));
    assert_eq!(people.member_id, dashboard["profile"]["user_id"].as_i64().unwrap());
    assert_verify_passes(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_claims_and_redeems_respect_single_use_and_balance_in_the_monolith() {
    race_in(Db::Sqlite, Topology::Monolith).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_claims_and_redeems_respect_single_use_and_balance_in_the_monolith_on_postgres() {
    race_in(Db::Postgres, Topology::Monolith).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_claims_and_redeems_respect_single_use_and_balance_in_services_on_postgres() {
    race_in(Db::Postgres, Topology::Services).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_claims_and_redeems_respect_single_use_and_balance_in_services() {
    race_in(Db::Sqlite, Topology::Services).await;
}

/// Points and audit run as services while the rest stays in the gateway: the claim and the redeem cross the network
/// into a points process whose unit of work spans only its own database connection.
fn points_and_audit_extracted() -> Topology {
    "extract=points,audit".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_claims_and_redeems_respect_single_use_and_balance_with_points_extracted() {
    race_in(Db::Sqlite, points_and_audit_extracted()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_claims_and_redeems_respect_single_use_and_balance_with_points_extracted_on_postgres() {
    race_in(Db::Postgres, points_and_audit_extracted()).await;
}
