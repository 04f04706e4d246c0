// Verification through the REST API of `sluice serve`, PostgreSQL -> PostgreSQL with the
// connector streaming: POST /connectors/{name}/verify -> job, GET to its result; verify while a
// writer changes the source (rechecks: no false difference); a damaged target found and repaired
// by one call; the metrics; every error a JSON 4xx naming the problem.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "integration/api/serve_fixture.h"

namespace sluice::itest {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class VerifyServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = CreateScratchPgDatabase("vfy_rest_src");
    dst_ = CreateScratchPgDatabase("vfy_rest_dst");
    PgClient(src_).Exec(
        "CREATE TABLE items (id bigint PRIMARY KEY, name text, price numeric(12,3), "
        "ts timestamptz);"
        "INSERT INTO items SELECT i, 'name ' || i, i * 1.125, '2024-01-01 00:00:00+00'::timestamptz "
        "+ i * interval '1 second' FROM generate_series(1, 3000) i;");
  }
  void TearDown() override {
    serve_.reset();
    DropPgSourceDatabase(src_, true);
    DropPgDatabase(dst_);
  }

  json Connector() const {
    PgClient source(src_), target(dst_);
    return {{"name", "vfy"},
            {"config",
             {{"connector.class", "postgres"},
              {"database.hostname", source.host()},
              {"database.port", std::to_string(source.port())},
              {"database.user", source.user()},
              {"database.dbname", src_},
              {"slot.name", UniqueName("vfy_rest")},
              {"sink.type", "postgres"},
              {"sink.batch.ms", "50"},
              {"sink.url", target.Url()}}}};
  }

  // Starts a verification and waits for its end; returns the job.
  json RunVerify(const json& body) {
    RestClient& c = serve_->client();
    json started = c.Expect(202, "POST", "/connectors/vfy/verify", body.dump());
    const std::string id = started.at("id");
    json job;
    WaitUntil([&] {
      job = c.Expect(200, "GET", "/connectors/vfy/verify/" + id);
      return job.at("state") != "running";
    }, 120s, "verification " + id + " ends");
    return job;
  }

  std::string src_, dst_;
  std::unique_ptr<ServeProcess> serve_ = std::make_unique<ServeProcess>();
};

TEST_F(VerifyServeTest, VerifiesWhileStreamingAndRepairsWhatWasDamaged) {
  RestClient& c = serve_->client();
  c.Expect(201, "POST", "/connectors", Connector().dump());
  PgClient target(dst_);
  WaitUntil([&] {
    auto r = target.TryQuery("SELECT count(*) FROM public.items");
    return r.ok && !r.rows.empty() && r.rows[0][0] == "3000";
  }, 60s, "the snapshot reaches the target");

  json equal = RunVerify(json::object());
  EXPECT_EQ(equal.at("state"), "done") << equal.dump(2);
  EXPECT_TRUE(equal.at("equal").get<bool>()) << equal.dump(2);
  ASSERT_EQ(equal.at("tables").size(), 1u);
  EXPECT_EQ(equal.at("tables")[0].at("state"), "done");
  EXPECT_EQ(equal.at("tables")[0].at("rows_done"), 3000);
  EXPECT_EQ(equal.at("tables")[0].at("rows_total"), 3000);

  // A writer changes the source while verifications run: rows in flight are re-read after the
  // stream had time to apply them, so none is reported.
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    PgClient source(src_);
    int n = 0;
    while (!stop.load()) {
      ++n;
      source.Exec("UPDATE items SET name = 'w" + std::to_string(n) + "', price = price + 1 WHERE id = " +
                  std::to_string(1 + (n * 37) % 3000) + ";"
                  "INSERT INTO items VALUES (" + std::to_string(100000 + n) + ", 'new', 1, now());"
                  "DELETE FROM items WHERE id = " + std::to_string(100000 + n - 1) + ";");
    }
  });
  for (int run = 0; run < 10; ++run) {
    json busy = RunVerify({{"mode", "rows"}, {"rechecks", 3}, {"recheck_delay_ms", 500}, {"chunk_rows", 500}});
    EXPECT_TRUE(busy.value("equal", false)) << "run " << run << ": " << busy.dump(2);
  }
  stop = true;
  writer.join();

  // Damage with psql; the stream does not touch these rows, so verify finds them, and one call
  // repairs them.
  target.Exec("DELETE FROM public.items WHERE id = 10; UPDATE public.items SET price = price + 0.001 "
              "WHERE id = 20;");
  json damaged = RunVerify(json::object());
  EXPECT_FALSE(damaged.at("equal").get<bool>()) << damaged.dump(2);
  std::set<std::string> keys;
  for (const auto& d : damaged.at("tables")[0].at("diffs")) keys.insert(d.at("kind").get<std::string>() + " " + d.at("key").get<std::string>());
  EXPECT_EQ(keys, (std::set<std::string>{"missing id=10", "different id=20"})) << damaged.dump(2);

  json repaired = RunVerify({{"repair", true}});
  EXPECT_TRUE(repaired.at("equal").get<bool>()) << repaired.dump(2);
  EXPECT_EQ(repaired.at("tables")[0].at("repaired"), 2) << repaired.dump(2);
  EXPECT_TRUE(RunVerify(json::object()).at("equal").get<bool>());
  EXPECT_EQ(target.QueryValue("SELECT count(*) FROM public.items WHERE id = 10"), "1");

  // The connector's status shows the last result.
  json status = c.Expect(200, "GET", "/connectors/vfy/status");
  EXPECT_TRUE(status.at("verify").at("equal").get<bool>()) << status.dump(2);
  EXPECT_EQ(status.at("verify").at("differences"), 0) << status.dump(2);

  // The job list, cancel, metrics.
  json list = c.Expect(200, "GET", "/connectors/vfy/verify");
  EXPECT_GE(list.size(), 6u);
  json cancelled = c.Expect(202, "DELETE", "/connectors/vfy/verify/" + list[0].at("id").get<std::string>());
  EXPECT_TRUE(cancelled.contains("state"));
  HttpResult metrics = c.Call("GET", "/metrics");
  EXPECT_NE(metrics.body.find("sluice_verify_rows_compared_total{connector=\"vfy\"}"), std::string::npos);
  EXPECT_NE(metrics.body.find("sluice_verify_differences{connector=\"vfy\",table=\"public.items\"} 0"),
            std::string::npos)
      << metrics.body.substr(0, 4000);
}

