-- Found twice, as a `.sql` file under `reports` and through `query_file!`; reported once.
SELECT date_trunc('month', created_at) AS month, COUNT(*)
  FROM carts
 GROUP BY 1;
