//! The public face of the points module: the [`PointsApi`] trait, the [`LedgerSubscriber`] trait that audit and
//! analytics implement, their types, and [`PointsError`].

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use rewards_platform::UnitOfWork;

/// The most ledger entries one listing returns.
pub const MAX_RECENT_MOVEMENTS: u32 = 50;

/// What kind of movement a ledger entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// A business credited points for a purchase directly.
    Emit,
    /// A member claimed a QR code.
    Claim,
    /// A member spent points on an offer.
    Redeem,
}

impl MovementKind {
    /// The stable lowercase name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Emit => "emit",
            MovementKind::Claim => "claim",
            MovementKind::Redeem => "redeem",
        }
    }

    /// Parses the stable name back.
    pub fn parse(text: &str) -> Option<MovementKind> {
        match text {
            "emit" => Some(MovementKind::Emit),
            "claim" => Some(MovementKind::Claim),
            "redeem" => Some(MovementKind::Redeem),
            _ => None,
        }
    }
}

/// One committed movement of points, as published to subscribers (audit, analytics).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerMovement {
    /// The ledger entry's id; subscribers use it to ignore a second delivery.
    pub transaction_id: i64,
    /// The member whose balance moved.
    pub member_id: i64,
    /// The business the movement belongs to.
    pub business_id: i64,
    /// Emit, claim or redeem.
    pub kind: MovementKind,
    /// The signed change: positive for credits, negative for redemptions.
    pub points: i64,
    /// The member's balance right after the movement.
    pub balance_after: i64,
    /// When it happened (Unix seconds).
    pub occurred_at: i64,
}

/// Why a subscriber could not record a movement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{message}")]
pub struct SubscriberFailure {
    /// What went wrong.
    pub message: String,
    /// True when the subscriber could not be reached (or its service refused the caller), so that the movement
    /// itself is not to blame: the outbox keeps such a row at the head of its queue however often it fails, rather
    /// than parking it.
    pub unreachable: bool,
}

impl SubscriberFailure {
    /// The subscriber was reached and could not record this movement.
    pub fn new(message: impl Into<String>) -> SubscriberFailure {
        SubscriberFailure { message: message.into(), unreachable: false }
    }
}

impl rewards_platform::RemoteFailure for SubscriberFailure {
    fn unavailable(message: String) -> Self {
        SubscriberFailure { message, unreachable: true }
    }

    fn refused_at_hop(refusal: rewards_platform::HopRefusal) -> Self {
        SubscriberFailure { message: format!("the subscriber refused the delivery: {refusal}"), unreachable: true }
    }
}

/// A module that must see every ledger movement exactly once (audit, analytics).
///
/// `unit_of_work` is the ledger's transaction when the subscriber's tables live in the same database, in which case
/// the subscriber must write inside it; otherwise it is detached and the subscriber commits on its own. Either way,
/// recording the same `transaction_id` twice must change nothing (the outbox delivers at least once).
#[async_trait]
pub trait LedgerSubscriber: Send + Sync {
    /// Records one movement.
    async fn record_movement(
        &self,
        unit_of_work: &mut UnitOfWork,
        movement: LedgerMovement,
    ) -> Result<(), SubscriberFailure>;
}

/// A business credits points to a member for a purchase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmitRequest {
    /// Who is asking; must own the business.
    pub acting_user_id: i64,
    /// The business giving the points.
    pub business_id: i64,
    /// The member receiving them.
    pub member_id: i64,
    /// The purchase amount in centavos (1 to 10,000,000, that is up to Bs 100,000).
    pub purchase_cents: i64,
    /// A client-chosen key; a replay with the same key credits nothing and returns the first receipt.
    pub idempotency_key: String,
}

/// A business creates a one-time QR code worth the points of a purchase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateQrRequest {
    /// Who is asking; must own the business.
    pub acting_user_id: i64,
    /// The business giving the points.
    pub business_id: i64,
    /// The purchase amount in centavos.
    pub purchase_cents: i64,
}

/// A created QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrCode {
    /// The code the member scans.
    pub code: String,
    /// The points it is worth.
    pub points: i64,
    /// The first second (Unix time) at which it can no longer be claimed.
    pub expires_at: i64,
}

/// A member claims a QR code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClaimRequest {
    /// The member claiming.
    pub member_id: i64,
    /// The scanned code.
    pub code: String,
}

/// A member spends points on an offer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedeemRequest {
    /// The member redeeming.
    pub member_id: i64,
    /// The offer to redeem.
    pub offer_id: i64,
    /// A client-chosen key; a replay with the same key debits nothing and returns the first receipt.
    pub idempotency_key: String,
}

/// The outcome of a movement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovementReceipt {
    /// The ledger entry's id.
    pub transaction_id: i64,
    /// How many points moved (always positive; the kind says which way).
    pub points: i64,
    /// The member's balance right after this movement.
    pub balance: i64,
    /// True when this answer is the replay of an earlier request with the same idempotency key.
    pub replayed: bool,
}

/// One entry of a member's ledger, as shown on the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The ledger entry's id.
    pub transaction_id: i64,
    /// The business it belongs to.
    pub business_id: i64,
    /// Emit, claim or redeem.
    pub kind: MovementKind,
    /// The signed change.
    pub points: i64,
    /// When it happened (Unix seconds).
    pub occurred_at: i64,
}

