//! `rewards verify`: checks every invariant over whichever database files exist, through the modules' own code.
//!
//! - each balance equals the sum of its ledger, and none is negative (points);
//! - no idempotency key or QR code was used twice (points);
//! - the hash chain of the audit record is intact (audit);
//! - each ledger entry has exactly one audit record, which describes the same movement (points against audit);
//! - analytics totals equal the ledger's (points against analytics);
//! - emission budgets agree with their grants and with the ledger, and the points in circulation never exceed the
//!   budgets granted (points);
//! - no outbox row is left undelivered or parked (points).
//!
//! On SQLite, a module's tables are read from its own `NAME.db` when that exists, otherwise from the monolith's
//! `rewards.db`. Any subset of a deployment's files can be checked: a check that needs an absent module is skipped and
//! reported as skipped, so that `verify` still passes or fails on what it could read. On PostgreSQL every module's
//! schema is in the one database, whatever the topology, and all are checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rewards_points::api::LedgerMovement;

use crate::composition::{DatabaseLocation, monolith_database_file, open_for_inspection, service_database_file};
use crate::config::{DatabaseKind, ModuleName, StorageArgs};
use crate::secrets::{AUDIT_CHAIN_KEY_VARIABLE, Secrets};

/// What `verify` found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Violations, one sentence each; empty when every invariant that could be checked holds.
    pub findings: Vec<String>,
    /// Checks that could not run because a module's database file is absent, one sentence each.
    pub skipped: Vec<String>,
    /// How many ledger entries were checked.
    pub ledger_entries: usize,
    /// How many audit records were checked.
    pub audit_records: usize,
    /// How many businesses had statistics compared.
    pub businesses: usize,
}

/// The SQLite file that holds each module's tables, for the modules whose file exists.
fn existing_files(data_dir: &Path) -> BTreeMap<ModuleName, PathBuf> {
    let monolith = monolith_database_file(data_dir);
    let mut files = BTreeMap::new();
    for module in ModuleName::ALL {
        let own_file = service_database_file(data_dir, module);
        if own_file.exists() {
            files.insert(module, own_file);
        } else if monolith.exists() {
            files.insert(module, monolith.clone());
        }
    }
    files
}

/// The database that holds each module's tables, for the modules whose database exists (on PostgreSQL, every module).
pub(crate) fn locations(
    data_dir: &Path,
    storage: &StorageArgs,
) -> anyhow::Result<BTreeMap<ModuleName, DatabaseLocation>> {
    match storage.kind {
        DatabaseKind::Sqlite => {
            let files = existing_files(data_dir);
            if files.is_empty() {
                bail!("no database file found under {} (expected rewards.db or NAME.db)", data_dir.display());
            }
            Ok(files.into_iter().map(|(module, file)| (module, DatabaseLocation::SqliteFile(file))).collect())
        }
        DatabaseKind::Postgres => ModuleName::ALL
            .into_iter()
            .map(|module| Ok((module, DatabaseLocation::of_module(storage, data_dir, module, false)?)))
            .collect(),
    }
}

/// Names the fields in which an audit record's movement differs from its ledger entry.
fn differences(ledger: &LedgerMovement, audited: &LedgerMovement) -> Vec<String> {
    let mut differences = Vec::new();
    let mut compare = |field: &str, in_ledger: String, in_audit: String| {
        if in_ledger != in_audit {
            differences.push(format!("{field} {in_audit} in the audit record but {in_ledger} in the ledger"));
        }
    };
    compare("member", ledger.member_id.to_string(), audited.member_id.to_string());
    compare("business", ledger.business_id.to_string(), audited.business_id.to_string());
    compare("kind", ledger.kind.as_str().to_owned(), audited.kind.as_str().to_owned());
    compare("points", ledger.points.to_string(), audited.points.to_string());
    compare("balance after", ledger.balance_after.to_string(), audited.balance_after.to_string());
    compare("time", ledger.occurred_at.to_string(), audited.occurred_at.to_string());
    differences
}

