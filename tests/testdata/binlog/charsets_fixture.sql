-- Fixture that produced charsets.binlog (MariaDB 10.11, binlog_format=ROW,
-- binlog_row_image=FULL, binlog_row_metadata=FULL, binlog_checksum=CRC32): text columns in
-- character sets other than utf8, whose binlog values are the raw bytes of their set.
-- Regenerate: see README.md in this folder (client character set utf8mb4).
CREATE DATABASE cs;
USE cs;
CREATE TABLE texts (
  id INT NOT NULL PRIMARY KEY,
  l1 VARCHAR(20) CHARACTER SET latin1,
  ru VARCHAR(20) CHARACTER SET cp1251,
  ru_c CHAR(10) CHARACTER SET cp1251,
  zh TEXT CHARACTER SET gbk,
  u8 VARCHAR(20) CHARACTER SET utf8mb4,
  bin VARBINARY(10),
  e ENUM('да','нет') CHARACTER SET cp1251,
  s SET('один','два') CHARACTER SET cp1251
) ENGINE=InnoDB;
INSERT INTO texts VALUES (1, 'café', 'Привет', 'мир', '中文', 'ok €', X'CFF0E8', 'нет', 'один,два');
INSERT INTO texts VALUES (2, 'plain', 'ascii', 'x', 'y', 'z', X'00', 'да', '');
UPDATE texts SET ru = 'Обновлено', zh = '更新' WHERE id = 2;
