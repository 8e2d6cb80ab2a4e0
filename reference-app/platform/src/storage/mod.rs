//! Storage for the modules: one database (an embedded SQLite file or a PostgreSQL server), a handle per module that
//! runs only that module's statements, and the opaque unit of work that lets one transaction span modules.
//!
//! - [`Database`] is a pool of connections to one database. The composition root opens it and hands each module a
//!   [`ModuleStore`]: the database plus the module's name, which on PostgreSQL is also its schema and the role its
//!   statements run as. Modules never see a connection.
//! - A statement is an [`Sql`]: the same statement written once per dialect, side by side, so that a module's code
//!   is single and each text is a literal that seams' table rule reads.
//! - A [`UnitOfWork`] is a transaction handed from the module that began it to the modules it calls. It has no
//!   methods that run SQL: a module joins it through its own store ([`ModuleStore::join`]), and its statements then
//!   run as itself (on PostgreSQL, under its own role, so the database refuses another module's tables).

mod postgres;
mod sqlite;

use std::sync::Arc;

/// Which database a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// An embedded SQLite file in WAL mode.
    Sqlite,
    /// A PostgreSQL server, one schema per module.
    Postgres,
}

/// One statement (or one migration script), written once for each database.
///
/// SQLite names a module's tables with the module's prefix (`points_ledger`); PostgreSQL keeps them in the module's
/// schema (`points.ledger`). Placeholders are `?1, ?2, …` on SQLite and `$1, $2, …` on PostgreSQL, numbered alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sql {
    /// The SQLite text.
    pub sqlite: &'static str,
    /// The PostgreSQL text.
    pub postgres: &'static str,
}

impl Sql {
    /// The text for one dialect.
    pub fn text(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        }
    }
}

/// Why a statement failed, as far as callers decide on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageErrorKind {
    /// A unique index or primary key refused the row.
    UniqueViolation,
    /// A `CHECK` constraint refused the row.
    CheckViolation,
    /// The database refused the statement to the role it ran as (PostgreSQL's per-module roles).
    PermissionDenied,
    /// Anything else: a broken connection, a syntax error, a missing table, a wiring mistake.
    Other,
}

/// A storage failure. The message is the database's own; it is meant for logs, not for end users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage error: {message}")]
pub struct StorageError {
    kind: StorageErrorKind,
    message: String,
}

impl StorageError {
    /// A failure of the given kind.
    pub fn new(kind: StorageErrorKind, message: impl Into<String>) -> StorageError {
        StorageError { kind, message: message.into() }
    }

    /// A failure that callers do not tell apart.
    pub fn other(message: impl Into<String>) -> StorageError {
        StorageError::new(StorageErrorKind::Other, message)
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> StorageErrorKind {
        self.kind
    }

    /// The database's message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param<'value> {
    /// SQL `NULL`.
    Null,
    /// An integer (`INTEGER` on SQLite, `BIGINT` on PostgreSQL).
    Int(i64),
    /// Text.
    Text(&'value str),
    /// A list of integers: a JSON array on SQLite (read with `json_each`), a `BIGINT[]` on PostgreSQL (read with
    /// `= ANY(…)`), so that the statement's text never changes with the list.
    IntList(&'value [i64]),
}

impl From<i64> for Param<'_> {
    fn from(value: i64) -> Self {
        Param::Int(value)
    }
}

impl From<u32> for Param<'_> {
    fn from(value: u32) -> Self {
        Param::Int(i64::from(value))
    }
}

impl<'value> From<&'value str> for Param<'value> {
    fn from(value: &'value str) -> Self {
        Param::Text(value)
    }
}

impl<'value> From<&'value String> for Param<'value> {
    fn from(value: &'value String) -> Self {
        Param::Text(value)
    }
}

impl<'value> From<&'value [i64]> for Param<'value> {
    fn from(value: &'value [i64]) -> Self {
        Param::IntList(value)
    }
}

impl<'value> From<&'value Vec<i64>> for Param<'value> {
    fn from(value: &'value Vec<i64>) -> Self {
        Param::IntList(value)
    }
}

impl<'value, T: Into<Param<'value>>> From<Option<T>> for Param<'value> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Param::Null, Into::into)
    }
}

/// The parameters of a statement, in placeholder order: `params![member_id, key]`.
#[macro_export]
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        &[$($crate::Param::from($value)),*][..]
    };
}

/// A value read from a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// An integer (PostgreSQL's booleans read as 0 and 1).
    Int(i64),
    /// Text.
    Text(String),
}

