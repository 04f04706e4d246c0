// PostgreSQL -> PostgreSQL end to end with the sluice binary: snapshot under concurrent writes,
// streaming, kill -9 mid-snapshot and mid-stream, restart. Every scenario ends with the
// comparator over every table: the target equals the source.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "integration/common/itest.h"
#include "integration/pg_sink/pg_to_pg_fixture.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

// Normalised SELECTs (same text on both sides) of the tables every scenario replicates.
const std::vector<std::string> kTables = {
    "SELECT id, name, amount::text, tags::text, doc::text, md5(body), born::text, seen::text, "
    "mood::text, data::text FROM public.items",
    "SELECT region, line, qty FROM shop.lines",
    // Empty at the snapshot: the target must still have it (an error here means it is missing).
    "SELECT id, label FROM shop.empty_box",
    "SELECT \"\"\"; DROP TABLE x; --\", \"Ünï 名\" FROM \"\"\"; DROP TABLE x; --\".\"\"\"; DROP "
    "TABLE x; --\"",
};

class PgToPgTest : public PgToPgFixture {
 protected:
  PgToPgTest() : PgToPgFixture("p2p") {}

  void SetUp() override {
    PgToPgFixture::SetUp();
    src_.Exec(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');"
        "CREATE TABLE items (id bigint PRIMARY KEY, name varchar(64), amount numeric(12,2), "
        "tags text[], doc jsonb, body text, born date, seen timestamptz, mood mood, data bytea);"
        // Out of line and uncompressed: an UPDATE that leaves body alone sends pgoutput's
        // unchanged-TOAST marker for it (the values are also incompressible, > 8 kB).
        "ALTER TABLE items ALTER COLUMN body SET STORAGE EXTERNAL;"
        "CREATE SCHEMA shop;"
        "CREATE TABLE shop.lines (region text, line int, qty int, PRIMARY KEY (region, line));"
        "CREATE TABLE shop.empty_box (id int PRIMARY KEY, label text);"
        "CREATE SCHEMA \"\"\"; DROP TABLE x; --\";"
        "CREATE TABLE \"\"\"; DROP TABLE x; --\".\"\"\"; DROP TABLE x; --\" "
        "(\"\"\"; DROP TABLE x; --\" int PRIMARY KEY, \"Ünï 名\" text)");
  }
  // Rows [from, to) in every table; `tag` varies the values.
  void InsertRows(int from, int to, const std::string& tag = "a") const {
    src_.Exec(
        "INSERT INTO items SELECT i, 'n' || i || '" + tag + " é😀', i * 1.25, ARRAY['x' || i, NULL, "
        "'q\"uote'], jsonb_build_object('i', i), CASE WHEN i % 50 = 0 THEN (SELECT "
        "string_agg(md5(i::text || j::text), '') FROM generate_series(1, 300) j) ELSE 'short' END, DATE '2000-01-01' + i, TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * "
        "INTERVAL '1 second', (ARRAY['sad','ok','happy']::mood[])[1 + i % 3], CASE WHEN i % 7 = 0 "
        "THEN NULL ELSE decode(md5(i::text), 'hex') END FROM generate_series(" +
        std::to_string(from) + ", " + std::to_string(to - 1) +
        ") i ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name;"
        "INSERT INTO shop.lines SELECT 'r' || (i % 10), i, i FROM generate_series(" +
        std::to_string(from) + ", " + std::to_string(to - 1) + ") i ON CONFLICT DO NOTHING;"
        "INSERT INTO \"\"\"; DROP TABLE x; --\".\"\"\"; DROP TABLE x; --\" SELECT i, 'ü" + tag +
        "' FROM generate_series(" + std::to_string(from) + ", " + std::to_string(to - 1) +
        ") i ON CONFLICT DO NOTHING");
  }

  // Updates (TOAST untouched), deletes and inserts mixed.
  void ChurnRows(int round) const {
    std::string r = std::to_string(round);
    src_.Exec("UPDATE items SET amount = amount + 1, seen = seen + INTERVAL '1 day' WHERE id % 10 = " +
              std::to_string(round % 10) + ";"
              "DELETE FROM items WHERE id % 97 = " + std::to_string(round % 97) + ";"
              "UPDATE shop.lines SET qty = qty + " + r + " WHERE line % 13 = " +
              std::to_string(round % 13) + ";"
              "DELETE FROM shop.lines WHERE line % 101 = " + std::to_string(round % 101));
  }

