// The PostgreSQL source end to end: `sluice run` (snapshot, then pgoutput streaming) into the
// file sink; the JSON-lines files, replayed by key, must equal the source table. Scenarios:
// concurrent writes during the snapshot, kill -9 during the snapshot and during streaming,
// every common type, unchanged TOAST (the marker itself checked), truncate, added/dropped and
// retyped columns, REPLICA IDENTITY FULL on a keyless table, an exclude list, a 1-million-row
// transaction, and the set-up errors reported before anything is written.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "integration/common/itest.h"
#include "integration/postgres/replay.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

class PostgresSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = CreateScratchPgDatabase("pgsrc");
    src_ = PgClient(db_);
    slot_ = "s_" + db_;
  }
  void TearDown() override {
    if (sluice_) sluice_->Kill();
    DropPgSourceDatabase(db_, /*terminate_active=*/true);
    if (!role_.empty()) PgClient().TryQuery("DROP ROLE IF EXISTS " + role_);
  }

  nlohmann::json Config(const std::string& out) const {
    return {{"name", "pgsrc"},
            {"connector.class", "postgres"},
            {"database.hostname", src_.host()},
            {"database.port", std::to_string(src_.port())},
            {"database.user", src_.user()},
            {"database.dbname", db_},
            {"slot.name", slot_},
            {"publication.name", "p_" + db_},
            {"sink.type", "file"},
            {"sink.url", out},
            {"sink.file.fsync", "false"},
            // Replaying the file needs every truncate (a TRUNCATE, a restarted snapshot's).
            {"skipped.operations", "none"},
            {"sink.batch.ms", "50"}};
  }

  void Run(const nlohmann::json& config) { sluice_.emplace(SluiceProcess::Run(config)); }

  // The `items` table used by most scenarios: source and replayed target.
  SqlRows SourceItems() const {
    return src_.Query("SELECT id::text, name, qty::text, amount::text FROM items");
  }
  SqlRows TargetItems(const std::filesystem::path& out) const {
    return ReplayTable(out, "public", "items", {"id"},
                       {{"id"}, {"name"}, {"qty"}, {"amount"}});
  }
  void CreateItems(int rows) const {
    src_.Exec("CREATE TABLE items (id int PRIMARY KEY, name text, qty int, amount numeric(12,2));"
              "INSERT INTO items SELECT i, 'n' || i, i % 100, i * 1.25 FROM generate_series(1, " +
              std::to_string(rows) + ") i");
  }
  void Churn(int round) const {
    std::string r = std::to_string(round);
    src_.Exec("INSERT INTO items SELECT i, 'w' || i, 1, 2.5 FROM generate_series(" +
              std::to_string(1000000 + round * 50) + ", " + std::to_string(1000000 + round * 50 + 49) +
              ") i; UPDATE items SET qty = qty + 1, name = name || 'u' WHERE id % 97 = " +
              std::to_string(round % 97) + "; DELETE FROM items WHERE id % 89 = " +
              std::to_string(round % 89));
  }
  void WaitForItems(const std::filesystem::path& out, std::chrono::milliseconds timeout) {
    WaitUntil([&] { return TablesMatch(SourceItems(), TargetItems(out)); }, timeout,
              "the replayed file equals the source; sluice log:\n" + sluice_->LogTail());
  }

  std::string db_, slot_;
  std::string role_;  // a role the test created
  PgClient src_;
  std::optional<SluiceProcess> sluice_;
};

TEST_F(PostgresSourceTest, SnapshotThenStreamUnderConcurrentWrites) {
  CreateItems(100000);
  TempDir out;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int round = 0; !stop.load(); ++round) Churn(round);
  });
  Run(Config(out.path()));
  std::this_thread::sleep_for(4s);
  stop = true;
  writer.join();
  src_.Exec("UPDATE items SET amount = amount + 1 WHERE id < 100; DELETE FROM items WHERE id < 50");
  WaitForItems(out.path(), 90s);
  EXPECT_GT(CountEvents(out.path(), "public", "items", "r"), 0u);
  EXPECT_GT(CountEvents(out.path(), "public", "items", "u"), 0u);
  ExpectTablesEqual(SourceItems(), TargetItems(out.path()));
}