/// A type that a column reads into.
pub trait FromValue: Sized {
    /// Converts the value, or says why it cannot.
    fn from_value(value: &Value) -> Result<Self, String>;
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Int(number) => Ok(*number),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Text(text) => Ok(text.clone()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// One row of a result, its columns in the statement's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    /// Column `index` (from 0), converted.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, StorageError> {
        let value = self.values.get(index).ok_or_else(|| {
            StorageError::other(format!("the row has no column {index} (it has {})", self.values.len()))
        })?;
        T::from_value(value).map_err(|message| StorageError::other(format!("column {index}: {message}")))
    }
}

/// A pool of connections to one database, shared by every module whose tables live in it.
pub struct Database {
    backend: Backend,
}

enum Backend {
    Sqlite(sqlite::SqlitePool),
    Postgres(postgres::PostgresPool),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "Database({})", self.describe())
    }
}

impl Database {
    /// Opens (creating if needed) an SQLite file and switches it to WAL mode.
    pub fn open_sqlite(path: &std::path::Path) -> Result<Arc<Database>, StorageError> {
        Ok(Arc::new(Database { backend: Backend::Sqlite(sqlite::SqlitePool::open(path)?) }))
    }

    /// Connects to a PostgreSQL database (`postgres://user@host:port/database`), keeping at most `max_connections`
    /// open. The user must be allowed to create roles and schemas in the database, or they must already exist: each
    /// module's statements run as a role of its own, `<database>_<module>`, that may use only the module's schema.
    pub async fn connect_postgres(url: &str, max_connections: usize) -> Result<Arc<Database>, StorageError> {
        let pool = postgres::PostgresPool::connect(url, max_connections).await?;
        Ok(Arc::new(Database { backend: Backend::Postgres(pool) }))
    }

    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        match &self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The file, or the server and database name, for messages.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Sqlite(pool) => pool.path().display().to_string(),
            Backend::Postgres(pool) => pool.describe(),
        }
    }

    /// The handle through which module `module` runs its statements. Only the composition root calls this: a
    /// module is given its store and never the database.
    ///
    /// `module` is a lowercase identifier; on PostgreSQL it names the module's schema and role.
    pub fn module_store(self: &Arc<Self>, module: &'static str) -> Result<ModuleStore, StorageError> {
        let well_formed = !module.is_empty()
            && module.chars().all(|character| character.is_ascii_lowercase() || character == '_')
            && module.len() <= 30;
        if !well_formed {
            return Err(StorageError::other(format!("{module:?} is not a module name (lowercase letters and _)")));
        }
        let role: Arc<str> = match &self.backend {
            Backend::Sqlite(_) => Arc::from(module),
            Backend::Postgres(pool) => Arc::from(pool.role_of(module)?.as_str()),
        };
        Ok(ModuleStore { database: Arc::clone(self), module, role })
    }

    async fn checkout(&self) -> Result<Connection, StorageError> {
        match &self.backend {
            Backend::Sqlite(pool) => Ok(Connection::Sqlite(pool.checkout()?)),
            Backend::Postgres(pool) => Ok(Connection::Postgres(pool.checkout().await?)),
        }
    }
}

/// A pooled connection; it goes back to its pool when dropped.
enum Connection {
    Sqlite(sqlite::PooledSqlite),
    Postgres(postgres::PooledPostgres),
}

/// What a statement is run for.
enum Wanted {
    Rows,
    Count,
}

enum Outcome {
    Rows(Vec<Row>),
    Count(u64),
}

impl Connection {
    async fn run(
        &mut self,
        role: &Arc<str>,
        sql: &Sql,
        params: &[Param<'_>],
        wanted: Wanted,
    ) -> Result<Outcome, StorageError> {
        match self {
            Connection::Sqlite(connection) => connection.run(sql.sqlite, params, wanted),
            Connection::Postgres(connection) => connection.run(role, sql.postgres, params, wanted).await,
        }
    }

    async fn begin(&mut self, role: &Arc<str>) -> Result<(), StorageError> {
        match self {
            Connection::Sqlite(connection) => connection.begin(),
            Connection::Postgres(connection) => connection.begin(role).await,
        }
    }

    async fn commit(&mut self) -> Result<(), StorageError> {
        match self {
            Connection::Sqlite(connection) => connection.commit(),
            Connection::Postgres(connection) => connection.commit().await,
        }
    }
}

/// The handle through which one module runs its own statements: outside any transaction, in a transaction of its
/// own, or joined to a unit of work it was handed.
///
/// Every statement run through it runs as the module: on PostgreSQL under the module's role, which may use only the
/// module's schema, so that a statement naming another module's table is refused by the database itself.
#[derive(Clone)]
pub struct ModuleStore {
    database: Arc<Database>,
    module: &'static str,
    role: Arc<str>,
}

impl std::fmt::Debug for ModuleStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "ModuleStore({} on {})", self.module, self.database.describe())
    }
}

