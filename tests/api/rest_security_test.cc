// Issue 14, REST side: what a hostile or careless request can no longer do. Each test names the
// finding it guards against; without the fix each of these failed (or crashed the test).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "api/commands.h"
#include "api/request_guard.h"
#include "api/rest_api.h"
#include "tests/api/rest_fixture.h"

namespace sluice::api {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

class RestSecurityTest : public RestApiFixture {
 protected:
  // A 4xx whose body is valid JSON naming the error code.
  json ExpectJsonError(const HttpResponse& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    json body = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(body.is_discarded()) << "not JSON: " << r.body;
    if (body.is_discarded()) return nullptr;
    EXPECT_EQ(body["error_code"], status);
    return body;
  }

  std::string NamedBody(const std::string& name) {
    return json{{"name", name}, {"config", {{"connector.class", "postgres"}}}}.dump(
        -1, ' ', false, json::error_handler_t::ignore);
  }

  // For the hanging check: members, so that they outlive the RestApi that joins its checks.
  std::atomic<bool> release_{false};
  std::atomic<int> running_{0};
};

TEST(ConnectorNameTest, FollowsKafkaConnectRulesWithABoundedLength) {
  EXPECT_TRUE(ValidateConnectorName("orders-eu_1.v2").ok());
  EXPECT_TRUE(ValidateConnectorName("commandes été").ok());
  EXPECT_TRUE(ValidateConnectorName(std::string(kMaxConnectorNameBytes, 'a')).ok());
  struct Case {
    std::string name;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{
           {"", "empty"},
           {std::string(kMaxConnectorNameBytes + 1, 'a'), "the limit is 200 bytes"},
           {"crlf\r\nSet-Cookie: injected=1", "control character"},
           {"line\nbreak", "control character"},
           {"tab\tname", "control character"},
           {"nul" + std::string(1, '\0'), "control character"},
           {"del\x7f", "control character"},
           {"c1\xc2\x85", "control character"},  // U+0085 NEXT LINE
           {"a/b", "'/'"},
           {"a\\b", "'/'"},
           {"bad\xff", "UTF-8"},
           {"overlong\xc0\xaf", "UTF-8"},
           {"..", "URL"},
       }) {
    core::Status s = ValidateConnectorName(c.name);
    EXPECT_EQ(s.code(), core::StatusCode::kInvalidArgument) << SafeText(c.name);
    EXPECT_THAT(s.message(), HasSubstr(c.says)) << SafeText(c.name);
    EXPECT_TRUE(IsValidUtf8(s.message())) << s.message();
    EXPECT_EQ(s.message().find_first_of("\r\n"), std::string::npos) << s.message();
  }
}

TEST(SafeTextTest, EscapesControlsAndInvalidUtf8AndCuts) {
  EXPECT_EQ(SafeText("plain é"), "plain é");
  EXPECT_EQ(SafeText("a\r\nb"), "a\\x0D\\x0Ab");
  EXPECT_EQ(SafeText("x\xff"), "x\\xFF");
  EXPECT_EQ(SafeText("\xc2\x85"), "\\u0085");
  EXPECT_EQ(SafeText(std::string(1000, 'z'), 10), std::string(10, 'z') + "…");
  EXPECT_EQ(PercentEncodeSegment("a b/é\r\n"), "a%20b%2F%C3%A9%0D%0A");
}

TEST_F(RestSecurityTest, BadNamesAre400OnEveryRouteThatTakesOne) {
  for (const std::string& name : {std::string("crlf\r\nSet-Cookie: injected=1"),
                                 std::string(300, 'n'), std::string("a\\b"), std::string("x\x01")}) {
    SCOPED_TRACE(SafeText(name));
    json e = ExpectJsonError(Call("POST", "/connectors", NamedBody(name)), 400);
    EXPECT_THAT(e["message"].get<std::string>(), HasSubstr("connector name"));
    ExpectJsonError(Call("PUT", "/connectors/" + PercentEncodeSegment(name) + "/config",
                         R"({"connector.class":"postgres"})"),
                    400);
    ExpectJsonError(Call("POST", "/syncs", NamedBody(name)), 400);
  }
  EXPECT_EQ(CallJson("GET", "/connectors", 200), json::array()) << "nothing was created";
  EXPECT_EQ(CallJson("GET", "/syncs", 200), json::array());
}

TEST_F(RestSecurityTest, LocationIsPercentEncoded) {
  std::string body = ConnectorBody("commandes été 1");
  HttpResponse r = Call("POST", "/connectors", body);
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Location");
  EXPECT_EQ(r.headers[0].second, "/connectors/commandes%20%C3%A9t%C3%A9%201");
}

TEST_F(RestSecurityTest, InvalidUtf8EchoedIntoErrorsIsStillA4xxJsonReply) {
  // Before: nlohmann::json::dump threw on the echoed bytes and the reply was a 500.
  ExpectJsonError(Call("GET", "/connectors/%ff"), 404);
  ExpectJsonError(Call("GET", "/connectors?expand=%ff"), 400);
  ExpectJsonError(Call("GET", "/connectors/%ff/nowhere"), 404);
  ExpectJsonError(Call("GET", "/%ff%fe"), 404);
  ExpectJsonError(Call("POST", "/connectors", "{\"name\":\"a\xff\",\"config\":{}}"), 400);
  ExpectJsonError(Call("POST", "/connectors", "\xff\xfe"), 400);
  ExpectJsonError(Call("PATCH", "/connectors/x/config", "{\"k\xff\":\"v\"}"), 400);
  ExpectJsonError(Call("PUT", "/connector-plugins/%ff/config/validate", "{}"), 404);
  ExpectJsonError(Call("PUT", "/connector-plugins/postgres/config/validate", "[\xff"), 400);
  json e = ExpectJsonError(Call("GET", "/connectors/a%0D%0Ab"), 404);
  EXPECT_THAT(e["message"].get<std::string>(), Not(HasSubstr("\n")));
}

TEST_F(RestSecurityTest, CrossSiteRequestsAreRefused) {
  // The issue's CSRF: a text/plain POST (no preflight) from a foreign page.
  std::string body = ConnectorBody("csrf");
  json e = ExpectJsonError(
      CallWithHeaders("POST", "/connectors", body,
                      {{"content-type", "text/plain"}, {"origin", "http://evil.example"}}),
      403);
  EXPECT_THAT(e["message"].get<std::string>(), HasSubstr("--allowed-origin"));
  ExpectJsonError(CallWithHeaders("POST", "/connectors", body, {{"content-type", "text/plain"}}),
                  415);
  ExpectJsonError(CallWithHeaders("POST", "/connectors", body, {}), 415);
  ExpectJsonError(CallWithHeaders("PUT", "/connectors/csrf/config", R"({"a":"b"})",
                                  {{"content-type", "application/x-www-form-urlencoded"}}),
                  415);
  ExpectJsonError(CallWithHeaders("DELETE", "/connectors/x", "",
                                  {{"origin", "http://evil.example"}}),
                  403);
  ExpectJsonError(CallWithHeaders("PUT", "/connectors/x/pause", "",
                                  {{"origin", "null"}, {"host", "127.0.0.1:8083"}}),
                  403);
  EXPECT_EQ(CallJson("GET", "/connectors", 200), json::array());

  // Same-origin browser requests and non-browser clients pass; bodyless lifecycle calls need no
  // content type. A GET with a foreign Origin is harmless (the browser cannot read it).
  HttpResponse ok = CallWithHeaders("POST", "/connectors", body,
                                    {{"content-type", "application/json; charset=utf-8"},
                                     {"host", "localhost:8083"},
                                     {"origin", "http://localhost:8083"}});
  EXPECT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(CallWithHeaders("PUT", "/connectors/csrf/pause", "", {}).status, 202);
  EXPECT_EQ(CallWithHeaders("GET", "/connectors", "", {{"origin", "http://evil.example"}}).status,
            200);
}

TEST_F(RestSecurityTest, HostMustNameThisServer) {
  // DNS rebinding: evil.example resolved to 127.0.0.1, the browser sends its own Host.
  json e = ExpectJsonError(CallWithHeaders("GET", "/connectors", "", {{"host", "evil.example:8083"}}),
                           421);
  EXPECT_THAT(e["message"].get<std::string>(), HasSubstr("--allowed-host"));
  ExpectJsonError(CallWithHeaders("GET", "/connectors", "", {{"host", "10.1.2.3:8083"}}), 421);
  ExpectJsonError(CallWithHeaders("GET", "/connectors", "", {{"host", "local\r\nhost"}}), 421);
  for (const char* host : {"127.0.0.1:8083", "localhost:8083", "LOCALHOST", "[::1]:8083"}) {
    EXPECT_EQ(CallWithHeaders("GET", "/connectors", "", {{"host", host}}).status, 200) << host;
  }
  StopServer();
  configure_api_ = [](RestApiOptions* o) {
    o->guard.listen_host = "0.0.0.0";
    o->guard.listen_port = 8083;
    o->guard.allowed_hosts = {"sluice.internal"};
    o->guard.allowed_origins = {"https://console.example.com/"};
  };
  StartServer();
  for (const char* host : {"10.1.2.3:8083", "[fe80::1]:8083", "sluice.internal:9000", "localhost"}) {
    EXPECT_EQ(CallWithHeaders("GET", "/connectors", "", {{"host", host}}).status, 200) << host;
  }
  ExpectJsonError(CallWithHeaders("GET", "/connectors", "", {{"host", "evil.example"}}), 421);
  EXPECT_EQ(CallWithHeaders("DELETE", "/connectors/none", "",
                            {{"origin", "https://console.example.com"}})
                .status,
            404);
  EXPECT_EQ(CallWithHeaders("DELETE", "/connectors/none", "", {{"origin", "http://0.0.0.0:8083"}})
                .status,
            404);
  ExpectJsonError(CallWithHeaders("DELETE", "/connectors/none", "",
                                  {{"origin", "https://console.example.com.evil.example"}}),
                  403);
}

TEST(ServeSecurityTest, OffLoopbackWithoutATokenNeedsInsecureNoAuth) {
  EXPECT_EQ(CheckListenSecurity("127.0.0.1", "", false), "");
  EXPECT_EQ(CheckListenSecurity("::1", "", false), "");
  EXPECT_EQ(CheckListenSecurity("0.0.0.0", "t0ken", false), "");
  EXPECT_EQ(CheckListenSecurity("0.0.0.0", "", true), "");
  std::string refused = CheckListenSecurity("0.0.0.0", "", false);
  EXPECT_THAT(refused, HasSubstr("--token"));
  EXPECT_THAT(refused, HasSubstr("--insecure-no-auth"));
  EXPECT_NE(CheckListenSecurity("10.0.0.5", "", false), "");
}

TEST_F(RestSecurityTest, RestartAndStopAnswerAsKafkaConnect) {
  CallJson("POST", "/connectors", 201, ConnectorBody("kc"));
  WaitForState("kc", "RUNNING");
  EXPECT_EQ(Call("POST", "/connectors/kc/restart").status, 204);
  EXPECT_EQ(Call("POST", "/connectors/kc/restart?includeTasks=false&onlyFailed=false").status, 204);
  json restarted = CallJson("POST", "/connectors/kc/restart?includeTasks=true", 202);
  EXPECT_EQ(restarted["name"], "kc");
  EXPECT_EQ(restarted["connector"]["state"], "RESTARTING");
  EXPECT_EQ(restarted["tasks"][0]["state"], "RESTARTING");
  // Restarts are asynchronous: wait until the pipeline came back and stays up.
  int starts = -1;
  WaitFor([&] {
    int now = world_.starts;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (now != world_.starts || State("kc") != "RUNNING") return false;
    starts = now;
    return true;
  }, "the restarted connector to settle");
  json untouched = CallJson("POST", "/connectors/kc/restart?onlyFailed=true", 202);
  EXPECT_EQ(untouched["connector"]["state"], "RUNNING") << "only failed ones restart";
  for (const char* bad : {"includeTasks=yes", "onlyFailed=", "includeTasks=true&includeTasks=false",
                          "onlyFailed=%ff"}) {
    ExpectJsonError(Call("POST", std::string("/connectors/kc/restart?") + bad), 400);
  }
  EXPECT_EQ(world_.starts, starts);
  EXPECT_EQ(Call("PUT", "/connectors/kc/stop").status, 204);
  ExpectJsonError(Call("POST", "/connectors/nope/restart?includeTasks=true"), 404);
}

TEST_F(RestSecurityTest, ValidateAnswersAtItsDeadlineWhileTheCheckHangs) {
  StopServer();
  configure_api_ = [&](RestApiOptions* o) {
    o->check_deadline = std::chrono::milliseconds(300);
    o->check_threads = 1;
    o->check_max_pending = 0;
    o->check_connections = [this](const core::ConnectorConfig&) {
      ++running_;
      while (!release_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return std::vector<std::pair<std::string, std::string>>{};
    };
  };
  StartServer();
  const std::string body = R"({"sink.type":"file","database.dbname":"d","sink.url":"/tmp/x"})";
  auto started = std::chrono::steady_clock::now();
  json slow = CallJson("PUT", "/connector-plugins/postgres/config/validate", 200, body);
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_EQ(slow["error_count"], 1);
  EXPECT_THAT(slow.dump(), HasSubstr("did not finish within 300 ms"));
  // The one check thread is still held: the next validate says so at once.
  json busy = CallJson("PUT", "/connector-plugins/postgres/config/validate", 200, body);
  EXPECT_THAT(busy.dump(), HasSubstr("connection checks are busy"));
  EXPECT_EQ(running_, 1);
  release_ = true;
}

TEST(BoundCheckTimeoutsTest, CapsConnectAndFlushTimeouts) {
  core::ConnectorConfig config("x", {{"connect.timeout.ms", "86400000"},
                                     {"sink.kafka.flush.timeout.ms", "5000"},
                                     {"connector.class", "postgres"}});
  core::ConnectorConfig bounded = BoundCheckTimeouts(config);
  EXPECT_EQ(bounded.Get("connect.timeout.ms"), std::to_string(kMaxCheckTimeoutMs));
  EXPECT_EQ(bounded.Get("sink.kafka.flush.timeout.ms"), "5000");
  EXPECT_FALSE(BoundCheckTimeouts(core::ConnectorConfig("y", {})).Has("connect.timeout.ms"));
}

}  // namespace
}  // namespace sluice::api

