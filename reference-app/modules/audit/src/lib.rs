//! The audit module: an append-only, hash-chained record of every ledger movement, so that tampering is detectable.
//!
//! Other modules see only [`api`]. The composition root also uses [`LocalAudit`] to build the in-process
//! implementation.

pub mod api;
mod service;

pub use service::LocalAudit;