/// Checks the deployment under `data_dir` (or in the PostgreSQL database of `storage`), first waiting up to `wait`
/// for the outbox to drain.
///
/// It fails only when no database file exists at all (most likely a wrong directory) or a database cannot be read.
pub async fn verify(data_dir: &Path, storage: &StorageArgs, wait: Duration) -> anyhow::Result<VerifyReport> {
    let audit_chain_key = Secrets::existing_audit_chain_key(data_dir)?;
    let inspected = open_for_inspection(&locations(data_dir, storage)?, audit_chain_key.as_ref()).await?;
    let mut report = VerifyReport::default();
    if inspected.audit.is_some() && audit_chain_key.is_none() {
        report.skipped.push(format!(
            "audit: no chain key (secrets/audit-chain-key or {AUDIT_CHAIN_KEY_VARIABLE}), so the records' hashes were \
             not checked, only their links"
        ));
    }

    let summary = match &inspected.points {
        Some(points) => {
            let deadline = Instant::now() + wait;
            let mut summary = points.ledger_summary().await.context("reading the ledger")?;
            while summary.undelivered_outbox_rows > 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
                summary = points.ledger_summary().await.context("reading the ledger")?;
            }
            report.ledger_entries = summary.entries.len();
            report.findings.extend(points.invariant_findings().await.context("checking the ledger")?);
            for (subscriber, parked) in &summary.parked_outbox_rows {
                report.findings.push(format!(
                    "points: {parked} outbox rows for {subscriber} are parked after {subscriber} refused each of them \
                     too often (see the error log; `rewards operator requeue-outbox` retries them once fixed)"
                ));
            }
            if summary.undelivered_outbox_rows > 0 {
                report.findings.push(format!(
                    "points: {} outbox rows are still undelivered (use --wait SECS to let the outbox drain)",
                    summary.undelivered_outbox_rows
                ));
            }
            Some(summary)
        }
        None => {
            report.skipped.push("points: no database file, so the ledger was not checked".to_owned());
            None
        }
    };

    match &inspected.audit {
        Some(audit) => {
            report.findings.extend(audit.chain_findings().await.context("checking the audit chain")?);
            let records = audit.recorded_movements().await.context("reading the audit record")?;
            report.audit_records = records.len();
            if let Some(summary) = &summary {
                let ledger: BTreeMap<i64, &LedgerMovement> =
                    summary.entries.iter().map(|entry| (entry.transaction_id, entry)).collect();
                let audited: BTreeSet<i64> = records.iter().map(|record| record.transaction_id).collect();
                for missing in ledger.keys().filter(|transaction_id| !audited.contains(transaction_id)) {
                    report.findings.push(format!("audit: ledger entry {missing} has no audit record"));
                }
                for record in &records {
                    let Some(entry) = ledger.get(&record.transaction_id) else {
                        report.findings.push(format!(
                            "audit: audit record for transaction {} has no ledger entry",
                            record.transaction_id
                        ));
                        continue;
                    };
                    // An unreadable payload is already a finding of the chain check.
                    if let Some(movement) = &record.movement {
                        let differences = differences(entry, movement);
                        if !differences.is_empty() {
                            report.findings.push(format!(
                                "audit: the record of transaction {} does not describe its ledger entry: {}",
                                record.transaction_id,
                                differences.join("; ")
                            ));
                        }
                    }
                }
            } else {
                report.skipped.push("audit: the audit records were not compared with the ledger".to_owned());
            }
        }
        None => report.skipped.push("audit: no database file, so the audit record was not checked".to_owned()),
    }

    match (&inspected.analytics, &summary) {
        (Some(analytics), Some(summary)) => {
            let analytics_totals: BTreeMap<i64, (i64, i64, i64)> = analytics
                .all_business_stats()
                .await
                .context("reading analytics")?
                .into_iter()
                .map(|stats| (stats.business_id, (stats.emitted, stats.redeemed, stats.members)))
                .collect();
            let ledger_totals: BTreeMap<i64, (i64, i64, i64)> = summary
                .totals_by_business
                .iter()
                .map(|totals| (totals.business_id, (totals.emitted, totals.redeemed, totals.members)))
                .collect();
            let businesses: BTreeSet<i64> = analytics_totals.keys().chain(ledger_totals.keys()).copied().collect();
            report.businesses = businesses.len();
            for business_id in businesses {
                let from_ledger = ledger_totals.get(&business_id).copied().unwrap_or((0, 0, 0));
                let from_analytics = analytics_totals.get(&business_id).copied().unwrap_or((0, 0, 0));
                if from_ledger != from_analytics {
                    report.findings.push(format!(
                        "analytics: business {business_id} shows emitted/redeemed/members {from_analytics:?} but the ledger says {from_ledger:?}"
                    ));
                }
            }
        }
        (Some(_), None) => {
            report.skipped.push("analytics: the statistics were not compared with the ledger".to_owned());
        }
        (None, _) => {
            report.skipped.push("analytics: no database file, so the statistics were not checked".to_owned());
        }
    }
    Ok(report)
}
