-- The transactions of stream.binlog (see README.md), for the stream reader's unit tests.
CREATE DATABASE shop;
USE shop;
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40));
CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, amount DECIMAL(10,2));
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(40));
-- txn A: multi-table (customers, orders), one table changed twice
BEGIN;
INSERT INTO customers VALUES (1, 'ann'), (2, 'bob');
INSERT INTO orders VALUES (10, 1, 9.50);
UPDATE customers SET name = 'anna' WHERE id = 1;
COMMIT;
-- txns B and C: only the uncaptured table audit
BEGIN;
INSERT INTO audit (note) VALUES ('a'), ('b');
COMMIT;
INSERT INTO audit (note) VALUES ('c');
-- txn D: captured and uncaptured rows interleaved, four ROWS events
BEGIN;
INSERT INTO orders VALUES (11, 2, 1.00);
INSERT INTO audit (note) VALUES ('d');
INSERT INTO orders VALUES (12, 2, 2.00);
DELETE FROM customers WHERE id = 2;
COMMIT;
-- a DDL statement that empties a captured table
TRUNCATE TABLE orders;
