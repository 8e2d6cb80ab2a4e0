-- Module `catalog` creates `products`, which makes it the owner.
CREATE TABLE products (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL
);
