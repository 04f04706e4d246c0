// MariaDB -> PostgreSQL end to end with the sluice binary: snapshot then binlog streaming under
// concurrent writes with FLUSH BINARY LOGS and ALTER TABLE mid-stream, kill -9 mid-stream and
// mid-snapshot then restart, a type matrix and its edge values, DROP TABLE and an unparseable
// DDL statement mid-stream. Every test ends with the one comparator (count
// + checksum over all columns), each side's SQL normalising its own dialect's text.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>

#include "integration/common/itest.h"
#include "integration/mysql/mariadb_to_pg_fixture.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

class MariadbToPgTest : public MariadbToPgFixture {
 protected:
  MariadbToPgTest() : MariadbToPgFixture("my2pg") {}

  void CreateOrders(int rows) {
    my_.Exec(
        "CREATE TABLE orders (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " customer VARCHAR(40) NOT NULL, amount DECIMAL(12,2), note TEXT,"
        " created DATETIME(6) NOT NULL) CHARACTER SET utf8mb4;"
        "INSERT INTO orders (customer, amount, note, created) SELECT CONCAT('c', seq % 97),"
        " seq * 1.25, IF(seq % 5 = 0, NULL, CONCAT('n\xC3\xA9 \xF0\x9F\x98\x80 ''', seq)),"
        " '2024-01-01 00:00:00' + INTERVAL seq * 1500 MICROSECOND FROM seq_1_to_" +
        std::to_string(rows) + ";");
  }

  static std::string OrdersMy() {
    return "SELECT id, customer, CAST(amount AS CHAR), note,"
           " DATE_FORMAT(created, '%Y-%m-%d %H:%i:%s.%f') FROM orders";
  }
  std::string OrdersPg() const {
    return "SELECT id::text, customer, amount::text, note,"
           " to_char(created, 'YYYY-MM-DD HH24:MI:SS.US') FROM " + Target("orders");
  }

  // One writer transaction: inserts, updates and deletes (a sysbench-like mix).
  void WriteSomeOrders(int round) {
    std::string r = std::to_string(round);
    my_.Exec("START TRANSACTION;"
             "INSERT INTO orders (customer, amount, note, created) SELECT CONCAT('w', " + r +
             "), seq, CONCAT('round ', " + r + "), NOW(6) FROM seq_1_to_20;"
             "UPDATE orders SET amount = amount + 1, note = CONCAT(IFNULL(note, ''), '+')"
             " WHERE id % 53 = " + std::to_string(round % 53) + ";"
             "DELETE FROM orders WHERE id % 97 = " + std::to_string(round % 97) + " AND id < 1000;"
             "COMMIT;");
  }
};

TEST_F(MariadbToPgTest, SnapshotThenStreamUnderConcurrentWritesWithRotationAndDdl) {
  CreateOrders(30000);
  my_.Exec("ANALYZE TABLE orders");  // row estimate for the chunk plan
  my_.Exec("CREATE TABLE empty_box (id INT PRIMARY KEY, label VARCHAR(20))");
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load() && i < 40; ++i) {
      WriteSomeOrders(i);
      ++rounds;
    }
  });
  StartSluice();
  while (rounds.load() < 10) std::this_thread::sleep_for(50ms);
  MysqlClient().Exec("FLUSH BINARY LOGS");
  while (rounds.load() < 20) std::this_thread::sleep_for(50ms);
  stop.store(true);
  writer.join();
  // DDL mid-stream: a new column, then rows that use it, and a TRUNCATE of a second table.
  // (A DEFAULT on ADD COLUMN is not back-filled: MariaDB logs no row events for it.)
  my_.Exec("ALTER TABLE orders ADD COLUMN qty INT NULL;"
           "UPDATE orders SET qty = id % 7 WHERE id % 3 = 0;"
           "CREATE TABLE tags (id INT PRIMARY KEY, tag VARCHAR(10));"
           "INSERT INTO tags VALUES (1, 'a'), (2, 'b');"
           "TRUNCATE TABLE tags;"
           "INSERT INTO tags VALUES (3, 'c');");
  MysqlClient().Exec("FLUSH BINARY LOGS");
  WriteSomeOrders(99);
  WaitForMatch("SELECT id, customer, CAST(amount AS CHAR), note,"
               " DATE_FORMAT(created, '%Y-%m-%d %H:%i:%s.%f'), qty FROM orders",
               "SELECT id::text, customer, amount::text, note,"
               " to_char(created, 'YYYY-MM-DD HH24:MI:SS.US'), qty::text FROM " + Target("orders"));
  WaitForMatch("SELECT id, tag FROM tags", "SELECT id::text, tag FROM " + Target("tags"));
  // A table empty during the snapshot was created in the target by it.
  EXPECT_TRUE(Matches("SELECT id, label FROM empty_box", "SELECT id::text, label FROM " + Target("empty_box")))
      << "an empty source table must be created in the target by the snapshot";
  // The snapshot ran in primary-key ranges on two connections.
  std::string log = sluice_->LogTail(400);
  EXPECT_NE(log.find("chunks on 2 connections"), std::string::npos) << log;
  EXPECT_EQ(log.find("in 2 chunks on"), std::string::npos) << log;
}

