-- The points module's tables: the ledger, the balances it sums to, QR claim codes, and the transactional outbox.
CREATE TABLE IF NOT EXISTS points_ledger (
    transaction_id INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id INTEGER NOT NULL,
    business_id INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('emit', 'claim', 'redeem')),
    points INTEGER NOT NULL,
    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
    idempotency_scope TEXT,
    request_fingerprint TEXT,
    qr_code TEXT,
    offer_id INTEGER,
    occurred_at INTEGER NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS points_ledger_idempotency ON points_ledger (idempotency_scope)
    WHERE idempotency_scope IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS points_ledger_qr_code ON points_ledger (qr_code) WHERE qr_code IS NOT NULL;
CREATE INDEX IF NOT EXISTS points_ledger_by_member ON points_ledger (member_id, transaction_id);

CREATE TABLE IF NOT EXISTS points_balances (
    member_id INTEGER PRIMARY KEY,
    balance INTEGER NOT NULL CHECK (balance >= 0)
);

CREATE TABLE IF NOT EXISTS points_qr_codes (
    code TEXT PRIMARY KEY,
    business_id INTEGER NOT NULL,
    points INTEGER NOT NULL CHECK (points > 0),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    claimed_by INTEGER,
    claimed_at INTEGER
);

-- Movements waiting to be delivered to subscribers that cannot join the ledger's transaction.
CREATE TABLE IF NOT EXISTS points_outbox (
    outbox_id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber TEXT NOT NULL,
    transaction_id INTEGER NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_at INTEGER,
    -- Until when (Unix seconds) a relay has claimed the row for delivery; no other relay takes it before then.
    lease_until INTEGER
);

CREATE INDEX IF NOT EXISTS points_outbox_pending ON points_outbox (subscriber, delivered_at, outbox_id);
