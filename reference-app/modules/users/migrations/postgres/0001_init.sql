-- The users module's profiles, in its own schema: the public face of an account, keyed by the user id that auth
-- assigned.
CREATE TABLE IF NOT EXISTS users.profiles (
    user_id BIGINT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('member', 'business')),
    created_at BIGINT NOT NULL
);