  // The target tables' primary keys, as the source has them (the sink builds a key after the
  // snapshot load of a table it created).
  void ExpectPrimaryKeys() const {
    const std::string keys =
        "SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'p' AND conrelid::regclass::text NOT LIKE '%sluice_offsets%'";
    ExpectTablesEqual(src_.Query(keys), dst_.Query(keys));
  }

  ::testing::AssertionResult AllTablesMatch() const {
    for (const auto& select : kTables) {
      SqlResult target = dst_.TryQuery(select);  // the table may not exist yet
      if (!target.ok) return ::testing::AssertionFailure() << target.error;
      auto result = TablesMatch(src_.Query(select), target.rows);
      if (!result) return result << " in: " << select;
    }
    return ::testing::AssertionSuccess();
  }

  void WaitForTargetToMatch(std::chrono::milliseconds timeout) {
    WaitUntil([&] { return AllTablesMatch(); }, timeout,
              "target catches up with the source; sluice log:\n" + sluice_->LogTail());
  }
};

TEST_F(PgToPgTest, SnapshotUnderConcurrentWritesThenStreaming) {
  InsertRows(0, 20000);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int round = 0; !stop.load(); ++round) {
      InsertRows(20000 + round * 100, 20000 + (round + 1) * 100, "w");
      ChurnRows(round);
      std::this_thread::sleep_for(20ms);
    }
  });
  sluice_ = SluiceProcess::Run(Config());
  std::this_thread::sleep_for(3s);
  stop = true;
  writer.join();
  WaitForTargetToMatch(120s);
  // Streaming after the snapshot.
  for (int round = 0; round < 10; ++round) ChurnRows(100 + round);
  src_.Exec("TRUNCATE shop.lines");
  src_.Exec("INSERT INTO shop.empty_box VALUES (1, 'first')");
  InsertRows(40000, 40500, "s");
  WaitForTargetToMatch(60s);
  EXPECT_TRUE(AllTablesMatch());
  ExpectPrimaryKeys();
}

TEST_F(PgToPgTest, ResumesAfterKillDuringSnapshot) {
  constexpr int kRows = 150000;
  InsertRows(0, kRows);
  // Small flushes, so that the target commits the snapshot in many steps and a kill can land
  // between the first and the last of them (sink.snapshot.batch.bytes: the snapshot's rows
  // would otherwise wait for 64 MiB).
  sluice_ = SluiceProcess::Run(Config({{"sink.batch.size", "2000"}, {"max.batch.size", "1000"},
                                       {"sink.snapshot.batch.bytes", "200000"}}));
  auto target_rows = [&]() -> long {
    SqlResult r = dst_.TryQuery("SELECT count(*) FROM items");
    return r.ok && !r.rows.empty() && r.rows[0][0] ? std::stol(*r.rows[0][0]) : 0;
  };
  WaitUntil([&] { return target_rows() > 0; }, 120s, "the snapshot commits its first rows",
            10ms);
  sluice_->Kill();
  // The kill landed mid-snapshot: some rows committed, not all.
  const long partial = target_rows();
  ASSERT_GT(partial, 0);
  ASSERT_LT(partial, kRows) << "the snapshot finished before the kill; the test proves nothing";
  InsertRows(kRows, kRows + 1000, "k");
  ChurnRows(1);
  sluice_->Restart();
  WaitForTargetToMatch(180s);
  EXPECT_TRUE(AllTablesMatch());
  ExpectPrimaryKeys();
}

// `sluice sync` killed mid-load leaves committed snapshot rows in tables it created without
// their key (built after the load); the re-run copies from the start over them (the key is
// added first, the repeated rows go through the staging upsert) and ends equal to the source,
// keys included, with the changes made in between.
TEST_F(PgToPgTest, SyncKilledMidLoadThenRunAgainEndsEqual) {
  constexpr int kRows = 80000;
  InsertRows(0, kRows);
  const nlohmann::json config = Config({{"name", "p2p_sync_kill"},
                                        {"max.batch.size", "1000"},
                                        {"sink.snapshot.batch.bytes", "200000"}});
  SluiceProcess sync = SluiceProcess::StartWithConfig("sync", config);
  auto target_rows = [&]() -> long {
    SqlResult r = dst_.TryQuery("SELECT count(*) FROM items");
    return r.ok && !r.rows.empty() && r.rows[0][0] ? std::stol(*r.rows[0][0]) : 0;
  };
  WaitUntil([&] { return target_rows() > 0; }, 120s, "the sync commits its first rows", 10ms);
  sync.Kill();
  const long partial = target_rows();
  ASSERT_GT(partial, 0);
  ASSERT_LT(partial, kRows) << "the sync finished before the kill; the test proves nothing";
  InsertRows(kRows, kRows + 1000, "k");
  ChurnRows(1);
  CommandResult again = SluiceProcess::RunToCompletion("sync", config, 180s);
  ASSERT_TRUE(again.Success()) << again.out << again.err;
  EXPECT_TRUE(AllTablesMatch());
  ExpectPrimaryKeys();
  // A target table that a foreign key references cannot be emptied: a third run keeps and
  // upserts its rows (nothing was deleted from it) and says so, instead of failing.
  dst_.Exec("CREATE TABLE box_ref (box_id int REFERENCES shop.empty_box (id))");
  CommandResult third = SluiceProcess::RunToCompletion("sync", config, 180s);
  ASSERT_TRUE(third.Success()) << third.out << third.err;
  EXPECT_NE((third.out + third.err).find("is referenced by a foreign key"), std::string::npos)
      << third.out << third.err;
  EXPECT_TRUE(AllTablesMatch());
}

