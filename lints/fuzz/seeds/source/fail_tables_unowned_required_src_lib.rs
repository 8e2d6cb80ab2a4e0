//! Crate root of the fixture: it belongs to no module, so its query of an unowned table is not checked.
#![allow(unused)]

pub mod ops;
pub mod payments;

/// A stand-in for a database connection, so that the fixture compiles without a driver.
pub struct Conn;

impl Conn {
    pub fn execute(&self, sql: &str) {}
}

pub fn wire(conn: &Conn) {
    conn.execute("SELECT * FROM temp_data");
}
