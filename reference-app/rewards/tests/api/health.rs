//! `/healthz` answers 200 once every module answers, local or remote, and 503 naming each module that does not: a
//! local module whose storage fails its check, a service that is down, or a service whose own storage fails.

use rewards::config::{ModuleName, Topology};
use serde_json::json;

use crate::support::{start_app, test_tuning};

/// Loses one of a module's tables, as a broken or replaced database file would.
fn drop_table(database_file: &std::path::Path, table: &str) {
    let connection = rusqlite::Connection::open(database_file).unwrap();
    connection.execute(&format!("DROP TABLE {table}"), []).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monolith_is_healthy_until_a_local_modules_storage_fails() {
    let app = start_app(Topology::Monolith, test_tuning()).await;
    assert_eq!(app.api.get("/healthz", None).await, (200, json!({"status": "ok"})));
    drop_table(&app.data_dir().join("rewards.db"), "users_profiles");
    assert_eq!(app.api.get("/healthz", None).await, (503, json!({"status": "unavailable", "unavailable": ["users"]})));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_are_healthy_until_one_is_down_or_its_storage_fails() {
    let app = start_app(Topology::Services, test_tuning()).await;
    assert_eq!(app.api.get("/healthz", None).await, (200, json!({"status": "ok"})));

    // The business service answers its own /healthz with a check of its storage, which the gateway passes on.
    drop_table(&app.data_dir().join("business.db"), "business_offers");
    assert_eq!(
        app.api.get("/healthz", None).await,
        (503, json!({"status": "unavailable", "unavailable": ["business"]}))
    );
    let supervisor = app.supervisor.clone().unwrap();
    supervisor.stop(ModuleName::Analytics).await.unwrap();
    assert_eq!(
        app.api.get("/healthz", None).await,
        (503, json!({"status": "unavailable", "unavailable": ["analytics", "business"]}))
    );
    app.stop().await;
}
