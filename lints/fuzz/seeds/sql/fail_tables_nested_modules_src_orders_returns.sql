-- Named like `returns`' root file, but it stands in `src/orders/`, not in `src/orders/returns/`:
-- SQL of module `orders`.
SELECT COUNT(*) FROM order_returns;
