//! Finds the tables a piece of SQL reads, writes, creates or references, for the table rules.
//!
//! The text comes from Rust string literals and `.sql` files, so it may be written for PostgreSQL,
//! SQLite or MySQL. It is parsed by sqlparser in several dialects; nothing is guessed from text
//! that no dialect accepts.

mod detect;
mod names;
mod tables;
#[cfg(test)]
mod tests;

pub(crate) use detect::{looks_like_broken_sql, looks_like_prose, looks_like_sql};
pub(crate) use names::{normalize_table_name, table_pattern_matches};
pub(crate) use tables::{TableAccess, TableReference, extract_table_references};
