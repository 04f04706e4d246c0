// PostgreSQL -> MariaDB end to end with the sluice binary: snapshot under concurrent writes,
// streaming, kill -9 mid-snapshot and mid-stream, restart. Every test ends with the one
// comparator over all columns, each side's SQL normalising its own dialect's text forms.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "integration/common/itest.h"
#include "integration/mysql_sink/pg_to_mysql_fixture.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

// Source and target SQL for one table, printing equal data as equal text.
struct TablePair {
  std::string pg;
  std::string my;
};

const TablePair kOrders = {
    "SELECT id::text, customer, amount::text, note, "
    "to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), flag::int::text FROM orders",
    "SELECT id, customer, CAST(amount AS CHAR), note, "
    "DATE_FORMAT(created, '%Y-%m-%d %H:%i:%s.%f'), flag FROM orders"};
const TablePair kEmptyBox = {"SELECT id::text, label FROM empty_box", "SELECT id, label FROM empty_box"};
const TablePair kPairs = {"SELECT k, n::text, v FROM pairs", "SELECT k, n, v FROM pairs"};
const TablePair kHostile = {"SELECT \"id`\"::text, \"it's\", \"\"\"; DROP TABLE x; --\" FROM \"\"\"; DROP TABLE x; --\"",
                            "SELECT `id```, `it's`, `\"; DROP TABLE x; --` FROM `\"; DROP TABLE x; --`"};
const TablePair kToasty = {"SELECT id::text, md5(big), length(big)::text, n::text FROM toasty",
                           "SELECT id, MD5(big), CHAR_LENGTH(big), n FROM toasty"};

class PgToMysqlTest : public PgToMysqlFixture {
 protected:
  PgToMysqlTest() : PgToMysqlFixture("pg2my") {}

  // Fails the test when sluice has exited.
  void ExpectRunning() {
    ASSERT_TRUE(sluice_->IsRunning()) << "sluice exited:\n" << sluice_->LogTail();
  }

  ::testing::AssertionResult Matches(const TablePair& t) const {
    SqlResult target = my_.TryQuery(t.my);
    if (!target.ok) return ::testing::AssertionFailure() << "target not ready: " << target.error;
    return TablesMatch(pg_.Query(t.pg), target.rows);
  }

  void WaitForMatch(const TablePair& t, std::chrono::milliseconds timeout = 90s) {
    WaitUntil(
        [&] {
          if (!sluice_->IsRunning()) throw HarnessError("sluice exited:\n" + sluice_->LogTail());
          return Matches(t);
        },
        timeout, "target equals source: " + t.pg, 300ms);
  }

  void CreateTables() {
    pg_.Exec(
        "CREATE TABLE orders (id bigserial PRIMARY KEY, customer text NOT NULL, amount numeric(12,2),"
        " note text, created timestamptz NOT NULL DEFAULT now(), flag boolean);"
        "CREATE TABLE pairs (k text, n int, v text, PRIMARY KEY (k, n));"
        "CREATE TABLE \"\"\"; DROP TABLE x; --\" (\"id`\" int PRIMARY KEY, \"it's\" text,"
        " \"\"\"; DROP TABLE x; --\" text);"
        "CREATE TABLE toasty (id int PRIMARY KEY, big text, n int);"
        // Out of line, uncompressed (and the values are incompressible): an UPDATE of n sends
        // pgoutput's unchanged-TOAST marker for big.
        "ALTER TABLE toasty ALTER COLUMN big SET STORAGE EXTERNAL;"
        "CREATE TABLE empty_box (id int PRIMARY KEY, label text);");
  }

  void SeedOrders(int rows) {
    pg_.Exec("INSERT INTO orders (customer, amount, note, created, flag) SELECT 'c' || (i % 97),"
             " (i * 1.25)::numeric(12,2), CASE WHEN i % 5 = 0 THEN NULL ELSE 'n\xC3\xA9 \xF0\x9F\x98\x80 '''"
             " || i END, '2024-01-01 00:00:00+00'::timestamptz + i * interval '1.5 second', i % 2 = 0"
             " FROM generate_series(1, " + std::to_string(rows) + ") i");
  }

