//! The in-process implementation of [`AuditApi`] over the module's own records table (`audit_records` on SQLite,
//! `audit.records` on PostgreSQL).
//!
//! Each record stores the movement as JSON and `record_hash = HMAC-SHA256(key, previous_hash + "\n" + payload)`, so
//! that editing, deleting or reordering any record breaks every hash after it, and, because the key is not in the
//! database, someone who edits records and recomputes their hashes cannot make them match.

use async_trait::async_trait;
use rewards_platform::{ModuleStore, Sql, StorageError, Transaction, now_unix_seconds, params};

use crate::api::{
    AuditApi, AuditError, AuditedMovement, LedgerMovement, LedgerSubscriber, SubscriberFailure, UnitOfWork,
};

const MIGRATION: Sql = Sql {
    sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
    postgres: include_str!("../migrations/postgres/0001_init.sql"),
};

const CHECK_TABLES: Sql = Sql {
    sqlite: "SELECT EXISTS (SELECT 1 FROM audit_records)",
    postgres: "SELECT EXISTS (SELECT 1 FROM audit.records)",
};

/// Appends are serialised, so that each reads the head of the chain that the next one builds on. SQLite's unit of
/// work already holds the database's write lock; on PostgreSQL, where transactions run side by side, a transaction-level
/// lock does it, held until the appending transaction ends.
const LOCK_CHAIN: Sql = Sql { sqlite: "SELECT 1", postgres: "SELECT pg_advisory_xact_lock(hashtext('audit.records'))" };

const ALREADY_RECORDED: Sql = Sql {
    sqlite: "SELECT 1 FROM audit_records WHERE transaction_id = ?1",
    postgres: "SELECT 1 FROM audit.records WHERE transaction_id = $1",
};

const CHAIN_HEAD: Sql = Sql {
    sqlite: "SELECT record_hash FROM audit_records ORDER BY sequence DESC LIMIT 1",
    postgres: "SELECT record_hash FROM audit.records ORDER BY sequence DESC LIMIT 1",
};

const APPEND: Sql = Sql {
    sqlite: "INSERT INTO audit_records (transaction_id, payload, previous_hash, record_hash, recorded_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
    postgres: "INSERT INTO audit.records (transaction_id, payload, previous_hash, record_hash, recorded_at) \
               VALUES ($1, $2, $3, $4, $5)",
};

const CHAIN: Sql = Sql {
    sqlite: "SELECT sequence, transaction_id, payload, previous_hash, record_hash FROM audit_records ORDER BY sequence",
    postgres: "SELECT sequence, transaction_id, payload, previous_hash, record_hash FROM audit.records \
               ORDER BY sequence",
};

const RECORDED: Sql = Sql {
    sqlite: "SELECT transaction_id, payload FROM audit_records ORDER BY transaction_id",
    postgres: "SELECT transaction_id, payload FROM audit.records ORDER BY transaction_id",
};

/// The previous hash of the first record.
const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The key of the chain's hashes. It lives outside the database (a secret file or variable of the deployment), so
/// that write access to the table is not enough to rewrite history.
#[derive(Clone)]
pub struct ChainKey(ring::hmac::Key);

impl ChainKey {
    /// A key from its 32 bytes.
    pub fn new(bytes: &[u8; 32]) -> ChainKey {
        ChainKey(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, bytes))
    }
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("ChainKey(<redacted>)")
    }
}

/// The audit module running in this process, on its own tables.
pub struct LocalAudit {
    store: ModuleStore,
    /// `None` only for `verify` run without the key, which then reads records but cannot check their hashes.
    chain_key: Option<ChainKey>,
}

impl LocalAudit {
    /// A cheap query on each of the module's tables, for health checks: it fails when the database or one of the
    /// tables cannot be read.
    pub async fn check_storage(&self) -> Result<(), StorageError> {
        self.store.query_one(&CHECK_TABLES, &[]).await.map(drop)
    }

    /// Runs the module's migrations and returns the implementation, which keys the chain with `chain_key`. Without
    /// one it can only read: appends fail, and [`AuditApi::chain_findings`] checks the links but not the hashes.
    pub async fn open(store: ModuleStore, chain_key: Option<ChainKey>) -> Result<LocalAudit, StorageError> {
        store.migrate(&MIGRATION).await?;
        Ok(LocalAudit { store, chain_key })
    }
}

fn chained_hash(key: &ChainKey, previous_hash: &str, payload: &str) -> String {
    let mut context = ring::hmac::Context::with_key(&key.0);
    context.update(previous_hash.as_bytes());
    context.update(b"\n");
    context.update(payload.as_bytes());
    hex::encode(context.sign().as_ref())
}