TEST_F(MariadbToPgTest, ResumesAfterKillMidStream) {
  CreateOrders(500);
  StartSluice();
  WaitForMatch(OrdersMy(), OrdersPg());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load() && i < 30; ++i) WriteSomeOrders(i);
  });
  std::this_thread::sleep_for(1500ms);
  sluice_->Kill();
  stop.store(true);
  writer.join();
  WriteSomeOrders(77);
  sluice_->Restart();
  WaitForMatch(OrdersMy(), OrdersPg());
}

TEST_F(MariadbToPgTest, ResumesAfterKillDuringSnapshot) {
  CreateOrders(60000);
  my_.Exec("ANALYZE TABLE orders");  // row estimate: the snapshot runs in primary-key ranges
  StartSluice();
  // Kill as soon as the target has some rows but not all.
  WaitUntil(
      [&] {
        SqlResult r = pg_.TryQuery("SELECT count(*) FROM " + Target("orders"));
        return r.ok && !r.rows.empty() && r.rows[0][0] && *r.rows[0][0] != "0";
      },
      60s, "first snapshot rows in the target", 50ms);
  sluice_->Kill();
  // Rows deleted and changed before the restart must not survive in the target.
  my_.Exec("DELETE FROM orders WHERE id % 10 = 0; UPDATE orders SET note = 'after kill' WHERE id < 50;");
  sluice_->Restart();
  WaitForMatch(OrdersMy(), OrdersPg(), 120s);
}

TEST_F(MariadbToPgTest, TypeMatrixReplicatesSnapshotAndStream) {
  const std::string ddl =
      "CREATE TABLE types (id INT PRIMARY KEY, ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT,"
      " iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED, d DECIMAL(30,10), f FLOAT, db DOUBLE,"
      " b1 BIT(1), y YEAR, dt DATE, tm TIME(3), dtm DATETIME(6), ts TIMESTAMP(3) NULL,"
      " c CHAR(5), vc VARCHAR(50), l1 VARCHAR(20) CHARACTER SET latin1, vb VARBINARY(10),"
      " tx TEXT, bl BLOB, e ENUM('red','green','blue'), s SET('x','y','z')) CHARACTER SET utf8mb4";
  const std::string rows =
      "(%d, -128, 255, -32768, 4294967295, -9223372036854775808, 18446744073709551615,"
      " -12345678901234567890.0123456789, 1.5, -2.25e-300, b'1', 2024, '2024-02-29',"
      " '12:34:56.789', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.120', 'ab',"
      " 'h\xC3\xA9llo \xE2\x82\xAC', _latin1 X'636166E9', X'00FF10', 'text', X'626C6F6200',"
      " 'green', 'x,z'), (%d, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, b'0', NULL,"
      " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '')";
  auto values = [&](int a, int b) {
    char buf[2048];
    std::snprintf(buf, sizeof buf, rows.c_str(), a, b);
    return std::string(buf);
  };
  my_.Exec("SET time_zone = '+00:00';" + ddl + "; INSERT INTO types VALUES " + values(1, 2) + ";");
  StartSluice();
  WaitUntil(
      [&] {
        SqlResult r = pg_.TryQuery("SELECT count(*) FROM " + Target("types"));
        return r.ok && !r.rows.empty() && r.rows[0][0] && *r.rows[0][0] == "2";
      },
      60s, "the snapshot's rows in the target", 50ms);
  // Written after the snapshot: these come through the binlog decoder.
  my_.Exec("SET time_zone = '+00:00'; INSERT INTO types VALUES " + values(3, 4) +
           "; UPDATE types SET vc = 'changed', biu = 1 WHERE id = 1;");
  const std::string my_sql =
      "SELECT id, ti, tiu, si, iu, bi, biu, CAST(d AS CHAR), f, db, b1 + 0, y, dt,"
      " TIME_FORMAT(tm, '%H:%i:%s.%f'), DATE_FORMAT(dtm, '%Y-%m-%d %H:%i:%s.%f'),"
      " CAST(UNIX_TIMESTAMP(ts) * 1000 AS SIGNED), c, vc, CONVERT(l1 USING utf8mb4), HEX(vb), tx, HEX(bl), e, s"
      " FROM types";
  const std::string pg_sql =
      "SELECT id::text, ti::text, tiu::text, si::text, iu::text, bi::text, biu::text, d::text,"
      " f::text, db::text, CASE WHEN b1 THEN '1' WHEN NOT b1 THEN '0' END, y::text, dt::text,"
      " to_char(tm, 'HH24:MI:SS.US'), to_char(dtm, 'YYYY-MM-DD HH24:MI:SS.US'),"
      " (extract(epoch FROM ts) * 1000)::bigint::text, rtrim(c), vc, l1, upper(encode(vb, 'hex')), tx,"
      " upper(encode(bl, 'hex')), e::text, s FROM " + Target("types");
  WaitForMatch(my_sql, pg_sql, 60s);
}