namespace sluice::api {
namespace {

// The console's assets load without the token (they hold no data); the history route, like
// every data route, needs it.
TEST_F(RestApiFixture, ConsoleAssetsAreOpenAndHistoryNeedsTheToken) {
  StopServer();
  MetricsHistory history;
  configure_api_ = [&history](RestApiOptions* o) { o->history = &history; };
  StartServer("s3cret");
  EXPECT_EQ(Call("GET", "/ui/").status, 200);
  EXPECT_EQ(Call("HEAD", "/ui/app.js").status, 200);
  EXPECT_EQ(Call("GET", "/connectors/a/metrics/history").status, 401);
  EXPECT_EQ(Call("POST", "/connectors", ConnectorBody("a"), "Bearer s3cret").status, 201);
  history.Record(1000, {{"a", 0}});
  history.Record(6000, {{"a", 50}});
  HttpResponse r = Call("GET", "/connectors/a/metrics/history", "", "Bearer s3cret");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["series"]["events_per_s"][0], 10);
  EXPECT_EQ(Call("GET", "/connectors/none/metrics/history", "", "Bearer s3cret").status, 404);
  EXPECT_EQ(Call("POST", "/connectors/a/metrics/history", "", "Bearer s3cret").status, 405);
}

}  // namespace
}  // namespace sluice::api