// `sluice sync` releases what it made on the source (its publication; the slot is temporary)
// as soon as the source has read everything, while the target still loads, not after: the drop
// is logged before the pipeline finishes, and the publication is gone when the command
// returns. The target is made slow on purpose (a statement trigger sleeps 1 s after each load
// into shop.lines, which exists there beforehand): without it a 3000-row target finishes in
// less time than the drop takes, and the order would be a race.
TEST_F(PgToPgTest, SyncDropsItsPublicationBeforeTheLoadEnds) {
  InsertRows(0, 3000);
  dst_.Exec("CREATE SCHEMA shop;"
            "CREATE TABLE shop.lines (region text, line int, qty int, PRIMARY KEY (region, line));"
            "CREATE FUNCTION slow_load() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$;"
            "CREATE TRIGGER slow_load AFTER INSERT ON shop.lines FOR EACH STATEMENT "
            "EXECUTE FUNCTION slow_load()");
  const nlohmann::json config =
      Config({{"name", "p2p_sync_release"}, {"publication.name", "p2p_sync_release_pub"}});
  CommandResult sync = SluiceProcess::RunToCompletion("sync", config, 120s);
  ASSERT_TRUE(sync.Success()) << sync.out << sync.err;
  const std::string log = sync.err + sync.out;
  const size_t dropped = log.find("dropped publication 'p2p_sync_release_pub'");
  const size_t finished = log.find("pipeline FINISHED");
  ASSERT_NE(dropped, std::string::npos) << log;
  ASSERT_NE(finished, std::string::npos) << log;
  EXPECT_LT(dropped, finished) << "released after the load instead of during it:\n" << log;
  EXPECT_EQ(src_.Query("SELECT count(*) FROM pg_publication WHERE pubname = "
                       "'p2p_sync_release_pub'")[0][0].value_or(""),
            "0");
  EXPECT_TRUE(AllTablesMatch());
  ExpectPrimaryKeys();
}

TEST_F(PgToPgTest, ResumesAfterKillDuringStreaming) {
  InsertRows(0, 2000);
  sluice_ = SluiceProcess::Run(Config());
  WaitForTargetToMatch(120s);
  for (int cycle = 0; cycle < 3; ++cycle) {
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      for (int round = 0; !stop.load(); ++round) {
        ChurnRows(cycle * 1000 + round);
        InsertRows(10000 + cycle * 10000 + round * 50, 10000 + cycle * 10000 + (round + 1) * 50,
                   "c" + std::to_string(cycle));
      }
    });
    std::this_thread::sleep_for(1500ms);
    sluice_->Kill();  // mid-stream, writes still running
    std::this_thread::sleep_for(300ms);
    stop = true;
    writer.join();
    sluice_->Restart();
    WaitForTargetToMatch(120s);
  }
  EXPECT_TRUE(AllTablesMatch());
  // Exactly-once: the stored position is the one the source resumes from.
  EXPECT_EQ(dst_.QueryValue("SELECT count(*) FROM sluice_offsets WHERE connector = 'p2p'"), "1");
}

