// Binlog retention guardrails of the MySQL/MariaDB source (issue #17), MariaDB 10.11 ->
// PostgreSQL through `sluice serve`, on a throwaway mariadbd of the test's own (the expiry
// setting, FLUSH and PURGE BINARY LOGS must not touch the shared server):
//   1. caught up: the status's binlog object names the newest file, level ok; on an idle server
//      FLUSH BINARY LOGS moves the committed position (stored with the data in the target) into
//      the new file, and writes to an uncaptured table move it past them;
//   2. the sink stalls (a lock on the target table) while captured rows and rotations pile up:
//      sluice_source_binlog_retained_bytes passes binlog.retained.warn.bytes in /metrics, the
//      status warns with a time-left estimate under the server's binlog expiry, the console's
//      history plots it; released, the connector catches up and the level is ok again;
//   3. stopped, the binlog of its committed position purged: resumed, it goes FAILED naming the
//      file and the fix, the target untouched; with snapshot.mode=when_needed it takes a new
//      snapshot and the target equals the source (checked with independent clients).
// And (issue #16) the Debezium source block of the file sink's envelopes against the server's
// own SHOW BINLOG EVENTS and CONNECTION_ID().
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "integration/api/serve_fixture.h"
#include "integration/common/scratch_server.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr int64_t kWarnBytes = 2 << 20;
constexpr int kExpireS = 7200;

std::optional<double> MetricValue(const std::string& text, const std::string& family,
                                  const std::string& name) {
  std::istringstream in(text);
  std::string line;
  const std::string prefix = family + "{connector=\"" + name + "\"";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nullopt;
}

class MysqlRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    my_.Client().Exec("CREATE DATABASE shop CHARACTER SET utf8mb4");
    Shop().Exec("CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40), pad TEXT);"
                      "INSERT INTO shop.items SELECT seq, CONCAT('n', seq), '' FROM seq_1_to_1000;"
                      "CREATE TABLE shop.noise (id INT AUTO_INCREMENT PRIMARY KEY, v INT);"
                      "SET GLOBAL binlog_expire_logs_seconds = " + std::to_string(kExpireS));
    pg_db_ = CreateScratchPgDatabase("myret_target");
    pg_ = PgClient(pg_db_);
  }
  void TearDown() override {
    holder_.reset();
    serve_.reset();
    DropPgDatabase(pg_db_);
  }

  json Config(const std::string& mode) const {
    return {{"connector.class", "mysql"},
            {"database.hostname", "127.0.0.1"},
            {"database.port", std::to_string(my_.port())},
            {"database.user", kPasswordUser},
            {"database.password", kTestPassword},
            {"database.include.list", "shop"},
            {"table.include.list", "shop\\.items"},
            {"snapshot.mode", mode},
            {"heartbeat.interval.ms", "300"},
            {"connect.timeout.ms", "2000"},
            {"binlog.health.interval.ms", "200"},
            {"binlog.retained.warn.bytes", std::to_string(kWarnBytes)},
            {"sink.type", "postgres"},
            {"sink.url", pg_.Url()},
            {"sink.batch.ms", "50"}};
  }

  MysqlClient Shop() const { return my_.Client("shop"); }
  SqlRows Source() const { return my_.Client().Query("SELECT id, name, pad FROM shop.items"); }
  ::testing::AssertionResult TargetMatches() const {
    SqlResult target = pg_.TryQuery("SELECT id::text, name, pad FROM shop.items");
    if (!target.ok) return ::testing::AssertionFailure() << "target not ready: " << target.error;
    return TablesMatch(Source(), target.rows);
  }
  void WaitForMatch() {
    WaitUntil([&] { return TargetMatches(); }, 60s, "target equals source", 200ms);
  }
  // The committed position the PostgreSQL sink stored with the data.
  json Stored() const {
    SqlResult r = pg_.TryQuery("SELECT position FROM sluice_offsets");
    if (!r.ok || r.rows.empty() || !r.rows[0][0]) return json();
    return json::parse(*r.rows[0][0]);
  }
  json ServerPosition() const {
    SqlRows rows = my_.Client().Query("SHOW MASTER STATUS");
    if (rows.empty()) throw HarnessError("SHOW MASTER STATUS returned nothing");
    return {{"file", *rows[0][0]}, {"pos", std::stoull(*rows[0][1])}};
  }
  static bool AtOrPast(const json& a, const json& b) {
    if (a.is_null()) return false;
    std::string af = a.at("file"), bf = b.at("file");
    if (af != bf) return af > bf;  // same-length numbered names
    return a.at("pos").get<uint64_t>() >= b.at("pos").get<uint64_t>();
  }
  json Binlog() {
    json s = serve_->client().Expect(200, "GET", "/connectors/ret/status");
    return s.contains("binlog") ? s["binlog"] : json();
  }

  // A target transaction that holds an exclusive lock on the target table: the sink blocks.
  void StallSink() {
    ProcessOptions o;
    o.argv = {"psql", "-X", "-q", "-h", pg_.host(), "-p", std::to_string(pg_.port()), "-U",
              pg_.user(), "-d", pg_db_, "-c",
              "BEGIN; LOCK TABLE shop.items IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600); "
              "COMMIT"};
    if (!pg_.password().empty()) o.env["PGPASSWORD"] = pg_.password();
    holder_.emplace(o);
    WaitUntil([&] {
      return pg_.QueryValue("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                            "WHERE c.relname = 'items' AND l.mode = 'AccessExclusiveLock' "
                            "AND l.granted") == "1";
    }, 30s, "the target table is locked");
  }
  void ReleaseSink() {
    pg_.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE "
             "'%pg_sleep(600)%' AND pid <> pg_backend_pid()");
    holder_.reset();
  }

  ScratchMariadb my_;
  std::string pg_db_;
  PgClient pg_;
  std::optional<ServeProcess> serve_;
  std::optional<Subprocess> holder_;
};