  void SeedOthers() {
    pg_.Exec(
        "INSERT INTO pairs VALUES ('a', 1, 'x'), ('A', 1, 'y'), ('a ', 1, 'z'), ('b', 2, NULL);"
        "INSERT INTO \"\"\"; DROP TABLE x; --\" VALUES (1, 'it''s', '\"; DROP TABLE x; --'), (2, NULL, '`');"
        "INSERT INTO toasty SELECT i, (SELECT string_agg(md5(i::text || j::text), '') FROM"
        " generate_series(1, 300) j), 0 FROM generate_series(1, 20) i;");
  }

  // One writer transaction: inserts, updates and deletes on orders.
  void WriteSomeOrders(int round) {
    std::string r = std::to_string(round);
    pg_.Exec("BEGIN;"
             "INSERT INTO orders (customer, amount, note, flag) SELECT 'w" + r + "', i, 'round " + r +
             "', true FROM generate_series(1, 20) i;"
             "UPDATE orders SET amount = amount + 1, note = note || '+' WHERE id % 53 = " +
             std::to_string(round % 53) + ";"
             "DELETE FROM orders WHERE id % 97 = " + std::to_string(round % 97) + " AND id < 1000;"
             "COMMIT;");
  }
};

TEST_F(PgToMysqlTest, SnapshotThenStreamUnderConcurrentWrites) {
  CreateTables();
  SeedOrders(20000);
  SeedOthers();
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  std::thread writer([&] {
    while (!stop) {
      WriteSomeOrders(rounds++);
      std::this_thread::sleep_for(20ms);
    }
  });
  StartSluice();
  std::this_thread::sleep_for(3s);
  stop = true;
  writer.join();
  ASSERT_GT(rounds.load(), 0);
  // big is stored out of line at the source, so the update of n below sends it as unchanged.
  EXPECT_NE(pg_.QueryValue("SELECT count(*) FROM " + pg_.QueryValue("SELECT reltoastrelid::regclass "
                           "FROM pg_class WHERE oid = 'toasty'::regclass")),
            "0");
  // Streaming: composite key change, TOAST column untouched, hostile names, deletes, truncate.
  pg_.Exec("UPDATE pairs SET n = 5 WHERE k = 'a' AND n = 1;"
           "UPDATE toasty SET n = n + 1 WHERE id <= 10;"
           "DELETE FROM toasty WHERE id = 20;"
           "UPDATE \"\"\"; DROP TABLE x; --\" SET \"it's\" = 'again''' WHERE \"id`\" = 2;"
           "INSERT INTO pairs VALUES ('\xF0\x9F\x98\x80', 7, 'emoji');");
  WaitForMatch(kOrders);
  WaitForMatch(kPairs);
  WaitForMatch(kHostile);
  WaitForMatch(kToasty);
  EXPECT_EQ(my_.QueryValue("SELECT COUNT(*) FROM toasty WHERE n = 1 AND CHAR_LENGTH(big) = 9600"), "10");
  // A table that was empty during the snapshot exists in the target, then streams.
  EXPECT_EQ(my_.QueryValue("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
                           "DATABASE() AND table_name = 'empty_box'"),
            "1")
      << "an empty source table must be created in the target by the snapshot";
  pg_.Exec("INSERT INTO empty_box VALUES (1, 'first')");
  WaitForMatch(kEmptyBox);
  pg_.Exec("TRUNCATE pairs");
  WaitForMatch(kPairs);
  ExpectRunning();
  ExpectTablesEqual(pg_.Query(kOrders.pg), my_.Query(kOrders.my));
  ExpectTablesEqual(pg_.Query(kToasty.pg), my_.Query(kToasty.my));
  EXPECT_EQ(my_.QueryValue("SELECT COUNT(*) FROM sluice_offsets"), "1");
}

