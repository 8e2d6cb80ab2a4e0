//! The reference app of seams: a loyalty-points platform whose modules run in one process (the modular monolith),
//! each in its own process (services), or anything in between (`extract=…`), from the same module code.
//!
//! This crate is the composition root and everything around the modules: the gateway (public HTTP API), the
//! transport (HTTP/JSON clients and servers for module traits), the supervisor of child services, and the `seed`,
//! `verify` and `operator` operations. See `docs/reference-app.md` for the design.

pub mod app;
pub mod composition;
pub mod config;
pub mod gateway;
pub mod health;
pub mod operator;
pub mod secrets;
pub mod seed;
pub mod supervisor;
pub mod telemetry;
pub mod transport;
pub mod verify;
