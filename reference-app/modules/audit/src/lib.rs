//! The audit module: an append-only record of every ledger movement, each record's hash keyed (HMAC-SHA256 with a key
//! kept outside the database) and chained to the one before, so that tampering is detectable even by someone who can
//! rewrite the whole table.
//!
//! Other modules see only [`api`]. The composition root also uses [`LocalAudit`] and [`ChainKey`] to build the
//! in-process implementation.

pub mod api;
mod service;

pub use service::{ChainKey, LocalAudit};