/// Per-business totals computed from the ledger, which analytics must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessLedgerTotals {
    /// The business.
    pub business_id: i64,
    /// Points credited (emits and claims).
    pub emitted: i64,
    /// Points debited (redemptions).
    pub redeemed: i64,
    /// Distinct members with at least one movement.
    pub members: i64,
}

/// What `rewards verify` needs to compare the ledger with its subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerSummary {
    /// Every ledger entry as it was published to subscribers, ascending by transaction id, so that the audit
    /// record of each can be compared with it.
    pub entries: Vec<LedgerMovement>,
    /// Totals per business, ascending by business id.
    pub totals_by_business: Vec<BusinessLedgerTotals>,
    /// Outbox rows not yet delivered and still being tried.
    pub undelivered_outbox_rows: i64,
    /// Outbox rows parked after their subscriber refused them too often, per subscriber, ascending by name.
    pub parked_outbox_rows: Vec<(String, i64)>,
}

/// A business's emission budget: what an operator granted it in all, and what its credits have used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmissionBudget {
    /// The business.
    pub business_id: i64,
    /// The sum of every grant.
    pub granted: i64,
    /// The points its emits and claimed QR codes credited.
    pub emitted: i64,
}

/// The ledger and balances.
#[async_trait]
pub trait PointsApi: Send + Sync {
    /// Credits points for a purchase (idempotent by key).
    async fn emit(&self, request: EmitRequest) -> Result<MovementReceipt, PointsError>;
    /// Creates a one-time QR code.
    async fn create_qr(&self, request: CreateQrRequest) -> Result<QrCode, PointsError>;
    /// Claims a QR code; only the first claim succeeds.
    async fn claim(&self, request: ClaimRequest) -> Result<MovementReceipt, PointsError>;
    /// Debits points for an offer (idempotent by key); never lets a balance go negative.
    async fn redeem(&self, request: RedeemRequest) -> Result<MovementReceipt, PointsError>;
    /// A member's balance (0 for a member with no movements).
    async fn balance(&self, member_id: i64) -> Result<i64, PointsError>;
    /// A member's newest movements, newest first, at most `limit` (capped at [`MAX_RECENT_MOVEMENTS`]).
    async fn recent_movements(&self, member_id: i64, limit: u32) -> Result<Vec<LedgerEntry>, PointsError>;
    /// Checks the ledger's own invariants and describes every violation found (empty when all hold).
    async fn invariant_findings(&self) -> Result<Vec<String>, PointsError>;
    /// Totals and ids for comparing the ledger with audit and analytics.
    async fn ledger_summary(&self) -> Result<LedgerSummary, PointsError>;
}

/// Everything that can go wrong in the points module. Each variant names the HTTP status the gateway maps it to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum PointsError {
    /// 422: a field is malformed or out of bounds (the message names it).
    #[error("{0}")]
    InvalidInput(String),
    /// 404 `business_not_found`.
    #[error("no business has this id")]
    BusinessNotFound,
    /// 404 `member_not_found`.
    #[error("no member has this id")]
    MemberNotFound,
    /// 404 `offer_not_found`.
    #[error("no offer has this id")]
    OfferNotFound,
    /// 404 `code_not_found`.
    #[error("no QR code has this value")]
    CodeNotFound,
    /// 403 `forbidden`: the acting user does not own the business.
    #[error("only the owner of this business may do this")]
    NotOwner,
    /// 403 `business_not_approved`: an operator has not approved the business yet, so it emits nothing.
    #[error("this business is not approved to emit points yet")]
    BusinessNotApproved,
    /// 409 `emission_budget_exceeded`: the credit would take the business past the budget an operator granted it.
    #[error("this business's emission budget does not cover these points")]
    EmissionBudgetExceeded,
    /// 409 `code_used`: the QR code was already claimed.
    #[error("this QR code was already claimed")]
    CodeUsed,
    /// 410 `code_expired`.
    #[error("this QR code has expired")]
    CodeExpired,
    /// 409 `insufficient_points`.
    #[error("the balance is too low for this offer")]
    InsufficientPoints,
    /// 409 `idempotency_key_reused`: the key was already used for a different request.
    #[error("this idempotency key was already used for a different request")]
    IdempotencyKeyReused,
    /// 401 or 403, as the refusal says: a service on the way refused the member's token for this call.
    #[error("a service refused the call: {0}")]
    RefusedAtHop(rewards_platform::HopRefusal),
    /// 503 `service_unavailable`: the points service, or a module it needs, could not be reached.
    #[error("a service needed for this is unavailable: {0}")]
    Unavailable(String),
    /// 500 `internal`: a storage failure, or a subscriber that failed inside the ledger's transaction.
    #[error("internal points error: {0}")]
    Internal(String),
}

impl rewards_platform::RemoteFailure for PointsError {
    fn unavailable(message: String) -> Self {
        PointsError::Unavailable(message)
    }

    fn refused_at_hop(refusal: rewards_platform::HopRefusal) -> Self {
        PointsError::RefusedAtHop(refusal)
    }
}

impl From<rewards_platform::StorageError> for PointsError {
    fn from(error: rewards_platform::StorageError) -> Self {
        PointsError::Internal(error.message().to_owned())
    }
}
