-- Named by `sqlx::query_file!` in module `ops`: its references belong to `ops`.
SELECT SUM(amount) AS total
  FROM payments_ledger
 WHERE account_id = $1
