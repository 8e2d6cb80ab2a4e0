//! The users module: member and business profiles.
//!
//! Other modules see only [`api`]. The composition root also uses [`LocalUsers`] to build the in-process
//! implementation.

pub mod api;
mod service;

pub use service::LocalUsers;
