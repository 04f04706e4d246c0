// The REST API and the supervisor end to end without sockets: fake connectors built by
// FakeBuilder, a real StateStore in a temporary file.
#include "api/rest_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/plugins.h"
#include "tests/api/rest_fixture.h"

namespace sluice::api {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class RestApiTest : public RestApiFixture {};

TEST_F(RestApiTest, RootAndHealth) {
  json root = CallJson("GET", "/", 200);
  EXPECT_TRUE(root.contains("version"));
  EXPECT_TRUE(root.contains("commit"));
  EXPECT_EQ(CallJson("GET", "/healthz", 200)["status"], "ok");
  EXPECT_EQ(Call("POST", "/").status, 405);
}

TEST_F(RestApiTest, CreateGetListAndRedactSecrets) {
  json created = CallJson("POST", "/connectors", 201, ConnectorBody("orders"));
  EXPECT_EQ(created["name"], "orders");
  EXPECT_EQ(created["type"], "source");
  EXPECT_EQ(created["tasks"], json::parse(R"([{"connector":"orders","task":0}])"));
  EXPECT_EQ(created["config"]["database.password"], "********");
  EXPECT_EQ(created["config"]["sink.url"], "postgresql://app:****@db/x");

  json again = CallJson("POST", "/connectors", 409, ConnectorBody("orders"));
  EXPECT_EQ(again["error_code"], 409);
  EXPECT_THAT(again["message"].get<std::string>(), HasSubstr("already exists"));

  EXPECT_EQ(CallJson("GET", "/connectors", 200), json::array({"orders"}));
  json info = CallJson("GET", "/connectors/orders", 200);
  EXPECT_EQ(info["config"]["database.password"], "********");
  json config = CallJson("GET", "/connectors/orders/config", 200);
  EXPECT_EQ(config["connector.class"], "postgres");
  EXPECT_EQ(config["name"], "orders");
  for (const auto& target : {"/connectors?expand=status", "/connectors?expand=info",
                             "/connectors?expand=status&expand=info",
                             "/connectors/orders/tasks"}) {
    HttpResponse r = Call("GET", target);
    EXPECT_EQ(r.status, 200) << target;
    EXPECT_THAT(r.body, Not(HasSubstr("hunter2"))) << target;
    EXPECT_THAT(r.body, Not(HasSubstr("s3cret"))) << target;
  }
  json expanded = CallJson("GET", "/connectors?expand=status&expand=info", 200);
  EXPECT_TRUE(expanded["orders"].contains("status"));
  EXPECT_EQ(expanded["orders"]["info"]["name"], "orders");
  EXPECT_EQ(CallJson("GET", "/connectors/nope", 404)["error_code"], 404);
}

TEST_F(RestApiTest, RejectsBadRequests) {
  EXPECT_EQ(CallJson("POST", "/connectors", 400, "{not json")["error_code"], 400);
  EXPECT_EQ(Call("POST", "/connectors", "").status, 400);
  EXPECT_EQ(Call("POST", "/connectors", "[1,2]").status, 400);
  EXPECT_EQ(Call("POST", "/connectors", R"({"config":{"connector.class":"postgres"}})").status,
            400);
  json bad = CallJson("POST", "/connectors", 400,
                      R"({"name":"x","config":{"connector.class":"postgres","bad.key":"1"}})");
  EXPECT_THAT(bad["message"].get<std::string>(), HasSubstr("bad.key"));
  EXPECT_EQ(Call("POST", "/connectors", R"({"name":"x","config":{"a":{"nested":1}}})").status,
            400);
  EXPECT_EQ(Call("GET", "/nowhere").status, 404);
  EXPECT_EQ(Call("GET", "/connectors/x/nowhere").status, 404);
  HttpResponse r = Call("DELETE", "/connectors");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(Call("GET", "/connectors/x/pause").status, 405);
  EXPECT_EQ(Call("PUT", "/syncs").status, 405);
  EXPECT_EQ(Call("PUT", "/connectors/x/restart").status, 405);
}

// The real config checks (api/plugins.h ValidateConfig) with the Debezium catalogue.
class DebeziumKeysApiTest : public RestApiTest {
 protected:
  void SetUp() override {
    validator_ = &ValidateConfig;
    RestApiTest::SetUp();
  }
};

TEST_F(DebeziumKeysApiTest, KeysThatWouldChangeTheOutputAreRefusedNamingTheKey) {
  json created = CallJson("POST", "/connectors", 400,
                          R"({"name":"dbz","config":{"connector.class":"postgres","sink.type":"file",
                              "database.dbname":"d","sink.url":"/tmp/a",
                              "time.precision.mode":"connect"}})");
  EXPECT_EQ(created["error_code"], 400);
  EXPECT_THAT(created["message"].get<std::string>(), HasSubstr("time.precision.mode"));
  json put = CallJson("PUT", "/connectors/dbz/config", 400,
                      R"({"connector.class":"postgres","sink.type":"file","sink.url":"/tmp/a",
                          "database.dbname":"d",
                          "value.converter":"io.confluent.connect.avro.AvroConverter"})");
  EXPECT_THAT(put["message"].get<std::string>(), HasSubstr("AvroConverter"));
  json validated = CallJson("PUT", "/connector-plugins/postgres/config/validate", 200,
                            R"({"connector.class":"postgres","database.dbname":"d",
                                "sink.type":"file","sink.url":"/tmp/x","transforms":"unwrap"})");
  EXPECT_EQ(validated["error_count"], 1) << validated.dump();
  // Keys that change nothing sluice writes are accepted.
  CallJson("POST", "/connectors", 201,
           R"({"name":"dbz","config":{"connector.class":"postgres","sink.type":"file",
               "database.dbname":"d","sink.url":"/tmp/a","tasks.max":"1","plugin.name":"pgoutput",
               "decimal.handling.mode":"string","binary.handling.mode":"bytes"}})");
}