TEST_F(PgToMysqlTest, ResumesAfterKillDuringSnapshot) {
  constexpr long kRows = 100000;
  CreateTables();
  SeedOrders(kRows);
  SeedOthers();
  // Small flushes: the target commits the snapshot in many steps, so the kill lands between.
  StartSluice({{"sink.batch.size", "2000"}, {"max.batch.size", "1000"},
               {"sink.snapshot.batch.bytes", "0"}});
  auto target_rows = [&]() -> long {
    SqlResult r = my_.TryQuery("SELECT COUNT(*) FROM orders");
    return r.ok && !r.rows.empty() && r.rows[0][0] ? std::stol(*r.rows[0][0]) : 0;
  };
  WaitUntil([&] { return target_rows() > 0; }, 60s, "the snapshot starts arriving", 10ms);
  sluice_->Kill();
  // The kill landed mid-snapshot: some rows committed, not all.
  const long partial = target_rows();
  ASSERT_GT(partial, 0);
  ASSERT_LT(partial, kRows) << "the snapshot finished before the kill; the test proves nothing";
  WriteSomeOrders(1);
  pg_.Exec("UPDATE toasty SET n = n + 1 WHERE id <= 5");
  sluice_->Restart();
  WaitForMatch(kOrders, 150s);
  for (const TablePair* t : {&kOrders, &kPairs, &kHostile, &kToasty, &kEmptyBox}) {
    WaitForMatch(*t);
    ExpectTablesEqual(pg_.Query(t->pg), my_.Query(t->my));
  }
}

// A one-shot sync killed mid-load and run again, after deletes at the source: the second run
// empties each table the earlier run filled (rows deleted since must go) and loads it anew
// (LOAD DATA, no duplicate keys left to fall back on).
TEST_F(PgToMysqlTest, SyncKilledMidLoadThenRunAgainReplacesTheRows) {
  constexpr long kRows = 60000;
  CreateTables();
  SeedOrders(kRows);
  SeedOthers();
  const nlohmann::json config = Config({{"name", slot_ + "_sync"},
                                        {"sink.batch.size", "2000"},
                                        {"max.batch.size", "1000"},
                                        {"sink.snapshot.batch.bytes", "0"}});
  SluiceProcess sync = SluiceProcess::StartWithConfig("sync", config);
  auto target_rows = [&]() -> long {
    SqlResult r = my_.TryQuery("SELECT COUNT(*) FROM orders");
    return r.ok && !r.rows.empty() && r.rows[0][0] ? std::stol(*r.rows[0][0]) : 0;
  };
  WaitUntil([&] { return target_rows() > 0; }, 60s, "the sync commits its first rows", 10ms);
  sync.Kill();
  const long partial = target_rows();
  ASSERT_GT(partial, 0);
  ASSERT_LT(partial, kRows) << "the sync finished before the kill; the test proves nothing";
  pg_.Exec("DELETE FROM orders WHERE id % 7 = 0 OR id <= 100");
  WriteSomeOrders(1);
  CommandResult again = SluiceProcess::RunToCompletion("sync", config, 180s);
  ASSERT_TRUE(again.Success()) << again.out << again.err;
  EXPECT_NE((again.out + again.err).find("this sync replaces the rows of an earlier run"),
            std::string::npos) << again.out << again.err;
  for (const TablePair* t : {&kOrders, &kPairs, &kHostile, &kToasty, &kEmptyBox}) {
    ExpectTablesEqual(pg_.Query(t->pg), my_.Query(t->my));
  }
}

