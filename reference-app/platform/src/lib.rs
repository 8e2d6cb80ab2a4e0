//! Shared plumbing for the reference app's modules: SQLite storage with units of work, signed tokens, roles and the clock.
//!
//! Nothing here knows about a particular module or about the network. Modules use it for their own storage; the
//! `rewards` composition root uses it to open databases and to hand units of work down to the modules.

mod clock;
mod role;
mod storage;
mod token;

pub use clock::now_unix_seconds;
pub use role::Role;
pub use storage::{Database, StorageError, UnitOfWork};
pub use token::{TokenClaims, TokenError, TokenKey};

/// An error type that a remote client can produce when the module behind it cannot be reached.
///
/// Every module API error enum implements it, so that a client over HTTP can implement the same trait as the local
/// implementation and still report a transport failure (which the gateway turns into a 503).
pub trait RemoteFailure {
    /// Builds the variant that means "the module did not answer in time or refused the call".
    fn unavailable(message: String) -> Self;
}
