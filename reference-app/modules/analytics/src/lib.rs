//! The analytics module: per-business statistics (points emitted, points redeemed, active members), fed by ledger
//! movements.
//!
//! Other modules see only [`api`]. The composition root also uses [`LocalAnalytics`] to build the in-process
//! implementation.

pub mod api;
mod service;

pub use service::LocalAnalytics;
