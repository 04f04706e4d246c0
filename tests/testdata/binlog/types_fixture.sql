-- Fixture that produced types.binlog (MariaDB 10.11, binlog_format=ROW, binlog_row_image=FULL,
-- binlog_row_metadata=FULL, binlog_checksum=CRC32). Regenerate: see README.md in this folder.
CREATE DATABASE fx;
USE fx;
CREATE TABLE t (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
  mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, bi BIGINT, biu BIGINT UNSIGNED,
  d1 DECIMAL(12,2), d2 DECIMAL(40,10), d3 DECIMAL(5,0),
  f FLOAT, db DOUBLE, b BIT(10), y YEAR,
  dt DATE, tm TIME(3), dtm DATETIME(6), ts TIMESTAMP(2) NULL,
  c CHAR(4) CHARACTER SET utf8mb4, vc VARCHAR(300) CHARACTER SET utf8mb4,
  l1 VARCHAR(20) CHARACTER SET latin1,
  bn BINARY(3), vb VARBINARY(10),
  tt TINYTEXT, tx TEXT, mt MEDIUMTEXT, bl BLOB, lb LONGBLOB,
  e ENUM('a','b','c'), s SET('x','y','z'),
  j JSON, g GEOMETRY, tm0 TIME, dtm0 DATETIME
) ENGINE=InnoDB;
SET time_zone='+00:00';
INSERT INTO t VALUES (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648,
  -9223372036854775808, 18446744073709551615, -1234567890.12, 123456789012345678901234567890.0123456789, -99999,
  1.5, -2.25e-300, b'1010101010', 2024,
  '2024-02-29', '-838:59:58.123', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.12',
  'ab', 'héllo wörld €', _latin1 X'636166E9', 'a\0b', '\0\1\2', 'tiny', 'text', 'medium', 'blob\0', 'long',
  'b', 'x,z', '{"k": [1, 2]}', ST_GeomFromText('POINT(1 2)'), '12:34:56', '1999-12-31 23:59:59');
INSERT INTO t (id) VALUES (2);
INSERT INTO t (id, dt, dtm, d1, y, tm) VALUES (3, '0000-00-00', '0000-00-00 00:00:00', 0.5, 0, '00:00:00.5');
UPDATE t SET vc = 'changed', i = 42 WHERE id = 1;
DELETE FROM t WHERE id = 2;
INSERT INTO t (id, i) VALUES (10, 1), (11, 2), (12, 3);
ALTER TABLE t ADD COLUMN extra INT DEFAULT 7;
TRUNCATE TABLE t;
-- Same session, with binlog_row_metadata=MINIMAL (set globally before this part): no column
-- names in TABLE_MAP.
SET GLOBAL binlog_row_metadata=MINIMAL;
CREATE TABLE m (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(10));
INSERT INTO m VALUES (1, 'one');
SET GLOBAL binlog_row_metadata=FULL;
