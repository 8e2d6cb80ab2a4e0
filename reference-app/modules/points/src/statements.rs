//! Every statement of the points module, once per database: `points_*` tables on SQLite, the `points` schema on
//! PostgreSQL.
//!
//! Where the two differ in more than names, the comment says why. The locking statements are the ones that matter
//! for the invariants: on SQLite a unit of work already holds the database's write lock, on PostgreSQL (`READ
//! COMMITTED`) they take the row locks that serialise two movements of one member or two claims of one code.

use rewards_platform::Sql;

pub(crate) const MIGRATION: Sql = Sql {
    sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
    postgres: include_str!("../migrations/postgres/0001_init.sql"),
};

pub(crate) const CHECK_TABLES: Sql = Sql {
    sqlite: "SELECT EXISTS (SELECT 1 FROM points_ledger), EXISTS (SELECT 1 FROM points_balances), \
             EXISTS (SELECT 1 FROM points_qr_codes), EXISTS (SELECT 1 FROM points_outbox), \
             EXISTS (SELECT 1 FROM points_emission_budgets), EXISTS (SELECT 1 FROM points_budget_ledger)",
    postgres: "SELECT EXISTS (SELECT 1 FROM points.ledger), EXISTS (SELECT 1 FROM points.balances), \
               EXISTS (SELECT 1 FROM points.qr_codes), EXISTS (SELECT 1 FROM points.outbox), \
               EXISTS (SELECT 1 FROM points.emission_budgets), EXISTS (SELECT 1 FROM points.budget_ledger)",
};

pub(crate) const REPLAY: Sql = Sql {
    sqlite: "SELECT transaction_id, points, balance_after, request_fingerprint FROM points_ledger \
             WHERE idempotency_scope = ?1",
    postgres: "SELECT transaction_id, points, balance_after, request_fingerprint FROM points.ledger \
               WHERE idempotency_scope = $1",
};

/// Serialises the requests that carry one idempotency key (PostgreSQL; SQLite's unit of work holds the write lock
/// already), so that a repeated request waits for the first and then replays it instead of failing on the unique
/// index. The lock is the transaction's and ends with it.
pub(crate) const LOCK_KEY: Sql = Sql { sqlite: "SELECT ?1", postgres: "SELECT pg_advisory_xact_lock(hashtext($1))" };

pub(crate) const BALANCE: Sql = Sql {
    sqlite: "SELECT balance FROM points_balances WHERE member_id = ?1",
    postgres: "SELECT balance FROM points.balances WHERE member_id = $1",
};

/// Makes sure the member has a balance row, so that [`LOCK_BALANCE`] has a row to lock even for a first movement.
pub(crate) const ENSURE_BALANCE: Sql = Sql {
    sqlite: "INSERT INTO points_balances (member_id, balance) VALUES (?1, 0) ON CONFLICT (member_id) DO NOTHING",
    postgres: "INSERT INTO points.balances (member_id, balance) VALUES ($1, 0) ON CONFLICT (member_id) DO NOTHING",
};

/// Reads the balance and, on PostgreSQL, locks its row until the unit of work ends: a second movement of the same
/// member waits here and then reads the balance the first one committed.
pub(crate) const LOCK_BALANCE: Sql = Sql {
    sqlite: "SELECT balance FROM points_balances WHERE member_id = ?1",
    postgres: "SELECT balance FROM points.balances WHERE member_id = $1 FOR UPDATE",
};

pub(crate) const SET_BALANCE: Sql = Sql {
    sqlite: "UPDATE points_balances SET balance = ?2 WHERE member_id = ?1",
    postgres: "UPDATE points.balances SET balance = $2 WHERE member_id = $1",
};

pub(crate) const APPEND_ENTRY: Sql = Sql {
    sqlite: "INSERT INTO points_ledger (member_id, business_id, kind, points, balance_after, idempotency_scope, \
             request_fingerprint, qr_code, offer_id, occurred_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
             RETURNING transaction_id",
    postgres: "INSERT INTO points.ledger (member_id, business_id, kind, points, balance_after, idempotency_scope, \
               request_fingerprint, qr_code, offer_id, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
               RETURNING transaction_id",
};

/// Spends `?2`/`$2` points of a business's emission budget, only if that keeps it within what was granted: it changes
/// one row or none. On PostgreSQL the update locks the budget's row until the unit of work ends, and a concurrent
/// charge waits and then re-checks the condition against the committed row, so two emits never overshoot together.
/// Taken before the member's balance, in every movement that credits points.
pub(crate) const CHARGE_BUDGET: Sql = Sql {
    sqlite: "UPDATE points_emission_budgets SET emitted = emitted + ?2 WHERE business_id = ?1 AND emitted + ?2 <= granted",
    postgres: "UPDATE points.emission_budgets SET emitted = emitted + $2 \
               WHERE business_id = $1 AND emitted + $2 <= granted",
};

