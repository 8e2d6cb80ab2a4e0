//! The public face of the users module: the [`UsersApi`] trait, the [`Profile`] type and [`UsersError`].

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use rewards_platform::Role;

/// The longest display name accepted, in characters.
pub const MAX_DISPLAY_NAME_LENGTH: usize = 100;

/// A new profile for an account that auth has just created.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateProfileRequest {
    /// The user id that auth assigned.
    pub user_id: i64,
    /// The name shown to others, 1 to 100 characters after trimming.
    pub display_name: String,
    /// The account's role, copied from registration.
    pub role: Role,
}

/// A stored profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The account's user id.
    pub user_id: i64,
    /// The name shown to others.
    pub display_name: String,
    /// Member or business.
    pub role: Role,
    /// When the profile was created (Unix seconds).
    pub member_since: i64,
}

/// Profiles.
#[async_trait]
pub trait UsersApi: Send + Sync {
    /// Stores a profile. Creating the same profile twice is accepted, so that a retried call is harmless.
    async fn create_profile(&self, request: CreateProfileRequest) -> Result<Profile, UsersError>;
    /// Reads a profile.
    async fn get_profile(&self, user_id: i64) -> Result<Profile, UsersError>;
}

/// Checks a display name without storing anything, so that the gateway can refuse a bad registration before auth
/// creates the account. It is pure code, identical in every topology.
pub fn validate_display_name(raw: &str) -> Result<String, UsersError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(UsersError::InvalidInput("name must not be empty".to_owned()));
    }
    if name.chars().count() > MAX_DISPLAY_NAME_LENGTH || !rewards_platform::is_printable_text(name) {
        return Err(UsersError::InvalidInput(format!(
            "name must have at most {MAX_DISPLAY_NAME_LENGTH} printable characters, and no control or invisible format \
             characters"
        )));
    }
    Ok(name.to_owned())
}

/// Everything that can go wrong in the users module. Each variant names the HTTP status the gateway maps it to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum UsersError {
    /// 422: a field is malformed (the message names it).
    #[error("{0}")]
    InvalidInput(String),
    /// 404 `user_not_found`: no profile has this user id.
    #[error("no user has this id")]
    NotFound,
    /// 409 `profile_conflict`: a different profile already exists for this user id.
    #[error("a different profile already exists for this user")]
    Conflict,
    /// 401 or 403, as the refusal says: a service on the way refused the member's token for this call.
    #[error("a service refused the call: {0}")]
    RefusedAtHop(rewards_platform::HopRefusal),
    /// 503 `service_unavailable`: the users service could not be reached.
    #[error("the users service is unavailable: {0}")]
    Unavailable(String),
    /// 500 `internal`: a storage failure.
    #[error("internal users error: {0}")]
    Internal(String),
}

impl rewards_platform::RemoteFailure for UsersError {
    fn unavailable(message: String) -> Self {
        UsersError::Unavailable(message)
    }

    fn refused_at_hop(refusal: rewards_platform::HopRefusal) -> Self {
        UsersError::RefusedAtHop(refusal)
    }
}

impl From<rewards_platform::StorageError> for UsersError {
    fn from(error: rewards_platform::StorageError) -> Self {
        UsersError::Internal(error.message().to_owned())
    }
}
