// `sluice serve` as a black box over HTTP (curl as the client): routes, status codes, shapes,
// malformed requests, authentication. Needs no database.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "integration/api/serve_fixture.h"

namespace sluice::itest {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ServeService, AnswersEveryRouteWithKafkaConnectShapes) {
  ServeProcess serve;
  RestClient& api = serve.client();

  auto root = api.Expect(200, "GET", "/");
  EXPECT_TRUE(root["version"].is_string());
  EXPECT_TRUE(root["commit"].is_string());
  EXPECT_EQ(api.Expect(200, "GET", "/healthz")["status"], "ok");
  EXPECT_EQ(api.Expect(200, "GET", "/connectors"), nlohmann::json::array());
  EXPECT_EQ(api.Expect(200, "GET", "/connectors?expand=status"), nlohmann::json::object());
  EXPECT_EQ(api.Expect(200, "GET", "/syncs"), nlohmann::json::array());

  auto plugins = api.Expect(200, "GET", "/connector-plugins");
  ASSERT_EQ(plugins.size(), 3u);
  EXPECT_EQ(plugins[0]["class"], "io.debezium.connector.postgresql.PostgresConnector");
  EXPECT_EQ(plugins[0]["type"], "source");

  HttpResult metrics = api.Call("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.headers, HasSubstr("text/plain"));

  // Validation in Kafka Connect's shape; a typo names the key it meant.
  auto typo = api.Expect(200, "PUT", "/connector-plugins/postgres/config/validate",
                         R"({"connector.class":"postgres","sink.type":"file","snapshot.mdoe":"x"})");
  EXPECT_EQ(typo["name"], "io.debezium.connector.postgresql.PostgresConnector");
  EXPECT_GE(typo["error_count"].get<int>(), 1);
  bool named = false;
  for (const auto& c : typo["configs"]) {
    ASSERT_TRUE(c.contains("definition") && c.contains("value")) << c.dump();
    if (c["value"]["name"] == "snapshot.mdoe") {
      named = !c["value"]["errors"].empty() &&
              c["value"]["errors"][0].get<std::string>().find("snapshot.mode") != std::string::npos;
    }
  }
  EXPECT_TRUE(named) << typo.dump();

  // Errors: JSON {"error_code", "message"} with the right status.
  auto missing = api.Expect(404, "GET", "/connectors/nope");
  EXPECT_EQ(missing["error_code"], 404);
  EXPECT_TRUE(missing["message"].is_string());
  EXPECT_EQ(api.Expect(404, "GET", "/connectors/nope/status")["error_code"], 404);
  EXPECT_EQ(api.Expect(404, "PUT", "/connectors/nope/pause")["error_code"], 404);
  EXPECT_EQ(api.Expect(404, "GET", "/no/such/route")["error_code"], 404);
  EXPECT_EQ(api.Expect(404, "GET", "/syncs/sync_000000000000")["error_code"], 404);
  EXPECT_EQ(api.Expect(405, "DELETE", "/connectors")["error_code"], 405);
  EXPECT_EQ(api.Expect(405, "POST", "/connectors/x/pause")["error_code"], 405);
  EXPECT_EQ(api.Expect(400, "POST", "/connectors", "{\"name\": ")["error_code"], 400);
  EXPECT_EQ(api.Expect(400, "POST", "/connectors", "[]")["error_code"], 400);
  auto bad_key = api.Expect(400, "POST", "/connectors",
                            R"({"name":"x","config":{"connector.class":"postgres",
                                "sink.type":"file","sink.tpye":"x"}})");
  EXPECT_THAT(bad_key["message"].get<std::string>(), HasSubstr("sink.tpye"));
  EXPECT_EQ(api.Expect(404, "PUT", "/connector-plugins/nosuch/config/validate", "{}")["error_code"],
            404);
  EXPECT_EQ(api.Expect(400, "POST", "/syncs", "not json")["error_code"], 400);

  // Oversized body: 413, and the server keeps serving.
  std::string big(2u << 20, 'x');
  HttpResult too_big = api.Call("POST", "/connectors", "{\"name\":\"" + big + "\"}");
  EXPECT_EQ(too_big.status, 413) << too_big.body;
  // Malformed HTTP: 400.
  std::string answer = RawExchange(serve.port(), "GARBAGE GARBAGE\r\n\r\n");
  EXPECT_THAT(answer, HasSubstr("400")) << answer;
  EXPECT_EQ(api.Call("GET", "/healthz").status, 200);

  // Concurrent clients.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        if (api.Call("GET", "/connectors?expand=status").status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 30);

  // SIGTERM: the gate, then exit 0.
  ExitStatus status = serve.process().Stop();
  EXPECT_TRUE(status.Success()) << status.Describe() << serve.process().LogTail();
}