TEST_F(PostgresSourceTest, ResumesAfterKillDuringSnapshot) {
  CreateItems(400000);
  src_.Exec("CREATE TABLE other (id int PRIMARY KEY, v text);"
            "INSERT INTO other SELECT i, 'v' || i FROM generate_series(1, 1000) i");
  TempDir out;
  auto config = Config(out.path());
  config["snapshot.max.threads"] = "1";
  config["snapshot.chunk.pages"] = "200";
  config["max.batch.size"] = "200";
  config["sink.batch.size"] = "200";
  config["sink.file.fsync"] = "true";
  Run(config);
  // The whole snapshot takes well under a second here: poll the file's size every few
  // milliseconds (parsing it would be too slow) so that the kill lands mid-snapshot.
  const std::filesystem::path items = out.path() / "public.items.jsonl";
  WaitUntil([&] {
    std::error_code ec;
    return std::filesystem::file_size(items, ec) > 100000 && !ec;
  }, 60s, "some snapshot rows written", 2ms);
  sluice_->Kill();
  // Rows deleted and changed between the two attempts must not survive in the target.
  src_.Exec("DELETE FROM items WHERE id <= 10000; UPDATE items SET name = 'x' WHERE id % 7 = 0;"
            "DELETE FROM other WHERE id % 2 = 0");
  sluice_->Restart();
  WaitForItems(out.path(), 120s);
  EXPECT_GT(CountEvents(out.path(), "public", "items", "t"), 0u);
  ExpectTablesEqual(src_.Query("SELECT id::text, v FROM other"),
                    ReplayTable(out.path(), "public", "other", {"id"}, {{"id"}, {"v"}}));
}

TEST_F(PostgresSourceTest, ResumesAfterKillDuringStreaming) {
  CreateItems(1000);
  TempDir out;
  Run(Config(out.path()));
  WaitForItems(out.path(), 60s);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int round = 0; !stop.load(); ++round) Churn(round);
  });
  std::this_thread::sleep_for(2s);
  sluice_->Kill();
  std::this_thread::sleep_for(1s);
  stop = true;
  writer.join();
  src_.Exec("UPDATE items SET qty = -1 WHERE id % 3 = 0");
  sluice_->Restart();
  WaitForItems(out.path(), 90s);
  // The slot advanced to what the sink made durable.
  WaitUntil([&] {
    return PgClient().QueryValue("SELECT confirmed_flush_lsn > '0/0' FROM pg_replication_slots "
                                 "WHERE slot_name = '" + slot_ + "'") == "t";
  }, 30s, "confirmed_flush_lsn advances");
}

