-- In `src/orders/sql/`: SQL of module `orders`.
SELECT o.id, COUNT(r.id)
  FROM orders AS o
  LEFT JOIN order_returns AS r ON r.order_id = o.id
 GROUP BY o.id;
