//! The PostgreSQL backend: a pool of connections to one database, each module's statements run under the module's
//! own role, and every module's tables in its own schema.
//!
//! Connections log in as the deployment's user. Before a module's statement runs, the connection assumes the module's
//! role (`SET ROLE`, issued only when the role changes), so that the database checks every statement against that
//! role's privileges: its own schema, nothing else. In a unit of work that spans modules the role changes with each
//! module's statements, inside the one transaction.

use std::collections::HashMap;
use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, NoTls, Statement};

use super::{Outcome, Param, Row, StorageError, StorageErrorKind, Value, Wanted};

/// How long a caller waits for a free connection before the pool gives up.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long connecting to the server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The advisory lock that serialises provisioning (roles and schemas) across every process of a deployment.
const PROVISIONING_LOCK: i64 = 0x0072_6577_6172_6473;

/// PostgreSQL's limit on identifiers.
const MAX_IDENTIFIER_BYTES: usize = 63;

impl From<tokio_postgres::Error> for StorageError {
    fn from(error: tokio_postgres::Error) -> Self {
        let kind = match error.code() {
            Some(code) if *code == SqlState::UNIQUE_VIOLATION => StorageErrorKind::UniqueViolation,
            Some(code) if *code == SqlState::CHECK_VIOLATION => StorageErrorKind::CheckViolation,
            Some(code) if *code == SqlState::INSUFFICIENT_PRIVILEGE => StorageErrorKind::PermissionDenied,
            _ => StorageErrorKind::Other,
        };
        let message = match error.as_db_error() {
            Some(database_error) => format!(
                "{}: {} (SQLSTATE {})",
                database_error.severity(),
                database_error.message(),
                database_error.code().code()
            ),
            None => error.to_string(),
        };
        StorageError::new(kind, message)
    }
}

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Param::Null => Ok(IsNull::Yes),
            Param::Int(number) => match *ty {
                Type::INT8 => number.to_sql(ty, out),
                Type::INT4 => i32::try_from(*number)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*number)?.to_sql(ty, out),
                _ => Err(format!("an integer cannot be bound to a parameter of type {ty}").into()),
            },
            Param::Text(text) if <&str as ToSql>::accepts(ty) => text.to_sql(ty, out),
            Param::Text(_) => Err(format!("text cannot be bound to a parameter of type {ty}").into()),
            Param::IntList(numbers) if <&[i64] as ToSql>::accepts(ty) => numbers.to_sql(ty, out),
            Param::IntList(_) => Err(format!("a list of integers cannot be bound to a parameter of type {ty}").into()),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        // Each variant checks the parameter's type itself in `to_sql`.
        true
    }

    to_sql_checked!();
}

/// Quotes an identifier for SQL text.
pub(super) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal for SQL text.
fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

pub(super) struct PostgresPool {
    shared: Arc<Shared>,
}

struct Shared {
    config: tokio_postgres::Config,
    database_name: String,
    server: String,
    idle: Mutex<Vec<PostgresConnection>>,
    permits: Arc<Semaphore>,
}

struct PostgresConnection {
    client: Client,
    /// The role the session has assumed, when known.
    role: Option<Arc<str>>,
    statements: HashMap<&'static str, Statement>,
}

