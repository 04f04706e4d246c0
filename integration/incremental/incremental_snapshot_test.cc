// Incremental snapshots of the PostgreSQL source through `sluice serve` against real servers:
// a table re-read in chunks while a writer updates, deletes and re-inserts random keys of that
// same table, ending with the target equal to the source (count and md5 over every column, read
// with psql); a kill -9 in the middle that resumes from the last durable chunk; cancel and
// re-trigger; a table added through PATCH …/config while another keeps streaming; bad requests.
//
// Size: SLUICE_INCR_ROWS rows (default 20000, bounded for `make test`; `make test-incremental-deep`
// runs 200000).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "integration/incremental/snapshot_progress.h"

namespace sluice::itest {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

int Rows() {
  const char* v = std::getenv("SLUICE_INCR_ROWS");
  return v && *v ? std::atoi(v) : 20000;
}

class IncrementalSnapshot : public ::testing::Test {
 protected:
  void SetUp() override {
    source_db_ = CreateScratchPgDatabase("inc_src");
    target_db_ = CreateScratchPgDatabase("inc_dst");
    name_ = source_db_;  // unique, and so is the slot named after it
    PgClient(source_db_).Exec(
        "CREATE TABLE public.live (id int PRIMARY KEY, v text);"
        "CREATE TABLE public.big (id int PRIMARY KEY, k2 text NOT NULL DEFAULT 'x', "
        "  v text, n numeric(12,2), ts timestamptz DEFAULT now(), UNIQUE (id, k2));"
        "INSERT INTO public.big (id, v, n) SELECT g, md5(g::text), g / 7.0 FROM "
        "  generate_series(1, " + std::to_string(Rows()) + ") g;"
        "CREATE TABLE public.nokey (v text);"
        "CREATE TABLE public.later (id bigint, name text, PRIMARY KEY (name, id));"
        "INSERT INTO public.later SELECT g, 'n' || (g % 13) FROM generate_series(1, 3000) g;");
  }

