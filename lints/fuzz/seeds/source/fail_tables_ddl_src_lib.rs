//! Crate root of the fixture: it declares the modules and belongs to none of them.
#![allow(unused)]

pub mod catalog;
pub mod pricing;
pub mod stock;

/// A stand-in for a database connection, so that the fixture compiles without a driver.
pub struct Conn;

impl Conn {
    pub fn execute(&self, sql: &str) {}
}
