//! `rewards operator`: what only the operator of a deployment may do to its points economy, through the modules' own
//! code on their own databases: approve a business, so that it may emit points, grant a business an emission
//! budget, and put parked outbox rows back in their queues.
//!
//! Neither action is part of any module's API, so no public route and no peer can reach it: whoever runs these
//! commands needs the access to the databases that `verify` needs, which is what makes them the operator. They work
//! while the app serves, in every topology and on both databases.

use std::path::Path;

use anyhow::Context;
use rewards_business::api::Business;
use rewards_points::api::EmissionBudget;

use crate::composition::open_for_operator;
use crate::config::StorageArgs;
use crate::verify::locations;

/// Approves a business: from now on it may emit points, within its budget.
pub async fn approve_business(data_dir: &Path, storage: &StorageArgs, business_id: i64) -> anyhow::Result<Business> {
    let modules = open_for_operator(&locations(data_dir, storage)?).await?;
    modules.business.approve_business(business_id).await.with_context(|| format!("approving business {business_id}"))
}

/// Grants a business `points` more to emit, recorded in the budget ledger, and returns its budget afterwards.
pub async fn grant_budget(
    data_dir: &Path,
    storage: &StorageArgs,
    business_id: i64,
    points: i64,
) -> anyhow::Result<EmissionBudget> {
    let modules = open_for_operator(&locations(data_dir, storage)?).await?;
    modules
        .points
        .grant_budget(business_id, points)
        .await
        .with_context(|| format!("granting business {business_id} a budget of {points} points"))
}

/// Puts every parked outbox row back in its subscriber's queue, and returns how many.
pub async fn requeue_outbox(data_dir: &Path, storage: &StorageArgs) -> anyhow::Result<u64> {
    let modules = open_for_operator(&locations(data_dir, storage)?).await?;
    modules.points.requeue_parked_outbox_rows().await.context("requeueing parked outbox rows")
}
