//! seams: architecture enforcement for modular monoliths in a Cargo workspace.
//!
//! The library checks a workspace once ([`check::run_check`], or [`check::Engine`] to check
//! again incrementally) and returns a [`check::CheckOutcome`]: the violations and warnings it
//! found ([`diagnostic`]), which [`report`] renders for people, machines and CI, and [`render`]
//! draws as a module graph. [`cli`] is the command line both binaries share; [`init`] writes a
//! starter `boundaries.toml`. Everything else is the pipeline behind `run_check`
//! (ARCHITECTURE.md), private to the crate.
//!
//! [`fuzzing`] holds the entry points of the fuzz targets, and is not for other callers.

pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod fuzzing;
pub mod init;
pub mod lsp;
pub mod render;
pub mod report;

mod allows;
mod baseline;
mod changes;
mod config;
mod extract;
mod graph;
mod ids;
mod model;
mod parse;
mod rules;
mod sql;
mod sync;
mod text;
mod timings;
mod workspace;