TEST(ServeService, RequiresTheBearerTokenWhenConfigured) {
  ServeProcess serve({"--token", "s3cr3t-token"});
  RestClient& api = serve.client();
  HttpResult denied = api.Call("GET", "/connectors");
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(denied.Json()["error_code"], 401);
  EXPECT_THAT(denied.headers, HasSubstr("WWW-Authenticate: Bearer"));
  EXPECT_EQ(api.Call("GET", "/connectors", "", {"Authorization: Bearer wrong"}).status, 401);
  EXPECT_EQ(api.Call("GET", "/metrics").status, 401);
  EXPECT_EQ(api.Call("GET", "/healthz").status, 200);  // liveness probes need no token
  api.set_token("s3cr3t-token");
  EXPECT_EQ(api.Call("GET", "/connectors").status, 200);
  EXPECT_EQ(api.Call("GET", "/metrics").status, 200);
  EXPECT_THAT(serve.process().Stderr(), Not(HasSubstr("s3cr3t-token")));
}

TEST(ServeService, RefusesABadListenAddress) {
  CommandResult r = RunCommand({TestEnv::SluiceBin().string(), "serve", "--listen", "nonsense",
                                "--state", (TempDir() / "s.db").string()});
  EXPECT_EQ(r.status.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--listen"));
}

// Issue 14: off loopback without a token, serve refused nothing; now it refuses unless told.
TEST(ServeService, RefusesToListenOffLoopbackWithoutAToken) {
  std::string port = std::to_string(FreeLoopbackPort());
  CommandResult r = RunCommand({TestEnv::SluiceBin().string(), "serve", "--listen", "0.0.0.0:" + port,
                                "--state", (TempDir() / "s.db").string()});
  EXPECT_EQ(r.status.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--token"));
  EXPECT_THAT(r.err, HasSubstr("--insecure-no-auth"));

  // Accepted when asked explicitly (and still protected against rebinding and CSRF).
  ServeProcess serve({"--insecure-no-auth", "--allowed-host", "sluice.test"});
  EXPECT_EQ(serve.client().Call("GET", "/connectors", "", {"Host: sluice.test"}).status, 200);
}

// Issue 14: a cross-site text/plain POST created a connector, and a CRLF name became a real
// Set-Cookie header. Checked with curl as the client.
TEST(ServeService, RefusesCrossSiteRequestsAndHeaderInjection) {
  ServeProcess serve;
  RestClient& api = serve.client();
  const std::string config =
      R"({"connector.class":"postgres","database.dbname":"d","database.port":"1","sink.type":"file","sink.url":")" +
      (TempDir() / "out").string() + "\"}";
  HttpResult csrf = api.Call("POST", "/connectors", "{\"name\":\"csrf\",\"config\":" + config + "}",
                             {"Origin: http://evil.example"});
  EXPECT_EQ(csrf.status, 403) << csrf.body;
  EXPECT_EQ(csrf.Json()["error_code"], 403);
  HttpResult rebound = api.Call("GET", "/connectors", "", {"Host: evil.example:8083"});
  EXPECT_EQ(rebound.status, 421) << rebound.body;
  HttpResult crlf = api.Call(
      "POST", "/connectors",
      "{\"name\":\"crlf\\r\\nSet-Cookie: injected=1\",\"config\":" + config + "}");
  EXPECT_EQ(crlf.status, 400) << crlf.body;
  EXPECT_THAT(crlf.headers, Not(HasSubstr("Set-Cookie")));
  HttpResult bad_utf8 = api.Call("GET", "/connectors/%ff");
  EXPECT_EQ(bad_utf8.status, 404);
  EXPECT_EQ(bad_utf8.Json()["error_code"], 404);
  EXPECT_EQ(api.Expect(200, "GET", "/connectors"), nlohmann::json::array());
  HttpResult created = api.Call("POST", "/connectors",
                                "{\"name\":\"caf\u00e9 1\",\"config\":" + config + "}");
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_THAT(created.headers, HasSubstr("Location: /connectors/caf%C3%A9%201"));
}

}  // namespace
}  // namespace sluice::itest
