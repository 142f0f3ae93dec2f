-- A real program for `output-identical`: the sqlite3 shell on an in-memory
-- database. Deterministic: no random(), no times.
CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, price REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
INSERT INTO item SELECT i, 'item-' || (i * 7919 % 50000), i % 97, (i % 1000) / 10.0 FROM n;
CREATE INDEX item_name ON item(name);
UPDATE item SET qty = qty + 1 WHERE id % 3 = 0;
DELETE FROM item WHERE id % 11 = 0;
SELECT count(*), sum(qty), round(sum(qty * price), 2) FROM item;
SELECT name, qty FROM item ORDER BY name LIMIT 5;
SELECT qty % 10 AS bucket, count(*), round(avg(price), 3) FROM item GROUP BY bucket ORDER BY bucket;
SELECT group_concat(name, ',') FROM (SELECT name FROM item WHERE qty = 42 ORDER BY name LIMIT 20);