TEST_F(VerifyServeTest, VerifiesAFinishedOneShotSync) {
  RestClient& c = serve_->client();
  json sync = c.Expect(201, "POST", "/syncs", Connector().dump());
  const std::string id = sync.at("id");
  WaitUntil([&] { return c.Expect(200, "GET", "/syncs/" + id).at("state") != "RUNNING"; }, 60s,
            "the sync ends");
  ASSERT_EQ(c.Expect(200, "GET", "/syncs/" + id).at("state"), "SUCCEEDED");
  PgClient(dst_).Exec("UPDATE public.items SET name = NULL WHERE id = 7");
  json started = c.Expect(202, "POST", "/syncs/" + id + "/verify", "{\"mode\": \"rows\"}");
  const std::string job_id = started.at("id");
  json job;
  WaitUntil([&] {
    job = c.Expect(200, "GET", "/syncs/" + id + "/verify/" + job_id);
    return job.at("state") != "running";
  }, 60s, "the verification ends");
  EXPECT_FALSE(job.at("equal").get<bool>()) << job.dump(2);
  ASSERT_EQ(job.at("tables")[0].at("diffs").size(), 1u) << job.dump(2);
  EXPECT_EQ(job.at("tables")[0].at("diffs")[0].at("key"), "id=7");
  EXPECT_EQ(job.at("tables")[0].at("diffs")[0].at("columns"), json::array({"name"}));
  EXPECT_EQ(c.Expect(200, "GET", "/syncs/" + id + "/verify").size(), 1u);
  HttpResult unknown = c.Call("POST", "/syncs/nope/verify", "{}");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
}

TEST_F(VerifyServeTest, EveryErrorIsAJson4xxNamingTheProblem) {
  RestClient& c = serve_->client();
  c.Expect(201, "POST", "/connectors", Connector().dump());
  auto expect_error = [&](int status, const std::string& method, const std::string& path,
                          const std::string& body, const std::string& words) {
    HttpResult r = c.Call(method, path, body);
    EXPECT_EQ(r.status, status) << method << " " << path << ": " << r.body;
    json j = r.Json();
    EXPECT_EQ(j.at("error_code"), status) << r.body;
    EXPECT_NE(j.at("message").get<std::string>().find(words), std::string::npos) << r.body;
  };
  expect_error(404, "POST", "/connectors/nope/verify", "{}", "nope");
  expect_error(400, "POST", "/connectors/vfy/verify", "{\"mode\": \"fast\"}", "count, checksum, rows");
  expect_error(400, "POST", "/connectors/vfy/verify", "{\"tabels\": []}", "unknown field \"tabels\"");
  expect_error(400, "POST", "/connectors/vfy/verify", "{\"rechecks\": -1}", "rechecks");
  expect_error(400, "POST", "/connectors/vfy/verify", "{not json", "not valid JSON");
  expect_error(404, "GET", "/connectors/vfy/verify/999", "", "no verification 999");
  expect_error(404, "DELETE", "/connectors/vfy/verify/999", "", "no verification 999");
  expect_error(405, "PUT", "/connectors/vfy/verify", "{}", "allowed: GET, POST");
  // A table the connector does not capture: the job fails and says why.
  json started = c.Expect(202, "POST", "/connectors/vfy/verify", "{\"tables\": [\"public.ghost\"]}");
  json job;
  WaitUntil([&] {
    job = c.Expect(200, "GET", "/connectors/vfy/verify/" + started.at("id").get<std::string>());
    return job.at("state") != "running";
  }, 60s, "the job ends");
  EXPECT_EQ(job.at("state"), "failed") << job.dump(2);
  EXPECT_NE(job.value("error", "").find("public.ghost"), std::string::npos) << job.dump(2);
}

}  // namespace
}  // namespace sluice::itest
