-- A migration of module `shop` (the package directory, outside `src/orders/`).
CREATE TABLE carts (
    id BIGINT PRIMARY KEY,
    created_at TIMESTAMP NOT NULL
);

INSERT INTO carts (id, created_at)
SELECT cart_id, now() FROM orders;