// The type matrix's edge values, through the snapshot and then the binlog: MariaDB JSON
// (LONGTEXT + json_valid check -> jsonb), GEOMETRY (SRID + WKB bytes), BIT(n>1), MEDIUMINT,
// BINARY(n) (right-padded: the binlog logs it without the pad), TINY/MEDIUM/LONG TEXT and BLOB
// (1-, 3- and 4-byte lengths), TIME negative and beyond 24 h (PostgreSQL interval), CHAR(100)
// utf8mb4 (up to 400 bytes: the binlog's long-CHAR length encoding), DATETIME/TIMESTAMP with
// 1..6 fractional digits, DECIMAL(65,30), BIGINT UNSIGNED max, and zero dates (the session's
// sql_mode allows them; with zero.date.handling.mode=null they arrive as NULL, and so do dates
// with a zero month or day). Each value is compared with the source's own text rendering.
TEST_F(MariadbToPgTest, TypeMatrixEdgeValuesReplicateSnapshotAndStream) {
  const std::string sql_mode =
      "SET time_zone = '+00:00';"
      "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';";
  my_.Exec(sql_mode +
           "CREATE TABLE edge (id INT PRIMARY KEY, j JSON, g GEOMETRY, b10 BIT(10), b64 BIT(64),"
           " mi MEDIUMINT, miu MEDIUMINT UNSIGNED, bn BINARY(4), tt TINYTEXT, mt MEDIUMTEXT,"
           " lt LONGTEXT, tb TINYBLOB, mb MEDIUMBLOB, lb LONGBLOB, tneg TIME, tbig TIME(1),"
           " t6 TIME(6), c100 CHAR(100), c5 CHAR(5), dt1 DATETIME(1), dt2 DATETIME(2),"
           " dt3 DATETIME(3), dt4 DATETIME(4), dt5 DATETIME(5), dt6 DATETIME(6),"
           " ts1 TIMESTAMP(1) NULL, ts2 TIMESTAMP(2) NULL, ts3 TIMESTAMP(3) NULL,"
           " ts4 TIMESTAMP(4) NULL, ts5 TIMESTAMP(5) NULL, ts6 TIMESTAMP(6) NULL,"
           " dec65 DECIMAL(65,30), biu BIGINT UNSIGNED, dz DATE, dtz DATETIME, tsz TIMESTAMP NULL,"
           " dzin DATE) CHARACTER SET utf8mb4");
  // Row a: extremes; row b: the other end and empty values; row c: NULLs. `%1` is the id base.
  auto rows = [](int base) {
    std::string a = std::to_string(base + 1), b = std::to_string(base + 2),
                c = std::to_string(base + 3);
    std::string frac = "'2024-01-02 03:04:05.123456'";
    return "(" + a + ", '{\"a\": 1, \"b\": [true, null, \"\xC3\xA9\"]}',"
           " ST_GeomFromText('POINT(1 2)', 4326), b'1010101010', b'1" + std::string(63, '1') +
           "', -8388608, 16777215, X'AB00', 'tiny \xC3\xA9', REPEAT('m\xC3\xA9', 40000),"
           " REPEAT('long ', 20), X'00FF', REPEAT(X'00FE', 40000), X'DEADBEEF00',"
           " '-838:59:58', '100:00:00.5', '-00:00:00.000001',"
           " CONCAT(REPEAT('\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80', 33), 'x'),"
           " '\xC3\xB1\xC3\xBC\xE2\x82\xAC\xF0\x9F\x98\x80',"
           " '2024-01-02 03:04:05.1', '2024-01-02 03:04:05.12', '2024-01-02 03:04:05.123',"
           " '2024-01-02 03:04:05.1234', '2024-01-02 03:04:05.12345', " + frac + ","
           " '2024-01-02 03:04:05.1', '2024-01-02 03:04:05.12', '2024-01-02 03:04:05.123',"
           " '2024-01-02 03:04:05.1234', '2024-01-02 03:04:05.12345', " + frac + ","
           " -12345678901234567890123456789012345.123456789012345678901234567890,"
           " 18446744073709551615, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00',"
           " '2024-00-15'),"
           "(" + b + ", '[1, 2.5, \"x\"]', ST_GeomFromText('LINESTRING(0 0, 1 1)'), b'0000000001',"
           " b'0', 8388607, 0, X'', '', '', 'plain', X'', X'00', X'', '00:00:00', '24:00:00',"
           " '838:59:59', 'a', '', '1000-01-01 00:00:00.9', '9999-12-31 23:59:59.99',"
           " '1970-01-01 00:00:00', '2000-02-29 12:00:00.0001', '2000-02-29 12:00:00.00001',"
           " '2000-02-29 12:00:00.000001', '1970-01-01 00:00:01.1', '2038-01-19 03:14:07.99',"
           " '2000-02-29 12:00:00.001', '2000-02-29 12:00:00.0001', '2000-02-29 12:00:00.00001',"
           " '2038-01-19 03:14:07.999999', 0.000000000000000000000000000001, 0, '2024-02-29',"
           " '2000-01-01 00:00:00', '1970-01-01 00:00:01', '2024-12-31'),"
           "(" + c + ", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
           " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
           " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)";
  };
  my_.Exec(sql_mode + "INSERT INTO edge VALUES " + rows(0));
  auto my_time = [](const std::string& c) { return "TIME_FORMAT(" + c + ", '%H:%i:%s.%f')"; };
  auto my_dt = [](const std::string& c) { return "DATE_FORMAT(" + c + ", '%Y-%m-%d %H:%i:%s.%f')"; };
  // Zero dates and dates with a zero month or day arrive as NULL.
  auto my_zero = [](const std::string& c, const std::string& render) {
    return "IF(SUBSTR(CAST(" + c + " AS CHAR), 6, 2) = '00' OR SUBSTR(CAST(" + c +
           " AS CHAR), 9, 2) = '00', NULL, " + render + ")";
  };
  // PostgreSQL interval -> MySQL's TIME_FORMAT text ([-]HH:MM:SS.ffffff, hours unbounded).
  auto pg_time = [](const std::string& c) {
    std::string e = "abs(extract(epoch FROM " + c + "))";
    return "CASE WHEN " + c + " IS NULL THEN NULL ELSE (CASE WHEN " + c +
           " < interval '0' THEN '-' ELSE '' END) || to_char(trunc(" + e + " / 3600), 'FM999999900')"
           " || ':' || lpad((trunc(" + e + " / 60)::bigint % 60)::text, 2, '0') || ':' ||"
           " to_char(" + e + " - trunc(" + e + " / 60) * 60, 'FM00.000000') END";
  };
  auto pg_dt = [](const std::string& c) { return "to_char(" + c + ", 'YYYY-MM-DD HH24:MI:SS.US')"; };
  auto pg_ts = [](const std::string& c) {
    return "to_char(" + c + " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')";
  };
  std::string my_sql =
      "SELECT id, j, HEX(g), LPAD(HEX(b10 + 0), 4, '0'), LPAD(HEX(b64 + 0), 16, '0'), mi, miu,"
      " HEX(bn), tt, MD5(mt), lt, HEX(tb), MD5(mb), HEX(lb), " + my_time("tneg") + ", " +
      my_time("tbig") + ", " + my_time("t6") + ", c100, c5";
  std::string pg_sql =
      "SELECT id::text, j::text, upper(encode(g, 'hex')), upper(encode(b10, 'hex')),"
      " upper(encode(b64, 'hex')), mi::text, miu::text, upper(encode(bn, 'hex')), tt, md5(mt), lt,"
      " upper(encode(tb, 'hex')), md5(mb), upper(encode(lb, 'hex')), " + pg_time("tneg") + ", " +
      pg_time("tbig") + ", " + pg_time("t6") + ", c100, c5";
  for (int i = 1; i <= 6; ++i) {
    my_sql += ", " + my_dt("dt" + std::to_string(i));
    pg_sql += ", " + pg_dt("dt" + std::to_string(i));
  }
  for (int i = 1; i <= 6; ++i) {
    my_sql += ", " + my_dt("ts" + std::to_string(i));
    pg_sql += ", " + pg_ts("ts" + std::to_string(i));
  }
  my_sql += ", CAST(dec65 AS CHAR), biu, " + my_zero("dz", "CAST(dz AS CHAR)") + ", " +
            my_zero("dtz", my_dt("dtz")) + ", " + my_zero("tsz", my_dt("tsz")) + ", " +
            my_zero("dzin", "CAST(dzin AS CHAR)") + " FROM edge";
  pg_sql += ", dec65::text, biu::text, dz::text, " + pg_dt("dtz") + ", " + pg_ts("tsz") +
            ", dzin::text FROM " + Target("edge");
  auto config = Config();
  config["zero.date.handling.mode"] = "null";
  sluice_.emplace(SluiceProcess::Run(config));
  WaitForMatch(my_sql, pg_sql, 60s);  // the snapshot
  // Written only after the snapshot's rows are in the target: these come through the binlog.
  my_.Exec(sql_mode + "INSERT INTO edge VALUES " + rows(10) +
           "; UPDATE edge SET tneg = '-01:02:03', bn = X'01', c100 = '\xC3\xBC', dec65 = -dec65,"
           " j = '{}', b10 = b'1111111111', dt3 = '2001-02-03 04:05:06.7', dz = '0000-00-00'"
           " WHERE id = 2");
  WaitForMatch(my_sql, pg_sql, 60s);
  // The target types that make these values fit.
  SqlRows types = pg_.Query(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = '" +
      my_db_ + "' AND table_name = 'edge' AND column_name IN ('j', 'tneg', 'tbig', 'g', 'c100')"
      " ORDER BY column_name");
  ExpectTablesEqual({{"c100", "character varying"}, {"g", "bytea"}, {"j", "jsonb"},
                     {"tbig", "interval"}, {"tneg", "interval"}},
                    types);
  EXPECT_NE(sluice_->LogTail(400).find("zero dates"), std::string::npos)
      << "zero dates made NULL must be logged\n" << sluice_->LogTail(400);
}

