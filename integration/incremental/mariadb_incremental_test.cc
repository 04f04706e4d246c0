// Incremental snapshots of the MariaDB source through `sluice serve` against real servers (the
// PostgreSQL-source suite is incremental_snapshot_test.cc): a table re-read in chunks while a
// writer updates, deletes and re-inserts random keys of that same table, ending with the
// PostgreSQL target equal to the source (count and md5 over every column, each side read with
// its own command-line client); a kill -9 in the middle that resumes from the last durable chunk;
// cancel and re-trigger; a snapshot after an ALTER (the chunk reader's cached schema); a table
// added through PATCH …/config; bad requests. The same writer
// with incremental.snapshot.consistency=window (DBLog's window de-duplication, the method MySQL 8
// gets), which must drop chunk rows; keys of every type the window compares (INT, BIGINT
// UNSIGNED, VARCHAR under a _ci collation, VARBINARY, BINARY, DATETIME(6), DECIMAL) matched
// between the chunk's and the binlog's text; an unknown consistency value refused.
//
// Size: SLUICE_INCR_ROWS rows (default 20000, bounded for `make test`).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <thread>

#include "integration/incremental/snapshot_progress.h"

namespace sluice::itest {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using nlohmann::json;

int Rows() {
  const char* v = std::getenv("SLUICE_INCR_ROWS");
  return v && *v ? std::atoi(v) : 20000;
}

// `n` rows 1..n of the numbers CTE, for INSERT … SELECT.
std::string Numbers(int n) {
  return "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < " +
         std::to_string(n) + ") ";
}

class MariadbIncrementalSnapshot : public ::testing::Test {
 protected:
  void SetUp() override {
    source_db_ = CreateScratchMysqlDatabase("minc_src");
    target_db_ = CreateScratchPgDatabase("minc_dst");
    name_ = source_db_;
    std::random_device rd;
    server_id_ = 100000 + rd() % 1000000;
    MysqlClient(source_db_).Exec(
        "SET SESSION max_recursive_iterations = 10000000;"
        "CREATE TABLE live (id int PRIMARY KEY, v varchar(32));"
        "CREATE TABLE big (id int PRIMARY KEY, k2 varchar(8) NOT NULL DEFAULT 'x', "
        "  v varchar(64), n decimal(12,2), ts datetime(6) NOT NULL DEFAULT "
        "  '2024-01-02 03:04:05.123456');"
        "INSERT INTO big (id, v, n) " + Numbers(Rows()) + "SELECT i, md5(i), i / 7 FROM g;"
        "CREATE TABLE nokey (v text);"
        "CREATE TABLE later (id bigint, name varchar(16), PRIMARY KEY (name, id));"
        "INSERT INTO later " + Numbers(3000) + "SELECT i, concat('n', i % 13) FROM g;");
  }

  void TearDown() override {
    writer_.Stop();
    DropMysqlDatabase(source_db_);
    DropPgDatabase(target_db_);
  }

  json Config(const std::string& include, int chunk) const {
    json config = {{"connector.class", "mysql"},
                   {"database.hostname", TestEnv::MysqlHost()},
                   {"database.port", std::to_string(TestEnv::MysqlPort())},
                   {"database.user", kPasswordUser},
                   {"database.password", kTestPassword},
                   {"database.server.id", std::to_string(server_id_)},
                   {"database.include.list", source_db_},
                   {"table.include.list", include},
                   {"heartbeat.interval.ms", "200"},
                   {"snapshot.mode", mode_},
                   {"incremental.snapshot.chunk.size", std::to_string(chunk)},
                   {"sink.type", "postgres"},
                   {"sink.url", PgClient(target_db_).Url()},
                   {"sink.batch.ms", "50"}};
    config.update(extra_);
    return {{"name", name_}, {"config", config}};
  }
  std::string Include(const std::string& tables) const {
    std::string out;
    for (size_t start = 0; start <= tables.size();) {
      size_t end = tables.find(',', start);
      if (end == std::string::npos) end = tables.size();
      out += (out.empty() ? "" : ",") + source_db_ + "\\." + tables.substr(start, end - start);
      start = end + 1;
    }
    return out;
  }
  std::string Qualified(const std::string& table) const { return source_db_ + "." + table; }
  std::string Target(const std::string& table) const {
    return "\"" + source_db_ + "\"." + table;
  }

  bool TargetHasRow(const std::string& table, int id) {
    SqlResult r = PgClient(target_db_).TryQuery("SELECT count(*) FROM " + Target(table) +
                                                " WHERE id = " + std::to_string(id));
    return r.ok && !r.rows.empty() && r.rows[0][0] == "1";
  }

