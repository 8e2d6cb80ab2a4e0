-- A report of module `orders` that reads the tables of `shop` and `payments`.

SELECT o.id,
       c.created_at,
       l.amount
  FROM orders AS o
  JOIN carts AS c ON c.id = o.cart_id
  LEFT JOIN payments_ledger AS l
    ON l.order_id = o.id;

SELECT COUNT(*) FROM carts;