impl PostgresPool {
    pub(super) async fn connect(url: &str, max_connections: usize) -> Result<PostgresPool, StorageError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|error| {
            StorageError::other(format!("the database URL is not a PostgreSQL connection string: {error}"))
        })?;
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("rewards");
        let server = match (config.get_hosts().first(), config.get_ports().first()) {
            (Some(tokio_postgres::config::Host::Tcp(host)), Some(port)) => format!("{host}:{port}"),
            (Some(tokio_postgres::config::Host::Tcp(host)), None) => host.clone(),
            #[cfg(unix)]
            (Some(tokio_postgres::config::Host::Unix(path)), _) => path.display().to_string(),
            _ => "the default server".to_owned(),
        };
        let mut first = open_connection(&config).await?;
        let database_name: String = first
            .client
            .query_one("SELECT current_database()", &[])
            .await
            .map_err(StorageError::from)?
            .try_get(0)
            .map_err(StorageError::from)?;
        first.role = None;
        let shared = Shared {
            config,
            database_name,
            server,
            idle: Mutex::new(vec![first]),
            permits: Arc::new(Semaphore::new(max_connections.max(1))),
        };
        Ok(PostgresPool { shared: Arc::new(shared) })
    }

    pub(super) fn describe(&self) -> String {
        format!("PostgreSQL database {} on {}", self.shared.database_name, self.shared.server)
    }

    /// The role a module's statements run as: `<database>_<module>`, so that deployments sharing a server (and its
    /// cluster-wide roles) never share a module's role.
    pub(super) fn role_of(&self, module: &str) -> Result<String, StorageError> {
        let role = format!("{}_{module}", self.shared.database_name);
        if role.len() > MAX_IDENTIFIER_BYTES {
            return Err(StorageError::other(format!(
                "the role name {role} is longer than PostgreSQL's {MAX_IDENTIFIER_BYTES} bytes; use a shorter database name"
            )));
        }
        Ok(role)
    }

    pub(super) async fn checkout(&self) -> Result<PooledPostgres, StorageError> {
        let permit = tokio::time::timeout(CHECKOUT_TIMEOUT, Arc::clone(&self.shared.permits).acquire_owned())
            .await
            .map_err(|_| StorageError::other(format!("no database connection was free within {CHECKOUT_TIMEOUT:?}")))?
            .map_err(|_| StorageError::other("the connection pool is closed"))?;
        let reused = loop {
            let candidate =
                self.shared.idle.lock().map_err(|_| StorageError::other("connection pool lock poisoned"))?.pop();
            match candidate {
                Some(connection) if connection.client.is_closed() => continue,
                other => break other,
            }
        };
        let connection = match reused {
            Some(connection) => connection,
            None => open_connection(&self.shared.config).await?,
        };
        Ok(PooledPostgres {
            connection: Some(connection),
            shared: Arc::clone(&self.shared),
            permit: Some(permit),
            in_transaction: false,
            failed: false,
        })
    }
}

async fn open_connection(config: &tokio_postgres::Config) -> Result<PostgresConnection, StorageError> {
    let (client, connection) = config.connect(NoTls).await?;
    // The connection object performs the actual I/O; it ends when the client is dropped or the server goes away.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(PostgresConnection { client, role: None, statements: HashMap::new() })
}

impl Shared {
    fn give_back(&self, connection: PostgresConnection) {
        if connection.client.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(connection);
        }
    }
}

/// A connection checked out of the pool, holding one of its permits; it goes back when dropped.
pub(super) struct PooledPostgres {
    connection: Option<PostgresConnection>,
    shared: Arc<Shared>,
    permit: Option<OwnedSemaphorePermit>,
    in_transaction: bool,
    /// A statement failed inside the transaction, which PostgreSQL has therefore aborted.
    failed: bool,
}

impl Drop for PooledPostgres {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            // A connection dropped inside a transaction is closed rather than reused; `roll_back` is the way back.
            if !self.in_transaction {
                self.shared.give_back(connection);
            }
        }
        drop(self.permit.take());
    }
}

impl PostgresConnection {
    async fn assume(&mut self, role: &Arc<str>) -> Result<(), StorageError> {
        if self.role.as_deref() != Some(&**role) {
            self.client.batch_execute(&format!("SET ROLE {}", quote_identifier(role))).await?;
            self.role = Some(Arc::clone(role));
        }
        Ok(())
    }

    async fn prepared(&mut self, text: &'static str) -> Result<Statement, StorageError> {
        if let Some(statement) = self.statements.get(text) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(text).await?;
        self.statements.insert(text, statement.clone());
        Ok(statement)
    }

    async fn run(
        &mut self,
        role: &Arc<str>,
        text: &'static str,
        params: &[Param<'_>],
        wanted: Wanted,
    ) -> Result<Outcome, StorageError> {
        self.assume(role).await?;
        let statement = self.prepared(text).await?;
        super::check_arity(statement.params().len(), params, text)?;
        let bound: Vec<&(dyn ToSql + Sync)> = params.iter().map(|param| param as &(dyn ToSql + Sync)).collect();
        match wanted {
            Wanted::Count => Ok(Outcome::Count(self.client.execute(&statement, &bound).await?)),
            Wanted::Rows => {
                let rows = self.client.query(&statement, &bound).await?;
                rows.iter().map(row_of).collect::<Result<Vec<_>, _>>().map(Outcome::Rows)
            }
        }
    }
}

fn row_of(row: &tokio_postgres::Row) -> Result<Row, StorageError> {
    let mut values = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let value = match *column.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(index)?.map(Value::Int),
            Type::INT4 => row.try_get::<_, Option<i32>>(index)?.map(|number| Value::Int(i64::from(number))),
            Type::INT2 => row.try_get::<_, Option<i16>>(index)?.map(|number| Value::Int(i64::from(number))),
            Type::BOOL => row.try_get::<_, Option<bool>>(index)?.map(|flag| Value::Int(i64::from(flag))),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                row.try_get::<_, Option<String>>(index)?.map(Value::Text)
            }
            ref other => {
                return Err(StorageError::other(format!(
                    "column {} has type {other}, which the app never reads (cast it to bigint or text)",
                    column.name()
                )));
            }
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row { values })
}