// A DBA created the publication for exactly the captured tables, and the connector's user does
// not own it: with the default publication.autocreate.mode=filtered the connector finds it
// complete and leaves it alone, at the first start and at a restart. ALTER PUBLICATION needs
// ownership, so an update run on every start (the lists once compared as quoted SQL, which
// never matched) failed such a user with "must be owner of publication".
TEST_F(PostgresSourceTest, StartsOnACompletePublicationItDoesNotOwn) {
  CreateItems(500);
  src_.Exec("CREATE TABLE \"Mixed Case\" (id int PRIMARY KEY, v text);"
            "INSERT INTO \"Mixed Case\" VALUES (1, 'a');"
            "CREATE PUBLICATION p_" + db_ + " FOR TABLE items, \"Mixed Case\"");
  const std::string user = "u_" + db_;
  PgClient().Exec("CREATE ROLE " + user + " LOGIN REPLICATION");
  role_ = user;  // dropped by TearDown, after the database that holds its grants
  src_.Exec("GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + user);
  TempDir out;
  auto config = Config(out.path());
  config["database.user"] = user;
  Run(config);
  WaitForItems(out.path(), 60s);
  sluice_->Kill();
  src_.Exec("UPDATE items SET qty = -2 WHERE id % 5 = 0");
  sluice_->Restart();
  WaitForItems(out.path(), 60s);
  EXPECT_EQ(src_.QueryValue("SELECT count(*) FROM pg_publication_tables WHERE pubname = 'p_" +
                            db_ + "'"),
            "2");
}

// A resumed stream opens few connections before its first change (each is a backend start and
// an authentication on the server, part of every catch-up's time): the start-up check's regular
// connection serves the start and then the relation catalog, and its replication connection
// the stream. Sessions are counted by the server (pg_stat_database.sessions counts regular
// backends, not walsenders), read from another database so that the reads do not count.
TEST_F(PostgresSourceTest, ResumedStreamReusesTheStartUpCheckConnections) {
  CreateItems(100);
  TempDir out;
  Run(Config(out.path()));
  WaitForItems(out.path(), 60s);
  PgClient admin;
  auto sessions_after_exit = [&] {
    sluice_->Stop();
    WaitUntil([&] {
      return admin.QueryValue("SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db_ +
                              "'") == "0";
    }, 30s, "the connector's backends end");
    // Each backend reports its session when it exits; read until two reads agree.
    std::string last, now = "-";
    while (last != now) {
      last = now;
      std::this_thread::sleep_for(200ms);
      now = admin.QueryValue("SELECT sessions FROM pg_stat_database WHERE datname = '" + db_ +
                             "'");
    }
    return std::stol(now);
  };
  const long before = sessions_after_exit();
  sluice_->Restart();
  WaitUntil([&] {
    return (sluice_->Stderr() + sluice_->Stdout()).find("postgres streaming from slot") !=
           std::string::npos;
  }, 60s, "the stream starts");
  const long opened = sessions_after_exit() - before;
  // One regular connection for the check, the start and the catalog (three before), plus the
  // slot health monitor's.
  EXPECT_LE(opened, 2) << sluice_->LogTail();
  EXPECT_GE(opened, 1);
}

TEST_F(PostgresSourceTest, EveryTypeRoundTrips) {
  src_.Exec(
      "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');"
      "CREATE DOMAIN posint AS integer CHECK (VALUE > 0);"
      "CREATE TABLE types (id int PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, "
      "n numeric(30,10), nu numeric, f4 real, f8 double precision, t text, vc varchar(20), "
      "ch char(5), b boolean, by bytea, d date, tm time, ts timestamp(3), tz timestamptz, "
      "iv interval, u uuid, j json, jb jsonb, ia integer[], ta text[], e mood, dom posint, "
      "ip inet, cidr cidr, mac macaddr, m money, bits bit(4), vb varbit, pt point, tt timetz)");
  const std::string values =
      "(1, -32768, 2147483647, -9223372036854775808, 12345678901234567890.0123456789, "
      "'NaN', 1.5, 'NaN', 'tab\tnew\nline \\ back \"q\" é😀', 'x', 'ab', true, "
      "'\\x00ff5c0a'::bytea, '2024-02-29', '23:59:59.999999', '2024-01-02 03:04:05.678', "
      "'2024-01-02 03:04:05.5+02', '1 year 2 mons 3 days 04:05:06.5', "
      "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{\"a\": [1, 2]}', '{\"b\": null}', "
      "'{1,NULL,3}', ARRAY['a b', NULL, 'q\"u,o{t}e'], 'happy', 42, '192.168.0.1/24', "
      "'10.0.0.0/8', '08:00:2b:01:02:03', 12.34, B'1010', B'101', '(1,2)', '04:05:06+03'),"
      "(2, 0, 0, 0, 0, 'Infinity', '-Infinity', 1e308, '', '', '', false, '', 'infinity', "
      "'00:00', '-infinity', 'infinity', '-1 days', '00000000-0000-0000-0000-000000000000', "
      "'[]', '[]', '{}', '{}', 'sad', 1, '::1', '::/0', 'ff:ff:ff:ff:ff:ff', -1, B'0000', "
      "B'', '(0,0)', '00:00+00'),"
      "(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
      "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
      "NULL, NULL, NULL)";
  // Rows 1-3 come through the snapshot, 11-13 through the stream.
  src_.Exec("INSERT INTO types VALUES " + values);
  TempDir out;
  Run(Config(out.path()));
  WaitUntil([&] { return CountEvents(out.path(), "public", "types") >= 3; }, 60s, "snapshot rows");
  std::string streamed = values;
  for (auto [from, to] : {std::pair{"(1, ", "(11, "}, {"(2, ", "(12, "}, {"(3, ", "(13, "}}) {
    streamed.replace(streamed.find(from), std::string(from).size(), to);
  }
  src_.Exec("INSERT INTO types VALUES " + streamed);
  const std::string select =
      "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET IntervalStyle = 'iso_8601'; "
      "SET extra_float_digits = 1; SELECT id::text, i2::text, i4::text, i8::text, n::text, "
      "nu::text, f4::text, f8::text, t, vc, ch, b::text, encode(by, 'hex'), d::text, tm::text, "
      "ts::text, tz::text, iv::text, u::text, j::text, jb::text, array_to_json(ia)::text, "
      "array_to_json(ta)::text, e::text, dom::text, nullif(format('%s', ip), ''), cidr::text, mac::text, m::text, "
      "bits::text, vb::text, pt::text, tt::text FROM types";
  std::vector<ReplayColumn> cols = {
      {"id"}, {"i2"}, {"i4"}, {"i8"}, {"n"}, {"nu"}, {"f4"}, {"f8"}, {"t"}, {"vc"}, {"ch"},
      {"b"}, {"by", Render::kBytesHex}, {"d", Render::kDate}, {"tm", Render::kTime},
      {"ts", Render::kTimestamp}, {"tz", Render::kTimestampTz}, {"iv"}, {"u"}, {"j"}, {"jb"},
      {"ia"}, {"ta"}, {"e"}, {"dom"}, {"ip"}, {"cidr"}, {"mac"}, {"m"}, {"bits"}, {"vb"},
      {"pt"}, {"tt"}};
  WaitUntil([&] { return CountEvents(out.path(), "public", "types") >= 6; }, 60s, "stream rows");
  ExpectTablesEqual(src_.Query(select), ReplayTable(out.path(), "public", "types", {"id"}, cols));
}

// Binary COPY (the default for tables whose types all decode in binary) must produce exactly
// the canonical text that text COPY does, on the edge values of every binary-decoded type:
// float notation thresholds, numeric scales and special values, BC and infinite dates and
// timestamps (up to the last one int64 microseconds hold: FarFutureTimestamps… below), 24:00
// times, unicode text, bytes with every escape-worthy byte.
TEST_F(PostgresSourceTest, BinaryAndTextSnapshotsAgree) {
  src_.Exec(
      "CREATE TYPE hue AS ENUM ('red', 'grün');"
      "CREATE DOMAIN price AS numeric(10,2);"
      "CREATE TABLE edge (id int PRIMARY KEY, i2 smallint, i4 int, i8 bigint, o oid, f4 real, "
      "f8 double precision, n numeric, n2 numeric(40,5), t text, vc varchar(10), ch char(4), "
      "nm name, b boolean, by bytea, d date, tm time(3), ts timestamp, tz timestamptz, u uuid, "
      "j json, jb jsonb, e hue, p price);"
      "INSERT INTO edge VALUES "
      "(1, -32768, -2147483648, -9223372036854775808, 0, 1e-5, 1e15, 0, 0, '', '', '', '', "
      "false, '', '4713-01-01 BC', '00:00', '4713-01-01 00:00 BC', '0044-03-15 12:00:00+00 BC', "
      "'00000000-0000-0000-0000-000000000000', '{}', '{}', 'red', 0),"
      "(2, 32767, 2147483647, 9223372036854775807, 4294967295, 123456, 999999999999999, "
      "-0.000001, -123456789012345.12345, 'tab\tnl\nbs\\ é😀', 'x', 'ab', 'nm', true, "
      "'\\x00010a0d095c7f80ff'::bytea, 'infinity', '24:00', 'infinity', '-infinity', "
      "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2.50]}', '{\"b\": null, \"a\": 1}', "
      "'grün', -12.5),"
      "(3, 1, 1, 1, 1, 1234567, 0.0001, 'NaN', 0.1, 'x', 'y', 'z', 'n', true, '\\x41', "
      "'-infinity', '23:59:59.999', '2000-01-01 00:00:00.000001', '1999-12-31 23:59:59.5+00', "
      "'ffffffff-ffff-ffff-ffff-ffffffffffff', 'null', '[1, \"x\"]', 'red', 99999999.99),"
      "(4, 0, 0, 0, 0, 'NaN', 'Infinity', 'Infinity', 1e14, 'a', 'b', 'c', 'd', false, '\\x', "
      "'2024-02-29', '12:34:56.789', '294247-01-10 04:00:54.775807', '1970-01-01 00:00+00', "
      "'123e4567-e89b-12d3-a456-426614174000', '1', '\"s\"', 'grün', NULL),"
      "(5, NULL, NULL, NULL, NULL, '-Infinity', '-0', '-Infinity', 12345678901234567890.123, "
      "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
      "(6, 7, 7, 7, 7, 3.4028235e38, 1.7976931348623157e308, 1e-20, -0.5, 'q', 'q', 'q', 'q', "
      "true, '\\x00', '0001-01-01', '00:00:00.001', '0001-01-01 00:00:00', "
      "'2262-04-11 23:47:16.854775+00', '11111111-2222-3333-4444-555555555555', '[]', '[]', "
      "'red', 0.01),"
      "(7, 8, 8, 8, 8, 1.4e-45, 5e-324, 1000000, 1e-5, 'w', 'w', 'w', 'w', false, '\\xdeadbeef', "
      "'1999-12-31', '01:02:03', '1900-02-28 01:02:03.4', '2100-03-01 00:00:00.25+00', "
      "'abcdefab-cdef-abcd-efab-cdefabcdefab', '{\"k\": \"\\u00e9\"}', '{\"k\": \"\\u00e9\"}', "
      "'grün', -0.01),"
      "(8, 9, 9, 9, 9, 0.1, 0.1, 123.456, 100, 'v', 'v', 'v', 'v', true, '\\x0102', "
      "'2000-01-01', '10:00', '2000-01-01 00:00', '2000-01-01 00:00+00', "
      "'00000000-0000-0000-0000-000000000001', '2.5', '2.5', 'red', 1),"
      "(9, 10, 10, 10, 10, 100000, 1e16, 10000, 0.00001, 'u', 'u', 'u', 'u', false, '\\x03', "
      "'2000-03-01', '23:00', '2038-01-19 03:14:08', '2038-01-19 03:14:08+00', "
      "'00000000-0000-0000-0000-000000000002', 'true', 'true', 'red', 2),"
      "(10, 11, 11, 11, 11, 1000000, 123456789012345.6, 0.00000000000000000001, 1e-4, 's', 's', "
      "'s', 's', true, '\\x04', '1000-01-01', '00:00:01', '1000-01-01 00:00:01', "
      "'1000-01-01 00:00:01+00', '00000000-0000-0000-0000-000000000003', '{}', '{}', 'red', 3)");
  auto snapshot = [&](const std::string& format, const std::string& slot) {
    TempDir out;
    nlohmann::json config = Config(out.path());
    config["snapshot.mode"] = "initial_only";
    config["snapshot.copy.format"] = format;
    config["slot.name"] = slot;
    CommandResult run = SluiceProcess::RunToCompletion("run", config, 120s);
    EXPECT_TRUE(run.Success()) << run.err;
    EXPECT_NE((run.out + run.err).find("binary COPY for " + std::string(format == "binary" ? "1" : "0") +
                                       " of 1 tables"),
              std::string::npos)
        << run.out << run.err;
    std::map<int, std::string> rows;
    std::ifstream in(out.path() / "public.edge.jsonl");
    std::vector<std::string> snapshot_markers;
    for (std::string line; std::getline(in, line);) {
      nlohmann::json event = nlohmann::json::parse(line);
      rows[event["after"]["id"].get<int>()] = event["after"].dump();
      snapshot_markers.push_back(event["source"]["snapshot"].get<std::string>());
    }
    // Debezium's marker: "last" on the snapshot's final row only.
    EXPECT_EQ(std::count(snapshot_markers.begin(), snapshot_markers.end(), "last"), 1);
    EXPECT_EQ(snapshot_markers.back(), "last");
    return rows;
  };
  std::map<int, std::string> binary = snapshot("binary", slot_ + "_b");
  std::map<int, std::string> text = snapshot("text", slot_ + "_t");
  ASSERT_EQ(binary.size(), 10u);
  ASSERT_EQ(text.size(), 10u);
  for (const auto& [id, after] : text) EXPECT_EQ(binary[id], after) << "row " << id;
  EXPECT_NE(text[2].find("\"f4\":123456"), std::string::npos) << text[2];
}

// Issue 22 item 4: PostgreSQL's last timestamp was written as -9222426057709551617 and its
// timestamptz as "-290278-12-14T15:58:10.448383Z". The timestamptz is now exact; the timestamp
// has no int64 MicroTimestamp, so the run stops naming table, key and column, and writes no
// wrong value.
TEST_F(PostgresSourceTest, FarFutureTimestampsAreExactOrRefusedByName) {
  src_.Exec("CREATE TABLE farz (id int PRIMARY KEY, tz timestamptz);"
            "INSERT INTO farz VALUES (1, '294276-12-31 23:59:59.999999+00');"
            "CREATE TABLE far (id int PRIMARY KEY, ts timestamp);"
            "INSERT INTO far VALUES (7, '294276-12-31 23:59:59.999999');");
  for (const char* format : {"binary", "text"}) {
    SCOPED_TRACE(format);
    TempDir out;
    nlohmann::json config = Config(out.path());
    config["snapshot.mode"] = "initial_only";
    config["snapshot.copy.format"] = format;
    config["slot.name"] = slot_ + "_" + format;
    config["table.include.list"] = "public.farz";
    CommandResult ok = SluiceProcess::RunToCompletion("run", config, 120s);
    ASSERT_TRUE(ok.Success()) << ok.err;
    std::ifstream in(out.path() / "public.farz.jsonl");
    std::string line;
    ASSERT_TRUE(std::getline(in, line));
    EXPECT_EQ(nlohmann::json::parse(line)["after"]["tz"], "+294276-12-31T23:59:59.999999Z") << line;

    config["table.include.list"] = "public.far";
    config["slot.name"] = slot_ + "_" + format + "_2";
    CommandResult refused = SluiceProcess::RunToCompletion("run", config, 120s);
    EXPECT_FALSE(refused.Success());
    for (const char* part : {"public.far", "{\"id\":7}", "column ts", "294276-12-31 23:59:59.999999"}) {
      EXPECT_NE((refused.err + refused.out).find(part), std::string::npos)
          << part << " in:\n" << refused.err << refused.out;
    }
    std::ifstream written(out.path() / "public.far.jsonl");
    std::string content((std::istreambuf_iterator<char>(written)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content.find("294276"), std::string::npos) << content;
    EXPECT_EQ(content.find("-9222426057709551617"), std::string::npos) << content;
  }
}

TEST_F(PostgresSourceTest, ToastTruncateAndColumnChangesMidStream) {
  src_.Exec("CREATE TABLE docs (id int PRIMARY KEY, big text, n int);"
            "INSERT INTO docs SELECT i, (SELECT string_agg(md5(i::text || g::text), '') FROM "
            "generate_series(1, 400) g), i FROM generate_series(1, 20) i;"
            "CREATE TABLE gone (id int PRIMARY KEY); INSERT INTO gone SELECT generate_series(1, 10)");
  TempDir out;
  Run(Config(out.path()));
  auto docs = [&] {
    return ReplayTable(out.path(), "public", "docs", {"id"}, {{"id"}, {"big"}, {"n"}});
  };
  WaitUntil([&] { return TablesMatch(src_.Query("SELECT id::text, big, n::text FROM docs"), docs()); },
            60s, "docs snapshot");
  // An update that leaves the TOASTed column alone sends it as unchanged ('u').
  src_.Exec("UPDATE docs SET n = n + 100");
  WaitUntil([&] { return CountEvents(out.path(), "public", "docs", "u") >= 20; }, 30s, "updates");
  for (const auto& e : ReadEvents(out.path(), "public", "docs", "u")) {
    EXPECT_EQ(e["after"]["big"], "__debezium_unavailable_value") << e.dump();
    EXPECT_TRUE(e["after"]["n"].is_number()) << e.dump();
  }
  ExpectTablesEqual(src_.Query("SELECT id::text, big, n::text FROM docs"), docs());
  src_.Exec("TRUNCATE gone; INSERT INTO gone VALUES (99)");
  WaitUntil([&] {
    return TablesMatch(src_.Query("SELECT id::text FROM gone"),
                       ReplayTable(out.path(), "public", "gone", {"id"}, {{"id"}}));
  }, 30s, "truncate applied");
  src_.Exec("ALTER TABLE docs ADD COLUMN extra text;"
            "INSERT INTO docs (id, big, n, extra) VALUES (100, 'b', 1, 'added');"
            "ALTER TABLE docs DROP COLUMN n; INSERT INTO docs (id, big, extra) VALUES (101, 'c', 'y');"
            "UPDATE docs SET extra = 'z' WHERE id = 1");
  WaitUntil([&] {
    return TablesMatch(src_.Query("SELECT id::text, extra FROM docs"),
                       ReplayTable(out.path(), "public", "docs", {"id"}, {{"id"}, {"extra"}}));
  }, 30s, "column changes streamed");
}

// A keyless table with REPLICA IDENTITY FULL (full before images, and a warning that the target
// has no key), a column type changed mid-stream (later events carry the new type), and a table
// left out by table.exclude.list (no file at all).
TEST_F(PostgresSourceTest, FullIdentityKeylessTypeChangeAndExcludeList) {
  CreateItems(100);
  src_.Exec("CREATE TABLE nokey (a int, b text); ALTER TABLE nokey REPLICA IDENTITY FULL;"
            "INSERT INTO nokey SELECT i, 'b' || i FROM generate_series(1, 10) i;"
            "CREATE TABLE skipped (id int PRIMARY KEY); INSERT INTO skipped VALUES (1)");
  TempDir out;
  auto config = Config(out.path());
  config["table.exclude.list"] = "public\\.skip.*";
  Run(config);
  WaitForItems(out.path(), 60s);
  WaitUntil([&] { return CountEvents(out.path(), "public", "nokey", "r") == 10; }, 30s, "nokey rows");
  src_.Exec("UPDATE nokey SET b = 'changed' WHERE a = 3; DELETE FROM nokey WHERE a = 4;"
            "INSERT INTO skipped VALUES (2); ALTER TABLE items ALTER COLUMN qty TYPE bigint;"
            "UPDATE items SET qty = 5000000000 WHERE id = 7");
  WaitUntil([&] { return CountEvents(out.path(), "public", "nokey", "d") == 1; }, 30s, "nokey delete");
  WaitForItems(out.path(), 30s);
  auto updates = ReadEvents(out.path(), "public", "nokey", "u");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0]["before"], (nlohmann::json{{"a", 3}, {"b", "b3"}}));
  EXPECT_EQ(updates[0]["after"], (nlohmann::json{{"a", 3}, {"b", "changed"}}));
  auto deletes = ReadEvents(out.path(), "public", "nokey", "d");
  EXPECT_EQ(deletes[0]["before"], (nlohmann::json{{"a", 4}, {"b", "b4"}}));
  EXPECT_NE(sluice_->Stderr().find("public.nokey has no primary key"), std::string::npos)
      << sluice_->LogTail();
  auto item_updates = ReadEvents(out.path(), "public", "items", "u");
  ASSERT_FALSE(item_updates.empty());
  EXPECT_EQ(item_updates.back()["after"]["qty"], 5000000000LL) << item_updates.back().dump();
  EXPECT_FALSE(std::filesystem::exists(out.path() / "public.skipped.jsonl"));
}

