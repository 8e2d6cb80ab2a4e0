//! Shared plumbing for the reference app's modules: storage on SQLite or PostgreSQL with units of work, signed tokens,
//! roles, the clock, and what a displayed name may contain.
//!
//! Nothing here knows about a particular module or about the network. Modules use it for their own storage; the
//! `rewards` composition root uses it to open databases and to hand units of work down to the modules.

mod clock;
mod role;
mod storage;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
mod text;
mod token;

pub use clock::now_unix_seconds;
pub use role::Role;
pub use storage::{
    Database, Dialect, FromValue, ModuleStore, Param, Row, Sql, StorageError, StorageErrorKind, Transaction,
    UnitOfWork, Value,
};
pub use text::{is_format_character, is_printable_text};
pub use token::{TOKEN_KEY_LENGTH, TokenClaims, TokenError, TokenKeyError, TokenSigner, TokenVerifier};

/// Why a service refused a call made on behalf of a signed-in user: the per-hop check of the member's token.
///
/// It travels inside every module's error enum, so that a refusal three hops away still reaches the public API as the
/// 401 or 403 it is, rather than as an outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum HopRefusal {
    /// 401 `missing_token`: the call acts for a user but carried no token.
    #[error("the call carried no token")]
    MissingToken,
    /// 401 `invalid_token`: the token is malformed or its signature does not match.
    #[error("the token is malformed or its signature does not match")]
    InvalidToken,
    /// 401 `token_expired`: the token was genuine but its lifetime is over.
    #[error("the token has expired")]
    TokenExpired,
    /// 403 `forbidden`: the token speaks for another user or role than the one the call acts for.
    #[error("the token does not speak for the user the call acts for")]
    Forbidden,
}

impl From<TokenError> for HopRefusal {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Invalid => HopRefusal::InvalidToken,
            TokenError::Expired => HopRefusal::TokenExpired,
        }
    }
}

/// An error type that a remote client can produce when the module behind it cannot be reached or refuses the call.
///
/// Every module API error enum implements it, so that a client over HTTP can implement the same trait as the local
/// implementation and still report a transport failure (which the gateway turns into a 503) or a refusal of the
/// member's token at the hop (401 or 403).
pub trait RemoteFailure {
    /// Builds the variant that means "the module did not answer in time, or the call could not be made".
    fn unavailable(message: String) -> Self;
    /// Builds the variant that means "the module refused the member's token for this call".
    fn refused_at_hop(refusal: HopRefusal) -> Self;
}
