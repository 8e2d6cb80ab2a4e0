//! The storage layer on both databases: units of work, joining, error kinds, list parameters, and on PostgreSQL the
//! per-module roles and the isolation level.

use super::*;
use crate::testing::{ScratchPostgres, TestDatabases};

const ALPHA_MIGRATION: Sql = Sql {
    sqlite: "CREATE TABLE IF NOT EXISTS alpha_numbers (value INTEGER PRIMARY KEY CHECK (value >= 0))",
    postgres: "CREATE TABLE IF NOT EXISTS alpha.numbers (value BIGINT PRIMARY KEY CHECK (value >= 0))",
};
const BETA_MIGRATION: Sql = Sql {
    sqlite: "CREATE TABLE IF NOT EXISTS beta_words (word TEXT NOT NULL)",
    postgres: "CREATE TABLE IF NOT EXISTS beta.words (word TEXT NOT NULL)",
};
const INSERT_NUMBER: Sql = Sql {
    sqlite: "INSERT INTO alpha_numbers (value) VALUES (?1)",
    postgres: "INSERT INTO alpha.numbers (value) VALUES ($1)",
};
const COUNT_NUMBERS: Sql =
    Sql { sqlite: "SELECT COUNT(*) FROM alpha_numbers", postgres: "SELECT COUNT(*) FROM alpha.numbers" };
const NUMBERS_IN: Sql = Sql {
    sqlite: "SELECT value FROM alpha_numbers WHERE value IN (SELECT value FROM json_each(?1)) ORDER BY value",
    postgres: "SELECT value FROM alpha.numbers WHERE value = ANY($1) ORDER BY value",
};
const INSERT_WORD: Sql =
    Sql { sqlite: "INSERT INTO beta_words (word) VALUES (?1)", postgres: "INSERT INTO beta.words (word) VALUES ($1)" };
const COUNT_WORDS: Sql = Sql { sqlite: "SELECT COUNT(*) FROM beta_words", postgres: "SELECT COUNT(*) FROM beta.words" };
/// What the beta module must not be able to run: a read of alpha's table.
const BETA_READS_ALPHA: Sql =
    Sql { sqlite: "SELECT COUNT(*) FROM alpha_numbers", postgres: "SELECT COUNT(*) FROM alpha.numbers" };
const ISOLATION: Sql =
    Sql { sqlite: "SELECT 'serializable'", postgres: "SELECT current_setting('transaction_isolation')" };

async fn databases(test_name: &str) -> TestDatabases {
    TestDatabases::open(test_name).await
}

async fn stores(database: &Arc<Database>) -> (ModuleStore, ModuleStore) {
    let alpha = database.module_store("alpha").unwrap();
    alpha.migrate(&ALPHA_MIGRATION).await.unwrap();
    let beta = database.module_store("beta").unwrap();
    beta.migrate(&BETA_MIGRATION).await.unwrap();
    (alpha, beta)
}

async fn count(store: &ModuleStore, sql: &Sql) -> i64 {
    store.query_one(sql, &[]).await.unwrap().get(0).unwrap()
}

#[tokio::test]
async fn a_unit_of_work_spans_modules_and_commits_or_rolls_back_as_one() {
    for database in databases("a_unit_of_work_spans_modules").await.all {
        let (alpha, beta) = stores(&database).await;
        let mut transaction = alpha.begin().await.unwrap();
        transaction.execute(&INSERT_NUMBER, params![1_i64]).await.unwrap();
        let mut joined = beta.join(transaction.unit_of_work()).await.unwrap();
        joined.execute(&INSERT_WORD, params!["one"]).await.unwrap();
        joined.commit().await.unwrap();
        // Back to alpha's statements in the same transaction, after beta's.
        transaction.execute(&INSERT_NUMBER, params![2_i64]).await.unwrap();
        transaction.commit().await.unwrap();
        assert_eq!((count(&alpha, &COUNT_NUMBERS).await, count(&beta, &COUNT_WORDS).await), (2, 1));

        let mut abandoned = alpha.begin().await.unwrap();
        abandoned.execute(&INSERT_NUMBER, params![3_i64]).await.unwrap();
        beta.join(abandoned.unit_of_work()).await.unwrap().execute(&INSERT_WORD, params!["two"]).await.unwrap();
        drop(abandoned);
        // On PostgreSQL the rollback runs in the background; a connection is only reused once it is done.
        assert_eq!(count(&alpha, &COUNT_NUMBERS).await, 2, "{database:?}");
        assert_eq!(count(&beta, &COUNT_WORDS).await, 1, "{database:?}");
    }
}

#[tokio::test]
async fn a_detached_unit_of_work_is_joined_by_a_transaction_of_the_modules_own() {
    for database in databases("a_detached_unit_of_work").await.all {
        let (_alpha, beta) = stores(&database).await;
        let mut detached = UnitOfWork::detached();
        let mut own = beta.join(&mut detached).await.unwrap();
        own.execute(&INSERT_WORD, params!["kept"]).await.unwrap();
        own.commit().await.unwrap();
        let mut dropped = beta.join(&mut detached).await.unwrap();
        dropped.execute(&INSERT_WORD, params!["lost"]).await.unwrap();
        drop(dropped);
        assert!(detached.is_detached());
        assert_eq!(count(&beta, &COUNT_WORDS).await, 1, "{database:?}");
    }
}