TEST_F(PostgresSourceTest, MillionRowTransaction) {
  src_.Exec("CREATE TABLE items (id int PRIMARY KEY, name text, qty int, amount numeric(12,2))");
  TempDir out;
  auto config = Config(out.path());
  config["sink.batch.size"] = "50000";
  config["sink.batch.ms"] = "500";
  Run(config);
  WaitUntil([&] {
    return PgClient().QueryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" +
                                 slot_ + "' AND active") == "1";
  }, 30s, "streaming started");
  src_.Exec("INSERT INTO items SELECT i, 'n' || i, i % 100, i * 1.25 FROM generate_series(1, 1000000) i");
  WaitUntil([&] { return CountEvents(out.path(), "public", "items", "c") >= 1000000; }, 120s,
            "a million inserts streamed");
  ExpectTablesEqual(SourceItems(), TargetItems(out.path()));
}

TEST_F(PostgresSourceTest, SetupErrorsAreReportedBeforeAnythingIsWritten) {
  CreateItems(10);
  TempDir out;
  auto expect_failure = [&](nlohmann::json config, const std::string& needle) {
    auto result = SluiceProcess::RunToCompletion("run", config, 60s);
    EXPECT_FALSE(result.Success()) << needle;
    EXPECT_NE((result.err + result.out).find(needle), std::string::npos)
        << "expected '" << needle << "' in:\n" << result.err << result.out;
    EXPECT_FALSE(std::filesystem::exists(out.path() / "public.items.jsonl"));
  };
  auto wrong_pw = Config(out.path());
  wrong_pw["database.user"] = kPasswordUser;
  wrong_pw["database.password"] = "wrong";
  expect_failure(wrong_pw, "password");
  auto norepl = Config(out.path());
  norepl["database.user"] = kNoReplicationUser;
  norepl["database.password"] = kTestPassword;
  expect_failure(norepl, "REPLICATION");
  auto unknown = Config(out.path());
  unknown["table.include.list"] = "public.items,public.nosuchtable";
  expect_failure(unknown, "public.nosuchtable");
  PgClient(db_).Exec("SELECT pg_create_logical_replication_slot('" + slot_ + "', 'pgoutput')");
  expect_failure(Config(out.path()), "already exists");
  // A slot held by another client is an error that says so.
  ProcessOptions recv;
  recv.argv = {"/usr/lib/postgresql/15/bin/pg_recvlogical", "-h", src_.host(), "-p", std::to_string(src_.port()), "-U",
                     src_.user(), "-d", db_, "-S", slot_, "--start", "-o", "proto_version=1",
                     "-o", "publication_names=x", "-f", "/dev/null"};
  Subprocess holder(recv);
  WaitUntil([&] {
    return PgClient().QueryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" +
                                 slot_ + "' AND active") == "1";
  }, 30s, "pg_recvlogical holds the slot");
  auto validate = SluiceProcess::RunToCompletion("validate", Config(out.path()), 60s);
  EXPECT_FALSE(validate.Success());
  EXPECT_NE((validate.err + validate.out).find("in use"), std::string::npos)
      << validate.err << validate.out;
  holder.Kill();
}