// Column type changes and a primary-key change at the source reach the target mid-stream: the
// column is altered in place, the key constraint replaced, and the rows streamed afterwards
// (which need the new type and upsert by the new key) land.
TEST_F(PgToPgTest, TypeAndPrimaryKeyChangesMidStream) {
  src_.Exec("CREATE TABLE shop.evolve (a int NOT NULL, b int NOT NULL, n int, note varchar(10), "
            "PRIMARY KEY (a));"
            "INSERT INTO shop.evolve SELECT i, i % 3, i, 'v' || i FROM generate_series(1, 50) i");
  sluice_ = SluiceProcess::Run(Config());
  const std::string evolve = "SELECT a, b, n::text, note FROM shop.evolve";
  WaitUntil([&] { return TablesMatch(src_.Query(evolve), dst_.TryQuery(evolve).rows); }, 120s,
            "snapshot of shop.evolve");
  src_.Exec("ALTER TABLE shop.evolve ALTER COLUMN n TYPE bigint, ALTER COLUMN note TYPE text;"
            "UPDATE shop.evolve SET n = 9000000000 + a, note = repeat('long ', 5) WHERE a <= 10;"
            "ALTER TABLE shop.evolve DROP CONSTRAINT evolve_pkey, ADD PRIMARY KEY (a, b);"
            "INSERT INTO shop.evolve VALUES (1, 7, 1, 'same a, new b');"
            "UPDATE shop.evolve SET note = 'by new key' WHERE a = 2 AND b = 2");
  WaitUntil([&] { return TablesMatch(src_.Query(evolve), dst_.TryQuery(evolve).rows); }, 120s,
            "type and key changes streamed; sluice log:\n" + sluice_->LogTail());
  auto type_of = [&](const std::string& column) {
    return dst_.QueryValue("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                           "attrelid = 'shop.evolve'::regclass AND attname = '" + column + "'");
  };
  EXPECT_EQ(type_of("n"), "bigint");
  EXPECT_EQ(type_of("note"), "text");
  EXPECT_EQ(dst_.QueryValue("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                            "'shop.evolve'::regclass AND contype = 'p'"),
            "PRIMARY KEY (a, b)");
  EXPECT_TRUE(AllTablesMatch());
}

// The same changes made while the connector is stopped: at restart the sink compares the
// existing table with the source schema and alters it before the rows that need it.
TEST_F(PgToPgTest, TypeAndPrimaryKeyChangedWhileStoppedAreAppliedAtRestart) {
  src_.Exec("CREATE TABLE shop.evolve (a int NOT NULL, b int NOT NULL, n int, note varchar(10), "
            "PRIMARY KEY (a));"
            "INSERT INTO shop.evolve SELECT i, i % 3, i, 'v' || i FROM generate_series(1, 50) i");
  sluice_ = SluiceProcess::Run(Config());
  const std::string evolve = "SELECT a, b, n::text, note FROM shop.evolve";
  WaitUntil([&] { return TablesMatch(src_.Query(evolve), dst_.TryQuery(evolve).rows); }, 120s,
            "snapshot of shop.evolve");
  sluice_->Kill();
  src_.Exec("ALTER TABLE shop.evolve ALTER COLUMN n TYPE bigint, ALTER COLUMN note TYPE text;"
            "UPDATE shop.evolve SET n = 9000000000 + a, note = repeat('long ', 5) WHERE a <= 10;"
            "ALTER TABLE shop.evolve DROP CONSTRAINT evolve_pkey, ADD PRIMARY KEY (a, b);"
            "INSERT INTO shop.evolve VALUES (1, 7, 1, 'same a, new b')");
  sluice_->Restart();
  WaitUntil([&] { return TablesMatch(src_.Query(evolve), dst_.TryQuery(evolve).rows); }, 120s,
            "changes made while stopped applied; sluice log:\n" + sluice_->LogTail());
  EXPECT_EQ(dst_.QueryValue("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                            "attrelid = 'shop.evolve'::regclass AND attname = 'n'"),
            "bigint");
  ExpectPrimaryKeys();
  ExpectTablesEqual(src_.Query(evolve), dst_.Query(evolve));
}


// ---------------------------------------------------------------------------------------------
// Type matrix through the real PostgreSQL source: every value is read by the snapshot (binary
// COPY at the source), decoded to canonical text, written by the sink and compared with the
// source over psql's text rendering; then the same values stream through pgoutput (inserts and
// updates), and the target still equals the source.

// Columns of the mixed table, in order (the text-COPY path at the sink: most types here have no
// binary encoder).
constexpr const char* kMatrixColumns =
    "b, s, i, l, r, d, n, np, c, vc, t, by, j, jb, u, dt, tm, ttz, ts, tsz, iv, ia, ta, ia2, ta2, "
    "e, dom, ip, cr, mac, m, bt, vb, x";

constexpr const char* kMatrixTable =
    "CREATE TYPE color AS ENUM ('red', 'green', 'blue', 'it''s');"
    "CREATE DOMAIN posint AS int CHECK (VALUE > 0);"
    "CREATE TABLE matrix (id int PRIMARY KEY, b bool, s int2, i int4, l int8, r float4, "
    "d float8, n numeric, np numeric(40,20), c char(8), vc varchar(12), t text, by bytea, j json, "
    "jb jsonb, u uuid, dt date, tm time, ttz timetz, ts timestamp(3), tsz timestamptz, "
    "iv interval, ia int[], ta text[], ia2 int[], ta2 text[], e color, dom posint, ip inet, "
    "cr cidr, mac macaddr, m money, bt bit(5), vb varbit(10), x xml);"
    "INSERT INTO matrix VALUES "
    // Minimums, negative zero, denormals.
    "(1, false, -32768, -2147483648, -9223372036854775808, '-0', '-0', "
    "'-0.000000000000000000000000000000000000001', '-12345678901234567890.12345678901234567890', "
    "'ab', '', '', '\\x', '{\"b\":1,  \"a\":[1, 2]}', '{\"b\":1,  \"a\":[1, 2]}', "
    "'00000000-0000-0000-0000-000000000000', '4713-01-01 BC', '00:00:00', '00:00:00+15:59', "
    "'4713-01-01 00:00:00 BC', '4713-01-01 00:00:00+00 BC', '-178000000 years', '{}', '{}', "
    "'{{1,2},{3,NULL}}', '{{\"a\",\"b\"},{NULL,\"NULL\"}}', 'red', 1, '0.0.0.0/0', '0.0.0.0/0', "
    "'00:00:00:00:00:00', '-92233720368547758.08', B'00000', B'', '<a/>'),"
    // Maximums.
    "(2, true, 32767, 2147483647, 9223372036854775807, '3.4028235e38', '1.7976931348623157e308', "
    "('1' || repeat('0', 130) || '.' || repeat('9', 100))::numeric, '99999999999999999999.99999999999999999999', "
    "'abcdefgh', 'ünïcödé😀😀😀😀', repeat('long ', 2000), decode(repeat('ff00', 5000), 'hex'), "
    "'[]', '[]', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '5874897-12-31', '24:00:00', "
    "'24:00:00-15:59', '294276-12-31 23:59:59.999', '294276-12-31 23:59:59.999999+00', "
    "'178000000 years 11 mons 30 days 23:59:59.999999', '{2147483647,-2147483648}', "
    "'{\"\"}', '{{{1}},{{2}}}', '{{\"x\"}}', 'blue', 2147483647, '::ffff:1.2.3.4/128', "
    "'2001:db8::/32', 'ff:ff:ff:ff:ff:ff', '92233720368547758.07', B'11111', B'1111111111', "
    "'<r a=\"1\">t&amp;&lt;é</r>'),"
    // Special floats and numerics, awkward text.
    "(3, true, 0, 0, 0, 'NaN', 'NaN', 'NaN', 'NaN', 'a b     ', 'tab\tnl', "
    "E'tab\\there\\nnewline\\r\\\\N back\\\\slash \\'q\\' \"dq\" \\u00e9 😀 \\x01', "
    "'\\x00015c27225c4e0a', '\"\\u00e9 \\\\ \\\"\"', '{\"k\": \"\\u00e9\", \"n\": null, \"z\": 1e5}', "
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-02-29', '23:59:59.999999', "
    "'12:34:56.789+05:30', '1999-12-31 23:59:59.5', '2024-06-01 12:00:00.123456+02', "
    "'1 year 2 mons 3 days 04:05:06.5', '{1,NULL,3}', "
    "'{\"a,b\",NULL,\"NULL\",\"q\\\"uote\",\"back\\\\slash\",\"\",\" sp \",\"{}\"}', "
    "'{{NULL,NULL}}', '{{\"\\\\\",\"\\\"\"}}', 'it''s', 42, '10.1.2.3/8', '10.0.0.0/8', "
    "'08:00:2b:01:02:03', '0', B'10101', B'1', '<?xml version=\"1.0\"?><doc>x</doc>'),"
    "(4, false, 1, 1, 1, 'Infinity', 'Infinity', 'Infinity', '0.00000000000000000001', ' ', "
    "' ', ' ', '\\x20', 'null', 'null', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12', 'infinity', "
    "'12:00', '12:00-00', 'infinity', 'infinity', '-1 days +00:00:00.000001', '{0}', "
    "'{\"é😀\"}', '{{1},{2}}', '{\"\\t\\n\"}', 'green', 7, '192.168.0.1/24', '192.168.0.0/24', "
    "'08-00-2b-01-02-04', '1.5', B'01010', B'0101010101', 'text only'),"
    "(5, NULL, -1, -1, -1, '-Infinity', '-Infinity', '-Infinity', '-1', NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, '-infinity', NULL, NULL, '-infinity', '-infinity', NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
    "(6, NULL, NULL, NULL, NULL, '1e-40', '4.9e-324', '1e-40', '0', NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
    "(7, NULL, NULL, NULL, NULL, '1.4e-45', '2.2250738585072014e-308', NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
    "(8, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL)";

// Only types the sink loads with binary COPY (bool, int2/4/8, float4/8, text, varchar, bpchar).
constexpr const char* kBinaryColumns = "b, s, i, l, r, d, t, vc, c";
constexpr const char* kBinaryTable =
    "CREATE TABLE binmatrix (id int8 PRIMARY KEY, b bool, s int2, i int4, l int8, r float4, "
    "d float8, t text, vc varchar(10), c char(6));"
    "INSERT INTO binmatrix VALUES "
    "(1, true, -32768, -2147483648, -9223372036854775808, '-0', '-0', '', '', ''),"
    "(2, false, 32767, 2147483647, 9223372036854775807, '3.4028235e38', "
    "'1.7976931348623157e308', 'ünï 名 😀', 'ünïcödé😀😀😀', 'äö😀'),"
    "(3, true, 0, 0, 0, 'NaN', 'NaN', E'tab\\tnl\\ncr\\r\\\\N \\\\ \\x01', E'\\\\.', 'a'),"
    "(4, false, -1, -1, -1, 'Infinity', 'Infinity', '\\N', 'NULL', ' b'),"
    "(5, true, 1, 1, 1, '-Infinity', '-Infinity', repeat('x😀', 5000), ' ', 'abcdef'),"
    "(6, NULL, NULL, NULL, NULL, '1e-40', '4.9e-324', NULL, NULL, NULL),"
    "(7, NULL, NULL, NULL, NULL, '1.4e-45', '2.2250738585072014e-308', NULL, NULL, NULL),"
    "(8, NULL, NULL, NULL, NULL, '1.17549435e-38', '-2.2250738585072014e-308', NULL, NULL, NULL),"
    "(9, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)";

TEST_F(PgToPgTest, TypeMatrixReplicatesExactly) {
  src_.Exec(kMatrixTable);
  src_.Exec(kBinaryTable);
  // psql's text rendering of every column, float digits as the server prints them.
  const std::string matrix = "SELECT * FROM matrix";
  const std::string binmatrix = "SELECT * FROM binmatrix";
  auto both_match = [&]() -> ::testing::AssertionResult {
    for (const std::string* select : {&matrix, &binmatrix}) {
      SqlResult target = dst_.TryQuery(*select);
      if (!target.ok) return ::testing::AssertionFailure() << target.error;
      auto result = TablesMatch(src_.Query(*select), target.rows);
      if (!result) return result << " in: " << *select;
    }
    return ::testing::AssertionSuccess();
  };
  sluice_ = SluiceProcess::Run(Config());
  WaitUntil(both_match, 120s, "snapshot of the type matrix; sluice log:\n" + sluice_->LogTail());
  EXPECT_EQ(dst_.QueryValue("SELECT count(*) FROM matrix"), "8");
  EXPECT_EQ(dst_.QueryValue("SELECT count(*) FROM binmatrix"), "9");

  // The same values again through the stream: inserted as new rows, and updated into rows
  // (each row takes the values of the next one, the NULL row included).
  const std::string m = kMatrixColumns, bm = kBinaryColumns;
  src_.Exec("INSERT INTO matrix SELECT id + 100, " + m + " FROM matrix;"
            "UPDATE matrix t SET (" + m + ") = (SELECT " + m + " FROM matrix s WHERE s.id = "
            "t.id % 8 + 1) WHERE t.id <= 8;"
            "INSERT INTO binmatrix SELECT id + 100, " + bm + " FROM binmatrix;"
            "UPDATE binmatrix t SET (" + bm + ") = (SELECT " + bm + " FROM binmatrix s WHERE "
            "s.id = t.id % 9 + 1) WHERE t.id <= 9;"
            "DELETE FROM matrix WHERE id = 108");
  WaitUntil(both_match, 60s, "streamed type matrix; sluice log:\n" + sluice_->LogTail());
  ASSERT_TRUE(sluice_->IsRunning()) << sluice_->LogTail();
  EXPECT_EQ(dst_.QueryValue("SELECT count(*) FROM matrix"), "15");
  // The target columns have the source's types exactly, except that a domain column arrives as
  // its base type (the PostgreSQL source reports domains so: the domain's CHECK is the
  // source's, not repeated at the target).
  const std::string types =
      "SELECT c.relname, a.attname, format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype "
      "ELSE a.atttypid END, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END) "
      "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_type t ON t.oid = "
      "a.atttypid WHERE c.relname IN ('matrix', 'binmatrix') AND a.attnum > 0 AND NOT "
      "a.attisdropped";
  ExpectTablesEqual(src_.Query(types), dst_.Query(types));
  EXPECT_EQ(dst_.QueryValue("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                            "attrelid = 'matrix'::regclass AND attname = 'dom'"),
            "integer");
  ExpectTablesEqual(src_.Query(matrix), dst_.Query(matrix));
  ExpectTablesEqual(src_.Query(binmatrix), dst_.Query(binmatrix));
}

// A TOASTed column (out of line: > 8 kB of incompressible text, STORAGE EXTERNAL) that an
// UPDATE does not touch arrives as pgoutput's unchanged marker; the target keeps its value.
TEST_F(PgToPgTest, UnchangedToastedColumnKeepsItsValue) {
  InsertRows(0, 500);
  // The values really are stored out of line at the source.
  const std::string toast = src_.QueryValue(
      "SELECT reltoastrelid::regclass FROM pg_class WHERE oid = 'items'::regclass");
  EXPECT_NE(src_.QueryValue("SELECT count(*) FROM " + toast), "0");
  EXPECT_EQ(src_.QueryValue("SELECT count(*) FROM items WHERE length(body) > 8000"), "10");
  sluice_ = SluiceProcess::Run(Config());
  WaitForTargetToMatch(120s);
  // Updates of other columns of the TOASTed rows only, and a delete + insert of one.
  src_.Exec("UPDATE items SET amount = amount + 1, name = 'touched' WHERE id % 50 = 0;"
            "UPDATE items SET seen = seen + INTERVAL '1 hour' WHERE id % 100 = 0");
  const std::string big =
      "SELECT id, name, amount::text, md5(body), length(body) FROM items WHERE id % 50 = 0";
  WaitUntil([&] { return TablesMatch(src_.Query(big), dst_.Query(big)); }, 60s,
            "updates of the TOASTed rows streamed; sluice log:\n" + sluice_->LogTail());
  EXPECT_EQ(dst_.QueryValue("SELECT count(*) FROM items WHERE name = 'touched' AND "
                            "length(body) > 8000"),
            "10");
  // The body itself changing still replicates.
  src_.Exec("UPDATE items SET body = body || 'x' WHERE id = 50");
  WaitForTargetToMatch(60s);
  EXPECT_TRUE(AllTablesMatch());
}

// ALTER TABLE at the source mid-stream: a column added, one dropped, one retyped (a cast that
// keeps every value, followed by values that need the new type), per sink.columns.drop.
class PgToPgColumnsTest : public PgToPgTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(PgToPgColumnsTest, ColumnsAddedDroppedAndRetypedMidStream) {
  const std::string mode = GetParam();
  src_.Exec("CREATE TABLE shop.cols (id int PRIMARY KEY, a int, gone text, re int);"
            "INSERT INTO shop.cols SELECT i, i, 'g' || i, i FROM generate_series(1, 200) i");
  sluice_ = SluiceProcess::Run(Config({{"sink.columns.drop", mode}}));
  const std::string before = "SELECT id, a, gone, re::text FROM shop.cols";
  WaitUntil([&] { return TablesMatch(src_.Query(before), dst_.TryQuery(before).rows); }, 120s,
            "snapshot of shop.cols");
  src_.Exec("ALTER TABLE shop.cols ADD COLUMN extra text;"
            "INSERT INTO shop.cols VALUES (201, 201, 'g201', 201, 'new');"
            "UPDATE shop.cols SET extra = 'e' || id WHERE id % 3 = 0;"
            "ALTER TABLE shop.cols DROP COLUMN gone;"
            "INSERT INTO shop.cols (id, a, re, extra) VALUES (202, 202, 202, 'after drop');"
            "UPDATE shop.cols SET a = -a WHERE id % 5 = 0;"
            "ALTER TABLE shop.cols ALTER COLUMN re TYPE numeric(14,3);"
            "UPDATE shop.cols SET re = re + 0.125 WHERE id % 7 = 0;"
            "INSERT INTO shop.cols VALUES (203, 203, 12345678901.5, 'retyped');"
            "DELETE FROM shop.cols WHERE id = 4");
  const std::string after = "SELECT id, a, extra, re::text FROM shop.cols";
  WaitUntil([&] { return TablesMatch(src_.Query(after), dst_.TryQuery(after).rows); }, 60s,
            "column changes streamed; sluice log:\n" + sluice_->LogTail());
  ASSERT_TRUE(sluice_->IsRunning()) << sluice_->LogTail();
  EXPECT_EQ(dst_.QueryValue("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                            "attrelid = 'shop.cols'::regclass AND attname = 're'"),
            "numeric(14,3)");
  const std::string gone_exists =
      "SELECT count(*) FROM pg_attribute WHERE attrelid = 'shop.cols'::regclass AND attname = "
      "'gone' AND NOT attisdropped";
  if (mode == "drop") {
    EXPECT_EQ(dst_.QueryValue(gone_exists), "0");
  } else {
    // Kept, nullable: the rows from before the drop keep their values, later ones have none.
    EXPECT_EQ(dst_.QueryValue(gone_exists), "1");
    EXPECT_EQ(dst_.QueryValue("SELECT count(*) FROM shop.cols WHERE gone = 'g' || id"), "200");
    EXPECT_EQ(dst_.QueryValue("SELECT count(*) FROM shop.cols WHERE gone IS NULL"), "2");
  }
  ExpectTablesEqual(src_.Query(after), dst_.Query(after));
}

INSTANTIATE_TEST_SUITE_P(DropSetting, PgToPgColumnsTest, ::testing::Values("keep", "drop"));

// A target that takes no writes for longer than the server's wal_sender_timeout (an outside
// lock): the source, blocked on the full queue, keeps its replication connection alive with
// status updates (Source::KeepAlive), so the walsender is not ended for a timeout and no
// reconnect happens; once the lock goes, the target catches up.
TEST_F(PgToPgTest, SlowTargetDoesNotTimeOutTheReplicationStream) {
  PgClient admin;
  admin.Exec("ALTER SYSTEM SET wal_sender_timeout = '3s'");
  admin.Exec("SELECT pg_reload_conf()");
  struct Restore {
    ~Restore() {
      PgClient a;
      a.TryQuery("ALTER SYSTEM RESET wal_sender_timeout");
      a.TryQuery("SELECT pg_reload_conf()");
    }
  } restore;
  src_.Exec("CREATE TABLE shop.slow (id int PRIMARY KEY, v text);"
            "INSERT INTO shop.slow SELECT i, 'v' || i FROM generate_series(1, 10) i");
  sluice_ = SluiceProcess::Run(Config({{"max.queue.size", "50"}, {"max.batch.size", "10"},
                                       {"sink.batch.size", "10"}, {"status.update.interval.ms", "1000"}}));
  const std::string slow = "SELECT id::text, v FROM shop.slow";
  WaitUntil([&] { return TablesMatch(src_.Query(slow), dst_.TryQuery(slow).rows); }, 120s,
            "snapshot of shop.slow");
  const std::string slot = "p2p_" + src_db_;
  auto walsender = [&] {
    return admin.QueryValue("SELECT coalesce(active_pid::text, '') FROM pg_replication_slots "
                            "WHERE slot_name = '" + slot + "'");
  };
  const std::string pid = walsender();
  ASSERT_FALSE(pid.empty());
  ProcessOptions lock;
  lock.argv = {"psql", "-X", "-q", "-h", dst_.host(), "-p", std::to_string(dst_.port()), "-U",
               dst_.user(), "-d", dst_db_, "-c",
               "BEGIN; LOCK TABLE shop.slow IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(9); COMMIT;"};
  Subprocess holder(lock);
  WaitUntil([&] {
    return admin.QueryValue("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = "
                            "l.database WHERE d.datname = '" + dst_db_ + "' AND l.mode = "
                            "'AccessExclusiveLock' AND l.granted") != "0";
  }, 30s, "the outside session holds the lock");
  for (int i = 0; i < 20; ++i) {
    src_.Exec("INSERT INTO shop.slow SELECT g, 'w' FROM generate_series(" + std::to_string(100 + i * 50) +
              ", " + std::to_string(149 + i * 50) + ") g");
  }
  auto held = holder.WaitFor(60s);
  ASSERT_TRUE(held.has_value() && held->Success()) << holder.Stderr();
  WaitUntil([&] { return TablesMatch(src_.Query(slow), dst_.TryQuery(slow).rows); }, 60s,
            "the target catches up after the lock; sluice log:\n" + sluice_->LogTail());
  EXPECT_EQ(walsender(), pid) << "the replication connection was replaced; sluice log:\n"
                              << sluice_->LogTail(80);
  EXPECT_EQ(sluice_->Stderr().find("lost"), std::string::npos) << sluice_->LogTail(80);
}

}  // namespace
}  // namespace sluice::itest
