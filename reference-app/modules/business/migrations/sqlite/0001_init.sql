-- The business module's tables: businesses with their emission rate, and the offers members can redeem.
CREATE TABLE IF NOT EXISTS business_businesses (
    business_id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    points_per_boliviano INTEGER NOT NULL CHECK (points_per_boliviano > 0),
    created_at INTEGER NOT NULL,
    -- When an operator approved the business (Unix seconds); NULL until then, and an unapproved business emits nothing.
    approved_at INTEGER
);

CREATE TABLE IF NOT EXISTS business_offers (
    offer_id INTEGER PRIMARY KEY AUTOINCREMENT,
    business_id INTEGER NOT NULL REFERENCES business_businesses (business_id),
    title TEXT NOT NULL,
    cost_points INTEGER NOT NULL CHECK (cost_points > 0),
    created_at INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS business_offers_by_business ON business_offers (business_id, offer_id);
