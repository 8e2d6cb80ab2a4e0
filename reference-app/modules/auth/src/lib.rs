//! The auth module: registration with argon2 password hashing, login issuing signed tokens, and token verification.
//!
//! Other modules see only [`api`]. The composition root also uses [`LocalAuth`] and [`AuthSettings`] to build the
//! in-process implementation.

pub mod api;
mod backoff;
mod domain;
mod hashing;
mod service;

pub use hashing::HashingStats;
pub use service::{AuthSettings, LocalAuth, PasswordHashing};
