-- Module `payments` creates its ledger.
CREATE TABLE IF NOT EXISTS payments_ledger (
    id BIGINT PRIMARY KEY,
    order_id BIGINT NOT NULL,
    amount NUMERIC NOT NULL
);