async fn append_record(
    key: &ChainKey,
    transaction: &mut Transaction<'_>,
    movement: &LedgerMovement,
    payload: &str,
) -> Result<(), StorageError> {
    transaction.execute(&LOCK_CHAIN, &[]).await?;
    if transaction.query_opt(&ALREADY_RECORDED, params![movement.transaction_id]).await?.is_some() {
        // The outbox delivers at least once; a second delivery of the same movement is a no-op.
        return Ok(());
    }
    let previous_hash = match transaction.query_opt(&CHAIN_HEAD, &[]).await? {
        Some(row) => row.get::<String>(0)?,
        None => GENESIS_HASH.to_owned(),
    };
    let record_hash = chained_hash(key, &previous_hash, payload);
    transaction
        .execute(
            &APPEND,
            params![movement.transaction_id, payload, previous_hash.as_str(), record_hash.as_str(), now_unix_seconds()],
        )
        .await?;
    Ok(())
}

#[async_trait]
impl LedgerSubscriber for LocalAudit {
    async fn record_movement(
        &self,
        unit_of_work: &mut UnitOfWork,
        movement: LedgerMovement,
    ) -> Result<(), SubscriberFailure> {
        let payload =
            serde_json::to_string(&movement).map_err(|error| SubscriberFailure::new(format!("audit: {error}")))?;
        let failure = |error: StorageError| SubscriberFailure::new(format!("audit: {error}"));
        let key = self
            .chain_key
            .as_ref()
            .ok_or_else(|| SubscriberFailure::new("audit: opened without the chain key, so it cannot append"))?;
        // Joins the caller's transaction when it is on audit's database, or commits one of audit's own.
        let mut transaction = self.store.join(unit_of_work).await.map_err(failure)?;
        append_record(key, &mut transaction, &movement, &payload).await.map_err(failure)?;
        transaction.commit().await.map_err(failure)
    }
}