  // Starts the connector (snapshot.mode no_data: nothing is copied first) and waits until it
  // streams.
  void StartStreaming(ServeProcess& serve, const std::string& tables, int chunk) {
    serve.client().Expect(201, "POST", "/connectors", Config(Include(tables), chunk).dump());
    serve.WaitForState(name_, "RUNNING");
    MarkerArrives();
  }

  // A new row of `live` reaches the target: the stream has caught up to now.
  void MarkerArrives() {
    int id = ++marker_;
    MysqlClient(source_db_).Exec("INSERT INTO live VALUES (" + std::to_string(id) + ", 'm')");
    WaitUntil([&] { return TargetHasRow("live", id); }, std::chrono::seconds(60),
              "marker row " + std::to_string(id) + " streams to the target");
  }

  // Updates, deletes and re-inserts random keys of `big`, each statement its own transaction,
  // until writer_.Stop().
  void StartWriter() {
    writer_.Start([this, rng = std::mt19937(std::random_device{}())]() mutable {
      std::uniform_int_distribution<int> key(1, Rows());
      std::string sql;
      for (int i = 0; i < 40; ++i) {
        const std::string k = std::to_string(key(rng));
        switch (rng() % 3) {
          case 0:
            sql += "UPDATE big SET v = md5(rand()), n = n + 1, ts = now(6) WHERE id = " + k + ";";
            break;
          case 1:
            sql += "DELETE FROM big WHERE id = " + k + ";";
            break;
          default:
            sql += "INSERT INTO big (id, v, n) VALUES (" + k + ", 're" + k + "', " + k +
                   ") ON DUPLICATE KEY UPDATE v = 'up" + k + "';";
        }
      }
      MysqlClient(source_db_).TryQuery(sql);
    });
  }

  // Count and md5 over every column, each side with its own client.
  void ExpectEqual(const std::string& table, const std::string& columns, const std::string& order) {
    MarkerArrives();
    std::string source = MysqlClient(source_db_).QueryValue(
        "SET SESSION group_concat_max_len = 1073741824; SELECT CONCAT(COUNT(*), ' ', "
        "COALESCE(MD5(GROUP_CONCAT(CONCAT_WS(',', " + columns + ") ORDER BY " + order +
        " SEPARATOR '|')), '-')) FROM " + table);
    std::string target = PgClient(target_db_).QueryValue(
        "SELECT count(*) || ' ' || coalesce(md5(string_agg(concat_ws(',', " + columns +
        "), '|' ORDER BY " + order + ")), '-') FROM " + Target(table));
    EXPECT_EQ(source, target) << table << ": source and target differ";
  }
  void ExpectBigEqual() {
    // datetime(6) printed alike on both sides.
    MarkerArrives();
    std::string source = MysqlClient(source_db_).QueryValue(
        "SET SESSION group_concat_max_len = 1073741824; SELECT CONCAT(COUNT(*), ' ', "
        "MD5(GROUP_CONCAT(CONCAT_WS(',', id, k2, v, n, DATE_FORMAT(ts, '%Y-%m-%d "
        "%H:%i:%s.%f')) ORDER BY id SEPARATOR '|'))) FROM big");
    std::string target = PgClient(target_db_).QueryValue(
        "SELECT count(*) || ' ' || md5(string_agg(concat_ws(',', id, k2, v, n, to_char(ts, "
        "'YYYY-MM-DD HH24:MI:SS.US')), '|' ORDER BY id)) FROM " + Target("big"));
    EXPECT_EQ(source, target) << "big: source and target differ";
  }

  json Progress(ServeProcess& serve, const std::string& table) {
    return SnapshotTable(serve.client().Expect(200, "GET", "/connectors/" + name_ + "/snapshots"),
                         table);
  }
  json WaitDone(ServeProcess& serve, const std::string& table) {
    return WaitSnapshotDone(serve.client(), name_, table);
  }
  std::string Request(const std::string& table) const {
    return json{{"tables", {Qualified(table)}}}.dump();
  }

