// `sluice serve` managing real connectors over HTTP (curl as the client): a Kafka topic of
// Debezium envelopes applied to a scratch PostgreSQL database. Lifecycle transitions, offsets,
// redaction, a failing connector, and a restart of the server with a running connector; each
// test ends with the comparator on the target.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "integration/api/serve_fixture.h"

namespace sluice::itest {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

constexpr const char* kSecret = "hunter2-not-logged";

class ServeConnectors : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = CreateScratchPgDatabase("api");
    topic_ = UniqueName("api_items");
    CreateKafkaTopic(topic_, 1);
  }

  json Config(const std::string& name) const {
    PgClient target(db_);
    // The superuser is trusted: the password is accepted and ignored, and must never show.
    std::string url = "postgresql://" + target.user() + ":" + kSecret + "@" + target.host() +
                      ":" + std::to_string(target.port()) + "/" + db_;
    return {{"name", name},
            {"config",
             {{"connector.class", "kafka"},
              {"kafka.bootstrap.servers", TestEnv::KafkaBootstrap()},
              {"kafka.topics", topic_},
              {"kafka.group.id", UniqueName("api_group")},
              // Lifecycle tests restart the consumer often: rejoin the group quickly.
              {"kafka.consumer.session.timeout.ms", "6000"},
              {"kafka.consumer.heartbeat.interval.ms", "500"},
              {"sink.type", "postgres"},
              {"sink.url", url},
              {"sink.batch.ms", "100"}}}};
  }

  // Produces rows [from, to) as Debezium create envelopes of public.items.
  void ProduceRows(int from, int to) {
    for (int id = from; id < to; ++id) {
      json value = {{"before", nullptr},
                    {"after", {{"id", id}, {"name", "item-" + std::to_string(id)}}},
                    {"source", {{"schema", "public"}, {"table", "items"}, {"db", "src"}}},
                    {"op", "c"},
                    {"ts_ms", 1700000000000LL}};
      ProduceMessage(topic_, json{{"id", id}}.dump(), value.dump());
    }
  }

  static SqlRows ExpectedRows(int count) {
    SqlRows rows;
    for (int id = 0; id < count; ++id) {
      rows.push_back({std::to_string(id), "item-" + std::to_string(id)});
    }
    return rows;
  }

  SqlRows TargetRows() const {
    SqlResult r = PgClient(db_).TryQuery("SELECT id::text, name FROM public.items");
    return r.ok ? r.rows : SqlRows{};
  }

  void WaitForTarget(int count) {
    WaitUntil([&] { return TablesMatch(ExpectedRows(count), TargetRows()); },
              std::chrono::seconds(60), "the target holds " + std::to_string(count) + " rows");
  }

  std::string db_;
  std::string topic_;
};

