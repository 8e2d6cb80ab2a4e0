-- A migration saved by a Windows editor: a byte order mark, CRLF line endings.
/* Réconciliation des écritures */ DELETE FROM payments_ledger
 WHERE amount = 0;
SELECT *	FROM	payments_ledger;
