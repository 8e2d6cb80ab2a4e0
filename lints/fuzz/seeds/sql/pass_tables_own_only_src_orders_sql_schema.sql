-- Module `orders` creates `orders` (and `order_lines`, which its glob also claims): one claimant.
CREATE TABLE orders (
    id BIGINT PRIMARY KEY
);

CREATE TABLE IF NOT EXISTS order_lines (
    id BIGINT PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    sku TEXT NOT NULL,
    qty INTEGER NOT NULL DEFAULT 1
);
