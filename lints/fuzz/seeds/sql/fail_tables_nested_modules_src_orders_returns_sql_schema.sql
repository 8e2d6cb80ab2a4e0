-- Module `returns` creates its table, with a foreign key into the parent module's table.
CREATE TABLE order_returns (
    id BIGINT PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id)
);
