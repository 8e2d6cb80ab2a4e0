//! `rewards verify`: checks every invariant over whichever database files exist, through the modules' own code.
//!
//! - each balance equals the sum of its ledger, and none is negative (points);
//! - no idempotency key or QR code was used twice (points);
//! - each ledger entry has exactly one audit record, and the hash chain is intact (points against audit);
//! - analytics totals equal the ledger's (points against analytics).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::composition::{Placement, compose, monolith_database_file, service_database_file};
use crate::config::{ModuleName, Secrets, Tuning};

/// What `verify` found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Violations, one sentence each; empty when every invariant holds.
    pub findings: Vec<String>,
    /// How many ledger entries were checked.
    pub ledger_entries: usize,
    /// How many audit records were checked.
    pub audit_records: usize,
    /// How many businesses had statistics compared.
    pub businesses: usize,
}

/// Finds the database file of each module: its own service file if present, otherwise the monolith's.
fn existing_placement(data_dir: &Path) -> Placement {
    let monolith = monolith_database_file(data_dir);
    let mut placement = Placement::default();
    for module in ModuleName::ALL {
        let own_file = service_database_file(data_dir, module);
        if own_file.exists() {
            placement.local.insert(module, own_file);
        } else if monolith.exists() {
            placement.local.insert(module, monolith.clone());
        }
    }
    placement
}

/// Checks the deployment under `data_dir`, first waiting up to `wait` for the outbox to drain.
pub async fn verify(data_dir: &Path, wait: Duration) -> anyhow::Result<VerifyReport> {
    let placement = existing_placement(data_dir);
    let expected: BTreeSet<ModuleName> = ModuleName::ALL.into_iter().collect();
    let found: BTreeSet<ModuleName> = placement.local.keys().copied().collect();
    if found != expected {
        let missing: Vec<&str> = expected.difference(&found).map(|module| module.as_str()).collect();
        bail!(
            "no database file found for {} under {} (expected rewards.db or NAME.db)",
            missing.join(", "),
            data_dir.display()
        );
    }
    let composition = compose(&placement, &Secrets::ephemeral(), &Tuning::default())?;
    let (Some(points), Some(audit), Some(analytics)) = (composition.points, composition.audit, composition.analytics)
    else {
        bail!("verify needs the points, audit and analytics modules");
    };

    let deadline = Instant::now() + wait;
    let mut summary = points.ledger_summary().await.context("reading the ledger")?;
    while summary.undelivered_outbox_rows > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        summary = points.ledger_summary().await.context("reading the ledger")?;
    }

    let mut report = VerifyReport { ledger_entries: summary.transaction_ids.len(), ..VerifyReport::default() };
    report.findings.extend(points.invariant_findings().await.context("checking the ledger")?);
    if summary.undelivered_outbox_rows > 0 {
        report.findings.push(format!(
            "points: {} outbox rows are still undelivered (use --wait SECS to let the outbox drain)",
            summary.undelivered_outbox_rows
        ));
    }

    report.findings.extend(audit.chain_findings().await.context("checking the audit chain")?);
    let audited: BTreeSet<i64> =
        audit.recorded_transaction_ids().await.context("reading the audit record")?.into_iter().collect();
    report.audit_records = audited.len();
    let ledger: BTreeSet<i64> = summary.transaction_ids.iter().copied().collect();
    for missing in ledger.difference(&audited) {
        report.findings.push(format!("audit: ledger entry {missing} has no audit record"));
    }
    for orphan in audited.difference(&ledger) {
        report.findings.push(format!("audit: audit record for transaction {orphan} has no ledger entry"));
    }

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
    Ok(report)
}
