//! The business module: businesses, their offers, and their emission rate in points per boliviano.
//!
//! Other modules see only [`api`]. The composition root also uses [`LocalBusiness`] to build the in-process
//! implementation.

pub mod api;
mod domain;
mod service;

pub use service::LocalBusiness;