TEST_F(RestApiTest, LifecycleTransitions) {
  CallJson("POST", "/connectors", 201, ConnectorBody("life"));
  WaitForState("life", "RUNNING");
  // The source reports its details once it has started, a moment after the state turns RUNNING.
  json status;
  WaitFor(
      [&] {
        status = CallJson("GET", "/connectors/life/status", 200);
        return status.contains("slot");
      },
      "the source's slot detail in the status");
  EXPECT_EQ(status["tasks"][0]["id"], 0);
  EXPECT_EQ(status["connector"]["worker_id"], "127.0.0.1:8083");
  // What the source reports of its own is shown under its key, never over the status's fields.
  EXPECT_EQ(status["slot"]["name"], "fake_slot") << status.dump();
  EXPECT_EQ(status["slot"]["retained_bytes"], 42);
  EXPECT_EQ(status["name"], "life");
  EXPECT_FALSE(status.contains("broken")) << "a detail that is not JSON is left out";

  EXPECT_EQ(Call("PUT", "/connectors/life/pause").status, 202);
  WaitForState("life", "PAUSED");
  EXPECT_EQ(Call("PUT", "/connectors/life/resume").status, 202);
  WaitForState("life", "RUNNING");
  EXPECT_EQ(Call("PUT", "/connectors/life/stop").status, 204);
  WaitForState("life", "STOPPED");
  EXPECT_EQ(Call("PUT", "/connectors/life/resume").status, 202);
  WaitForState("life", "RUNNING");
  int starts = world_.starts;
  EXPECT_EQ(Call("POST", "/connectors/life/restart").status, 204);
  WaitFor([&] { return world_.starts > starts; }, "a restart");
  WaitForState("life", "RUNNING");
  EXPECT_EQ(Call("POST", "/connectors/life/tasks/0/restart").status, 204);
  EXPECT_EQ(CallJson("GET", "/connectors/life/tasks/0/status", 200)["id"], 0);
  EXPECT_EQ(Call("GET", "/connectors/life/tasks/1/status").status, 404);
  EXPECT_EQ(Call("PUT", "/connectors/nope/pause").status, 404);

  EXPECT_EQ(Call("DELETE", "/connectors/life").status, 204);
  EXPECT_EQ(Call("GET", "/connectors/life").status, 404);
  EXPECT_EQ(Call("DELETE", "/connectors/life").status, 404);
  EXPECT_EQ(CallJson("GET", "/connectors", 200), json::array());
}

