-- The users module's profiles: the public face of an account, keyed by the user id that auth assigned.
CREATE TABLE IF NOT EXISTS users_profiles (
    user_id INTEGER PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('member', 'business')),
    created_at INTEGER NOT NULL
);
