-- The analytics module's read model, in its own schema: per-business totals and members, and the movements already
-- counted.
CREATE TABLE IF NOT EXISTS analytics.processed_movements (
    transaction_id BIGINT PRIMARY KEY,
    processed_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS analytics.business_totals (
    business_id BIGINT PRIMARY KEY,
    emitted BIGINT NOT NULL DEFAULT 0,
    redeemed BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS analytics.business_members (
    business_id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    PRIMARY KEY (business_id, member_id)
);
