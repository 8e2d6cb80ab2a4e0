-- Module `orders` creates its table, so it owns `orders`.
CREATE TABLE orders (
    id BIGINT PRIMARY KEY,
    cart_id BIGINT NOT NULL
);