  std::string mode_ = "no_data";
  json extra_ = json::object();  // more config keys
  std::string source_db_, target_db_, name_;
  uint32_t server_id_ = 0;
  int marker_ = 0;
  BackgroundWriter writer_;
};

TEST_F(MariadbIncrementalSnapshot, TargetEqualsSourceUnderRandomWrites) {
  ServeProcess serve;
  StartStreaming(serve, "live,big", 500);
  StartWriter();
  json accepted =
      serve.client().Expect(202, "POST", "/connectors/" + name_ + "/snapshots", Request("big"));
  EXPECT_EQ(SnapshotTable(accepted, Qualified("big"))["state"], "PENDING");
  MarkerArrives();  // the stream keeps flowing while chunks are read
  json done = WaitDone(serve, Qualified("big"));
  EXPECT_GE(done["chunks"].get<int>(), Rows() / 500 / 2) << done.dump();
  EXPECT_EQ(done["consistency"], "exact") << done.dump();  // auto, on MariaDB
  EXPECT_GT(writer_.rounds(), 1);
  writer_.Stop();
  ExpectBigEqual();
}

// The window method on MariaDB (forced): chunk rows whose keys the writer touched while a chunk
// was read are dropped, the rest placed at the high mark; the target ends equal to the source.
TEST_F(MariadbIncrementalSnapshot, WindowMethodDropsTouchedRowsUnderRandomWrites) {
  extra_ = {{"incremental.snapshot.consistency", "window"}};
  ServeProcess serve;
  StartStreaming(serve, "live,big", 500);
  StartWriter();
  serve.client().Expect(202, "POST", "/connectors/" + name_ + "/snapshots", Request("big"));
  MarkerArrives();
  json done = WaitDone(serve, Qualified("big"));
  EXPECT_EQ(done["consistency"], "window") << done.dump();
  EXPECT_GT(done["dropped_rows"].get<int>(), 0) << done.dump();
  EXPECT_GE(done["chunks"].get<int>(), Rows() / 500 / 2) << done.dump();
  EXPECT_GT(writer_.rounds(), 1);
  writer_.Stop();
  ExpectBigEqual();
}

// Each key type the window compares: a writer rewrites every row of every table in a loop, so
// every key of every chunk was touched within the second before its read (the window's seeds)
// or while it was read, and the window drops every row it read (the stream carries them all).
// A key whose chunk text differed from the binlog's would leave its row in the chunk.
TEST_F(MariadbIncrementalSnapshot, WindowMatchesKeysOfEveryType) {
  const std::vector<std::pair<std::string, std::string>> keys = {
      {"k_int", "int"},
      {"k_ubig", "bigint unsigned"},
      {"k_ci", "varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"},
      {"k_vbin", "varbinary(16)"},
      {"k_bin", "binary(6)"},
      {"k_dt", "datetime(6)"},
      {"k_dec", "decimal(12,3)"}};
  const std::vector<std::string> values = {
      "i", "18446744073709551615 - i", "concat(if(i % 2, 'Ab', 'aB'), i, '  ')",
      "unhex(concat('00ff', hex(i)))", "unhex(hex(i))",
      "timestamp('2024-02-29 23:59:59.000001') + interval i second", "i / 8"};
  std::string ddl = "SET SESSION max_recursive_iterations = 1000000;";
  std::string tables;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& t = keys[i].first;
    ddl += "CREATE TABLE " + t + " (k " + keys[i].second + " NOT NULL PRIMARY KEY, n int);"
           "INSERT INTO " + t + " " + Numbers(200) + "SELECT " + values[i] + ", 0 FROM g;";
    tables += "," + t;
  }
  MysqlClient(source_db_).Exec(ddl);
  extra_ = {{"incremental.snapshot.consistency", "window"}};
  ServeProcess serve;
  StartStreaming(serve, "live" + tables, 50);
  writer_.Start([this, keys] {
    std::string sql;
    for (const auto& [t, type] : keys) sql += "UPDATE " + t + " SET n = n + 1;";
    MysqlClient(source_db_).TryQuery(sql);
  });
  json request = {{"tables", json::array()}};
  for (const auto& [t, type] : keys) request["tables"].push_back(Qualified(t));
  serve.client().Expect(202, "POST", "/connectors/" + name_ + "/snapshots", request.dump());
  for (const auto& [t, type] : keys) {
    json done = WaitDone(serve, Qualified(t));
    EXPECT_EQ(done["consistency"], "window") << done.dump();
    // Every key was rewritten within the last second of every chunk read: every row dropped.
    EXPECT_EQ(done["dropped_rows"].get<int>(), 200) << type << ": " << done.dump();
    EXPECT_EQ(done["rows"].get<int>(), 0) << type << ": " << done.dump();
  }
  writer_.Stop();
  MarkerArrives();
  for (const auto& [t, type] : keys) {
    EXPECT_EQ(PgClient(target_db_).QueryValue("SELECT count(*) || ' ' || sum(n) FROM " + Target(t)),
              MysqlClient(source_db_).QueryValue("SELECT concat(count(*), ' ', sum(n)) FROM " + t))
        << type;
  }
}

