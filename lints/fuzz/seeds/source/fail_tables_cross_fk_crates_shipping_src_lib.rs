//! Module `shipping` (the whole crate) creates its table from Rust, with foreign keys into
//! `orders` and `customers`.
#![allow(unused)]

pub struct Conn;

impl Conn {
    pub fn execute(&self, sql: &str) {}
}

pub fn migrate(conn: &Conn) {
    conn.execute(
        r#"
        CREATE TABLE shipments (
            id BIGINT PRIMARY KEY,
            order_id BIGINT NOT NULL REFERENCES "Orders" (id),
            customer_id BIGINT NOT NULL
        )"#,
    );
    conn.execute("ALTER TABLE shipments ADD CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES customers (id)");
}