impl ModuleStore {
    /// The module's name.
    pub fn module(&self) -> &'static str {
        self.module
    }

    /// Which database the module's tables live in.
    pub fn dialect(&self) -> Dialect {
        self.database.dialect()
    }

    /// Runs the module's migration script. Scripts are idempotent (`CREATE TABLE IF NOT EXISTS`), so this runs at
    /// every start. On PostgreSQL it first makes sure the module's role and schema exist (the schema owned by the
    /// role), then runs the script as that role, so a migration can touch nothing outside its own schema.
    pub async fn migrate(&self, script: &Sql) -> Result<(), StorageError> {
        match self.database.checkout().await? {
            Connection::Sqlite(mut connection) => connection.execute_script(script.sqlite),
            Connection::Postgres(mut connection) => connection.migrate(self.module, &self.role, script.postgres).await,
        }
    }

    /// Runs one statement on a pooled connection, outside any unit of work, and returns its rows.
    pub async fn query(&self, sql: &Sql, params: &[Param<'_>]) -> Result<Vec<Row>, StorageError> {
        let mut connection = self.database.checkout().await?;
        rows_of(connection.run(&self.role, sql, params, Wanted::Rows).await?)
    }

    /// Like [`ModuleStore::query`], for a statement that returns at most one row.
    pub async fn query_opt(&self, sql: &Sql, params: &[Param<'_>]) -> Result<Option<Row>, StorageError> {
        at_most_one(self.query(sql, params).await?)
    }

    /// Like [`ModuleStore::query`], for a statement that returns exactly one row.
    pub async fn query_one(&self, sql: &Sql, params: &[Param<'_>]) -> Result<Row, StorageError> {
        exactly_one(self.query(sql, params).await?)
    }

    /// Runs one statement on a pooled connection, outside any unit of work, and returns how many rows it changed.
    pub async fn execute(&self, sql: &Sql, params: &[Param<'_>]) -> Result<u64, StorageError> {
        let mut connection = self.database.checkout().await?;
        count_of(connection.run(&self.role, sql, params, Wanted::Count).await?)
    }

    /// Begins a unit of work of this module: a transaction on a connection of its own.
    ///
    /// On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`), so concurrent read-then-write sequences are
    /// serialised instead of failing late. On PostgreSQL it is `READ COMMITTED`, whatever the server's default, and
    /// modules take the row locks their invariants need (`SELECT … FOR UPDATE`); see `docs/reference-app.md`.
    pub async fn begin(&self) -> Result<Transaction<'static>, StorageError> {
        let mut connection = self.database.checkout().await?;
        connection.begin(&self.role).await?;
        let unit_of_work =
            UnitOfWork { open: Some(OpenTransaction { database: Arc::clone(&self.database), connection }) };
        Ok(Transaction { store: self.clone(), unit_of_work: Handed::Owned(Box::new(unit_of_work)) })
    }

    /// Joins the caller's unit of work when it is a transaction on this module's database, or begins a transaction
    /// of this module's own when it is detached (then [`Transaction::commit`] commits it).
    ///
    /// A unit of work open on another database is refused: joining it would silently give up atomicity, which is a
    /// wiring mistake.
    pub async fn join<'unit>(&self, unit_of_work: &'unit mut UnitOfWork) -> Result<Transaction<'unit>, StorageError> {
        match &unit_of_work.open {
            None => self.begin().await,
            Some(open) if Arc::ptr_eq(&open.database, &self.database) => {
                Ok(Transaction { store: self.clone(), unit_of_work: Handed::Joined(unit_of_work) })
            }
            Some(open) => Err(StorageError::other(format!(
                "the {} module cannot join a unit of work on {}: its tables live in {}",
                self.module,
                open.database.describe(),
                self.database.describe()
            ))),
        }
    }
}