TEST_F(MariadbIncrementalSnapshot, KillDuringSnapshotResumesFromTheLastChunk) {
  ServeProcess serve;
  // Chunks of 25 (800 for the table, ~3 s): with 100 the whole snapshot (200 chunks, ~0.7 s)
  // can end within the half second this test waits before the kill.
  StartStreaming(serve, "live,big", 25);
  StartWriter();
  serve.client().Expect(202, "POST", "/connectors/" + name_ + "/snapshots", Request("big"));
  WaitUntil([&] {
    json t = Progress(serve, Qualified("big"));
    return !t.is_null() && t["chunks"].get<int>() >= 30;
  }, std::chrono::seconds(60), "thirty chunks are handed over");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // flushed and committed
  json before = Progress(serve, Qualified("big"));
  ASSERT_EQ(before["state"], "RUNNING") << before.dump();
  serve.process().Kill();
  serve.process().Restart();
  serve.WaitHealthy();
  serve.WaitForState(name_, "RUNNING");
  json resumed;
  WaitUntil([&] {
    auto r = serve.client().Call("GET", "/connectors/" + name_ + "/snapshots");
    if (r.status != 200) return false;
    resumed = SnapshotTable(r.Json(), Qualified("big"));
    return !resumed.is_null();
  }, std::chrono::seconds(30), "the snapshot shows after the restart");
  EXPECT_GE(resumed["chunks"].get<int>(), 10) << resumed.dump();  // not from the start
  WaitDone(serve, Qualified("big"));
  writer_.Stop();
  ExpectBigEqual();
}

TEST_F(MariadbIncrementalSnapshot, CancelThenTriggerAgain) {
  ServeProcess serve;
  StartStreaming(serve, "live,big", 50);  // 400 chunks: the cancel lands while it runs
  const std::string path = "/connectors/" + name_ + "/snapshots";
  serve.client().Expect(202, "POST", path, Request("big"));
  WaitUntil([&] {
    json t = Progress(serve, Qualified("big"));
    return !t.is_null() && t["chunks"].get<int>() >= 3;
  }, std::chrono::seconds(60), "three chunks are read");
  json cancelled = serve.client().Expect(202, "DELETE", path + "/" + Qualified("big"));
  EXPECT_EQ(SnapshotTable(cancelled, Qualified("big"))["state"], "CANCELLED");
  EXPECT_EQ(serve.client().Call("DELETE", path + "/" + Qualified("big")).status, 404);
  // A filtered re-trigger first: only its rows arrive.
  PgClient(target_db_).Exec("TRUNCATE " + Target("big"));
  serve.client().Expect(202, "POST", path,
                        json{{"tables", {Qualified("big")}}, {"filter", "id % 10 = 3"}}.dump());
  WaitDone(serve, Qualified("big"));
  MarkerArrives();
  EXPECT_EQ(PgClient(target_db_).QueryValue("SELECT count(*) FROM " + Target("big") +
                                            " WHERE id % 10 <> 3"), "0");
  EXPECT_EQ(PgClient(target_db_).QueryValue("SELECT count(*) FROM " + Target("big")),
            MysqlClient(source_db_).QueryValue("SELECT count(*) FROM big WHERE id % 10 = 3"));
  // Then the whole table.
  serve.client().Expect(202, "POST", path, Request("big"));
  WaitDone(serve, Qualified("big"));
  ExpectBigEqual();
}

// The chunk reader keeps a table's loaded schema while SHOW CREATE TABLE shows the same
// definition: a snapshot after an ALTER reads the new column (the target's rows are deleted
// first, so only the snapshot brings them back).
TEST_F(MariadbIncrementalSnapshot, SnapshotAfterAlterReadsTheNewColumn) {
  MysqlClient(source_db_).Exec("CREATE TABLE shape (id int PRIMARY KEY, v varchar(8));"
                               "INSERT INTO shape " + Numbers(300) + "SELECT i, 'a' FROM g;");
  ServeProcess serve;
  StartStreaming(serve, "live,shape", 100);
  const std::string path = "/connectors/" + name_ + "/snapshots";
  serve.client().Expect(202, "POST", path, Request("shape"));
  WaitDone(serve, Qualified("shape"));
  MysqlClient(source_db_).Exec("ALTER TABLE shape ADD COLUMN w int;"
                               "UPDATE shape SET w = id * 3;");
  MarkerArrives();
  PgClient(target_db_).Exec("DELETE FROM " + Target("shape"));
  serve.client().Expect(202, "POST", path, Request("shape"));
  WaitDone(serve, Qualified("shape"));
  ExpectEqual("shape", "id, v, w", "id");
}

