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
    lease_until INTEGER,
    -- When the row was set aside after the subscriber refused it too many times in a row (Unix seconds): the relay
    -- no longer tries it, and the subscriber's later rows flow past it. `rewards operator requeue-outbox` clears it.
    parked_at INTEGER
);

CREATE INDEX IF NOT EXISTS points_outbox_pending ON points_outbox (subscriber, delivered_at, outbox_id);

-- What each business may emit: the total of the budgets an operator granted it, and how much of that its emits and
-- claimed QR codes have used. A credit to a member first raises `emitted` here, in the same transaction, and only
-- while it stays within `granted`.
CREATE TABLE IF NOT EXISTS points_emission_budgets (
    business_id INTEGER PRIMARY KEY,
    granted INTEGER NOT NULL CHECK (granted >= 0),
    emitted INTEGER NOT NULL CHECK (emitted >= 0),
    CHECK (emitted <= granted)
);

-- Every top-up an operator granted (`rewards operator grant-budget`), append-only: the budgets' own ledger, which
-- `granted` above must sum.
CREATE TABLE IF NOT EXISTS points_budget_ledger (
    grant_id INTEGER PRIMARY KEY AUTOINCREMENT,
    business_id INTEGER NOT NULL,
    points INTEGER NOT NULL CHECK (points > 0),
    granted_at INTEGER NOT NULL
);
