-- The audit module's append-only record: one row per ledger movement, each hash chained to the one before.
CREATE TABLE IF NOT EXISTS audit_records (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id INTEGER NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    previous_hash TEXT NOT NULL,
    record_hash TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
