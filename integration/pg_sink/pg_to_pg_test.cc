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

class PgToPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_db_ = CreateScratchPgDatabase("p2p_src");
    dst_db_ = CreateScratchPgDatabase("p2p_dst");
    src_ = PgClient(src_db_);
    dst_ = PgClient(dst_db_);
    src_.Exec(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');"
        "CREATE TABLE items (id bigint PRIMARY KEY, name varchar(64), amount numeric(12,2), "
        "tags text[], doc jsonb, body text, born date, seen timestamptz, mood mood, data bytea);"
        "CREATE SCHEMA shop;"
        "CREATE TABLE shop.lines (region text, line int, qty int, PRIMARY KEY (region, line));"
        "CREATE TABLE shop.empty_box (id int PRIMARY KEY, label text);"
        "CREATE SCHEMA \"\"\"; DROP TABLE x; --\";"
        "CREATE TABLE \"\"\"; DROP TABLE x; --\".\"\"\"; DROP TABLE x; --\" "
        "(\"\"\"; DROP TABLE x; --\" int PRIMARY KEY, \"Ünï 名\" text)");
  }
  void TearDown() override {
    if (sluice_) sluice_->Kill();
    PgClient admin;
    admin.TryQuery("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE "
                   "database = '" + src_db_ + "'");
    admin.TryQuery("DROP DATABASE IF EXISTS \"" + src_db_ + "\" WITH (FORCE)");
    admin.TryQuery("DROP DATABASE IF EXISTS \"" + dst_db_ + "\" WITH (FORCE)");
  }

  nlohmann::json Config() const {
    return {{"name", "p2p"},
            {"connector.class", "postgres"},
            {"database.hostname", src_.host()},
            {"database.port", std::to_string(src_.port())},
            {"database.user", src_.user()},
            {"database.dbname", src_db_},
            {"slot.name", "p2p_" + src_db_},
            {"publication.name", "p2p_" + src_db_},
            {"sink.type", "postgres"},
            {"sink.url", dst_.Url()},
            {"sink.batch.ms", "100"}};
  }

  // Rows [from, to) in every table; `tag` varies the values.
  void InsertRows(int from, int to, const std::string& tag = "a") const {
    src_.Exec(
        "INSERT INTO items SELECT i, 'n' || i || '" + tag + " é😀', i * 1.25, ARRAY['x' || i, NULL, "
        "'q\"uote'], jsonb_build_object('i', i), CASE WHEN i % 50 = 0 THEN repeat(md5(i::text), "
        "400) ELSE 'short' END, DATE '2000-01-01' + i, TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * "
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

  std::string src_db_, dst_db_;
  PgClient src_, dst_;
  std::optional<SluiceProcess> sluice_;
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
  InsertRows(0, 60000);
  sluice_ = SluiceProcess::Run(Config());
  WaitUntil([&] { return dst_.TryQuery("SELECT 1 FROM items LIMIT 1").rows.size() == 1; }, 120s,
            "the snapshot starts writing");
  sluice_->Kill();
  InsertRows(60000, 61000, "k");
  ChurnRows(1);
  sluice_->Restart();
  WaitForTargetToMatch(180s);
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

}  // namespace
}  // namespace sluice::itest