// Columns in latin1, cp1251, gbk, big5 and utf16 (and a cp1251 ENUM and SET) arrive as the
// same UTF-8 text the server itself renders (CONVERT(... USING utf8mb4)), whether they come
// through the snapshot (the server converts) or the binlog (raw bytes in the column's character
// set, and ENUM/SET labels in the TABLE_MAP in that set, converted by Sluice with iconv). The
// streamed rows are written only after the snapshot's rows are in the target, so they can only
// have come through the binlog.
TEST_F(MariadbToPgTest, NonUtf8CharsetsArriveAsUtf8) {
  my_.Exec(
      "CREATE TABLE texts (id INT PRIMARY KEY, l1 VARCHAR(20) CHARACTER SET latin1,"
      " ru VARCHAR(20) CHARACTER SET cp1251, ru_c CHAR(10) CHARACTER SET cp1251,"
      " zh TEXT CHARACTER SET gbk, tw VARCHAR(10) CHARACTER SET big5,"
      " u16 VARCHAR(10) CHARACTER SET utf16, e ENUM('да','нет') CHARACTER SET cp1251,"
      " st SET('один','два') CHARACTER SET cp1251, bin VARBINARY(10)) CHARACTER SET utf8mb4;"
      "INSERT INTO texts VALUES (1, 'café', 'Привет', 'мир', '中文字符', '中文', 'hé😀', 'да',"
      " 'один,два', X'CFF0E8'),"
      " (2, 'plain', 'ascii', 'x', 'y', 'z', 'w', 'нет', '', X'00'),"
      " (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
  const std::string my_sql =
      "SELECT id, CONVERT(l1 USING utf8mb4), CONVERT(ru USING utf8mb4), CONVERT(ru_c USING utf8mb4),"
      " CONVERT(zh USING utf8mb4), CONVERT(tw USING utf8mb4), CONVERT(u16 USING utf8mb4),"
      " CONVERT(e USING utf8mb4), CONVERT(st USING utf8mb4), HEX(bin) FROM texts";
  const std::string pg_sql =
      "SELECT id::text, l1, ru, rtrim(ru_c), zh, tw, u16, e::text, st, upper(encode(bin, 'hex'))"
      " FROM " + Target("texts");
  auto config = Config();
  config["zero.date.handling.mode"] = "null";
  sluice_.emplace(SluiceProcess::Run(config));
  WaitForMatch(my_sql, pg_sql, 60s);  // the snapshot
  my_.Exec(
      "INSERT INTO texts VALUES (11, 'naïve', 'Съешь же ещё', 'ёжик', '汉字测试', '漢字', 'ü', 'нет',"
      " 'два', X'CFF0'),"
      " (12, '', '', '', '', '', '', 'да', '', X'');"
      "UPDATE texts SET ru = 'Обновлено', zh = '更新', e = 'нет', st = 'один' WHERE id = 2");
  WaitForMatch(my_sql, pg_sql, 60s);  // the binlog
  EXPECT_EQ(pg_.Query("SELECT ru || '|' || e::text || '|' || st FROM " + Target("texts") +
                      " WHERE id = 11")[0][0].value_or(""),
            "Съешь же ещё|нет|два");
}

// Bytes a column's character set does not define (MariaDB stores cp1251 0x98 as given, and its
// own CONVERT shows '?') stop the connector with the table, the column and the row or binlog
// position named, in the snapshot and in the stream, instead of passing on a wrong character.
TEST_F(MariadbToPgTest, InvalidBytesInACharacterSetStopTheConnectorNamingTheColumn) {
  my_.Exec("CREATE TABLE good (id INT PRIMARY KEY, ru VARCHAR(10) CHARACTER SET cp1251);"
           "INSERT INTO good VALUES (1, 'да');");
  StartSluice();
  WaitForMatch("SELECT id, CONVERT(ru USING utf8mb4) FROM good",
               "SELECT id::text, ru FROM " + Target("good"));
  my_.Exec("SET SESSION sql_mode = ''; INSERT INTO good VALUES (2, X'41984142')");
  auto exited = sluice_->WaitFor(60s);
  ASSERT_TRUE(exited.has_value()) << "sluice kept running after an invalid cp1251 value\n"
                                  << sluice_->LogTail();
  std::string out = sluice_->Stdout() + sluice_->Stderr() + sluice_->LogTail(100);
  EXPECT_NE(out.find(my_db_ + ".good column ru"), std::string::npos) << out;
  EXPECT_NE(out.find("not valid cp1251"), std::string::npos) << out;
  EXPECT_NE(out.find("at binlog mysql-bin."), std::string::npos) << out;
  EXPECT_EQ(pg_.Query("SELECT count(*) FROM " + Target("good"))[0][0].value_or(""), "1");
  sluice_.reset();

  // The same value met by a new snapshot.
  my_.Exec("CREATE TABLE bad (id INT PRIMARY KEY, ru VARCHAR(10) CHARACTER SET cp1251);"
           "SET SESSION sql_mode = ''; INSERT INTO bad VALUES (7, X'41984142'), (8, 'ok');");
  nlohmann::json config = Config();
  config["name"] = "my2pg_bad_" + my_db_;
  config["table.include.list"] = my_db_ + "\\.bad";
  CommandResult r = SluiceProcess::RunToCompletion("run", config, 60s);
  EXPECT_FALSE(r.Success());
  EXPECT_NE((r.err + r.out).find("snapshot of " + my_db_ + ".bad: column ru of the row with id=7"),
            std::string::npos) << r.err << r.out;
  EXPECT_NE((r.err + r.out).find("not valid cp1251"), std::string::npos) << r.err << r.out;
}

// DROP TABLE of a captured table mid-stream: DDL is not applied to the target, so the target
// keeps the table as the source had it at the DROP (the row inserted just before it included),
// and the stream goes on: a later change to another table arrives.
TEST_F(MariadbToPgTest, DropTableKeepsItsLastRowsAndARecreatedTableStartsEmpty) {
  my_.Exec("CREATE TABLE gone (id INT PRIMARY KEY, v VARCHAR(10));"
           "INSERT INTO gone VALUES (1, 'a'), (2, 'b');"
           "CREATE TABLE stay (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO stay VALUES (1, 'x')");
  StartSluice();
  WaitForMatch("SELECT id, v FROM gone", "SELECT id::text, v FROM " + Target("gone"));
  my_.Exec("INSERT INTO gone VALUES (3, 'c'); UPDATE gone SET v = 'a2' WHERE id = 1");
  SqlRows at_drop = my_.Query("SELECT id, v FROM gone");
  my_.Exec("DROP TABLE gone; INSERT INTO stay VALUES (2, 'y')");
  WaitForMatch("SELECT id, v FROM stay", "SELECT id::text, v FROM " + Target("stay"));
  ExpectTablesEqual(at_drop, pg_.Query("SELECT id::text, v FROM " + Target("gone")));
  EXPECT_NE(sluice_->LogTail(200).find("mysql DDL on " + my_db_ + ".gone"), std::string::npos)
      << sluice_->LogTail(200);
  // Created again under the same name (a rebuilt table): it starts empty at the target too,
  // and a CREATE TABLE IF NOT EXISTS that finds it changes nothing.
  my_.Exec("CREATE TABLE gone (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO gone VALUES (10, 'new');"
           "CREATE TABLE IF NOT EXISTS gone (id INT PRIMARY KEY, v VARCHAR(10));"
           "INSERT INTO gone VALUES (11, 'newer')");
  WaitForMatch("SELECT id, v FROM gone", "SELECT id::text, v FROM " + Target("gone"));
  ExpectTablesEqual(my_.Query("SELECT id, v FROM gone"), pg_.Query("SELECT id::text, v FROM " + Target("gone")));
}

// A statement the DDL classifier cannot parse (an executable comment: what ran depends on the
// server's version) that adds a column to a captured table: every cached schema is re-read,
// and the rows written after it, with the new column, arrive.
TEST_F(MariadbToPgTest, UnparseableDdlOnCapturedTableRereadsSchemas) {
  my_.Exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO t VALUES (1, 'a')");
  StartSluice();
  WaitForMatch("SELECT id, v FROM t", "SELECT id::text, v FROM " + Target("t"));
  my_.Exec("/*!50100 ALTER TABLE t ADD COLUMN extra DECIMAL(8,3) NULL */;"
           "INSERT INTO t VALUES (2, 'b', 12.5); UPDATE t SET extra = -1.25 WHERE id = 1");
  WaitForMatch("SELECT id, v, CAST(extra AS CHAR) FROM t",
               "SELECT id::text, v, extra::text FROM " + Target("t"));
  EXPECT_NE(sluice_->LogTail(200).find("not parsed; schemas are re-read"), std::string::npos)
      << sluice_->LogTail(200);
  // The re-read schema is information_schema's (decimal(8,3)), not the binlog's fallback.
  EXPECT_EQ(sluice_->LogTail(200).find("binlog columns differ from information_schema"),
            std::string::npos) << sluice_->LogTail(200);
}

// Without the RELOAD privilege there is no global read lock, so the parallel snapshot cannot
// line its connections up: it says so and reads with one connection, still consistent.
TEST_F(MariadbToPgTest, SnapshotWithoutReloadFallsBackToOneConnection) {
  const std::string user = "noreload_" + std::to_string(server_id_);
  MysqlClient().Exec("CREATE USER '" + user + "'@'%' IDENTIFIED BY '" + kTestPassword + "';"
                     "GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '" + user + "'@'%'");
  CreateOrders(20000);
  nlohmann::json config = Config();
  config["database.user"] = user;
  sluice_.emplace(SluiceProcess::Run(config));
  WaitForMatch(OrdersMy(), OrdersPg());
  MysqlClient().TryQuery("DROP USER '" + user + "'@'%'");
  EXPECT_NE(sluice_->LogTail(200).find("FLUSH TABLES WITH READ LOCK failed"), std::string::npos)
      << sluice_->LogTail(200);
  EXPECT_NE(sluice_->LogTail(200).find("on 1 connections"), std::string::npos);
}

}  // namespace
}  // namespace sluice::itest
