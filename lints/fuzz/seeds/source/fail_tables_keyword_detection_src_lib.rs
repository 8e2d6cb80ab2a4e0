//! Crate root of the fixture: it declares the modules and belongs to none of them.
#![allow(unused)]

pub mod ops;
pub mod payments;

/// A stand-in for a database connection, so that the fixture compiles without a driver.
pub struct Conn;

impl Conn {
    pub fn query(&self, sql: &str) {}
    pub fn query_bytes(&self, sql: &[u8]) {}
}