// slot.max.retained.wal is checked when the config is stored, not when the slot is first
// sampled: POST, PUT and PATCH answer 400 naming the key and the value.
TEST_F(DebeziumKeysApiTest, AByteSizeThatDoesNotParseIsRefusedAtPostPutAndPatch) {
  const std::string base = R"("connector.class":"postgres","sink.type":"file",
                              "database.dbname":"d","sink.url":"/tmp/a")";
  json created = CallJson("POST", "/connectors", 400,
                          R"({"name":"wal","config":{)" + base +
                              R"(,"slot.max.retained.wal":"50XB"}})");
  EXPECT_THAT(created["message"].get<std::string>(), HasSubstr("slot.max.retained.wal"));
  EXPECT_THAT(created["message"].get<std::string>(), HasSubstr("unknown unit 'XB'"));
  json put = CallJson("PUT", "/connectors/wal/config", 400,
                      "{" + base + R"(,"slot.max.retained.wal":"-5GB"})");
  EXPECT_THAT(put["message"].get<std::string>(), HasSubstr("is negative"));
  CallJson("PUT", "/connectors/wal/config", 201,
           "{" + base + R"(,"slot.max.retained.wal":"50GB"})");
  json patched = CallJson("PATCH", "/connectors/wal/config", 400,
                          R"({"slot.max.retained.wal":"a lot"})");
  EXPECT_THAT(patched["message"].get<std::string>(), HasSubstr("'a lot'"));
  EXPECT_EQ(CallJson("GET", "/connectors/wal/config", 200)["slot.max.retained.wal"], "50GB");
}

TEST_F(RestApiTest, PutAndPatchConfig) {
  json created = CallJson("PUT", "/connectors/cfg/config", 201,
                          R"({"connector.class":"postgres","sink.type":"file",
                              "database.password":"pw1","sink.url":"/tmp/a"})");
  EXPECT_EQ(created["name"], "cfg");
  // A config read back (secrets redacted) and PUT again keeps the secret.
  json config = CallJson("GET", "/connectors/cfg/config", 200);
  config["sink.url"] = "/tmp/b";
  CallJson("PUT", "/connectors/cfg/config", 200, config.dump());
  auto view = supervisor_->Get("cfg");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->config.Get("database.password"), "pw1");
  EXPECT_EQ(view->config.Get("sink.url"), "/tmp/b");

  json patched = CallJson("PATCH", "/connectors/cfg/config", 200,
                          R"({"sink.url":"/tmp/c","database.password":null,"sink.batch.size":5})");
  EXPECT_EQ(patched["config"]["sink.url"], "/tmp/c");
  EXPECT_EQ(patched["config"]["sink.batch.size"], "5");
  EXPECT_FALSE(patched["config"].contains("database.password"));
  EXPECT_EQ(Call("PATCH", "/connectors/none/config", R"({"a":"b"})").status, 404);
  EXPECT_EQ(Call("PUT", "/connectors/cfg/config", R"({"name":"other","connector.class":"x"})")
                .status,
            400);
  EXPECT_EQ(Call("PATCH", "/connectors/cfg/config", R"({"bad.key":"1"})").status, 400);
}

// Kafka Connect's initial_state: created STOPPED, the connector writes nothing until resumed,
// and its offsets can be set first.
TEST_F(RestApiTest, CreateTakesKafkaConnectsInitialState) {
  json body = json::parse(ConnectorBody("cold"));
  body["initial_state"] = 7;
  EXPECT_EQ(CallJson("POST", "/connectors", 400, body.dump())["error_code"], 400);
  body["initial_state"] = "FROZEN";
  EXPECT_THAT(CallJson("POST", "/connectors", 400, body.dump())["message"].get<std::string>(),
              HasSubstr("initial_state"));
  body["initial_state"] = "STOPPED";
  CallJson("POST", "/connectors", 201, body.dump());
  EXPECT_EQ(CallJson("GET", "/connectors/cold/status", 200)["connector"]["state"], "STOPPED");
  CallJson("PATCH", "/connectors/cold/offsets", 200,
           R"({"offsets":[{"partition":{"server":"cold"},"offset":{"position":"30"}}]})");
  EXPECT_EQ(world_.rows_written.load(), 0) << "a STOPPED connector must not run";
  CallJson("PUT", "/connectors/cold/resume", 202);
  WaitFor([&] { return world_.rows_written > 0; }, "rows written after resume");
}

