-- The auth module's accounts: one row per registered email, with its argon2 hash and role.
CREATE TABLE IF NOT EXISTS auth_accounts (
    user_id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('member', 'business')),
    created_at INTEGER NOT NULL
);
