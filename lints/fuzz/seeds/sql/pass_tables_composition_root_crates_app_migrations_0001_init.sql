-- The composition root creates every table: a CREATE TABLE outside any module claims nothing.
CREATE TABLE orders (id BIGINT PRIMARY KEY);
CREATE TABLE payments_ledger (
    id BIGINT PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    amount NUMERIC NOT NULL DEFAULT 0
);
