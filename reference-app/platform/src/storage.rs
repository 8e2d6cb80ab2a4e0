//! SQLite storage: a small connection pool per database file, and the unit of work that modules write through.
//!
//! The unit of work is how the monolith commits a movement of points and its audit record in one ACID transaction
//! without putting a database type into any module API. The caller (the points module) begins a unit of work on its
//! database and hands `&mut UnitOfWork` to the modules it calls. A module whose tables live in the same database file
//! joins that transaction; a module given a detached unit of work (because it was reached over the network, or lives
//! in another file) runs in a transaction of its own. The API types only ever name `UnitOfWork`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

/// How many idle connections a database keeps for reuse; more are opened on demand and closed when returned.
const IDLE_CONNECTIONS_KEPT: usize = 32;

/// How long a writer waits for SQLite's write lock before giving up with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A storage failure. The message is SQLite's own; it is meant for logs, not for end users.
#[derive(Debug, Clone, thiserror::Error)]
#[error("storage error: {0}")]
pub struct StorageError(pub String);

impl From<rusqlite::Error> for StorageError {
    fn from(error: rusqlite::Error) -> Self {
        StorageError(error.to_string())
    }
}

/// One SQLite database file in WAL mode, shared by every module whose tables live in it.
pub struct Database {
    path: PathBuf,
    idle_connections: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Database").field("path", &self.path).finish()
    }
}

impl Database {
    /// Opens (creating if needed) the database file and switches it to WAL mode.
    pub fn open(path: &Path) -> Result<Arc<Database>, StorageError> {
        let database = Arc::new(Database { path: path.to_path_buf(), idle_connections: Mutex::new(Vec::new()) });
        let connection = database.open_connection()?;
        let journal_mode: String = connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !journal_mode.eq_ignore_ascii_case("wal") {
            return Err(StorageError(format!("could not switch {} to WAL mode (got {journal_mode})", path.display())));
        }
        database.return_connection(connection);
        Ok(database)
    }

    /// The file this database lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs a module's migration script. Scripts are idempotent (`CREATE TABLE IF NOT EXISTS`), so this runs at
    /// every start.
    pub fn migrate(&self, script: &str) -> Result<(), StorageError> {
        let connection = self.take_connection()?;
        let outcome = connection.execute_batch(script);
        self.return_connection(connection);
        outcome.map_err(StorageError::from)
    }

    /// Runs statements on a pooled connection outside any unit of work, each in its own autocommit transaction.
    /// In WAL mode a read never waits for the writer.
    pub fn with_connection<T>(
        &self,
        query: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StorageError> {
        let connection = self.take_connection()?;
        let outcome = query(&connection);
        self.return_connection(connection);
        outcome.map_err(StorageError::from)
    }

    /// Begins a unit of work that holds SQLite's write lock until it commits or is dropped.
    ///
    /// `BEGIN IMMEDIATE` takes the lock up front, so that two concurrent read-then-write sequences (two claims of one
    /// QR code, two redeems against one balance) are serialised instead of failing late with a busy error.
    pub fn begin(self: &Arc<Self>) -> Result<UnitOfWork, StorageError> {
        let connection = self.take_connection()?;
        if let Err(error) = connection.execute_batch("BEGIN IMMEDIATE") {
            self.return_connection(connection);
            return Err(error.into());
        }
        Ok(UnitOfWork { open_transaction: Some((Arc::clone(self), connection)) })
    }

    /// Runs `work` inside the caller's unit of work when that is a transaction on this database, or in a transaction
    /// of its own, committed here, when the caller's unit of work is detached.
    ///
    /// This is how a module joins the transaction of the module that called it. A unit of work open on a different
    /// database is refused: joining it would silently give up atomicity, which is a wiring mistake.
    pub fn within<T>(
        self: &Arc<Self>,
        unit_of_work: &mut UnitOfWork,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StorageError> {
        if unit_of_work.is_on(self) {
            return work(unit_of_work.connection()?).map_err(StorageError::from);
        }
        if !unit_of_work.is_detached() {
            return Err(StorageError(format!(
                "a unit of work on another database cannot be joined by {}",
                self.path.display()
            )));
        }
        let own_unit_of_work = self.begin()?;
        let value = work(own_unit_of_work.connection()?)?;
        own_unit_of_work.commit()?;
        Ok(value)
    }

    fn open_connection(&self) -> Result<Connection, StorageError> {
        let connection = Connection::open(&self.path)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        // NORMAL is durable across application crashes in WAL mode; only a power loss can lose the last commits.
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        Ok(connection)
    }

    fn take_connection(&self) -> Result<Connection, StorageError> {
        let reused =
            self.idle_connections.lock().map_err(|_| StorageError("connection pool lock poisoned".to_owned()))?.pop();
        match reused {
            Some(connection) => Ok(connection),
            None => self.open_connection(),
        }
    }

    fn return_connection(&self, connection: Connection) {
        if let Ok(mut idle) = self.idle_connections.lock()
            && idle.len() < IDLE_CONNECTIONS_KEPT
        {
            idle.push(connection);
        }
    }
}

/// A transaction handed down from the module that started it to the modules it calls.
///
/// It is either open on one database (and then holds the write lock) or detached. Dropping an open unit of work
/// without committing rolls it back, so an early return on error never leaves half a movement behind.
pub struct UnitOfWork {
    open_transaction: Option<(Arc<Database>, Connection)>,
}

impl std::fmt::Debug for UnitOfWork {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.open_transaction {
            Some((database, _)) => write!(formatter, "UnitOfWork(open on {})", database.path.display()),
            None => write!(formatter, "UnitOfWork(detached)"),
        }
    }
}

impl UnitOfWork {
    /// A unit of work with no transaction: the callee must run in a transaction of its own.
    ///
    /// This is what the outbox relay and the network server hand to a module, because a transaction cannot span a
    /// network hop.
    pub fn detached() -> UnitOfWork {
        UnitOfWork { open_transaction: None }
    }

