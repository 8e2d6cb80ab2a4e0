//! The points module: the ledger and balances, emission, QR claim codes, redemption, and the transactional outbox.
//!
//! Other modules see only [`api`]. The composition root also uses [`LocalPoints`], [`Subscription`] and [`Delivery`]
//! to build the in-process implementation and to say, per subscriber, whether a movement is delivered inside the
//! ledger's own transaction or through the outbox.

pub mod api;
mod domain;
mod service;
mod statements;

pub use service::{Delivery, LocalPoints, PointsSettings, Subscription};
