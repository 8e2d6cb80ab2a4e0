-- In `shop`'s package directory but in no module's own directory (`src/orders/`, `src/payments/`).
INSERT INTO orders (id) VALUES (1);
INSERT INTO payments_ledger (order_id, amount) VALUES (1, 10);