TEST_F(RestApiTest, OffsetsNeedAStoppedConnector) {
  CallJson("POST", "/connectors", 201, ConnectorBody("off"));
  WaitFor([&] { return world_.rows_written >= 50; }, "rows written");
  WaitFor([&] {
    json o = CallJson("GET", "/connectors/off/offsets", 200);
    return o["offsets"].size() == 1;
  }, "a committed offset");
  json offsets = CallJson("GET", "/connectors/off/offsets", 200);
  EXPECT_EQ(offsets["offsets"][0]["partition"]["server"], "off");
  EXPECT_EQ(offsets["offsets"][0]["offset"]["position"], "49");

  // Kafka Connect answers 400 when the connector is not STOPPED.
  EXPECT_EQ(CallJson("DELETE", "/connectors/off/offsets", 400)["error_code"], 400);
  EXPECT_EQ(CallJson("PATCH", "/connectors/off/offsets", 400,
                     R"({"offsets":[{"partition":{"server":"off"},"offset":{"position":"1"}}]})")
                ["error_code"],
            400);
  CallJson("PUT", "/connectors/off/stop", 204);
  WaitFor([&] { return Call("DELETE", "/connectors/off/offsets").status == 200; },
          "offsets reset once stopped");
  EXPECT_EQ(CallJson("GET", "/connectors/off/offsets", 200)["offsets"], json::array());
  CallJson("PATCH", "/connectors/off/offsets", 200,
           R"({"offsets":[{"partition":{"server":"off"},"offset":{"position":"19"}}]})");
  EXPECT_EQ(CallJson("GET", "/connectors/off/offsets", 200)["offsets"][0]["offset"]["position"],
            "19");
  EXPECT_EQ(Call("PATCH", "/connectors/off/offsets", R"({"offsets":"x"})").status, 400);

  // Resumed, the source continues after the altered position.
  CallJson("PUT", "/connectors/off/resume", 202);
  WaitFor([&] {
    std::lock_guard lock(world_.mu);
    return world_.resumed_from.back() == "19";
  }, "a resume from 19");
}

TEST_F(RestApiTest, PermanentFailureShowsTraceUntilRestart) {
  world_.fail_start = true;
  CallJson("POST", "/connectors", 201, ConnectorBody("broken"));
  WaitForState("broken", "FAILED");
  json status = CallJson("GET", "/connectors/broken/status", 200);
  EXPECT_THAT(status["tasks"][0]["trace"].get<std::string>(), HasSubstr("wal_level"));
  int starts = world_.starts;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(world_.starts, starts) << "a non-retriable failure must not restart by itself";
  world_.fail_start = false;
  CallJson("POST", "/connectors/broken/restart", 204);
  WaitForState("broken", "RUNNING");
}

TEST_F(RestApiTest, RetriableFailureRestartsWithBackoff) {
  world_.fail_builds = 3;
  CallJson("POST", "/connectors", 201, ConnectorBody("flaky"));
  // While it waits to retry it stays RUNNING (a state Kafka Connect clients understand), and
  // the task trace shows the retry.
  WaitFor([&] {
    json status = CallJson("GET", "/connectors/flaky/status", 200);
    return status["tasks"][0].contains("trace");
  }, "a retry in the trace");
  json status = CallJson("GET", "/connectors/flaky/status", 200);
  EXPECT_EQ(status["tasks"][0]["state"], "RUNNING");
  EXPECT_THAT(status["tasks"][0]["trace"].get<std::string>(), HasSubstr("automatic restart"));
  WaitFor([&] {
    return !CallJson("GET", "/connectors/flaky/status", 200)["tasks"][0].contains("trace");
  }, "a healthy run (no trace)");
  EXPECT_EQ(State("flaky"), "RUNNING");
  EXPECT_EQ(world_.fail_builds, 0);
  WaitFor([&] { return world_.starts >= 1; }, "the source to start");
}

