-- A `.sql` file of module `ops` (its own directory is `src/ops/`): the first statement is fine,
-- the second has a typo, so the file as a whole does not parse.
DELETE FROM payments_ledger WHERE amount = 0;

SELECT id
  FORM payments_ledger;
