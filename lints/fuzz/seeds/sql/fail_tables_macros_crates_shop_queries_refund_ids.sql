-- Named by `sqlx::query_file_as!` in module `ops`.
SELECT r.id
  FROM payments_ledger AS l
  JOIN refunds AS r ON r.ledger_id = l.id
