//! Module `reports` reads its own `report_runs` and, wrongly, the tables of three other modules.

use crate::Conn;

pub fn joins(conn: &Conn) {
    conn.query("SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id");
    conn.query(
        "SELECT r.id
           FROM report_runs r
           LEFT JOIN order_lines l ON l.order_id = r.order_id
          INNER JOIN payments_ledger p ON p.order_id = r.order_id
          CROSS JOIN refunds",
    );
}

pub fn subqueries(conn: &Conn) {
    conn.query("SELECT id FROM report_runs WHERE customer_id IN (SELECT id FROM customers)");
    conn.query("SELECT id FROM report_runs r WHERE EXISTS (SELECT 1 FROM refunds f WHERE f.run = r.id)");
    conn.query("SELECT t.total FROM (SELECT SUM(amount) AS total FROM payments_ledger) AS t");
    conn.query("SELECT (SELECT COUNT(*) FROM orders) AS order_count");
}

pub fn set_operations(conn: &Conn) {
    conn.query("SELECT id FROM report_runs UNION SELECT id FROM orders UNION ALL SELECT id FROM refunds");
    conn.query("SELECT id FROM customers INTERSECT SELECT id FROM report_runs EXCEPT SELECT id FROM order_lines");
}

/// Column names, qualifiers and aliases that spell another module's table are not tables.
pub fn names_that_are_not_tables(conn: &Conn) {
    conn.query("SELECT orders, report_runs.customers FROM report_runs");
    conn.query("SELECT refunds.id FROM report_runs AS refunds");
}
