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
    /// The transaction ids that have an audit record, ascending.
    async fn recorded_transaction_ids(&self) -> Result<Vec<i64>, AuditError>;
}

/// Everything that can go wrong in the audit module. Each variant names the HTTP status the gateway maps it to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AuditError {
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
}

impl From<rewards_platform::StorageError> for AuditError {
    fn from(error: rewards_platform::StorageError) -> Self {
        AuditError::Internal(error.0)
    }
}
