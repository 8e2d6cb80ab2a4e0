//! The SQLite backend: a small pool of connections to one file in WAL mode.
//!
//! Statements run synchronously on the calling task: they are short, and a unit of work never waits on the network
//! while it holds the write lock (cross-module reads happen before it begins, and in-transaction subscribers are
//! local).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::ValueRef;

use super::{Outcome, Param, Row, StorageError, StorageErrorKind, Value, Wanted};

/// How many idle connections a database keeps for reuse; more are opened on demand and closed when returned.
const IDLE_CONNECTIONS_KEPT: usize = 32;

/// How long a writer waits for SQLite's write lock before giving up with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Prepared statements kept per connection: every module's statements fit, so the monolith's shared connections
/// never re-prepare.
const STATEMENT_CACHE_CAPACITY: usize = 128;

impl From<rusqlite::Error> for StorageError {
    fn from(error: rusqlite::Error) -> Self {
        let kind = match error.sqlite_error() {
            Some(failure) => match failure.extended_code {
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    StorageErrorKind::UniqueViolation
                }
                rusqlite::ffi::SQLITE_CONSTRAINT_CHECK => StorageErrorKind::CheckViolation,
                rusqlite::ffi::SQLITE_AUTH => StorageErrorKind::PermissionDenied,
                _ => StorageErrorKind::Other,
            },
            None => StorageErrorKind::Other,
        };
        StorageError::new(kind, error.to_string())
    }
}

pub(super) struct SqlitePool {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

impl SqlitePool {
    pub(super) fn open(path: &Path) -> Result<SqlitePool, StorageError> {
        let pool = SqlitePool { shared: Arc::new(Shared { path: path.to_path_buf(), idle: Mutex::new(Vec::new()) }) };
        let connection = pool.checkout()?;
        let journal_mode: String =
            connection.connection()?.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !journal_mode.eq_ignore_ascii_case("wal") {
            return Err(StorageError::other(format!(
                "could not switch {} to WAL mode (got {journal_mode})",
                path.display()
            )));
        }
        Ok(pool)
    }

    pub(super) fn path(&self) -> &Path {
        &self.shared.path
    }

    pub(super) fn checkout(&self) -> Result<PooledSqlite, StorageError> {
        let reused = self.shared.idle.lock().map_err(|_| StorageError::other("connection pool lock poisoned"))?.pop();
        let connection = match reused {
            Some(connection) => connection,
            None => open_connection(&self.shared.path)?,
        };
        Ok(PooledSqlite { connection: Some(connection), shared: Arc::clone(&self.shared) })
    }
}

fn open_connection(path: &Path) -> Result<rusqlite::Connection, StorageError> {
    let connection = rusqlite::Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // NORMAL is durable across application crashes in WAL mode; only a power loss can lose the last commits.
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(connection)
}

/// A connection checked out of the pool; it goes back when dropped.
pub(super) struct PooledSqlite {
    connection: Option<rusqlite::Connection>,
    shared: Arc<Shared>,
}

impl Drop for PooledSqlite {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take()
            && let Ok(mut idle) = self.shared.idle.lock()
            && idle.len() < IDLE_CONNECTIONS_KEPT
        {
            idle.push(connection);
        }
    }
}

impl PooledSqlite {
    fn connection(&self) -> Result<&rusqlite::Connection, StorageError> {
        self.connection.as_ref().ok_or_else(|| StorageError::other("the connection was already returned"))
    }

    pub(super) fn run(&mut self, text: &str, params: &[Param<'_>], wanted: Wanted) -> Result<Outcome, StorageError> {
        let connection = self.connection()?;
        let mut statement = connection.prepare_cached(text)?;
        super::check_arity(statement.parameter_count(), params, text)?;
        for (index, param) in params.iter().enumerate() {
            let position = index + 1;
            match param {
                Param::Null => statement.raw_bind_parameter(position, rusqlite::types::Null)?,
                Param::Int(number) => statement.raw_bind_parameter(position, number)?,
                Param::Text(text) => statement.raw_bind_parameter(position, text)?,
                Param::IntList(numbers) => {
                    let as_json = serde_json::to_string(numbers)
                        .map_err(|error| StorageError::other(format!("encoding a list: {error}")))?;
                    statement.raw_bind_parameter(position, as_json)?;
                }
            }
        }
        match wanted {
            // A statement that returns rows counts them, as PostgreSQL's does.
            Wanted::Count if statement.column_count() > 0 => {
                let mut rows = statement.raw_query();
                let mut count = 0;
                while rows.next()?.is_some() {
                    count += 1;
                }
                Ok(Outcome::Count(count))
            }
            Wanted::Count => Ok(Outcome::Count(statement.raw_execute()? as u64)),
            Wanted::Rows => {
                let columns = statement.column_count();
                let mut rows = statement.raw_query();
                let mut read = Vec::new();
                while let Some(row) = rows.next()? {
                    let mut values = Vec::with_capacity(columns);
                    for column in 0..columns {
                        values.push(match row.get_ref(column)? {
                            ValueRef::Null => Value::Null,
                            ValueRef::Integer(number) => Value::Int(number),
                            ValueRef::Text(bytes) => Value::Text(
                                std::str::from_utf8(bytes)
                                    .map_err(|error| StorageError::other(format!("column {column}: {error}")))?
                                    .to_owned(),
                            ),
                            other => {
                                return Err(StorageError::other(format!(
                                    "column {column} holds a {:?}, which the app never stores",
                                    other.data_type()
                                )));
                            }
                        });
                    }
                    read.push(Row { values });
                }
                Ok(Outcome::Rows(read))
            }
        }
    }

    pub(super) fn execute_script(&mut self, script: &str) -> Result<(), StorageError> {
        Ok(self.connection()?.execute_batch(script)?)
    }

    /// `BEGIN IMMEDIATE` takes the write lock up front, so that two concurrent read-then-write sequences (two claims
    /// of one QR code, two redeems against one balance) are serialised instead of failing late with a busy error.
    pub(super) fn begin(&mut self) -> Result<(), StorageError> {
        Ok(self.connection()?.execute_batch("BEGIN IMMEDIATE")?)
    }

    pub(super) fn commit(&mut self) -> Result<(), StorageError> {
        let connection = self.connection()?;
        let outcome = connection.execute_batch("COMMIT");
        if outcome.is_err() {
            // A failed COMMIT can leave the transaction open; close it before the connection is reused.
            let _ = connection.execute_batch("ROLLBACK");
        }
        Ok(outcome?)
    }

    pub(super) fn roll_back(self) {
        if let Ok(connection) = self.connection() {
            let _ = connection.execute_batch("ROLLBACK");
        }
    }
}