    /// Whether this unit of work has no transaction.
    pub fn is_detached(&self) -> bool {
        self.open_transaction.is_none()
    }

    /// Whether this unit of work is a transaction on exactly this database, so that a module may join it.
    pub fn is_on(&self, database: &Arc<Database>) -> bool {
        matches!(&self.open_transaction, Some((own, _)) if Arc::ptr_eq(own, database))
    }

    /// The connection that holds the transaction, for the SQL of the module that joins it.
    pub fn connection(&self) -> Result<&Connection, StorageError> {
        match &self.open_transaction {
            Some((_, connection)) => Ok(connection),
            None => Err(StorageError("this unit of work is detached and has no connection".to_owned())),
        }
    }

    /// Commits the transaction. Committing a detached unit of work does nothing.
    pub fn commit(mut self) -> Result<(), StorageError> {
        let Some((database, connection)) = self.open_transaction.take() else {
            return Ok(());
        };
        let outcome = connection.execute_batch("COMMIT");
        if outcome.is_err() {
            // A failed COMMIT can leave the transaction open; close it before the connection is reused.
            let _ = connection.execute_batch("ROLLBACK");
        }
        database.return_connection(connection);
        outcome.map_err(StorageError::from)
    }
}

impl Drop for UnitOfWork {
    fn drop(&mut self) {
        if let Some((database, connection)) = self.open_transaction.take() {
            let _ = connection.execute_batch("ROLLBACK");
            database.return_connection(connection);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_database() -> (tempfile::TempDir, Arc<Database>) {
        let directory = tempfile::tempdir().unwrap();
        let database = Database::open(&directory.path().join("test.db")).unwrap();
        database.migrate("CREATE TABLE IF NOT EXISTS numbers (value INTEGER NOT NULL)").unwrap();
        (directory, database)
    }

    fn count_numbers(database: &Database) -> i64 {
        database
            .with_connection(|connection| connection.query_row("SELECT COUNT(*) FROM numbers", [], |row| row.get(0)))
            .unwrap()
    }

    #[test]
    fn committed_unit_of_work_is_visible_and_dropped_one_is_rolled_back() {
        let (_directory, database) = scratch_database();
        let unit_of_work = database.begin().unwrap();
        unit_of_work.connection().unwrap().execute("INSERT INTO numbers (value) VALUES (?1)", [1]).unwrap();
        unit_of_work.commit().unwrap();
        let abandoned = database.begin().unwrap();
        abandoned.connection().unwrap().execute("INSERT INTO numbers (value) VALUES (?1)", [2]).unwrap();
        drop(abandoned);
        assert_eq!(count_numbers(&database), 1);
    }

    #[test]
    fn unit_of_work_knows_which_database_it_is_on() {
        let (_first_directory, first) = scratch_database();
        let (_second_directory, second) = scratch_database();
        let unit_of_work = first.begin().unwrap();
        assert!(unit_of_work.is_on(&first));
        assert!(!unit_of_work.is_on(&second));
        assert!(UnitOfWork::detached().is_detached());
        assert!(UnitOfWork::detached().connection().is_err());
    }
}