pub(crate) const BUDGET: Sql = Sql {
    sqlite: "SELECT granted, emitted FROM points_emission_budgets WHERE business_id = ?1",
    postgres: "SELECT granted, emitted FROM points.emission_budgets WHERE business_id = $1",
};

/// What a business may still emit, and whether it has a budget at all (no row: nothing was ever granted).
pub(crate) const REMAINING_BUDGET: Sql = Sql {
    sqlite: "SELECT granted - emitted FROM points_emission_budgets WHERE business_id = ?1",
    postgres: "SELECT granted - emitted FROM points.emission_budgets WHERE business_id = $1",
};

pub(crate) const RECORD_GRANT: Sql = Sql {
    sqlite: "INSERT INTO points_budget_ledger (business_id, points, granted_at) VALUES (?1, ?2, ?3) RETURNING grant_id",
    postgres: "INSERT INTO points.budget_ledger (business_id, points, granted_at) VALUES ($1, $2, $3) \
               RETURNING grant_id",
};

pub(crate) const RAISE_BUDGET: Sql = Sql {
    sqlite: "INSERT INTO points_emission_budgets (business_id, granted, emitted) VALUES (?1, ?2, 0) \
             ON CONFLICT (business_id) DO UPDATE SET granted = granted + excluded.granted RETURNING granted, emitted",
    postgres: "INSERT INTO points.emission_budgets AS budget (business_id, granted, emitted) VALUES ($1, $2, 0) \
               ON CONFLICT (business_id) DO UPDATE SET granted = budget.granted + excluded.granted \
               RETURNING granted, emitted",
};

pub(crate) const CREATE_QR: Sql = Sql {
    sqlite: "INSERT INTO points_qr_codes (code, business_id, points, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
    postgres: "INSERT INTO points.qr_codes (code, business_id, points, created_at, expires_at) \
               VALUES ($1, $2, $3, $4, $5)",
};

/// Reads a QR code and, on PostgreSQL, locks it: a concurrent claim waits, then sees it claimed.
pub(crate) const LOCK_QR: Sql = Sql {
    sqlite: "SELECT business_id, points, expires_at, claimed_by FROM points_qr_codes WHERE code = ?1",
    postgres: "SELECT business_id, points, expires_at, claimed_by FROM points.qr_codes WHERE code = $1 FOR UPDATE",
};

/// Claims a code only if nobody has: the guard keeps a claim single even without the lock.
pub(crate) const CLAIM_QR: Sql = Sql {
    sqlite: "UPDATE points_qr_codes SET claimed_by = ?1, claimed_at = ?2 WHERE code = ?3 AND claimed_by IS NULL",
    postgres: "UPDATE points.qr_codes SET claimed_by = $1, claimed_at = $2 WHERE code = $3 AND claimed_by IS NULL",
};

pub(crate) const RECENT_MOVEMENTS: Sql = Sql {
    sqlite: "SELECT transaction_id, business_id, kind, points, occurred_at FROM points_ledger \
             WHERE member_id = ?1 ORDER BY transaction_id DESC LIMIT ?2",
    postgres: "SELECT transaction_id, business_id, kind, points, occurred_at FROM points.ledger \
               WHERE member_id = $1 ORDER BY transaction_id DESC LIMIT $2",
};

pub(crate) const ENQUEUE: Sql = Sql {
    sqlite: "INSERT INTO points_outbox (subscriber, transaction_id, payload, created_at) VALUES (?1, ?2, ?3, ?4)",
    postgres: "INSERT INTO points.outbox (subscriber, transaction_id, payload, created_at) VALUES ($1, $2, $3, $4)",
};

/// Claims a batch of one subscriber's pending rows for a relay by setting their lease, and returns them.
///
/// `?2`/`$2` is now and `?3`/`$3` the end of the lease (Unix seconds). A row leased by another relay is not taken
/// until its lease ends. On PostgreSQL, `FOR UPDATE SKIP LOCKED` also passes over rows that another relay is leasing
/// at this very moment, so two relays never take the same row; SQLite runs the statement under its write lock.
pub(crate) const LEASE_PENDING: Sql = Sql {
    sqlite: "UPDATE points_outbox SET lease_until = ?3 WHERE outbox_id IN (SELECT outbox_id FROM points_outbox \
             WHERE subscriber = ?1 AND delivered_at IS NULL AND parked_at IS NULL \
             AND (lease_until IS NULL OR lease_until <= ?2) \
             ORDER BY outbox_id LIMIT ?4) RETURNING outbox_id, payload",
    postgres: "UPDATE points.outbox SET lease_until = $3 WHERE outbox_id IN (SELECT outbox_id FROM points.outbox \
               WHERE subscriber = $1 AND delivered_at IS NULL AND parked_at IS NULL \
               AND (lease_until IS NULL OR lease_until <= $2) \
               ORDER BY outbox_id LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING outbox_id, payload",
};