impl PooledPostgres {
    fn connection(&mut self) -> Result<&mut PostgresConnection, StorageError> {
        self.connection.as_mut().ok_or_else(|| StorageError::other("the connection was already returned"))
    }

    pub(super) async fn run(
        &mut self,
        role: &Arc<str>,
        text: &'static str,
        params: &[Param<'_>],
        wanted: Wanted,
    ) -> Result<Outcome, StorageError> {
        if self.failed {
            return Err(StorageError::other("the transaction was aborted by an earlier error"));
        }
        let outcome = self.connection()?.run(role, text, params, wanted).await;
        if outcome.is_err() && self.in_transaction {
            self.failed = true;
        }
        outcome
    }

    /// Begins a transaction as `role`, at `READ COMMITTED` whatever the server's default.
    pub(super) async fn begin(&mut self, role: &Arc<str>) -> Result<(), StorageError> {
        let connection = self.connection()?;
        connection.assume(role).await?;
        connection.client.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED").await?;
        self.in_transaction = true;
        self.failed = false;
        Ok(())
    }

    /// Commits; a transaction that PostgreSQL aborted because one of its statements failed is rolled back and
    /// reported, never silently taken for committed (PostgreSQL answers `COMMIT` on it with `ROLLBACK`).
    pub(super) async fn commit(&mut self) -> Result<(), StorageError> {
        let failed = self.failed;
        let connection = self.connection()?;
        let statement = if failed { "ROLLBACK" } else { "COMMIT" };
        let outcome = connection.client.batch_execute(statement).await;
        if failed || outcome.is_err() {
            // The role set inside the transaction was undone with it.
            connection.role = None;
        }
        if outcome.is_ok() {
            self.in_transaction = false;
        }
        outcome?;
        if failed {
            return Err(StorageError::other("the transaction was aborted by an earlier error and rolled back"));
        }
        Ok(())
    }

    /// Rolls the transaction back in the background and then returns the connection to the pool (it cannot be awaited
    /// here, because this runs when a unit of work is dropped). Outside a Tokio runtime the connection is closed,
    /// which rolls the transaction back on the server as well.
    pub(super) fn roll_back(mut self) {
        let Some(mut connection) = self.connection.take() else {
            return;
        };
        let shared = Arc::clone(&self.shared);
        let permit = self.permit.take();
        self.in_transaction = false;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if connection.client.batch_execute("ROLLBACK").await.is_ok() {
                    connection.role = None;
                    shared.give_back(connection);
                }
                drop(permit);
            });
        }
    }

    /// Makes sure the module's role and schema exist (the schema owned by the role, so that no other module's role
    /// may use it), then runs the module's migration script as that role, all in one transaction under a lock that
    /// serialises provisioning across the deployment's processes.
    pub(super) async fn migrate(&mut self, schema: &str, role: &Arc<str>, script: &str) -> Result<(), StorageError> {
        let role_identifier = quote_identifier(role);
        let provisioning = format!(
            "BEGIN;
             SELECT pg_advisory_xact_lock({PROVISIONING_LOCK});
             DO $provision$
             BEGIN
                 IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {role_literal}) THEN
                     EXECUTE format('CREATE ROLE %I NOLOGIN', {role_literal});
                 END IF;
                 IF NOT pg_catalog.pg_has_role(current_user, {role_literal}, 'MEMBER') THEN
                     EXECUTE format('GRANT %I TO %I', {role_literal}, current_user);
                 END IF;
                 IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = {schema_literal}) THEN
                     EXECUTE format('CREATE SCHEMA %I AUTHORIZATION %I', {schema_literal}, {role_literal});
                 END IF;
             END
             $provision$;
             SET LOCAL ROLE {role_identifier};
             {script}
             ;
             COMMIT;",
            role_literal = quote_literal(role),
            schema_literal = quote_literal(schema),
        );
        let connection = self.connection()?;
        connection.role = None;
        let outcome = async {
            connection.client.batch_execute("RESET ROLE").await?;
            connection.client.batch_execute(&provisioning).await
        }
        .await;
        if outcome.is_err() {
            let _ = connection.client.batch_execute("ROLLBACK").await;
        }
        outcome.map_err(|error| {
            let error = StorageError::from(error);
            StorageError::new(error.kind(), format!("migrating the {schema} module: {}", error.message()))
        })
    }
}
