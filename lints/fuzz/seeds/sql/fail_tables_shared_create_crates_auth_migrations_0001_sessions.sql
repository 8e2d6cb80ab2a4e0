-- Module `auth` creates `sessions`: the first claim by file, line and column.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL
);