// heartbeat.action.query: run on the source every heartbeat.interval.ms while streaming (here an
// insert into a table the connector does not capture); a query that fails stops the connector
// with the query and the server's error; the query without an interval is refused up front.
TEST_F(PostgresSourceTest, HeartbeatActionQueryRunsWhileStreamingAndItsFailureStopsTheConnector) {
  CreateItems(10);
  src_.Exec("CREATE TABLE heartbeat (ts timestamptz NOT NULL)");
  TempDir out;
  auto config = Config(out.path());
  config["table.include.list"] = "public.items";
  config["heartbeat.action.query"] = "INSERT INTO heartbeat VALUES (now())";

  auto no_interval = SluiceProcess::RunToCompletion("validate", config, 60s);
  EXPECT_FALSE(no_interval.Success());
  EXPECT_NE((no_interval.err + no_interval.out).find("heartbeat.interval.ms"), std::string::npos)
      << no_interval.err << no_interval.out;

  config["heartbeat.interval.ms"] = "200";
  Run(config);
  WaitForItems(out.path(), 60s);
  WaitUntil([&] { return std::stoi(src_.QueryValue("SELECT count(*) FROM heartbeat")) >= 5; }, 30s,
            "the heartbeat query runs every 200 ms; sluice log:\n" + sluice_->LogTail());
  // At most once per interval (a generous bound for a loaded machine: 2 s hold 10 at the most).
  const int before = std::stoi(src_.QueryValue("SELECT count(*) FROM heartbeat"));
  std::this_thread::sleep_for(2s);
  const int after = std::stoi(src_.QueryValue("SELECT count(*) FROM heartbeat"));
  EXPECT_GE(after - before, 3);
  EXPECT_LE(after - before, 11);
  // The stream goes on meanwhile.
  src_.Exec("INSERT INTO items VALUES (100, 'hb', 1, 1.00)");
  WaitForItems(out.path(), 60s);

  src_.Exec("DROP TABLE heartbeat");
  auto exited = sluice_->WaitFor(60s);
  ASSERT_TRUE(exited.has_value()) << "a failing heartbeat query stops the connector";
  EXPECT_FALSE(exited->Success());
  const std::string log = sluice_->Stdout() + sluice_->Stderr();
  EXPECT_NE(log.find("heartbeat.action.query 'INSERT INTO heartbeat VALUES (now())' failed"),
            std::string::npos) << sluice_->LogTail();
  EXPECT_NE(log.find("does not exist"), std::string::npos) << sluice_->LogTail();
}

