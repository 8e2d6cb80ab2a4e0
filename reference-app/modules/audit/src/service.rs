//! The in-process implementation of [`AuditApi`] over the module's own `audit_records` table.
//!
//! Each record stores the movement as JSON and `record_hash = sha256(previous_hash + "\n" + payload)`, so that
//! editing, deleting or reordering any record breaks every hash after it.

use std::sync::Arc;

use async_trait::async_trait;
use rewards_platform::{Database, StorageError, now_unix_seconds};
use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::api::{
    AuditApi, AuditError, AuditedMovement, LedgerMovement, LedgerSubscriber, SubscriberFailure, UnitOfWork,
};

const MIGRATION: &str = include_str!("../migrations/0001_init.sql");

/// The previous hash of the first record.
const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The audit module running in this process, on its own tables of `database`.
pub struct LocalAudit {
    database: Arc<Database>,
}

impl LocalAudit {
    /// A cheap query on each of the module's tables, for health checks: it fails when the database file or one of
    /// the tables cannot be read.
    pub fn check_storage(&self) -> Result<(), StorageError> {
        self.database.with_connection(|connection| {
            connection.query_row("SELECT EXISTS (SELECT 1 FROM audit_records)", [], |_| Ok(()))
        })
    }

    /// Runs the module's migrations and returns the implementation.
    pub fn open(database: Arc<Database>) -> Result<LocalAudit, StorageError> {
        database.migrate(MIGRATION)?;
        Ok(LocalAudit { database })
    }
}

fn chained_hash(previous_hash: &str, payload: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(previous_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(payload.as_bytes());
    hex::encode(hasher.finalize())
}

fn append_record(connection: &Connection, movement: &LedgerMovement, payload: &str) -> rusqlite::Result<()> {
    let already_recorded = connection
        .query_row("SELECT 1 FROM audit_records WHERE transaction_id = ?1", [movement.transaction_id], |_| Ok(()))
        .optional()?
        .is_some();
    if already_recorded {
        // The outbox delivers at least once; a second delivery of the same movement is a no-op.
        return Ok(());
    }
    let previous_hash = connection
        .query_row("SELECT record_hash FROM audit_records ORDER BY sequence DESC LIMIT 1", [], |row| {
            row.get::<_, String>(0)
        })
        .optional()?
        .unwrap_or_else(|| GENESIS_HASH.to_owned());
    let record_hash = chained_hash(&previous_hash, payload);
    connection.execute(
        "INSERT INTO audit_records (transaction_id, payload, previous_hash, record_hash, recorded_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![movement.transaction_id, payload, previous_hash, record_hash, now_unix_seconds()],
    )?;
    Ok(())
}

#[async_trait]
impl LedgerSubscriber for LocalAudit {
    async fn record_movement(
        &self,
        unit_of_work: &mut UnitOfWork,
        movement: LedgerMovement,
    ) -> Result<(), SubscriberFailure> {
        let payload = serde_json::to_string(&movement).map_err(|error| SubscriberFailure(format!("audit: {error}")))?;
        self.database
            .within(unit_of_work, |connection| append_record(connection, &movement, &payload))
            .map_err(|error| SubscriberFailure(format!("audit: {error}")))
    }
}

#[async_trait]
impl AuditApi for LocalAudit {
    async fn chain_findings(&self) -> Result<Vec<String>, AuditError> {
        let records = self.database.with_connection(|connection| {
            let mut statement = connection.prepare(
                "SELECT sequence, transaction_id, payload, previous_hash, record_hash FROM audit_records \
                 ORDER BY sequence",
            )?;
            let rows = statement.query_map([], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let mut findings = Vec::new();
        let mut expected_previous = GENESIS_HASH.to_owned();
        for (sequence, transaction_id, payload, previous_hash, record_hash) in records {
            if previous_hash != expected_previous {
                findings.push(format!(
                    "audit: record {sequence} (transaction {transaction_id}) does not chain to the record before it"
                ));
            }
            if chained_hash(&previous_hash, &payload) != record_hash {
                findings
                    .push(format!("audit: record {sequence} (transaction {transaction_id}) does not match its hash"));
            }
            match serde_json::from_str::<LedgerMovement>(&payload) {
                Ok(movement) if movement.transaction_id == transaction_id => {}
                _ => findings.push(format!(
                    "audit: record {sequence} has a payload that does not describe transaction {transaction_id}"
                )),
            }
            expected_previous = record_hash;
        }
        Ok(findings)
    }

    async fn recorded_movements(&self) -> Result<Vec<AuditedMovement>, AuditError> {
        let rows = self.database.with_connection(|connection| {
            let mut statement =
                connection.prepare("SELECT transaction_id, payload FROM audit_records ORDER BY transaction_id")?;
            let rows = statement.query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(rows
            .into_iter()
            .map(|(transaction_id, payload)| AuditedMovement {
                transaction_id,
                movement: serde_json::from_str(&payload).ok(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use rewards_points::api::MovementKind;

    use super::*;

    fn movement(transaction_id: i64) -> LedgerMovement {
        LedgerMovement {
            transaction_id,
            member_id: 1,
            business_id: 1,
            kind: MovementKind::Emit,
            points: 10,
            balance_after: 10 * transaction_id,
            occurred_at: 0,
        }
    }

    #[tokio::test]
    async fn chain_is_idempotent_and_detects_tampering() {
        let directory = tempfile::tempdir().unwrap();
        let database = Database::open(&directory.path().join("audit.db")).unwrap();
        let audit = LocalAudit::open(Arc::clone(&database)).unwrap();
        for transaction_id in [1, 2, 2, 3] {
            audit.record_movement(&mut UnitOfWork::detached(), movement(transaction_id)).await.unwrap();
        }
        let recorded = audit.recorded_movements().await.unwrap();
        let recorded_ids: Vec<i64> = recorded.iter().map(|record| record.transaction_id).collect();
        assert_eq!(recorded_ids, vec![1, 2, 3]);
        assert_eq!(recorded[1].movement, Some(movement(2)), "the second delivery of 2 changed nothing");
        assert!(audit.chain_findings().await.unwrap().is_empty());
        database
            .with_connection(|connection| {
                connection.execute(
                    "UPDATE audit_records SET payload = replace(payload, '\"points\":10', '\"points\":99') \
                     WHERE transaction_id = 2",
                    [],
                )
            })
            .unwrap();
        let findings = audit.chain_findings().await.unwrap();
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].contains("transaction 2"));
    }

    #[tokio::test]
    async fn joins_a_unit_of_work_on_its_database_and_rolls_back_with_it() {
        let directory = tempfile::tempdir().unwrap();
        let database = Database::open(&directory.path().join("shared.db")).unwrap();
        let audit = LocalAudit::open(Arc::clone(&database)).unwrap();
        let mut unit_of_work = database.begin().unwrap();
        audit.record_movement(&mut unit_of_work, movement(1)).await.unwrap();
        drop(unit_of_work);
        assert!(audit.recorded_movements().await.unwrap().is_empty());
        let other = Database::open(&directory.path().join("other.db")).unwrap();
        let mut foreign_unit_of_work = other.begin().unwrap();
        assert!(audit.record_movement(&mut foreign_unit_of_work, movement(1)).await.is_err());
    }
}