TEST_F(ServeConnectors, LifecycleOffsetsAndRedactionOverHttp) {
  ServeProcess serve;
  RestClient& api = serve.client();
  auto created = api.Expect(201, "POST", "/connectors", Config("items").dump());
  EXPECT_EQ(created["name"], "items");
  EXPECT_EQ(created["type"], "source");
  EXPECT_EQ(api.Expect(409, "POST", "/connectors", Config("items").dump())["error_code"], 409);
  serve.WaitForState("items", "RUNNING");
  ProduceRows(0, 20);
  WaitForTarget(20);

  // Secrets never leave the server.
  for (const char* path : {"/connectors/items", "/connectors/items/config",
                           "/connectors/items/status", "/connectors?expand=info&expand=status",
                           "/connectors/items/tasks"}) {
    HttpResult r = api.Call("GET", path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_THAT(r.body, Not(HasSubstr(kSecret))) << path;
  }
  EXPECT_THAT(api.Expect(200, "GET", "/connectors/items/config")["sink.url"].get<std::string>(),
              HasSubstr("****"));

  // Pause: nothing is applied until resume.
  EXPECT_EQ(api.Call("PUT", "/connectors/items/pause").status, 202);
  serve.WaitForState("items", "PAUSED");
  ProduceRows(20, 30);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_TRUE(TablesMatch(ExpectedRows(20), TargetRows()));
  EXPECT_EQ(api.Call("PUT", "/connectors/items/resume").status, 202);
  serve.WaitForState("items", "RUNNING");
  WaitForTarget(30);

  // Offsets: readable; changeable only when stopped.
  auto offsets = api.Expect(200, "GET", "/connectors/items/offsets");
  ASSERT_EQ(offsets["offsets"].size(), 1u) << offsets.dump();
  EXPECT_EQ(offsets["offsets"][0]["partition"]["server"], "items");
  EXPECT_THAT(offsets["offsets"][0]["offset"]["position"].get<std::string>(), HasSubstr(topic_));
  EXPECT_EQ(api.Expect(400, "DELETE", "/connectors/items/offsets")["error_code"], 400);
  EXPECT_EQ(api.Call("PUT", "/connectors/items/stop").status, 204);
  serve.WaitForState("items", "STOPPED");
  WaitUntil([&] { return api.Call("DELETE", "/connectors/items/offsets").status == 200; },
            std::chrono::seconds(30), "offsets reset once stopped");
  EXPECT_EQ(api.Expect(200, "GET", "/connectors/items/offsets")["offsets"], json::array());

  // Restart, reconfigure (PATCH), tasks.
  EXPECT_EQ(api.Call("PUT", "/connectors/items/resume").status, 202);
  serve.WaitForState("items", "RUNNING");
  EXPECT_EQ(api.Call("POST", "/connectors/items/restart").status, 204);
  serve.WaitForState("items", "RUNNING");
  auto patched = api.Expect(200, "PATCH", "/connectors/items/config",
                            R"({"sink.batch.size": "500"})");
  EXPECT_EQ(patched["config"]["sink.batch.size"], "500");
  EXPECT_THAT(patched.dump(), Not(HasSubstr(kSecret)));
  EXPECT_EQ(api.Expect(200, "GET", "/connectors/items/tasks/0/status")["id"], 0);
  EXPECT_EQ(api.Call("POST", "/connectors/items/tasks/0/restart").status, 204);
  serve.WaitForState("items", "RUNNING");
  ProduceRows(30, 40);
  WaitForTarget(40);

  std::string metrics = api.Call("GET", "/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("sluice_connector_state{connector=\"items\",state=\"RUNNING\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("sluice_events_total{connector=\"items\""));

  EXPECT_EQ(api.Call("DELETE", "/connectors/items").status, 204);
  EXPECT_EQ(api.Call("GET", "/connectors/items").status, 404);
  EXPECT_EQ(api.Expect(200, "GET", "/connectors"), json::array());
  ExitStatus status = serve.process().Stop();
  EXPECT_TRUE(status.Success()) << status.Describe();
  EXPECT_THAT(serve.process().Stderr(), Not(HasSubstr(kSecret)));
  ExpectTablesEqual(ExpectedRows(40), TargetRows());
}

TEST_F(ServeConnectors, RestartOfTheServerResumesRunningConnectors) {
  ServeProcess serve;
  RestClient& api = serve.client();
  api.Expect(201, "POST", "/connectors", Config("resumes").dump());
  json paused = Config("stays_paused");
  paused["config"]["kafka.topics"] = topic_;
  api.Expect(201, "POST", "/connectors", paused.dump());
  api.Expect(202, "PUT", "/connectors/stays_paused/pause");
  serve.WaitForState("resumes", "RUNNING");
  serve.WaitForState("stays_paused", "PAUSED");
  ProduceRows(0, 25);
  WaitForTarget(25);

  // SIGTERM: the gate flushes and commits, and the process exits 0.
  ExitStatus stopped = serve.process().Stop();
  EXPECT_TRUE(stopped.Success()) << stopped.Describe() << serve.process().LogTail();
  ProduceRows(25, 50);  // written while the server is down
  serve.process().Restart();
  serve.WaitHealthy();
  EXPECT_EQ(api.Expect(200, "GET", "/connectors"), json::parse(R"(["resumes","stays_paused"])"));
  serve.WaitForState("resumes", "RUNNING");
  EXPECT_EQ(serve.State("stays_paused"), "PAUSED");
  WaitForTarget(50);
  ExpectTablesEqual(ExpectedRows(50), TargetRows());
}

TEST_F(ServeConnectors, FailedConnectorShowsItsTraceAndRecoversWithANewConfig) {
  ServeProcess serve;
  RestClient& api = serve.client();
  ProduceRows(0, 5);
  ProduceMessage(topic_, std::string("{\"id\":99}"), "this is not an envelope");
  api.Expect(201, "POST", "/connectors", Config("fails").dump());
  serve.WaitForState("fails", "FAILED");
  auto status = api.Expect(200, "GET", "/connectors/fails/status");
  ASSERT_TRUE(status["tasks"][0].contains("trace")) << status.dump();
  EXPECT_THAT(status["tasks"][0]["trace"].get<std::string>(), HasSubstr(topic_));
  EXPECT_EQ(status["connector"]["state"], "FAILED");

  // A new config (skip invalid records) restarts it.
  api.Expect(200, "PATCH", "/connectors/fails/config", R"({"kafka.skip.invalid.records":"true"})");
  serve.WaitForState("fails", "RUNNING");
  ProduceRows(5, 10);
  WaitForTarget(10);
  ExpectTablesEqual(ExpectedRows(10), TargetRows());
}

// A MariaDB source's offsets PATCH is checked against the server's binlogs: a file it does not
// list, a position past a file's end, other keys or another connector's partition are refused
// with 400 and the stored offset is unchanged; a listed position is accepted.
TEST_F(ServeConnectors, MariaDbOffsetsPatchIsCheckedAgainstTheServersBinlogs) {
  std::string my_db = CreateScratchMysqlDatabase("api_off");
  MysqlClient source(my_db);
  source.Exec("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40));"
              "INSERT INTO items VALUES (1, 'item-1'), (2, 'item-2')");
  std::random_device rd;
  json config = {{"name", "my_offs"},
                 {"config",
                  {{"connector.class", "mysql"},
                   {"database.hostname", TestEnv::MysqlHost()},
                   {"database.port", std::to_string(TestEnv::MysqlPort())},
                   {"database.user", kPasswordUser},
                   {"database.password", kTestPassword},
                   {"database.server.id", std::to_string(100000 + rd() % 1000000)},
                   {"database.include.list", my_db},
                   {"heartbeat.interval.ms", "200"},
                   {"sink.type", "postgres"},
                   {"sink.url", PgClient(db_).Url()},
                   {"sink.batch.ms", "100"}}}};
  ServeProcess serve;
  RestClient& api = serve.client();
  api.Expect(201, "POST", "/connectors", config.dump());
  WaitUntil([&] {
    json o = api.Expect(200, "GET", "/connectors/my_offs/offsets");
    return o["offsets"].size() == 1 && !o["offsets"][0]["offset"].contains("snapshot");
  }, std::chrono::seconds(60), "a streaming offset");
  serve.StopAndSettle("my_offs");
  json stored = api.Expect(200, "GET", "/connectors/my_offs/offsets");
  json position = stored["offsets"][0]["offset"];  // Debezium's {"file", "pos", "gtids"}
  const std::string file = position["file"];

  auto patch = [&](const json& p, const std::string& server = "my_offs") {
    json body = {{"offsets", {{{"partition", {{"server", server}}},
                               {"offset", {{"position", p.dump()}}}}}}};
    return api.Call("PATCH", "/connectors/my_offs/offsets", body.dump());
  };
  auto missing = patch({{"file", "nothere-bin.999999"}, {"pos", 4}});
  EXPECT_EQ(missing.status, 400) << missing.body;
  EXPECT_THAT(missing.body, HasSubstr("not on the server"));
  auto beyond = patch({{"file", file}, {"pos", 1ULL << 40}});
  EXPECT_EQ(beyond.status, 400) << beyond.body;
  EXPECT_THAT(beyond.body, HasSubstr("beyond the end of binlog"));
  auto extra = patch({{"file", file}, {"pos", 4}, {"lsn", "0/0"}});
  EXPECT_EQ(extra.status, 400) << extra.body;
  auto foreign = patch({{"file", file}, {"pos", 4}}, "someone_else");
  EXPECT_EQ(foreign.status, 400) << foreign.body;
  EXPECT_EQ(api.Expect(200, "GET", "/connectors/my_offs/offsets"), stored);

  auto accepted = patch({{"file", file}, {"pos", position["pos"]}, {"gtid", position.value("gtids", "")}});
  EXPECT_EQ(accepted.status, 200) << accepted.body;
}

}  // namespace
}  // namespace sluice::itest