// replica.identity.autoset.values: the connector sets REPLICA IDENTITY FULL on the captured table
// it names at start, so a DELETE carries every column of the old row; a malformed value is
// refused before anything starts.
TEST_F(PostgresSourceTest, ReplicaIdentityAutosetGivesDeletesTheirFullBeforeImage) {
  CreateItems(10);
  TempDir out;
  auto config = Config(out.path());
  config["replica.identity.autoset.values"] = "public\\.nosuch:NOTHING,public\\.items:FULL";
  ASSERT_EQ(src_.QueryValue("SELECT relreplident FROM pg_class WHERE oid = 'items'::regclass"), "d");
  Run(config);
  WaitForItems(out.path(), 60s);
  EXPECT_EQ(src_.QueryValue("SELECT relreplident FROM pg_class WHERE oid = 'items'::regclass"), "f");
  src_.Exec("DELETE FROM items WHERE id = 5");
  WaitForItems(out.path(), 60s);
  std::ifstream in(out.path() / "public.items.jsonl");
  std::string line;
  int deletes = 0;
  while (std::getline(in, line)) {
    auto e = nlohmann::json::parse(line, nullptr, false);
    if (!e.is_object() || e.value("op", "") != "d") continue;
    ++deletes;
    EXPECT_EQ(e["before"]["name"], "n5") << line;
    EXPECT_EQ(e["before"]["qty"], 5) << line;
  }
  EXPECT_EQ(deletes, 1);

  auto bad = Config(out.path());
  bad["replica.identity.autoset.values"] = "public\\.items:EVERYTHING";
  CommandResult refused = SluiceProcess::RunToCompletion("validate", bad, 60s);
  EXPECT_FALSE(refused.Success());
  EXPECT_NE((refused.out + refused.err).find("replica.identity.autoset.values"), std::string::npos)
      << refused.out << refused.err;
}

// snapshot.include.collection.list: the initial snapshot reads only the tables it names; the
// other captured tables are streamed from the snapshot's point on.
TEST_F(PostgresSourceTest, SnapshotIncludeCollectionListSnapshotsOnlyTheTablesItNames) {
  CreateItems(20);
  src_.Exec("CREATE TABLE other (id int PRIMARY KEY, v text);"
            "INSERT INTO other SELECT i, 'old' || i FROM generate_series(1, 5) i");
  TempDir out;
  auto config = Config(out.path());
  config["snapshot.include.collection.list"] = "public\\.items";
  Run(config);
  WaitForItems(out.path(), 60s);
  src_.Exec("INSERT INTO other VALUES (100, 'new'); UPDATE other SET v = 'changed' WHERE id = 1");
  auto other = [&] {
    return ReplayTable(out.path(), "public", "other", {"id"}, {{"id"}, {"v"}});
  };
  WaitUntil([&] { return other().size() == 2; }, 60s,
            "the streamed changes of the table outside the snapshot list arrive; sluice log:\n" +
                sluice_->LogTail());
  ExpectTablesEqual(src_.Query("SELECT id::text, v FROM other WHERE id IN (1, 100)"), other());
}

}  // namespace
}  // namespace sluice::itest
