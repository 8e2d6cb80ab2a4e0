//! The public face of the audit module: the [`AuditApi`] trait and [`AuditError`].
//!
//! Audit receives movements through [`LedgerSubscriber`], which the points module defines and calls.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use rewards_points::api::{LedgerMovement, LedgerSubscriber, SubscriberFailure, UnitOfWork};

/// The audit record.
#[async_trait]
pub trait AuditApi: LedgerSubscriber {
    /// Recomputes the hash chain and describes every break found (empty when intact).
    async fn chain_findings(&self) -> Result<Vec<String>, AuditError>;
    /// Every audit record's transaction id and the movement its payload describes, ascending by transaction id,
    /// so that `verify` can compare each with its ledger entry.
    async fn recorded_movements(&self) -> Result<Vec<AuditedMovement>, AuditError>;
}

/// One audit record, as `verify` compares it with the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditedMovement {
    /// The transaction id the record is filed under.
    pub transaction_id: i64,
    /// The movement its payload describes, or `None` when the payload cannot be read as one.
    pub movement: Option<LedgerMovement>,
}

/// Everything that can go wrong in the audit module. Each variant names the HTTP status the gateway maps it to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AuditError {
    /// 401 or 403, as the refusal says: a service on the way refused the member's token for this call.
    #[error("a service refused the call: {0}")]
    RefusedAtHop(rewards_platform::HopRefusal),
    /// 503 `service_unavailable`: the audit service could not be reached.
    #[error("the audit service is unavailable: {0}")]
    Unavailable(String),
    /// 500 `internal`: a storage failure.
    #[error("internal audit error: {0}")]
    Internal(String),
}

impl rewards_platform::RemoteFailure for AuditError {
    fn unavailable(message: String) -> Self {
        AuditError::Unavailable(message)
    }

    fn refused_at_hop(refusal: rewards_platform::HopRefusal) -> Self {
        AuditError::RefusedAtHop(refusal)
    }
}

impl From<rewards_platform::StorageError> for AuditError {
    fn from(error: rewards_platform::StorageError) -> Self {
        AuditError::Internal(error.message().to_owned())
    }
}