// With snapshot.mode=initial, a table that a config change adds to the captured tables is
// snapshotted incrementally on its own, while the others keep streaming.
TEST_F(MariadbIncrementalSnapshot, TableAddedByPatchArrivesWhileOthersStream) {
  mode_ = "initial";
  ServeProcess serve;
  StartStreaming(serve, "live", 400);
  serve.client().Expect(200, "PATCH", "/connectors/" + name_ + "/config",
                        json{{"table.include.list", Include("live,later")}}.dump());
  serve.WaitForState(name_, "RUNNING");
  // The new table's key is (name, id): a composite, text-first key order.
  MysqlClient(source_db_).Exec("UPDATE later SET name = concat(name, 'x') WHERE id % 100 = 0;"
                               "DELETE FROM later WHERE id % 101 = 0;");
  MarkerArrives();
  json done = WaitDone(serve, Qualified("later"));
  EXPECT_GE(done["rows"].get<int>(), 2900) << done.dump();
  ExpectEqual("later", "name, id", "name, id");
  ExpectEqual("live", "id, v", "id");
  // Not requested again at the next start: the position holds the filter it ran under.
  serve.client().Call("POST", "/connectors/" + name_ + "/restart");
  serve.WaitForState(name_, "RUNNING");
  MarkerArrives();
  EXPECT_TRUE(Progress(serve, Qualified("later")).is_null());
}

// Debezium's signalling table is accepted as another trigger (never required); a malformed
// signal is refused in the log and changes nothing.
TEST_F(MariadbIncrementalSnapshot, DebeziumSignalRowStartsASnapshot) {
  MysqlClient(source_db_).Exec("CREATE TABLE dbz_signal (id varchar(42) PRIMARY KEY, "
                               "type varchar(32) NOT NULL, data varchar(2048))");
  extra_ = {{"signal.data.collection", Qualified("dbz_signal")}};
  ServeProcess serve;
  StartStreaming(serve, "live,later,dbz_signal", 250);
  MysqlClient(source_db_).Exec(
      "INSERT INTO dbz_signal VALUES ('s0', 'execute-snapshot', '{\"data-collections\": 7}')");
  MysqlClient(source_db_).Exec(
      "INSERT INTO dbz_signal VALUES ('s1', 'execute-snapshot', '{\"data-collections\": [\"" +
      Qualified("later") + "\"], \"type\": \"incremental\"}')");
  json done = WaitDone(serve, Qualified("later"));
  EXPECT_GE(done["rows"].get<int>(), 2900) << done.dump();
  ExpectEqual("later", "name, id", "name, id");
  const std::string log = serve.process().Stdout() + serve.process().Stderr();
  EXPECT_NE(log.find("mysql: signal in " + Qualified("dbz_signal") + " refused"),
            std::string::npos);
}

TEST_F(MariadbIncrementalSnapshot, BadRequestsAreRefusedWithJsonErrors) {
  ServeProcess serve;
  StartStreaming(serve, "live,big,nokey", 1000);
  RestClient& api = serve.client();
  auto expect = [&](int status, const std::string& body, const std::string& words) {
    auto r = api.Call("POST", "/connectors/" + name_ + "/snapshots", body);
    EXPECT_EQ(r.status, status) << body << " -> " << r.body;
    EXPECT_THAT(r.Json()["message"].get<std::string>(), HasSubstr(words)) << body;
  };
  expect(404, Request("missing"), "does not exist");
  expect(400, Request("nokey"), "no primary key");
  expect(400, Request("later"), "table.include.list");
  expect(400, json{{"tables", {Qualified("big")}}, {"filter", "no_such_column > 1"}}.dump(),
         "filter");
  expect(400, json{{"tables", {Qualified("big")}}, {"filter", "1); DROP TABLE big; --"}}.dump(),
         "filter");
  EXPECT_EQ(MysqlClient(source_db_).QueryValue("SELECT count(*) > 0 FROM big"), "1");
  // An unknown consistency method: the config is refused naming the key, the value and the
  // accepted ones; PATCH leaves the running connector as it was.
  auto patched = api.Call("PATCH", "/connectors/" + name_ + "/config",
                          json{{"incremental.snapshot.consistency", "dblog"}}.dump());
  EXPECT_EQ(patched.status, 400) << patched.body;
  EXPECT_THAT(patched.Json()["message"].get<std::string>(),
              AllOf(HasSubstr("incremental.snapshot.consistency"), HasSubstr("'dblog'"),
                    HasSubstr("auto, exact, window")));
  EXPECT_EQ(serve.State(name_), "RUNNING");
}

}  // namespace
}  // namespace sluice::itest