  void TearDown() override {
    writer_.Stop();
    // Slots outlive databases and hold WAL; a killed walsender takes a moment to let go.
    const std::string slots = "FROM pg_replication_slots WHERE database = '" + source_db_ + "'";
    for (int i = 0; i < 100; ++i) {
      PgClient("postgres").TryQuery("SELECT pg_drop_replication_slot(slot_name) " + slots +
                                    " AND NOT active");
      SqlResult left = PgClient("postgres").TryQuery("SELECT count(*) " + slots);
      if (left.ok && !left.rows.empty() && left.rows[0][0] == "0") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  json Config(const std::string& name, const std::string& include, int chunk) const {
    PgClient source(source_db_);
    json config = {{"connector.class", "postgres"},
                   {"database.hostname", source.host()},
                   {"database.port", std::to_string(source.port())},
                   {"database.user", source.user()},
                   {"database.dbname", source_db_},
                   {"table.include.list", include},
                   {"snapshot.mode", mode_},
                   {"incremental.snapshot.chunk.size", std::to_string(chunk)},
                   {"sink.batch.ms", "50"},
                   {"status.update.interval.ms", "200"}};
    config.update(extra_);
    switch (target_) {
      case Target::kPostgres:
        config.update({{"sink.type", "postgres"}, {"sink.url", PgClient(target_db_).Url()}});
        break;
      case Target::kMariadb:
        config.update({{"sink.type", "mysql"}, {"sink.url", MysqlClient(mysql_db_).Url()}});
        break;
      case Target::kKafka:
        config.update({{"sink.type", "kafka"}, {"topic.prefix", prefix_},
                       {"sink.kafka.bootstrap.servers", TestEnv::KafkaBootstrap()}});
        break;
    }
    return {{"name", name}, {"config", config}};
  }

  // Rows in the target's table `table` whose id is `id`, as the target's own client reads them.
  bool TargetHasRow(const std::string& table, int id) {
    switch (target_) {
      case Target::kPostgres: {
        SqlResult r = PgClient(target_db_).TryQuery("SELECT count(*) FROM public." + table +
                                                    " WHERE id = " + std::to_string(id));
        return r.ok && !r.rows.empty() && r.rows[0][0] == "1";
      }
      case Target::kMariadb: {
        SqlResult r = MysqlClient(mysql_db_).TryQuery("SELECT count(*) FROM " + table +
                                                      " WHERE id = " + std::to_string(id));
        return r.ok && !r.rows.empty() && r.rows[0][0] == "1";
      }
      case Target::kKafka:
        for (const auto& m : ConsumeTopic(prefix_ + ".public." + table)) {
          if (m.key && json::parse(*m.key, nullptr, false).value("id", -1) == id) return true;
        }
        return false;
    }
    return false;
  }

  // Starts the connector and waits until it streams (a row of public.live arrives).
  void StartStreaming(ServeProcess& serve, const std::string& name, const std::string& include,
                      int chunk) {
    serve.client().Expect(201, "POST", "/connectors", Config(name, include, chunk).dump());
    serve.WaitForState(name, "RUNNING");
    WaitStreaming();
    MarkerArrives();
  }

  // The connector's slot is being read: changes committed from now on are streamed
  // (snapshot.mode=no_data loses what was committed before the slot existed).
  void WaitStreaming() {
    WaitUntil([&] {
      SqlResult r = PgClient("postgres").TryQuery(
          "SELECT count(*) FROM pg_replication_slots WHERE active AND database = '" + source_db_ + "'");
      return r.ok && !r.rows.empty() && r.rows[0][0] == "1";
    }, std::chrono::seconds(60), "the connector reads its slot");
  }

  // A new row of public.live reaches the target: the stream has caught up to now.
  void MarkerArrives() {
    int id = ++marker_;
    PgClient(source_db_).Exec("INSERT INTO public.live VALUES (" + std::to_string(id) + ", 'm')");
    WaitUntil([&] { return TargetHasRow("live", id); }, std::chrono::seconds(60),
              "marker row " + std::to_string(id) + " streams to the target");
  }

  // Updates, deletes and re-inserts random keys of public.big, one transaction each, until
  // StopWriter().
  void StartWriter() {
    const std::string n = std::to_string(Rows());
    const std::string body =
        "DO $$ DECLARE k int; BEGIN FOR i IN 1..200 LOOP "
        "  k := 1 + floor(random() * " + n + ")::int; "
        "  CASE floor(random() * 3)::int "
        "    WHEN 0 THEN UPDATE public.big SET v = md5(random()::text), n = n + 1 WHERE id = k; "
        "    WHEN 1 THEN DELETE FROM public.big WHERE id = k; "
        "    ELSE INSERT INTO public.big (id, v, n) VALUES (k, 're' || k, k) "
        "         ON CONFLICT (id) DO UPDATE SET v = 'up' || k; "
        "  END CASE; COMMIT; PERFORM pg_sleep(0.001); END LOOP; END $$;";
    writer_.Start([this, body] { PgClient(source_db_).TryQuery(body); });
  }
  void StopWriter() { writer_.Stop(); }

  static std::string Fingerprint(const std::string& db, const std::string& table,
                                 const std::string& order) {
    return PgClient(db).QueryValue("SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, "
                                   "'|' ORDER BY " + order + ")), '-') FROM " + table + " t");
  }
  void ExpectEqual(const std::string& table, const std::string& order) {
    MarkerArrives();
    std::string source = Fingerprint(source_db_, table, order);
    std::string target = Fingerprint(target_db_, table, order);
    EXPECT_EQ(source, target) << table << ": source and target differ";
  }

  // Streams, starts the writer, snapshots public.big in chunks of `chunk` rows while the writer
  // goes on, stops the writer and waits until the stream has caught up. Returns the progress.
  json SnapshotBigUnderWrites(ServeProcess& serve, int chunk,
                              const std::string& body = R"({"tables": ["public.big"]})") {
    StartStreaming(serve, name_, "public\\.live,public\\.big", chunk);
    StartWriter();
    json accepted = serve.client().Expect(202, "POST", "/connectors/" + name_ + "/snapshots", body);
    EXPECT_EQ(Table(accepted, "public.big")["state"], "PENDING");
    MarkerArrives();  // the stream keeps flowing while chunks are read
    json done = WaitDone(serve, name_, "public.big");
    EXPECT_GT(writer_.rounds(), 0);
    StopWriter();
    MarkerArrives();
    return done;
  }

  static json Table(const json& list, const std::string& table) { return SnapshotTable(list, table); }
  json WaitDone(ServeProcess& serve, const std::string& name, const std::string& table,
                std::chrono::seconds timeout = std::chrono::seconds(120)) {
    return WaitSnapshotDone(serve.client(), name, table, timeout);
  }

  enum class Target { kPostgres, kMariadb, kKafka };
  Target target_ = Target::kPostgres;
  std::string mode_ = "no_data";
  json extra_ = json::object();  // more config keys
  std::string mysql_db_ = CreateScratchMysqlDatabase("inc_dst");
  std::string prefix_ = UniqueName("inc");
  std::string source_db_, target_db_, name_;
  int marker_ = 0;
  BackgroundWriter writer_;
};

TEST_F(IncrementalSnapshot, TargetEqualsSourceUnderRandomWrites) {
  ServeProcess serve;
  json done = SnapshotBigUnderWrites(serve, 200);
  EXPECT_GE(done["chunks"].get<int>(), Rows() / 200 / 2);
  ExpectEqual("public.big", "id");
}

// Every column compared, in a form both servers print alike (timestamptz as UTC microseconds).
TEST_F(IncrementalSnapshot, MariadbTargetEqualsSourceUnderRandomWrites) {
  target_ = Target::kMariadb;
  ServeProcess serve;
  SnapshotBigUnderWrites(serve, 300);
  std::string source = PgClient(source_db_).QueryValue(
      "SELECT count(*) || ' ' || md5(string_agg(concat_ws(',', id, k2, v, n, to_char(ts AT TIME "
      "ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')), '|' ORDER BY id)) FROM public.big");
  std::string target = MysqlClient(mysql_db_).QueryValue(
      "SET SESSION group_concat_max_len = 1073741824; SELECT CONCAT(COUNT(*), ' ', "
      "MD5(GROUP_CONCAT(CONCAT_WS(',', id, k2, v, n, DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f')) "
      "ORDER BY id SEPARATOR '|'))) FROM big");
  EXPECT_EQ(source, target);
}

// The topic replayed by key (the last event per key; a delete removes it) equals the source.
TEST_F(IncrementalSnapshot, KafkaTopicReplaysToTheSourceUnderRandomWrites) {
  target_ = Target::kKafka;
  ServeProcess serve;
  // The test broker keeps about 5 MB per partition and drops older messages (librdkafka's mock
  // cluster): at most 10000 rows are snapshotted and compared, through a filter.
  const std::string bound = "id <= 10000";
  SnapshotBigUnderWrites(serve, 500,
                         json{{"tables", {"public.big"}}, {"filter", bound}}.dump());
  std::map<int, std::string> source;
  for (const auto& row :
       PgClient(source_db_).Query("SELECT id, v FROM public.big WHERE " + bound)) {
    source[std::stoi(*row[0])] = *row[1];
  }
  // The marker reached its own topic, but messages of other partitions may still be on their
  // way to the broker: replay until the topic has caught up.
  std::map<int, std::string> replayed;
  bool saw_read = false;
  WaitUntil([&] {
    replayed.clear();
    for (const auto& m : ConsumeTopic(prefix_ + ".public.big")) {
      if (!m.key || !m.value) continue;  // tombstones follow deletes
      json key = json::parse(*m.key);
      json value = json::parse(*m.value);
      json payload = value.contains("payload") ? value["payload"] : value;
      int id = (key.contains("payload") ? key["payload"] : key)["id"].get<int>();
      if (id > 10000) continue;  // outside the snapshot (streamed writes only)
      if (payload["op"] == "d") {
        replayed.erase(id);
        continue;
      }
      saw_read |= payload["op"] == "r";
      replayed[id] = payload["after"]["v"].get<std::string>();
    }
    return replayed == source;
  }, std::chrono::seconds(120), "the topic replays to the source (" +
                                    std::to_string(source.size()) + " rows)");
  EXPECT_TRUE(saw_read);
  EXPECT_EQ(replayed.size(), source.size());
}

TEST_F(IncrementalSnapshot, KillDuringSnapshotResumesFromTheLastChunk) {
  ServeProcess serve;
  StartStreaming(serve, name_, "public\\.live,public\\.big", 50);
  StartWriter();
  serve.client().Expect(202, "POST", "/connectors/" + name_ + "/snapshots", R"({"tables": ["public.big"]})");
  // Several chunks in, and time for them to be flushed and committed (sink.batch.ms=50).
  WaitUntil([&] {
    json t = Table(serve.client().Expect(200, "GET", "/connectors/" + name_ + "/snapshots"), "public.big");
    return !t.is_null() && t["chunks"].get<int>() >= 30;
  }, std::chrono::seconds(60), "thirty chunks are handed over");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  json before = Table(serve.client().Expect(200, "GET", "/connectors/" + name_ + "/snapshots"), "public.big");
  ASSERT_EQ(before["state"], "RUNNING") << before.dump();
  serve.process().Kill();
  serve.process().Restart();
  serve.WaitHealthy();
  serve.WaitForState(name_, "RUNNING");
  WaitStreaming();
  json resumed;
  WaitUntil([&] {
    auto r = serve.client().Call("GET", "/connectors/" + name_ + "/snapshots");
    if (r.status != 200) return false;
    resumed = Table(r.Json(), "public.big");
    return !resumed.is_null();
  }, std::chrono::seconds(30), "the snapshot shows after the restart");
  EXPECT_GE(resumed["chunks"].get<int>(), 10) << resumed.dump();  // not from the start
  WaitDone(serve, name_, "public.big");
  StopWriter();
  ExpectEqual("public.big", "id");
}

TEST_F(IncrementalSnapshot, CancelThenTriggerAgain) {
  ServeProcess serve;
  StartStreaming(serve, name_, "public\\.live,public\\.big", 100);
  serve.client().Expect(202, "POST", "/connectors/" + name_ + "/snapshots", R"({"tables": ["public.big"]})");
  WaitUntil([&] {
    json t = Table(serve.client().Expect(200, "GET", "/connectors/" + name_ + "/snapshots"), "public.big");
    return !t.is_null() && t["chunks"].get<int>() >= 3;
  }, std::chrono::seconds(60), "three chunks are read");
  json cancelled = serve.client().Expect(202, "DELETE", "/connectors/" + name_ + "/snapshots/public.big");
  EXPECT_EQ(Table(cancelled, "public.big")["state"], "CANCELLED");
  EXPECT_EQ(serve.client().Call("DELETE", "/connectors/" + name_ + "/snapshots/public.big").status, 404);
  // A filtered re-trigger first: only its rows arrive. The chunks counted as read may still be
  // on their way to the target (the sink creates the table with its first flush).
  WaitUntil([&] {
    return PgClient(target_db_).QueryValue("SELECT to_regclass('public.big') IS NOT NULL") == "t";
  }, std::chrono::seconds(60), "the target table public.big is created");
  PgClient(target_db_).Exec("TRUNCATE public.big");
  serve.client().Expect(202, "POST", "/connectors/" + name_ + "/snapshots",
                        R"({"tables": ["public.big"], "filter": "id % 10 = 3"})");
  WaitDone(serve, name_, "public.big");
  MarkerArrives();
  EXPECT_EQ(PgClient(target_db_).QueryValue("SELECT count(*) FROM public.big WHERE id % 10 <> 3"), "0");
  EXPECT_EQ(PgClient(target_db_).QueryValue("SELECT count(*) FROM public.big"),
            PgClient(source_db_).QueryValue("SELECT count(*) FROM public.big WHERE id % 10 = 3"));
  // Then the whole table.
  serve.client().Expect(202, "POST", "/connectors/" + name_ + "/snapshots", R"({"tables": ["public.big"]})");
  WaitDone(serve, name_, "public.big");
  ExpectEqual("public.big", "id");
}

// With snapshot.mode=initial, a table that a config change adds to the captured tables is
// snapshotted incrementally on its own, while the others keep streaming.
TEST_F(IncrementalSnapshot, TableAddedByPatchArrivesWhileOthersStream) {
  mode_ = "initial";
  ServeProcess serve;
  StartStreaming(serve, name_, "public\\.live", 400);
  serve.client().Expect(200, "PATCH", "/connectors/" + name_ + "/config",
                        json{{"table.include.list", "public\\.live,public\\.later"}}.dump());
  serve.WaitForState(name_, "RUNNING");
  WaitStreaming();
  // The new table's keys are (name, id): a composite, text-first key order.
  PgClient(source_db_).Exec("UPDATE public.later SET name = name || 'x' WHERE id % 100 = 0;"
                            "DELETE FROM public.later WHERE id % 101 = 0;");
  MarkerArrives();
  json done = WaitDone(serve, name_, "public.later");
  EXPECT_GE(done["rows"].get<int>(), 2900);
  ExpectEqual("public.later", "name, id");
  ExpectEqual("public.live", "id");
  // Not requested again at the next start: the position holds the filter it ran under.
  serve.client().Call("POST", "/connectors/" + name_ + "/restart");
  serve.WaitForState(name_, "RUNNING");
  WaitStreaming();
  MarkerArrives();
  json after = Table(serve.client().Expect(200, "GET", "/connectors/" + name_ + "/snapshots"),
                     "public.later");
  EXPECT_TRUE(after.is_null()) << after.dump();
}

// `sluice run` has no REST API: a request written into the --snapshot-signal file starts it.
TEST_F(IncrementalSnapshot, SluiceRunTakesARequestFromItsSignalFile) {
  json config = Config(name_, "public\\.live,public\\.big", 700)["config"];
  config["name"] = name_;
  TempDir dir;
  const std::string signal = (dir.path() / "snapshot.json").string();
  SluiceProcess run = SluiceProcess::Run(config, {"--snapshot-signal", signal});
  WaitStreaming();
  MarkerArrives();
  auto write = [&](const std::string& body) {
    std::ofstream(signal + ".tmp") << body;
    std::filesystem::rename(signal + ".tmp", signal);
  };
  write(R"({"tables": ["public.missing"]})");
  WaitUntil([&] { return std::filesystem::exists(signal + ".error"); }, std::chrono::seconds(30),
            "the bad request is refused");
  std::ifstream error_file(signal + ".error");
  std::string error((std::istreambuf_iterator<char>(error_file)), {});
  EXPECT_THAT(error, HasSubstr("does not exist"));
  StartWriter();
  write(R"({"tables": ["public.big"]})");
  WaitUntil([&] { return std::filesystem::exists(signal + ".accepted"); },
            std::chrono::seconds(30), "the request is taken");
  // Done when the log says so.
  WaitUntil([&] {
    if (!run.IsRunning()) throw HarnessError("sluice run exited: " + run.LogTail());
    return run.Stdout().find("incremental snapshot of public.big finished") != std::string::npos ||
           run.Stderr().find("incremental snapshot of public.big finished") != std::string::npos;
  }, std::chrono::seconds(120), "the incremental snapshot finishes");
  StopWriter();
  ExpectEqual("public.big", "id");
}

// The connector's user has no write right on the source at all: REPLICATION and SELECT only, on
// a publication made for it. An incremental snapshot under writes still converges.
TEST_F(IncrementalSnapshot, ReadOnlyUserSnapshotsUnderWrites) {
  const std::string user = "ro_" + name_;
  PgClient(source_db_).Exec(
      "CREATE ROLE " + user + " LOGIN REPLICATION; GRANT SELECT ON public.live, public.big TO " +
      user + "; CREATE PUBLICATION pub_" + name_ + " FOR TABLE public.live, public.big;");
  extra_ = {{"database.user", user}, {"publication.name", "pub_" + name_},
            {"publication.autocreate.mode", "disabled"}};
  ServeProcess serve;
  SnapshotBigUnderWrites(serve, 400);
  ExpectEqual("public.big", "id");
  // A table it may not read is refused before anything starts (403).
  PgClient(source_db_).Exec("REVOKE SELECT ON public.big FROM " + user);
  auto r = serve.client().Call("POST", "/connectors/" + name_ + "/snapshots",
                               R"({"tables": ["public.big"]})");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_THAT(r.body, HasSubstr("GRANT SELECT"));
}

// Debezium's signalling table is accepted as another trigger (never required).
TEST_F(IncrementalSnapshot, DebeziumSignalRowStartsASnapshot) {
  PgClient(source_db_).Exec("CREATE TABLE public.dbz_signal (id varchar(42) PRIMARY KEY, "
                            "type varchar(32) NOT NULL, data varchar(2048))");
  extra_ = {{"signal.data.collection", "public.dbz_signal"}};
  ServeProcess serve;
  StartStreaming(serve, name_, "public\\.live,public\\.later,public\\.dbz_signal", 250);
  PgClient(source_db_).Exec(
      "INSERT INTO public.dbz_signal VALUES ('s1', 'execute-snapshot', "
      "'{\"data-collections\": [\"public.later\"], \"type\": \"incremental\"}')");
  WaitDone(serve, name_, "public.later");
  ExpectEqual("public.later", "name, id");
}

TEST_F(IncrementalSnapshot, BadRequestsAreRefusedWithJsonErrors) {
  ServeProcess serve;
  StartStreaming(serve, name_, "public\\.live,public\\.big,public\\.nokey", 1000);
  RestClient& api = serve.client();
  auto expect = [&](int status, const std::string& body, const std::string& words) {
    auto r = api.Call("POST", "/connectors/" + name_ + "/snapshots", body);
    EXPECT_EQ(r.status, status) << body << " -> " << r.body;
    json j = r.Json();
    EXPECT_EQ(j["error_code"], status) << r.body;
    EXPECT_THAT(j["message"].get<std::string>(), HasSubstr(words)) << body;
  };
  expect(400, "not json", "JSON object");
  expect(400, R"({"tables": []})", "non-empty");
  expect(404, R"({"tables": ["public.missing"]})", "does not exist");
  expect(400, R"({"tables": ["public.nokey"]})", "no primary key");
  expect(400, R"({"tables": ["public.later"]})", "table.include.list");
  expect(400, R"({"tables": ["public.big"], "filter": "no_such_column > 1"})", "filter");
  expect(400, R"({"tables": ["public.big"], "filter": "true); DROP TABLE public.big; --"})",
         "filter");
  EXPECT_EQ(PgClient(source_db_).QueryValue("SELECT count(*) > 0 FROM public.big"), "t");
  EXPECT_EQ(api.Call("GET", "/connectors/nope/snapshots").status, 404);
  EXPECT_EQ(api.Call("DELETE", "/connectors/" + name_ + "/snapshots").status, 404);  // nothing running
  api.Expect(202, "POST", "/connectors/" + name_ + "/snapshots", R"({"tables": ["public.big"]})");
  expect(409, R"({"tables": ["public.big"]})", "already");
  WaitDone(serve, name_, "public.big");
  api.Call("PUT", "/connectors/" + name_ + "/stop");
  serve.WaitForState(name_, "STOPPED");
  expect(409, R"({"tables": ["public.big"]})", "not running");
}

}  // namespace
}  // namespace sluice::itest
