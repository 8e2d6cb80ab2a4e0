//! The public face of the auth module: the [`AuthApi`] trait, its request and response types, and [`AuthError`].

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use rewards_platform::{Role, TokenClaims};

/// A new account's credentials and role. The display name belongs to the users module.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// The login email; compared case-insensitively.
    pub email: String,
    /// The plain password, 8 to 128 characters. It is hashed with argon2 and never stored.
    pub password: String,
    /// Whether the account collects points or emits them.
    pub role: Role,
}

/// A login attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    /// The email given at registration.
    pub email: String,
    /// The plain password.
    pub password: String,
}

/// Accounts and tokens.
#[async_trait]
pub trait AuthApi: Send + Sync {
    /// Creates an account and returns its user id.
    async fn register(&self, request: RegisterRequest) -> Result<i64, AuthError>;
    /// Checks a password and returns a signed bearer token.
    async fn login(&self, request: LoginRequest) -> Result<String, AuthError>;
    /// Checks a token's signature and expiry and returns who it speaks for.
    async fn verify(&self, token: String) -> Result<TokenClaims, AuthError>;
}

/// Everything that can go wrong in the auth module. Each variant names the HTTP status the gateway maps it to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AuthError {
    /// 422: a field is malformed (the message names it).
    #[error("{0}")]
    InvalidInput(String),
    /// 409 `email_taken`: another account already uses this email.
    #[error("this email is already registered")]
    EmailTaken,
    /// 401 `invalid_credentials`: unknown email or wrong password (deliberately not told apart).
    #[error("the email or password is wrong")]
    InvalidCredentials,
    /// 401 `invalid_token`: the token is malformed or its signature does not match.
    #[error("the token is malformed or its signature does not match")]
    InvalidToken,
    /// 401 `token_expired`: the token was genuine but is too old.
    #[error("the token has expired")]
    TokenExpired,
    /// 429 `login_backoff`: too many wrong passwords for this e-mail lately; the password was not checked.
    #[error("too many failed logins for this e-mail; try again in {retry_after_seconds} s")]
    TooManyFailedLogins {
        /// When the e-mail may try again.
        retry_after_seconds: u64,
    },
    /// 503 `auth_busy`: every password-hashing thread is busy and the queue in front of them is full.
    #[error("password checking is saturated; try again shortly")]
    Busy,
    /// 401 or 403, as the refusal says: a service on the way refused the member's token for this call.
    #[error("a service refused the call: {0}")]
    RefusedAtHop(rewards_platform::HopRefusal),
    /// 503 `service_unavailable`: the auth service could not be reached.
    #[error("the auth service is unavailable: {0}")]
    Unavailable(String),
    /// 500 `internal`: a storage or hashing failure.
    #[error("internal auth error: {0}")]
    Internal(String),
}

impl rewards_platform::RemoteFailure for AuthError {
    fn unavailable(message: String) -> Self {
        AuthError::Unavailable(message)
    }

    fn refused_at_hop(refusal: rewards_platform::HopRefusal) -> Self {
        AuthError::RefusedAtHop(refusal)
    }
}

impl From<rewards_platform::StorageError> for AuthError {
    fn from(error: rewards_platform::StorageError) -> Self {
        AuthError::Internal(error.message().to_owned())
    }
}