TEST_F(RestApiTest, ConnectorsSurviveARestartOfTheServer) {
  CallJson("POST", "/connectors", 201, ConnectorBody("keep"));
  CallJson("POST", "/connectors", 201, ConnectorBody("paused"));
  WaitFor([&] { return world_.rows_written >= 100; }, "rows written");
  WaitFor([&] {
    return CallJson("GET", "/connectors/keep/offsets", 200)["offsets"].size() == 1;
  }, "keep's offset");
  CallJson("PUT", "/connectors/paused/pause", 202);
  WaitForState("paused", "PAUSED");
  StopServer();
  {
    std::lock_guard lock(world_.mu);
    world_.resumed_from.clear();
  }
  StartServer();
  EXPECT_EQ(CallJson("GET", "/connectors", 200), json::parse(R"(["keep","paused"])"));
  WaitForState("keep", "RUNNING");
  EXPECT_EQ(State("paused"), "PAUSED");
  WaitFor([&] {
    std::lock_guard lock(world_.mu);
    return !world_.resumed_from.empty();
  }, "keep restarted");
  std::lock_guard lock(world_.mu);
  EXPECT_EQ(world_.resumed_from, std::vector<std::string>{"49"});
}

TEST_F(RestApiTest, OneShotConnectorStopsWhenDone) {
  CallJson("POST", "/connectors", 201, ConnectorBody("once", "initial_only"));
  WaitForState("once", "STOPPED");
  json status = CallJson("GET", "/connectors/once/status", 200);
  EXPECT_EQ(status["snapshot"]["tables"][0]["done"], true);
}

TEST_F(RestApiTest, SyncRunsToCompletionWithProgress) {
  world_.rows_per_run = 200;
  json sync = CallJson("POST", "/syncs", 201, ConnectorBody("s1", "initial"));
  std::string id = sync["id"];
  EXPECT_EQ(sync["state"], "RUNNING");
  EXPECT_EQ(sync["config"]["database.password"], "********");
  EXPECT_EQ(sync["config"]["snapshot.mode"], "initial_only");
  WaitFor([&] { return CallJson("GET", "/syncs/" + id, 200)["state"] == "SUCCEEDED"; },
          "the sync to succeed");
  json done = CallJson("GET", "/syncs/" + id, 200);
  EXPECT_EQ(done["progress"]["percent"], 100.0);
  EXPECT_EQ(done["progress"]["tables"][0]["rows_done"], 200);
  EXPECT_EQ(done["result"]["status"], "ok");
  EXPECT_EQ(done["result"]["events_written"], 200);
  json list = CallJson("GET", "/syncs", 200);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_EQ(Call("GET", "/syncs/sync_nope").status, 404);
  EXPECT_EQ(Call("DELETE", "/syncs/sync_nope").status, 404);
  EXPECT_EQ(CallJson("DELETE", "/syncs/" + id, 200)["state"], "SUCCEEDED");
  EXPECT_EQ(Call("POST", "/syncs", "{").status, 400);
}

TEST_F(RestApiTest, ValidateInKafkaConnectShape) {
  json ok = CallJson("PUT", "/connector-plugins/postgres/config/validate", 200,
                     R"({"connector.class":"postgres","database.dbname":"d","sink.type":"file",
                         "sink.url":"/tmp/x"})");
  EXPECT_EQ(ok["name"], "io.debezium.connector.postgresql.PostgresConnector");
  EXPECT_EQ(ok["error_count"], 0) << ok.dump();
  ASSERT_TRUE(ok["configs"].is_array());
  const json& first = ok["configs"][0];
  for (const char* k : {"name", "type", "required", "default_value", "importance",
                        "documentation", "group", "width", "display_name", "dependents",
                        "order"}) {
    EXPECT_TRUE(first["definition"].contains(k)) << k;
  }
  for (const char* k : {"name", "value", "recommended_values", "errors", "visible"}) {
    EXPECT_TRUE(first["value"].contains(k)) << k;
  }

  json typo = CallJson("PUT", "/connector-plugins/postgres/config/validate", 200,
                       R"({"sink.type":"file","snapshot.mdoe":"initial"})");
  EXPECT_GE(typo["error_count"], 1);
  bool found = false;
  for (const auto& c : typo["configs"]) {
    if (c["value"]["name"] == "snapshot.mdoe") {
      found = true;
      ASSERT_EQ(c["value"]["errors"].size(), 1u);
      EXPECT_THAT(c["value"]["errors"][0].get<std::string>(), HasSubstr("snapshot.mode"));
    }
  }
  EXPECT_TRUE(found) << typo.dump();

  json unreachable = CallJson("PUT", "/connector-plugins/postgres/config/validate", 200,
                              R"({"sink.type":"file","database.dbname":"d","sink.url":"unreachable"})");
  EXPECT_EQ(unreachable["error_count"], 1);
  EXPECT_EQ(Call("PUT", "/connector-plugins/nosuch/config/validate", "{}").status, 404);
  EXPECT_EQ(Call("PUT", "/connector-plugins/postgres/config/validate",
                 R"({"connector.class":"mysql"})")
                .status,
            400);
  json plugins = CallJson("GET", "/connector-plugins", 200);
  EXPECT_EQ(plugins.size(), 3u);
  EXPECT_EQ(plugins[0]["type"], "source");
}