TEST_F(PgToMysqlTest, ResumesAfterKillMidStream) {
  CreateTables();
  SeedOrders(2000);
  SeedOthers();
  StartSluice();
  WaitForMatch(kOrders);
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  std::thread writer([&] {
    while (!stop) {
      WriteSomeOrders(100 + rounds++);
      pg_.Exec("UPDATE toasty SET n = n + 1 WHERE id = " + std::to_string(1 + rounds % 19));
    }
  });
  std::this_thread::sleep_for(1500ms);
  sluice_->Kill();
  std::this_thread::sleep_for(500ms);
  sluice_->Restart();
  std::this_thread::sleep_for(1500ms);
  sluice_->Kill();
  sluice_->Restart();
  std::this_thread::sleep_for(1s);
  stop = true;
  writer.join();
  WaitForMatch(kOrders);
  WaitForMatch(kToasty);
  ExpectTablesEqual(pg_.Query(kOrders.pg), my_.Query(kOrders.my));
  ExpectTablesEqual(pg_.Query(kToasty.pg), my_.Query(kToasty.my));
}

TEST_F(PgToMysqlTest, TypeMatrixReplicatesWithDocumentedMapping) {
  pg_.Exec(
      "CREATE TYPE mood AS ENUM ('sad', 'happy');"
      "CREATE TABLE types (id int PRIMARY KEY, s smallint, i int, b bigint, d numeric(10,3),"
      " u numeric, r real, f double precision, t text, vc varchar(20), c char(5), by bytea,"
      " j json, jb jsonb, id2 uuid, dt date, tm time, ts timestamp, tz timestamptz,"
      " iv interval, e mood, a int[], flag boolean, ns numeric(3,5), nn numeric(3,-2));"
      "INSERT INTO types VALUES (1, -32768, 2147483647, -9223372036854775808, 1234567.125,"
      " 12345678901234567890.000000000000000000001, 1.5, 3.141592653589793,"
      " E'tab\\there \\\\ ''q'' \xF0\x9F\x98\x80', 'v', 'ab', '\\x00ff27'::bytea, '{\"a\": 1}',"
      " '{\"b\": [1, 2], \"a\": null}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-02-29',"
      " '23:59:59.999999', '1999-12-31 23:59:59.5', '2024-06-01 12:00:00.123456+02',"
      " '1 year 2 mons 3 days 04:05:06.5', 'happy', '{1,2,3}', true, 0.00999, 98765),"
      " (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
      " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);");
  const TablePair types = {
      "SET intervalstyle = iso_8601;"
      "SELECT id::text, s::text, i::text, b::text, d::text, trim_scale(u)::text, r::text, f::text,"
      " t, vc, c, encode(by, 'hex'), j::text, jb::text, id2::text, dt::text,"
      " to_char('2000-01-01'::date + tm, 'HH24:MI:SS.US'), to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US'),"
      " to_char(tz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), iv::text, e::text,"
      " array_to_json(a)::text, flag::int::text, ns::text, nn::text FROM types",
      "SELECT id, s, i, b, CAST(d AS CHAR),"
      " TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST(u AS CHAR))), r, f, t, vc, c,"
      " LOWER(HEX(`by`)), j, jb, id2, CAST(dt AS CHAR), TIME_FORMAT(tm, '%H:%i:%s.%f'),"
      " DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f'), DATE_FORMAT(tz, '%Y-%m-%d %H:%i:%s.%f'), iv, e,"
      " JSON_COMPACT(a), flag, CAST(ns AS CHAR),"
      " CAST(nn AS CHAR) FROM types"};
  StartSluice();
  WaitForMatch(types);
  pg_.Exec("UPDATE types SET t = 'changed', tz = '1970-01-01 00:00:00+00' WHERE id = 1;"
           "INSERT INTO types (id, u, a, ns, nn) VALUES (3, 0.5, '{}', -0.00001, -99900);");
  WaitForMatch(types);
  // PostgreSQL 15 scales outside 0..p: numeric(3,5) holds |v| < 0.01 with 5 fraction digits.
  EXPECT_EQ(my_.QueryValue("SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA "
                           "= DATABASE() AND TABLE_NAME = 'types' AND COLUMN_NAME = 'ns'"),
            "decimal(5,5)");
  // numeric(3,-2) holds integers rounded to hundreds, up to five digits.
  EXPECT_EQ(my_.QueryValue("SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA "
                           "= DATABASE() AND TABLE_NAME = 'types' AND COLUMN_NAME = 'nn'"),
            "decimal(5,0)");
  ExpectTablesEqual(pg_.Query(types.pg), my_.Query(types.my));
}