#[async_trait]
impl AuditApi for LocalAudit {
    async fn chain_findings(&self) -> Result<Vec<String>, AuditError> {
        let mut records = Vec::new();
        for row in self.store.query(&CHAIN, &[]).await? {
            let record: (i64, i64, String, String, String) =
                (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
            records.push(record);
        }
        let mut findings = Vec::new();
        let mut expected_previous = GENESIS_HASH.to_owned();
        for (sequence, transaction_id, payload, previous_hash, record_hash) in records {
            if previous_hash != expected_previous {
                findings.push(format!(
                    "audit: record {sequence} (transaction {transaction_id}) does not chain to the record before it"
                ));
            }
            if let Some(key) = &self.chain_key
                && chained_hash(key, &previous_hash, &payload) != record_hash
            {
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
        let mut rows = Vec::new();
        for row in self.store.query(&RECORDED, &[]).await? {
            rows.push((row.get::<i64>(0)?, row.get::<String>(1)?));
        }
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
    use rewards_platform::testing::TestDatabases;
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

    fn test_key() -> ChainKey {
        ChainKey::new(&[7; 32])
    }

    /// Tampering, as someone with write access to audit's table would do it.
    const TAMPER: Sql = Sql {
        sqlite: "UPDATE audit_records SET payload = replace(payload, '\"points\":10', '\"points\":99') \
                 WHERE transaction_id = 2",
        postgres: "UPDATE audit.records SET payload = replace(payload, '\"points\":10', '\"points\":99') \
                   WHERE transaction_id = 2",
    };

    /// A module with no tables that only begins units of work, standing in for points.
    const NO_TABLES: Sql = Sql { sqlite: "SELECT 1", postgres: "SELECT 1" };

    #[tokio::test]
    async fn chain_is_idempotent_and_detects_tampering() {
        for database in TestDatabases::open("chain_is_idempotent_and_detects_tampering").await.all {
            let store = database.module_store("audit").unwrap();
            let audit = LocalAudit::open(store.clone(), Some(test_key())).await.unwrap();
            for transaction_id in [1, 2, 2, 3] {
                audit.record_movement(&mut UnitOfWork::detached(), movement(transaction_id)).await.unwrap();
            }
            let recorded = audit.recorded_movements().await.unwrap();
            let recorded_ids: Vec<i64> = recorded.iter().map(|record| record.transaction_id).collect();
            assert_eq!(recorded_ids, vec![1, 2, 3]);
            assert_eq!(recorded[1].movement, Some(movement(2)), "the second delivery of 2 changed nothing");
            assert!(audit.chain_findings().await.unwrap().is_empty());
            assert_eq!(store.execute(&TAMPER, &[]).await.unwrap(), 1);
            let findings = audit.chain_findings().await.unwrap();
            assert_eq!(findings.len(), 1, "{findings:?}");
            assert!(findings[0].contains("transaction 2"));
        }
    }

    #[tokio::test]
    async fn concurrent_appends_keep_one_chain() {
        for database in TestDatabases::open("concurrent_appends_keep_one_chain").await.all {
            let audit = std::sync::Arc::new(
                LocalAudit::open(database.module_store("audit").unwrap(), Some(test_key())).await.unwrap(),
            );
            let mut appends = tokio::task::JoinSet::new();
            for transaction_id in 1..=40 {
                let audit = std::sync::Arc::clone(&audit);
                appends.spawn(async move {
                    audit.record_movement(&mut UnitOfWork::detached(), movement(transaction_id)).await
                });
            }
            while let Some(outcome) = appends.join_next().await {
                outcome.unwrap().unwrap();
            }
            assert_eq!(audit.recorded_movements().await.unwrap().len(), 40);
            assert_eq!(audit.chain_findings().await.unwrap(), Vec::<String>::new(), "{database:?}");
        }
    }

    #[tokio::test]
    async fn joins_a_unit_of_work_on_its_database_and_rolls_back_with_it() {
        for database in TestDatabases::open("joins_a_unit_of_work_on_its_database").await.all {
            let caller = database.module_store("caller").unwrap();
            caller.migrate(&NO_TABLES).await.unwrap();
            let audit = LocalAudit::open(database.module_store("audit").unwrap(), Some(test_key())).await.unwrap();
            let mut transaction = caller.begin().await.unwrap();
            audit.record_movement(transaction.unit_of_work(), movement(1)).await.unwrap();
            drop(transaction);
            assert!(audit.recorded_movements().await.unwrap().is_empty());
            let mut transaction = caller.begin().await.unwrap();
            audit.record_movement(transaction.unit_of_work(), movement(2)).await.unwrap();
            transaction.commit().await.unwrap();
            assert_eq!(audit.recorded_movements().await.unwrap().len(), 1);
        }
        let directory = tempfile::tempdir().unwrap();
        let audit_database = rewards_platform::Database::open_sqlite(&directory.path().join("audit.db")).unwrap();
        let audit = LocalAudit::open(audit_database.module_store("audit").unwrap(), Some(test_key())).await.unwrap();
        let other = rewards_platform::Database::open_sqlite(&directory.path().join("other.db")).unwrap();
        let caller = other.module_store("caller").unwrap();
        let mut foreign = caller.begin().await.unwrap();
        assert!(audit.record_movement(foreign.unit_of_work(), movement(1)).await.is_err());
    }

    /// The last record, as someone who can write audit's table but has not the key reads it.
    const LAST_RECORD: Sql = Sql {
        sqlite: "SELECT sequence, payload, previous_hash FROM audit_records ORDER BY sequence DESC LIMIT 1",
        postgres: "SELECT sequence, payload, previous_hash FROM audit.records ORDER BY sequence DESC LIMIT 1",
    };

    const REWRITE_RECORD: Sql = Sql {
        sqlite: "UPDATE audit_records SET payload = ?2, record_hash = ?3 WHERE sequence = ?1",
        postgres: "UPDATE audit.records SET payload = $2, record_hash = $3 WHERE sequence = $1",
    };

    #[tokio::test]
    async fn a_record_rewritten_with_a_recomputed_unkeyed_hash_is_detected() {
        use sha2::{Digest, Sha256};
        for database in TestDatabases::open("a_record_rewritten_with_a_recomputed_hash").await.all {
            let store = database.module_store("audit").unwrap();
            let audit = LocalAudit::open(store.clone(), Some(test_key())).await.unwrap();
            for transaction_id in 1..=3 {
                audit.record_movement(&mut UnitOfWork::detached(), movement(transaction_id)).await.unwrap();
            }
            assert_eq!(audit.chain_findings().await.unwrap(), Vec::<String>::new());
            // The last record's points raised, and its hash recomputed the way an unkeyed chain would have it: the
            // link to the record before still holds, and nothing after it needs rewriting.
            let last = store.query_one(&LAST_RECORD, &[]).await.unwrap();
            let (sequence, payload, previous_hash): (i64, String, String) =
                (last.get(0).unwrap(), last.get(1).unwrap(), last.get(2).unwrap());
            let forged = payload.replace("\"points\":10", "\"points\":99999");
            assert_ne!(forged, payload);
            let unkeyed = hex::encode(Sha256::digest(format!("{previous_hash}\n{forged}").as_bytes()));
            store.execute(&REWRITE_RECORD, params![sequence, forged.as_str(), unkeyed.as_str()]).await.unwrap();
            let findings = audit.chain_findings().await.unwrap();
            assert_eq!(findings, vec![format!("audit: record {sequence} (transaction 3) does not match its hash")]);
            // Another key (another deployment's, or a guess) does not vouch for the genuine records either.
            let stranger = LocalAudit::open(store.clone(), Some(ChainKey::new(&[8; 32]))).await.unwrap();
            assert_eq!(stranger.chain_findings().await.unwrap().len(), 3);
        }
    }
}
