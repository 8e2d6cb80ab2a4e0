-- A backfill that reads a table of `shop`.
ALTER TABLE payments_ledger ADD COLUMN cart_id BIGINT;

UPDATE payments_ledger
   SET cart_id = carts.id
  FROM carts
 WHERE carts.id = payments_ledger.order_id;