// Type changes and a primary-key change at the PostgreSQL source reach the MariaDB target
// mid-stream (MODIFY COLUMN; DROP/ADD PRIMARY KEY), and the rows that need them land.
TEST_F(PgToMysqlTest, TypeAndPrimaryKeyChangesMidStream) {
  pg_.Exec("CREATE TABLE evolve (a int NOT NULL, b int NOT NULL, n int, note varchar(10), "
           "PRIMARY KEY (a));"
           "INSERT INTO evolve SELECT i, i % 3, i, 'v' || i FROM generate_series(1, 50) i");
  StartSluice();
  const TablePair evolve = {"SELECT a::text, b::text, n::text, note FROM evolve",
                            "SELECT a, b, n, note FROM evolve"};
  WaitForMatch(evolve);
  pg_.Exec("ALTER TABLE evolve ALTER COLUMN n TYPE bigint, ALTER COLUMN note TYPE varchar(200);"
           "UPDATE evolve SET n = 9000000000 + a, note = repeat('long ', 10) WHERE a <= 10;"
           "ALTER TABLE evolve DROP CONSTRAINT evolve_pkey, ADD PRIMARY KEY (a, b);"
           "INSERT INTO evolve VALUES (1, 7, 1, 'same a, new b');"
           "UPDATE evolve SET note = 'by new key' WHERE a = 2 AND b = 2");
  WaitForMatch(evolve);
  EXPECT_EQ(my_.QueryValue("SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                           "DATABASE() AND TABLE_NAME = 'evolve' AND COLUMN_NAME = 'n'"),
            "bigint");
  EXPECT_EQ(my_.QueryValue("SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM "
                           "information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() AND "
                           "TABLE_NAME = 'evolve' AND CONSTRAINT_NAME = 'PRIMARY'"),
            "a,b");
}

// The same changes made while the connector is stopped: at restart the sink compares the
// existing table with the source schema (server-resolved column types, the key's columns) and
// modifies it before the rows that need it.
TEST_F(PgToMysqlTest, TypeAndPrimaryKeyChangedWhileStoppedAreAppliedAtRestart) {
  pg_.Exec("CREATE TABLE evolve (a int NOT NULL, b int NOT NULL, n int, note varchar(10), "
           "doc jsonb, PRIMARY KEY (a));"
           "INSERT INTO evolve SELECT i, i % 3, i, 'v' || i, '{\"i\": 1}' FROM generate_series(1, 50) i");
  StartSluice();
  const TablePair evolve = {"SELECT a::text, b::text, n::text, note FROM evolve",
                            "SELECT a, b, n, note FROM evolve"};
  WaitForMatch(evolve);
  sluice_->Kill();
  pg_.Exec("ALTER TABLE evolve ALTER COLUMN n TYPE bigint, ALTER COLUMN note TYPE varchar(200);"
           "UPDATE evolve SET n = 9000000000 + a, note = repeat('long ', 10) WHERE a <= 10;"
           "ALTER TABLE evolve DROP CONSTRAINT evolve_pkey, ADD PRIMARY KEY (a, b);"
           "INSERT INTO evolve VALUES (1, 7, 1, 'same a, new b')");
  sluice_->Restart();
  WaitForMatch(evolve);
  EXPECT_EQ(my_.QueryValue("SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA "
                           "= DATABASE() AND TABLE_NAME = 'evolve' AND COLUMN_NAME = 'note'"),
            "varchar(200)");
  EXPECT_EQ(my_.QueryValue("SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM "
                           "information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() AND "
                           "TABLE_NAME = 'evolve' AND CONSTRAINT_NAME = 'PRIMARY'"),
            "a,b");
  // Unchanged columns (doc: JSON, which MariaDB shows as longtext) are not touched at restart.
  std::string log = sluice_->Stdout() + sluice_->Stderr();
  EXPECT_NE(log.find("changing the type of column `n`"), std::string::npos) << log;
  EXPECT_EQ(log.find("changing the type of column `doc`"), std::string::npos) << log;
  EXPECT_EQ(log.find("changing the type of column `a`"), std::string::npos) << log;
  ExpectTablesEqual(pg_.Query(evolve.pg), my_.Query(evolve.my));
}

// ALTER TABLE at the PostgreSQL source mid-stream: a column added, one dropped, one retyped (a
// cast that keeps every value, then values that need the new type), per sink.columns.drop.
class PgToMysqlColumnsTest : public PgToMysqlTest,
                             public ::testing::WithParamInterface<std::string> {};

TEST_P(PgToMysqlColumnsTest, ColumnsAddedDroppedAndRetypedMidStream) {
  const std::string mode = GetParam();
  pg_.Exec("CREATE TABLE cols (id int PRIMARY KEY, a int, gone text, re int);"
           "INSERT INTO cols SELECT i, i, 'g' || i, i FROM generate_series(1, 200) i");
  StartSluice({{"sink.columns.drop", mode}});
  WaitForMatch({"SELECT id::text, a::text, gone, re::text FROM cols",
                "SELECT id, a, gone, re FROM cols"});
  pg_.Exec("ALTER TABLE cols ADD COLUMN extra text;"
           "INSERT INTO cols VALUES (201, 201, 'g201', 201, 'new');"
           "UPDATE cols SET extra = 'e' || id WHERE id % 3 = 0;"
           "ALTER TABLE cols DROP COLUMN gone;"
           "INSERT INTO cols (id, a, re, extra) VALUES (202, 202, 202, 'after drop');"
           "UPDATE cols SET a = -a WHERE id % 5 = 0;"
           "ALTER TABLE cols ALTER COLUMN re TYPE numeric(14,3);"
           "UPDATE cols SET re = re + 0.125 WHERE id % 7 = 0;"
           "INSERT INTO cols VALUES (203, 203, 12345678901.5, 'retyped');"
           "DELETE FROM cols WHERE id = 4");
  const TablePair after = {"SELECT id::text, a::text, extra, re::text FROM cols",
                           "SELECT id, a, extra, CAST(re AS CHAR) FROM cols"};
  WaitForMatch(after);
  ExpectRunning();
  EXPECT_EQ(my_.QueryValue("SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA "
                           "= DATABASE() AND TABLE_NAME = 'cols' AND COLUMN_NAME = 're'"),
            "decimal(14,3)");
  const std::string gone_exists =
      "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND "
      "TABLE_NAME = 'cols' AND COLUMN_NAME = 'gone'";
  if (mode == "drop") {
    EXPECT_EQ(my_.QueryValue(gone_exists), "0");
  } else {
    // Kept, nullable: the rows from before the drop keep their values, later ones have none.
    EXPECT_EQ(my_.QueryValue(gone_exists), "1");
    EXPECT_EQ(my_.QueryValue("SELECT COUNT(*) FROM cols WHERE gone = CONCAT('g', id)"), "200");
    EXPECT_EQ(my_.QueryValue("SELECT COUNT(*) FROM cols WHERE gone IS NULL"), "2");
  }
  ExpectTablesEqual(pg_.Query(after.pg), my_.Query(after.my));
}

INSTANTIATE_TEST_SUITE_P(DropSetting, PgToMysqlColumnsTest, ::testing::Values("keep", "drop"));

}  // namespace
}  // namespace sluice::itest