pub(crate) const MARK_DELIVERED: Sql = Sql {
    sqlite: "UPDATE points_outbox SET delivered_at = ?1, attempts = attempts + 1, lease_until = NULL \
             WHERE outbox_id = ?2",
    postgres: "UPDATE points.outbox SET delivered_at = $1, attempts = attempts + 1, lease_until = NULL \
               WHERE outbox_id = $2",
};

/// Gives a row back without counting the attempt: its subscriber could not be reached, which is no fault of the row.
pub(crate) const RELEASE: Sql = Sql {
    sqlite: "UPDATE points_outbox SET lease_until = NULL WHERE outbox_id = ?1",
    postgres: "UPDATE points.outbox SET lease_until = NULL WHERE outbox_id = $1",
};

/// Sets a row aside once its subscriber has refused it `?3`/`$3` times: the relay no longer tries it.
pub(crate) const PARK: Sql = Sql {
    sqlite: "UPDATE points_outbox SET parked_at = ?1 WHERE outbox_id = ?2 AND attempts >= ?3 RETURNING attempts",
    postgres: "UPDATE points.outbox SET parked_at = $1 WHERE outbox_id = $2 AND attempts >= $3 RETURNING attempts",
};

pub(crate) const PARKED_BY_SUBSCRIBER: Sql = Sql {
    sqlite: "SELECT subscriber, COUNT(*) FROM points_outbox WHERE delivered_at IS NULL AND parked_at IS NOT NULL \
             GROUP BY subscriber ORDER BY subscriber",
    postgres: "SELECT subscriber, COUNT(*) FROM points.outbox WHERE delivered_at IS NULL AND parked_at IS NOT NULL \
               GROUP BY subscriber ORDER BY subscriber",
};

/// Puts every parked row back in its queue, with a fresh count of attempts.
pub(crate) const REQUEUE_PARKED: Sql = Sql {
    sqlite: "UPDATE points_outbox SET parked_at = NULL, attempts = 0, lease_until = NULL \
             WHERE parked_at IS NOT NULL AND delivered_at IS NULL",
    postgres: "UPDATE points.outbox SET parked_at = NULL, attempts = 0, lease_until = NULL \
               WHERE parked_at IS NOT NULL AND delivered_at IS NULL",
};

pub(crate) const MARK_FAILED: Sql = Sql {
    sqlite: "UPDATE points_outbox SET attempts = attempts + 1, lease_until = NULL WHERE outbox_id = ?1",
    postgres: "UPDATE points.outbox SET attempts = attempts + 1, lease_until = NULL WHERE outbox_id = $1",
};

/// Moves the lease of the rows a relay still holds (`?3`/`$3` is the lease it holds) to `?1`/`$1`: later, while it is
/// still delivering them, or `NULL` to give back the rows it will not try in this pass. A row whose lease has passed
/// to another relay is left alone, and the count says so.
pub(crate) const MOVE_LEASE: Sql = Sql {
    sqlite: "UPDATE points_outbox SET lease_until = ?1 \
             WHERE outbox_id IN (SELECT value FROM json_each(?2)) AND lease_until = ?3 AND delivered_at IS NULL",
    postgres: "UPDATE points.outbox SET lease_until = $1 \
               WHERE outbox_id = ANY($2) AND lease_until = $3 AND delivered_at IS NULL",
};

// PostgreSQL sums bigints into numeric; the casts keep every column a bigint.
pub(crate) const MISMATCHED_BALANCES: Sql = Sql {
    sqlite: "SELECT b.member_id, b.balance, COALESCE(SUM(l.points), 0) FROM points_balances b \
             LEFT JOIN points_ledger l ON l.member_id = b.member_id GROUP BY b.member_id, b.balance \
             HAVING b.balance != COALESCE(SUM(l.points), 0)",
    postgres: "SELECT b.member_id, b.balance, COALESCE(SUM(l.points), 0)::bigint FROM points.balances b \
               LEFT JOIN points.ledger l ON l.member_id = b.member_id GROUP BY b.member_id, b.balance \
               HAVING b.balance != COALESCE(SUM(l.points), 0)",
};

pub(crate) const UNBALANCED_MEMBERS: Sql = Sql {
    sqlite: "SELECT member_id, SUM(points) FROM points_ledger \
             WHERE member_id NOT IN (SELECT member_id FROM points_balances) GROUP BY member_id",
    postgres: "SELECT member_id, SUM(points)::bigint FROM points.ledger \
               WHERE member_id NOT IN (SELECT member_id FROM points.balances) GROUP BY member_id",
};