/// Refuses a statement given another number of values than it has placeholders, before it reaches the database.
fn check_arity(placeholders: usize, params: &[Param<'_>], text: &str) -> Result<(), StorageError> {
    if placeholders != params.len() {
        return Err(StorageError::other(format!(
            "the statement has {placeholders} placeholders but {} values were given: {text}",
            params.len()
        )));
    }
    Ok(())
}

fn rows_of(outcome: Outcome) -> Result<Vec<Row>, StorageError> {
    match outcome {
        Outcome::Rows(rows) => Ok(rows),
        Outcome::Count(_) => Err(StorageError::other("the statement returned a count instead of rows")),
    }
}

fn count_of(outcome: Outcome) -> Result<u64, StorageError> {
    match outcome {
        Outcome::Count(count) => Ok(count),
        Outcome::Rows(_) => Err(StorageError::other("the statement returned rows instead of a count")),
    }
}

fn at_most_one(mut rows: Vec<Row>) -> Result<Option<Row>, StorageError> {
    if rows.len() > 1 {
        return Err(StorageError::other(format!("expected at most one row, got {}", rows.len())));
    }
    Ok(rows.pop())
}

fn exactly_one(rows: Vec<Row>) -> Result<Row, StorageError> {
    at_most_one(rows)?.ok_or_else(|| StorageError::other("expected one row, got none"))
}

/// A transaction handed down from the module that started it to the modules it calls.
///
/// It is either open on one database or *detached* (the callee was reached over the network, or lives in another
/// database, and must commit on its own). It has no public way to run a statement: a module acts on it only through
/// its own [`ModuleStore::join`]. Dropping an open unit of work without committing rolls it back, so an early return
/// on error never leaves half a movement behind.
pub struct UnitOfWork {
    open: Option<OpenTransaction>,
}

struct OpenTransaction {
    database: Arc<Database>,
    connection: Connection,
}

impl std::fmt::Debug for UnitOfWork {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.open {
            Some(open) => write!(formatter, "UnitOfWork(open on {})", open.database.describe()),
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
        UnitOfWork { open: None }
    }

    /// Whether this unit of work has no transaction.
    pub fn is_detached(&self) -> bool {
        self.open.is_none()
    }

    fn open_connection(&mut self) -> Result<&mut Connection, StorageError> {
        match &mut self.open {
            Some(open) => Ok(&mut open.connection),
            None => Err(StorageError::other("this unit of work is no longer open")),
        }
    }

    async fn commit(mut self) -> Result<(), StorageError> {
        match self.open.take() {
            Some(mut open) => open.connection.commit().await,
            None => Ok(()),
        }
    }
}

impl Drop for UnitOfWork {
    fn drop(&mut self) {
        if let Some(open) = self.open.take() {
            match open.connection {
                Connection::Sqlite(connection) => connection.roll_back(),
                Connection::Postgres(connection) => connection.roll_back(),
            }
        }
    }
}

enum Handed<'unit> {
    Owned(Box<UnitOfWork>),
    Joined(&'unit mut UnitOfWork),
}

/// A module's statements inside a unit of work: one it began ([`ModuleStore::begin`]) or one it joined
/// ([`ModuleStore::join`]). Every statement runs as the module whose store made it.
pub struct Transaction<'unit> {
    store: ModuleStore,
    unit_of_work: Handed<'unit>,
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = match self.unit_of_work {
            Handed::Owned(_) => "own",
            Handed::Joined(_) => "joined",
        };
        write!(formatter, "Transaction({} of {})", how, self.store.module)
    }
}

impl Transaction<'_> {
    fn connection(&mut self) -> Result<&mut Connection, StorageError> {
        match &mut self.unit_of_work {
            Handed::Owned(unit_of_work) => unit_of_work.open_connection(),
            Handed::Joined(unit_of_work) => unit_of_work.open_connection(),
        }
    }

    /// The unit of work, to hand to the modules this one calls; they join it through their own stores.
    pub fn unit_of_work(&mut self) -> &mut UnitOfWork {
        match &mut self.unit_of_work {
            Handed::Owned(unit_of_work) => unit_of_work,
            Handed::Joined(unit_of_work) => unit_of_work,
        }
    }

    /// Runs one statement in the transaction and returns its rows.
    pub async fn query(&mut self, sql: &Sql, params: &[Param<'_>]) -> Result<Vec<Row>, StorageError> {
        let role = Arc::clone(&self.store.role);
        rows_of(self.connection()?.run(&role, sql, params, Wanted::Rows).await?)
    }

    /// Like [`Transaction::query`], for a statement that returns at most one row.
    pub async fn query_opt(&mut self, sql: &Sql, params: &[Param<'_>]) -> Result<Option<Row>, StorageError> {
        at_most_one(self.query(sql, params).await?)
    }

    /// Like [`Transaction::query`], for a statement that returns exactly one row.
    pub async fn query_one(&mut self, sql: &Sql, params: &[Param<'_>]) -> Result<Row, StorageError> {
        exactly_one(self.query(sql, params).await?)
    }

    /// Runs one statement in the transaction and returns how many rows it changed.
    pub async fn execute(&mut self, sql: &Sql, params: &[Param<'_>]) -> Result<u64, StorageError> {
        let role = Arc::clone(&self.store.role);
        count_of(self.connection()?.run(&role, sql, params, Wanted::Count).await?)
    }

    /// Commits a transaction this module began. For a joined unit of work this does nothing: the module that began
    /// it commits (or rolls back) the whole.
    pub async fn commit(self) -> Result<(), StorageError> {
        match self.unit_of_work {
            Handed::Owned(unit_of_work) => (*unit_of_work).commit().await,
            Handed::Joined(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
