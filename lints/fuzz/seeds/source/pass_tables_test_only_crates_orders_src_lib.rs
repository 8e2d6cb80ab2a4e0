//! Module `orders` (the whole crate): its production code uses only `orders`; its tests seed
//! and read `payments_ledger`.
#![allow(unused)]

mod test_support;

/// A stand-in for a database connection, so that the fixture compiles without a driver.
pub struct Conn;

impl Conn {
    pub fn execute(&self, sql: &str) {}
}

pub fn place(conn: &Conn) {
    conn.execute("INSERT INTO orders (id) VALUES ($1)");
}

#[cfg(test)]
fn seed_sql() -> &'static str {
    "INSERT INTO payments_ledger (id, amount) VALUES (1, 10)"
}

#[cfg(all(test, unix))]
const UNIX_ONLY_CHECK: &str = "SELECT COUNT(*) FROM payments_ledger";

#[cfg(test)]
mod tests {
    use crate::Conn;

    #[test]
    fn a_paid_order_has_a_ledger_entry() {
        Conn.execute("SELECT * FROM orders JOIN payments_ledger ON payments_ledger.order_id = orders.id");
    }
}