pub(crate) const NEGATIVE_BALANCES: Sql = Sql {
    sqlite: "SELECT member_id, balance FROM points_balances WHERE balance < 0",
    postgres: "SELECT member_id, balance FROM points.balances WHERE balance < 0",
};

pub(crate) const REUSED_KEYS: Sql = Sql {
    sqlite: "SELECT idempotency_scope, COUNT(*) FROM points_ledger WHERE idempotency_scope IS NOT NULL \
             GROUP BY idempotency_scope HAVING COUNT(*) > 1",
    postgres: "SELECT idempotency_scope, COUNT(*) FROM points.ledger WHERE idempotency_scope IS NOT NULL \
               GROUP BY idempotency_scope HAVING COUNT(*) > 1",
};

pub(crate) const REUSED_CODES: Sql = Sql {
    sqlite: "SELECT qr_code, COUNT(*) FROM points_ledger WHERE qr_code IS NOT NULL \
             GROUP BY qr_code HAVING COUNT(*) > 1",
    postgres: "SELECT qr_code, COUNT(*) FROM points.ledger WHERE qr_code IS NOT NULL \
               GROUP BY qr_code HAVING COUNT(*) > 1",
};

pub(crate) const CLAIMED_WITHOUT_ENTRY: Sql = Sql {
    sqlite: "SELECT code FROM points_qr_codes WHERE claimed_by IS NOT NULL \
             AND code NOT IN (SELECT qr_code FROM points_ledger WHERE qr_code IS NOT NULL)",
    postgres: "SELECT code FROM points.qr_codes WHERE claimed_by IS NOT NULL \
               AND code NOT IN (SELECT qr_code FROM points.ledger WHERE qr_code IS NOT NULL)",
};

pub(crate) const ALL_ENTRIES: Sql = Sql {
    sqlite: "SELECT transaction_id, member_id, business_id, kind, points, balance_after, occurred_at \
             FROM points_ledger ORDER BY transaction_id",
    postgres: "SELECT transaction_id, member_id, business_id, kind, points, balance_after, occurred_at \
               FROM points.ledger ORDER BY transaction_id",
};

pub(crate) const TOTALS_BY_BUSINESS: Sql = Sql {
    sqlite: "SELECT business_id, COALESCE(SUM(CASE WHEN points > 0 THEN points ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN points < 0 THEN -points ELSE 0 END), 0), COUNT(DISTINCT member_id) \
             FROM points_ledger GROUP BY business_id ORDER BY business_id",
    postgres: "SELECT business_id, COALESCE(SUM(CASE WHEN points > 0 THEN points ELSE 0 END), 0)::bigint, \
               COALESCE(SUM(CASE WHEN points < 0 THEN -points ELSE 0 END), 0)::bigint, COUNT(DISTINCT member_id) \
               FROM points.ledger GROUP BY business_id ORDER BY business_id",
};

pub(crate) const UNDELIVERED: Sql = Sql {
    sqlite: "SELECT COUNT(*) FROM points_outbox WHERE delivered_at IS NULL AND parked_at IS NULL",
    postgres: "SELECT COUNT(*) FROM points.outbox WHERE delivered_at IS NULL AND parked_at IS NULL",
};

/// Every budget with what its grants sum to and what its business's ledger credits sum to, for `verify`.
pub(crate) const BUDGETS: Sql = Sql {
    sqlite: "SELECT business_id, granted, emitted FROM points_emission_budgets ORDER BY business_id",
    postgres: "SELECT business_id, granted, emitted FROM points.emission_budgets ORDER BY business_id",
};

pub(crate) const GRANTS_BY_BUSINESS: Sql = Sql {
    sqlite: "SELECT business_id, SUM(points) FROM points_budget_ledger GROUP BY business_id ORDER BY business_id",
    postgres: "SELECT business_id, SUM(points)::bigint FROM points.budget_ledger GROUP BY business_id \
               ORDER BY business_id",
};

pub(crate) const CREDITS_BY_BUSINESS: Sql = Sql {
    sqlite: "SELECT business_id, SUM(points) FROM points_ledger WHERE points > 0 GROUP BY business_id \
             ORDER BY business_id",
    postgres: "SELECT business_id, SUM(points)::bigint FROM points.ledger WHERE points > 0 GROUP BY business_id \
               ORDER BY business_id",
};

/// The points members hold between them, and the budgets ever granted.
pub(crate) const CIRCULATION: Sql = Sql {
    sqlite: "SELECT (SELECT COALESCE(SUM(balance), 0) FROM points_balances), \
             (SELECT COALESCE(SUM(points), 0) FROM points_budget_ledger)",
    postgres: "SELECT (SELECT COALESCE(SUM(balance), 0) FROM points.balances)::bigint, \
               (SELECT COALESCE(SUM(points), 0) FROM points.budget_ledger)::bigint",
};