TEST_F(RestApiTest, MetricsIncludeStateAndProgress) {
  CallJson("POST", "/connectors", 201, ConnectorBody("m"));
  WaitForState("m", "RUNNING");
  WaitFor([&] { return world_.rows_written >= 50; }, "rows");
  HttpResponse r = Call("GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.content_type, HasSubstr("text/plain"));
  EXPECT_THAT(r.body, HasSubstr("sluice_connector_state{connector=\"m\",state=\"RUNNING\"} 1"));
  EXPECT_THAT(r.body, HasSubstr("sluice_snapshot_rows_done{connector=\"m\""));
  CallJson("DELETE", "/connectors/m", 204);
  EXPECT_THAT(Call("GET", "/metrics").body, Not(HasSubstr("connector=\"m\"")));
}

TEST_F(RestApiTest, BearerTokenRequiredWhenConfigured) {
  StopServer();
  StartServer("t0ken");
  EXPECT_EQ(Call("GET", "/connectors").status, 401);
  EXPECT_EQ(Call("GET", "/connectors", "", "Bearer wrong").status, 401);
  EXPECT_EQ(Call("GET", "/connectors", "", "Bearer t0ken").status, 200);
  EXPECT_EQ(Call("GET", "/metrics").status, 401);
  EXPECT_EQ(Call("GET", "/healthz").status, 200);
}

TEST_F(RestApiTest, ShutdownGateRefusesNewWork) {
  CallJson("POST", "/connectors", 201, ConnectorBody("g"));
  WaitForState("g", "RUNNING");
  supervisor_->Shutdown();
  EXPECT_EQ(Call("POST", "/connectors", ConnectorBody("late")).status, 503);
  EXPECT_EQ(Call("PUT", "/connectors/g/pause").status, 503);
  EXPECT_EQ(Call("GET", "/healthz").status, 503);
  // The desired state is kept for the next start.
  auto stored = store_->GetConnector("g");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->target_state, "RUNNING");
}

TEST_F(RestApiTest, ConcurrentRequestsAreSafe) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 15; ++i) {
        std::string name = "c" + std::to_string(t) + "_" + std::to_string(i % 3);
        Call("POST", "/connectors", ConnectorBody(name));
        Call("GET", "/connectors?expand=status");
        Call("PUT", "/connectors/" + name + "/pause");
        Call("GET", "/metrics");
        Call("PUT", "/connectors/" + name + "/resume");
        if (i % 2) Call("DELETE", "/connectors/" + name);
      }
    });
  }
  for (auto& t : threads) t.join();
  json list = CallJson("GET", "/connectors", 200);
  for (const auto& name : list) {
    EXPECT_EQ(Call("GET", "/connectors/" + name.get<std::string>() + "/status").status, 200);
  }
}

TEST(ParseTargetTest, DecodesPathAndQuery) {
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  ASSERT_TRUE(ParseTarget("/connectors/a%20b?expand=status&expand=info&x=1+2", &path, &query));
  EXPECT_EQ(path, "/connectors/a b");
  ASSERT_EQ(query.size(), 3u);
  EXPECT_EQ(query[1].second, "info");
  EXPECT_EQ(query[2].second, "1 2");
  EXPECT_FALSE(ParseTarget("/bad%2", &path, &query));
  EXPECT_FALSE(ParseTarget("/bad%zz", &path, &query));
  EXPECT_FALSE(ParseTarget("nope", &path, &query));
}

}  // namespace
}  // namespace sluice::api
