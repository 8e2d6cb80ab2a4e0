//! Crate root of the fixture: it declares the modules and belongs to none of them.
#![allow(unused)]

pub mod catalog;
pub mod customers;
pub mod loyalty;
pub mod orders;
pub mod reports;

/// A stand-in for a database connection.
pub struct Conn;

impl Conn {
    pub fn query(&self, sql: &str) {}
}
