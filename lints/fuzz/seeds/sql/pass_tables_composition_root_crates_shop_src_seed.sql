-- Under `src/` but outside `src/orders/` and `src/payments/`: no module's SQL.
SELECT * FROM orders JOIN payments_ledger ON payments_ledger.order_id = orders.id;
