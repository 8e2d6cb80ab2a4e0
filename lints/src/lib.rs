//! seams: architecture enforcement for modular monoliths in a Cargo workspace.
//!
//! The library reads a workspace once ([`model::Model::build`]), runs every rule over that one
//! model ([`rules::run_all`]), and renders reports ([`report`]). The binaries only parse
//! arguments and print.

pub mod baseline;
pub mod cache;
pub mod changes;
pub mod check;
pub mod cli;
pub mod config;
pub mod extract;
pub mod graph;
pub mod init;
pub mod model;
pub mod report;
pub mod rules;
pub mod source;
pub mod sql;
pub mod tables;
pub mod workspace;

/// Where each rule's documentation lives; a rule's section is `#<rule-code>`.
pub const DOCS_RULES_URL: &str = "https://github.com/seams-rs/seams/blob/main/docs/rules.md";