TEST_F(MysqlRetentionTest, RetainedBinlogShowsWhileTheSinkStallsThenPurgeFailsOrResnapshots) {
  serve_.emplace();
  RestClient& api = serve_->client();
  api.Expect(201, "POST", "/connectors",
             json{{"name", "ret"}, {"config", Config("initial")}}.dump());
  serve_->WaitForState("ret", "RUNNING");
  WaitForMatch();

  // 1. Caught up and idle: the needed file is the newest, nothing to warn about.
  json binlog;
  WaitUntil([&] {
    binlog = Binlog();
    return binlog.is_object() && binlog["needed_file"] == binlog["newest_file"];
  }, 30s, "the status has a binlog object naming the newest file");
  EXPECT_EQ(binlog["level"], "ok") << binlog.dump();
  EXPECT_EQ(binlog["expire_logs_seconds"], kExpireS) << binlog.dump();
  EXPECT_EQ(binlog["needed_on_server"], true) << binlog.dump();
  // An idle server's rotation moves the committed position into the new file (the server may
  // then purge the old one), and so do writes to tables that are not captured.
  my_.Client().Exec("FLUSH BINARY LOGS");
  const json rotated = ServerPosition();
  WaitUntil([&] { return Stored().value("file", "") == rotated["file"]; }, 30s,
            "the committed position moves into the new binlog on an idle server");
  Shop().Exec("INSERT INTO shop.noise (v) SELECT seq FROM seq_1_to_100");
  const json noise = ServerPosition();
  WaitUntil([&] { return AtOrPast(Stored(), noise); }, 30s,
            "the committed position moves past writes to an uncaptured table");
  WaitUntil([&] { return Binlog()["needed_file"] == rotated["file"]; }, 30s,
            "the status follows the committed position");

  // 2. The sink stalls while captured changes and rotations pile up on the server.
  const json stalled_at = Stored();
  StallSink();
  for (int i = 0; i < 3; ++i) {
    Shop().Exec("UPDATE shop.items SET pad = REPEAT(CHAR(97 + " + std::to_string(i) +
                      "), 1500) WHERE id <= 1000; FLUSH BINARY LOGS");
  }
  double retained = 0;
  WaitUntil([&] {
    auto v = MetricValue(api.Call("GET", "/metrics").body, "sluice_source_binlog_retained_bytes",
                         "ret");
    retained = v.value_or(0);
    return retained > kWarnBytes;
  }, 30s, "sluice_source_binlog_retained_bytes passes binlog.retained.warn.bytes");
  const std::string metrics = api.Call("GET", "/metrics").body;
  EXPECT_TRUE(MetricValue(metrics, "sluice_source_binlog_time_left_seconds", "ret").has_value())
      << metrics;
  EXPECT_GE(MetricValue(metrics, "sluice_source_binlog_health", "ret").value_or(0), 1) << metrics;
  WaitUntil([&] {
    binlog = Binlog();
    return binlog["level"] != "ok" && binlog["time_left_s"].is_number();
  }, 30s, "the status warns with a time-left estimate");
  EXPECT_EQ(binlog["needed_file"], stalled_at["file"]) << binlog.dump();
  EXPECT_NE(binlog["newest_file"], binlog["needed_file"]) << binlog.dump();
  EXPECT_GT(binlog["retained_bytes"].get<double>(), kWarnBytes) << binlog.dump();
  EXPECT_GE(binlog["needed_files_bytes"].get<double>(), binlog["retained_bytes"].get<double>());
  const std::string warning = binlog["warning"];
  EXPECT_NE(warning.find("binlog.retained.warn.bytes"), std::string::npos) << warning;
  EXPECT_NE(warning.find(stalled_at["file"].get<std::string>()), std::string::npos) << warning;
  // Closed a moment ago, expiring after kExpireS: under a day (a warning), not yet an hour.
  EXPECT_LE(binlog["time_left_s"].get<double>(), kExpireS) << binlog.dump();
  EXPECT_GT(binlog["time_left_s"].get<double>(), kExpireS - 120) << binlog.dump();
  EXPECT_NE(warning.find("binlog_expire_logs_seconds"), std::string::npos) << warning;
  EXPECT_EQ(serve_->State("ret"), "RUNNING") << "a warning does not stop the stream";
  WaitUntil([&] {
    json h = api.Expect(200, "GET", "/connectors/ret/metrics/history");
    for (const auto& v : h["series"]["slot_retained_bytes"]) {
      if (v.is_number() && v.get<double>() > kWarnBytes) return true;
    }
    return false;
  }, 30s, "the console's history plots the retained binlog bytes");

  // Released: the connector catches up and the warning clears.
  ReleaseSink();
  WaitForMatch();
  WaitUntil([&] {
    binlog = Binlog();
    return binlog["level"] == "ok" && binlog["needed_file"] == binlog["newest_file"];
  }, 30s, "the level is ok again once caught up");

  // 3. Stopped, then the binlog of its committed position purged while it is down.
  api.Expect(204, "PUT", "/connectors/ret/stop");
  serve_->WaitForState("ret", "STOPPED");
  const SqlRows before = Source();
  const std::string needed = Stored().at("file");
  Shop().Exec("INSERT INTO shop.items VALUES (5001, 'while stopped', '');"
                    "DELETE FROM shop.items WHERE id BETWEEN 10 AND 20;"
                    "FLUSH BINARY LOGS; FLUSH BINARY LOGS");
  const std::string current = ServerPosition().at("file");
  // MariaDB keeps a file until its binlog checkpoint (InnoDB's flush) has moved past it.
  WaitUntil([&] {
    my_.Client().Exec("PURGE BINARY LOGS TO '" + current + "'");
    return my_.Client().Query("SHOW BINARY LOGS").size() == 1;
  }, 30s, "the purge removes every binlog before " + current, 300ms);
  // Stopped, the connector is still watched (the supervisor's idle watch): its status says the
  // file it needs is gone before a resume finds out.
  WaitUntil([&] {
    binlog = Binlog();
    return binlog.is_object() && binlog["needed_file"] == needed &&
           binlog["needed_on_server"] == false && binlog["level"] == "critical";
  }, 30s, "a stopped connector's status shows its needed binlog purged");
  EXPECT_EQ(serve_->State("ret"), "STOPPED");
  api.Expect(202, "PUT", "/connectors/ret/resume");
  serve_->WaitForState("ret", "FAILED");
  json status = api.Expect(200, "GET", "/connectors/ret/status");
  const std::string trace = status["tasks"][0].value("trace", "");
  EXPECT_NE(trace.find("mysql binlog " + needed), std::string::npos) << trace;
  EXPECT_NE(trace.find("purged"), std::string::npos) << trace;
  EXPECT_NE(trace.find("snapshot.mode=when_needed"), std::string::npos) << trace;
  SqlResult target = pg_.TryQuery("SELECT id::text, name, pad FROM shop.items");
  ASSERT_TRUE(target.ok) << target.error;
  EXPECT_TRUE(TablesMatch(before, target.rows)) << "nothing applied past the gap";

  // With snapshot.mode=when_needed the connector takes a new snapshot: no loss, and the rows
  // deleted while it was down are gone from the target too.
  api.Expect(200, "PUT", "/connectors/ret/config", Config("when_needed").dump());
  serve_->WaitForState("ret", "RUNNING");
  WaitForMatch();
  Shop().Exec("UPDATE shop.items SET name = 'after' WHERE id <= 5");
  WaitForMatch();
}

