//! The public face of the analytics module: the [`AnalyticsApi`] trait, [`BusinessStats`] and [`AnalyticsError`].
//!
//! Analytics receives movements through [`LedgerSubscriber`], which the points module defines and calls.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use rewards_points::api::{LedgerMovement, LedgerSubscriber, SubscriberFailure, UnitOfWork};

/// The statistics of one business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessStats {
    /// The business.
    pub business_id: i64,
    /// Points credited by emits and claims.
    pub emitted: i64,
    /// Points spent on its offers.
    pub redeemed: i64,
    /// Distinct members with at least one movement.
    pub members: i64,
}

/// Per-business statistics.
#[async_trait]
pub trait AnalyticsApi: LedgerSubscriber {
    /// One business's statistics (zeros for a business with no movements).
    async fn business_stats(&self, business_id: i64) -> Result<BusinessStats, AnalyticsError>;
    /// Every business with at least one movement, ascending by id.
    async fn all_business_stats(&self) -> Result<Vec<BusinessStats>, AnalyticsError>;
}

/// Everything that can go wrong in the analytics module. Each variant names the HTTP status the gateway maps it to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AnalyticsError {
    /// 401 or 403, as the refusal says: a service on the way refused the member's token for this call.
    #[error("a service refused the call: {0}")]
    RefusedAtHop(rewards_platform::HopRefusal),
    /// 503 `service_unavailable`: the analytics service could not be reached.
    #[error("the analytics service is unavailable: {0}")]
    Unavailable(String),
    /// 500 `internal`: a storage failure.
    #[error("internal analytics error: {0}")]
    Internal(String),
}

impl rewards_platform::RemoteFailure for AnalyticsError {
    fn unavailable(message: String) -> Self {
        AnalyticsError::Unavailable(message)
    }

    fn refused_at_hop(refusal: rewards_platform::HopRefusal) -> Self {
        AnalyticsError::RefusedAtHop(refusal)
    }
}

impl From<rewards_platform::StorageError> for AnalyticsError {
    fn from(error: rewards_platform::StorageError) -> Self {
        AnalyticsError::Internal(error.message().to_owned())
    }
}
