//! The public face of the business module: the [`BusinessApi`] trait, its types and [`BusinessError`].

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The most offers a single listing returns.
pub const MAX_OFFERS_LISTED: u32 = 50;

/// A new business.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateBusinessRequest {
    /// The business account that owns it.
    pub owner_user_id: i64,
    /// 1 to 100 characters after trimming.
    pub name: String,
    /// Points credited per boliviano spent, 1 to 1000.
    pub points_per_boliviano: i64,
}

/// A stored business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Business {
    /// The business id.
    pub business_id: i64,
    /// The owning account.
    pub owner_user_id: i64,
    /// The display name.
    pub name: String,
    /// Points credited per boliviano spent.
    pub points_per_boliviano: i64,
    /// Whether an operator has approved it (`rewards operator approve-business`). Only an approved business emits
    /// points; a business created through the public API starts unapproved.
    pub approved: bool,
}

/// A new offer, created by the owner of its business.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateOfferRequest {
    /// Who is asking; must own the business.
    pub acting_user_id: i64,
    /// The business the offer belongs to.
    pub business_id: i64,
    /// 1 to 100 characters after trimming.
    pub title: String,
    /// What redeeming costs, 1 to 1,000,000 points.
    pub cost_points: i64,
}

/// A stored offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// The offer id.
    pub offer_id: i64,
    /// The business it belongs to.
    pub business_id: i64,
    /// What the member gets.
    pub title: String,
    /// What it costs.
    pub cost_points: i64,
}

/// Businesses and offers.
#[async_trait]
pub trait BusinessApi: Send + Sync {
    /// Creates a business.
    async fn create_business(&self, request: CreateBusinessRequest) -> Result<Business, BusinessError>;
    /// Reads a business.
    async fn get_business(&self, business_id: i64) -> Result<Business, BusinessError>;
    /// Creates an offer, if the acting user owns the business.
    async fn create_offer(&self, request: CreateOfferRequest) -> Result<Offer, BusinessError>;
    /// Reads an offer.
    async fn get_offer(&self, offer_id: i64) -> Result<Offer, BusinessError>;
    /// The newest offers of the given businesses, at most `limit` (capped at [`MAX_OFFERS_LISTED`]).
    async fn offers_of_businesses(&self, business_ids: Vec<i64>, limit: u32) -> Result<Vec<Offer>, BusinessError>;
}

/// Everything that can go wrong in the business module. Each variant names the HTTP status the gateway maps it to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum BusinessError {
    /// 422: a field is malformed (the message names it).
    #[error("{0}")]
    InvalidInput(String),
    /// 404 `business_not_found`.
    #[error("no business has this id")]
    BusinessNotFound,
    /// 404 `offer_not_found`.
    #[error("no offer has this id")]
    OfferNotFound,
    /// 403 `forbidden`: the acting user does not own the business.
    #[error("only the owner of this business may do this")]
    NotOwner,
    /// 401 or 403, as the refusal says: a service on the way refused the member's token for this call.
    #[error("a service refused the call: {0}")]
    RefusedAtHop(rewards_platform::HopRefusal),
    /// 503 `service_unavailable`: the business service could not be reached.
    #[error("the business service is unavailable: {0}")]
    Unavailable(String),
    /// 500 `internal`: a storage failure.
    #[error("internal business error: {0}")]
    Internal(String),
}

impl rewards_platform::RemoteFailure for BusinessError {
    fn unavailable(message: String) -> Self {
        BusinessError::Unavailable(message)
    }

    fn refused_at_hop(refusal: rewards_platform::HopRefusal) -> Self {
        BusinessError::RefusedAtHop(refusal)
    }
}

impl From<rewards_platform::StorageError> for BusinessError {
    fn from(error: rewards_platform::StorageError) -> Self {
        BusinessError::Internal(error.message().to_owned())
    }
}
