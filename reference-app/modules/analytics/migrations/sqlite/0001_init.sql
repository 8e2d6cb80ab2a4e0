-- The analytics module's read model: per-business totals and members, and the movements already counted.
CREATE TABLE IF NOT EXISTS analytics_processed_movements (
    transaction_id INTEGER PRIMARY KEY,
    processed_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS analytics_business_totals (
    business_id INTEGER PRIMARY KEY,
    emitted INTEGER NOT NULL DEFAULT 0,
    redeemed INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS analytics_business_members (
    business_id INTEGER NOT NULL,
    member_id INTEGER NOT NULL,
    PRIMARY KEY (business_id, member_id)
);