#[tokio::test]
async fn a_unit_of_work_on_another_database_is_refused() {
    let first_directory = tempfile::tempdir().unwrap();
    let second_directory = tempfile::tempdir().unwrap();
    let first = Database::open_sqlite(&first_directory.path().join("a.db")).unwrap();
    let second = Database::open_sqlite(&second_directory.path().join("b.db")).unwrap();
    let (alpha, _) = stores(&first).await;
    let (_, beta_elsewhere) = stores(&second).await;
    let mut transaction = alpha.begin().await.unwrap();
    let refused = beta_elsewhere.join(transaction.unit_of_work()).await.unwrap_err();
    assert!(refused.message().contains("cannot join a unit of work"), "{refused}");
}

#[tokio::test]
async fn constraint_failures_have_kinds_and_lists_bind_on_both_databases() {
    for database in databases("constraint_failures_have_kinds").await.all {
        let (alpha, _) = stores(&database).await;
        for value in [1_i64, 5, 9] {
            alpha.execute(&INSERT_NUMBER, params![value]).await.unwrap();
        }
        let duplicate = alpha.execute(&INSERT_NUMBER, params![5_i64]).await.unwrap_err();
        assert_eq!(duplicate.kind(), StorageErrorKind::UniqueViolation, "{duplicate}");
        let negative = alpha.execute(&INSERT_NUMBER, params![-1_i64]).await.unwrap_err();
        assert_eq!(negative.kind(), StorageErrorKind::CheckViolation, "{negative}");
        let wanted = vec![9_i64, 1, 4];
        let found: Vec<i64> =
            alpha.query(&NUMBERS_IN, params![&wanted]).await.unwrap().iter().map(|row| row.get(0).unwrap()).collect();
        assert_eq!(found, vec![1, 9]);
        let wrong_arity = alpha.execute(&INSERT_NUMBER, &[]).await.unwrap_err();
        assert!(wrong_arity.message().contains("placeholders"), "{wrong_arity}");
    }
}

#[tokio::test]
async fn postgres_refuses_a_module_the_schema_of_another() {
    let Some(scratch) = ScratchPostgres::create("postgres_refuses_a_module_the_schema_of_another").await else {
        return;
    };
    let database = Database::connect_postgres(scratch.url(), 4).await.unwrap();
    let (alpha, beta) = stores(&database).await;
    alpha.execute(&INSERT_NUMBER, params![7_i64]).await.unwrap();
    // The connection logs in as a superuser; the statement still runs as beta's role, which may use only `beta`.
    let outside = beta.query(&BETA_READS_ALPHA, &[]).await.unwrap_err();
    assert_eq!(outside.kind(), StorageErrorKind::PermissionDenied, "{outside}");
    assert!(outside.message().contains("permission denied for schema alpha"), "{outside}");
    // Inside alpha's own unit of work, joined by beta, beta's statements are still beta's.
    let mut transaction = alpha.begin().await.unwrap();
    transaction.execute(&INSERT_NUMBER, params![8_i64]).await.unwrap();
    let mut joined = beta.join(transaction.unit_of_work()).await.unwrap();
    let inside = joined.query(&BETA_READS_ALPHA, &[]).await.unwrap_err();
    assert_eq!(inside.kind(), StorageErrorKind::PermissionDenied, "{inside}");
    // PostgreSQL aborted the transaction; committing it reports that instead of pretending to commit.
    let refused_commit = transaction.commit().await.unwrap_err();
    assert!(refused_commit.message().contains("aborted"), "{refused_commit}");
    assert_eq!(count(&alpha, &COUNT_NUMBERS).await, 1);
    // The owner reads its own table, on the same pooled connections.
    assert_eq!(count(&alpha, &COUNT_NUMBERS).await, 1);
}

#[tokio::test]
async fn postgres_units_of_work_run_at_read_committed_whatever_the_servers_default() {
    let Some(scratch) = ScratchPostgres::create("postgres_units_of_work_run_at_read_committed").await else {
        return;
    };
    let admin = Database::connect_postgres(scratch.url(), 1).await.unwrap();
    drop(admin);
    let (client, connection) = tokio_postgres::connect(scratch.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "ALTER DATABASE {} SET default_transaction_isolation = 'serializable'",
            postgres::quote_identifier(scratch.name())
        ))
        .await
        .unwrap();
    let database = Database::connect_postgres(scratch.url(), 2).await.unwrap();
    let (alpha, _) = stores(&database).await;
    let default: String = alpha.query_one(&ISOLATION, &[]).await.unwrap().get(0).unwrap();
    assert_eq!(default, "serializable", "the server's default was changed for this database");
    let mut transaction = alpha.begin().await.unwrap();
    let level: String = transaction.query_one(&ISOLATION, &[]).await.unwrap().get(0).unwrap();
    assert_eq!(level, "read committed");
    transaction.commit().await.unwrap();
}

#[tokio::test]
async fn postgres_migrations_give_each_module_a_schema_owned_by_its_role() {
    let Some(scratch) = ScratchPostgres::create("postgres_migrations_give_each_module_a_schema").await else {
        return;
    };
    let database = Database::connect_postgres(scratch.url(), 2).await.unwrap();
    stores(&database).await;
    // Twice, as every start does: the migrations and the provisioning are idempotent.
    stores(&database).await;
    let (client, connection) = tokio_postgres::connect(scratch.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let owners: Vec<(String, String)> = client
        .query(
            "SELECT n.nspname::text, pg_catalog.pg_get_userbyid(n.nspowner)::text FROM pg_catalog.pg_namespace n \
             WHERE n.nspname IN ('alpha', 'beta') ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let expected = |module: &str| (module.to_owned(), format!("{}_{module}", scratch.name()));
    assert_eq!(owners, vec![expected("alpha"), expected("beta")]);
    let table_owner: String = client
        .query_one("SELECT tableowner::text FROM pg_catalog.pg_tables WHERE schemaname = 'alpha'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(table_owner, format!("{}_alpha", scratch.name()));
}
