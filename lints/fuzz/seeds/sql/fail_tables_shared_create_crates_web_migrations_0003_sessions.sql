-- Module `web` creates the same table again, under another spelling.
CREATE TABLE IF NOT EXISTS "Sessions" (
    id TEXT PRIMARY KEY
);