// Issue #16, Debezium's MySQL source block against what the server itself says of its binlog
// (SHOW BINLOG EVENTS, CONNECTION_ID()), through the file sink's envelopes: the rows of one
// multi-row INSERT share the pos of their Write_rows event with rows 0, 1, 2, and server_id is the
// server's; a TRUNCATE names the session that ran it as "thread"; snapshot reads have row 0.
TEST_F(MysqlRetentionTest, SourceBlockMatchesTheServersBinlog) {
  TempDir out("myret-file");
  json config = Config("initial");
  config["name"] = "srcblock";
  config["sink.type"] = "file";
  config["sink.url"] = out.path().string();
  config["sink.file.fsync"] = "false";
  config["skipped.operations"] = "none";  // the truncate's source block is checked
  SluiceProcess sluice = SluiceProcess::Run(config);
  const std::filesystem::path file = out.path() / "shop.items.jsonl";
  auto lines = [&] {
    std::vector<json> events;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      json e = json::parse(line);
      if (e.is_object()) events.push_back(std::move(e));  // not a delete's tombstone
    }
    return events;
  };
  WaitUntil([&] {
    if (!sluice.IsRunning()) throw HarnessError("sluice exited:\n" + sluice.LogTail());
    return lines().size() >= 1000;
  }, 60s, "the snapshot's 1000 rows in the file");
  const json before = ServerPosition();
  Shop().Exec("INSERT INTO shop.items VALUES (2001, 'x', ''), (2002, 'y', ''), (2003, 'z', '')");
  const std::string session =
      Shop().QueryValue("TRUNCATE TABLE shop.items; SELECT CONNECTION_ID()");
  uint64_t rows_pos = 0;
  std::string server_id;
  for (const auto& r : my_.Client().Query("SHOW BINLOG EVENTS IN '" +
                                          before["file"].get<std::string>() + "' FROM " +
                                          std::to_string(before["pos"].get<uint64_t>()))) {
    if (r.size() > 3 && r[2] && r[2]->rfind("Write_rows", 0) == 0) {
      rows_pos = std::stoull(*r[1]);
      server_id = *r[3];
      break;
    }
  }
  ASSERT_NE(rows_pos, 0u) << "no Write_rows event after " << before.dump();
  std::vector<json> events;
  WaitUntil([&] {
    if (!sluice.IsRunning()) throw HarnessError("sluice exited:\n" + sluice.LogTail());
    events = lines();
    return !events.empty() && events.back().value("op", "") == "t";
  }, 60s, "the inserts and the truncate in the file");
  sluice.Kill();
  std::vector<json> inserts;
  for (const auto& e : events) {
    if (e.value("op", "") == "r") {
      EXPECT_EQ(e["source"]["row"], 0);
      EXPECT_EQ(e["source"]["server_id"], 0) << "a snapshot read, as Debezium's";
    }
    if (e.value("op", "") == "c") inserts.push_back(e["source"]);
  }
  ASSERT_EQ(inserts.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(inserts[i]["pos"], rows_pos) << inserts[i].dump();
    EXPECT_EQ(inserts[i]["row"], i) << inserts[i].dump();
    EXPECT_EQ(inserts[i]["server_id"].dump(), server_id) << inserts[i].dump();
    EXPECT_EQ(inserts[i]["file"], before["file"]) << inserts[i].dump();
    EXPECT_TRUE(inserts[i]["gtid"].is_string()) << inserts[i].dump();
    EXPECT_TRUE(inserts[i]["thread"].is_null()) << "MariaDB: a GTID event opens row changes";
    EXPECT_TRUE(inserts[i].contains("query")) << inserts[i].dump();
  }
  const json truncate = events.back()["source"];
  EXPECT_EQ(truncate["thread"].dump(), session) << truncate.dump();
  EXPECT_EQ(truncate["server_id"].dump(), server_id) << truncate.dump();
  EXPECT_GT(truncate["pos"].get<uint64_t>(), rows_pos) << truncate.dump();
}

}  // namespace
}  // namespace sluice::itest
