//! Test support (feature `test-support`): a fresh PostgreSQL database per test on the server that
//! `REWARDS_TEST_POSTGRES_URL` names, so that tests run in parallel without sharing tables or roles.
//!
//! `.ci/run` starts a throw-away server and sets the variable. Without it, a test that needs PostgreSQL is skipped
//! with a line that says how to run it, except under CI (`CI` set), where it fails: CI must run every test.

use std::sync::atomic::{AtomicU32, Ordering};

use tokio_postgres::NoTls;

/// The variable naming a PostgreSQL superuser URL for tests, such as `postgres://postgres@127.0.0.1:55432/postgres`.
pub const POSTGRES_URL_VARIABLE: &str = "REWARDS_TEST_POSTGRES_URL";

/// A database created for one test and dropped, with the roles the app made for it, when this is dropped.
#[derive(Debug)]
pub struct ScratchPostgres {
    admin_url: String,
    url: String,
    name: String,
}

fn replace_database(url: &str, database: &str) -> String {
    let (without_query, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = without_query.find("://").map_or(0, |position| position + 3);
    let base = match without_query[scheme_end..].find('/') {
        Some(slash) => &without_query[..scheme_end + slash],
        None => without_query,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

impl ScratchPostgres {
    /// Creates a fresh database, or returns `None` (after saying how to run the test) when no server is configured
    /// outside CI. Panics under CI when no server is configured or the server cannot be reached.
    pub async fn create(test_name: &str) -> Option<ScratchPostgres> {
        let admin_url = match std::env::var(POSTGRES_URL_VARIABLE) {
            Ok(url) if !url.trim().is_empty() => url.trim().to_owned(),
            _ => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{test_name} needs PostgreSQL, but {POSTGRES_URL_VARIABLE} is not set; .ci/run starts a server \
                     with .ci/postgres and sets it"
                );
                eprintln!(
                    "skipped {test_name}: it needs PostgreSQL. Start a throw-away server with `.ci/postgres start \
                     /tmp/rewards-pg 55432` and run the tests with \
                     {POSTGRES_URL_VARIABLE}=postgres://postgres@127.0.0.1:55432/postgres"
                );
                return None;
            }
        };
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "rt_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            hex::encode(rand::random::<[u8; 3]>())
        );
        let (client, connection) = tokio_postgres::connect(&admin_url, NoTls)
            .await
            .unwrap_or_else(|error| panic!("{test_name}: cannot reach PostgreSQL at {admin_url}: {error}"));
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|error| panic!("{test_name}: cannot create a scratch database: {error}"));
        let url = replace_database(&admin_url, &name);
        Some(ScratchPostgres { admin_url, url, name })
    }

    /// The scratch database's URL, as the same superuser.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The scratch database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of the server's `postgres` database, as the same superuser.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }
}

impl Drop for ScratchPostgres {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop may run inside a Tokio runtime, which cannot be blocked on; clean up from a thread with its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                let Ok((client, connection)) = tokio_postgres::connect(&admin_url, NoTls).await else {
                    return;
                };
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                // The app names its roles `<database>_<module>`.
                let roles = client
                    .query(
                        "SELECT rolname::text FROM pg_catalog.pg_roles WHERE starts_with(rolname, $1)",
                        &[&format!("{name}_")],
                    )
                    .await
                    .map(|rows| rows.iter().map(|row| row.get::<_, String>(0)).collect::<Vec<_>>())
                    .unwrap_or_default();
                for role in roles {
                    let _ = client.batch_execute(&format!("DROP ROLE IF EXISTS \"{role}\"")).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// The databases a storage test runs on: a fresh SQLite file always, and a fresh PostgreSQL database when a server is
/// configured (see [`ScratchPostgres::create`]). Both are removed when this is dropped.
#[derive(Debug)]
pub struct TestDatabases {
    _directory: tempfile::TempDir,
    _scratch: Option<ScratchPostgres>,
    /// SQLite first, then PostgreSQL when available.
    pub all: Vec<std::sync::Arc<crate::Database>>,
}

impl TestDatabases {
    /// Opens both databases for the test `test_name`.
    pub async fn open(test_name: &str) -> TestDatabases {
        let directory = tempfile::tempdir().expect("creating a temporary directory");
        let sqlite = crate::Database::open_sqlite(&directory.path().join("test.db")).expect("opening SQLite");
        let mut all = vec![sqlite];
        let scratch = ScratchPostgres::create(test_name).await;
        if let Some(scratch) = &scratch {
            all.push(crate::Database::connect_postgres(scratch.url(), 16).await.expect("connecting to PostgreSQL"));
        }
        TestDatabases { _directory: directory, _scratch: scratch, all }
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5/postgres", "scratch"),
            "postgres://postgres@127.0.0.1:5/scratch"
        );
        assert_eq!(
            replace_database("postgres://u:p@h/db?sslmode=disable", "scratch"),
            "postgres://u:p@h/scratch?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://h:5", "scratch"), "postgres://h:5/scratch");
    }
}
