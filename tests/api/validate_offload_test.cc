// Issue 14: four validate calls against a host that accepts TCP and never answers made /healthz
// take 57 s, because the connection checks ran on the HTTP server's 4 I/O threads. Now they run
// on the slow lane and the check pool: /healthz and GETs answer within 100 ms throughout.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/api/live_service.h"
#include "tests/api/raw_http.h"

namespace sluice::api {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing::BuildRequest;
using testing::RawRequest;
using testing::RawResponse;

TEST(ValidateOffloadTest, HealthAndGetsStayFastWhileValidationsHang) {
  testing::BlackHolePeer peer;
  testing::LiveService service("validate-offload");
  service.Start();
  if (HasFatalFailure()) return;
  json config = {{"connector.class", "postgres"},
                 {"database.hostname", "127.0.0.1"},
                 {"database.port", std::to_string(peer.port())},
                 {"database.user", "u"},
                 {"database.dbname", "d"},
                 {"connect.timeout.ms", "3000"},
                 {"sink.type", "file"},
                 {"sink.url", (service.dir() / "out").string()}};
  const std::string validate =
      BuildRequest("PUT", "/connector-plugins/postgres/config/validate",
                   {{"Content-Type", "application/json"}}, config.dump());

  constexpr int kValidations = 6;  // more than the 4 I/O threads
  std::atomic<int> finished{0};
  std::vector<RawResponse> results(kValidations);
  std::vector<std::thread> clients;
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kValidations; ++i) {
    clients.emplace_back([&, i] {
      results[i] = RawRequest(service.port(), validate, std::chrono::seconds(60));
      ++finished;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let them all reach the peer
  int64_t max_ms = 0;
  int probes = 0;
  while (finished < kValidations) {
    for (const char* target : {"/healthz", "/connectors", "/connectors?expand=status", "/"}) {
      auto t0 = std::chrono::steady_clock::now();
      RawResponse r = RawRequest(service.port(), BuildRequest("GET", target, {}, ""));
      int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - t0)
                       .count();
      EXPECT_EQ(r.status, 200) << target;
      max_ms = std::max(max_ms, ms);
      ++probes;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& t : clients) t.join();
  auto took = std::chrono::steady_clock::now() - started;
  std::cout << "validate offload: " << probes << " probes while " << kValidations
            << " validations hung, max " << max_ms << " ms\n";
  EXPECT_GE(took, std::chrono::seconds(2)) << "the validations must really have hung";
  EXPECT_GE(probes, 20);
  EXPECT_LT(max_ms, 100);
  for (const RawResponse& r : results) {
    ASSERT_EQ(r.status, 200) << r.head << r.body;
    json body = json::parse(r.body);
    EXPECT_GE(body["error_count"], 1) << r.body;
    EXPECT_THAT(r.body, HasSubstr("source: ")) << "the check reported the hung source";
  }
}

}  // namespace
}  // namespace sluice::api
