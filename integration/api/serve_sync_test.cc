// One-shot full syncs, PostgreSQL -> MariaDB: through the REST API (POST /syncs, progress to
// 100 %) and through `sluice sync` (progress lines, summary table, exit 0). Both end with the
// comparator on every table.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "integration/api/serve_fixture.h"

namespace sluice::itest {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

class SyncToMariaDb : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_db_ = CreateScratchPgDatabase("api_sync_src");
    my_db_ = CreateScratchMysqlDatabase("api_sync_dst");
    PgClient(pg_db_).Exec(R"(
      CREATE SCHEMA shop;
      CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer text NOT NULL,
                                amount numeric(10,2), note text);
      INSERT INTO shop.orders
        SELECT g, 'customer-' || (g % 97), (g % 10000) / 100.0,
               CASE WHEN g % 7 = 0 THEN NULL ELSE repeat('x', g % 50) END
        FROM generate_series(1, 20000) g;
      CREATE TABLE shop.customers (id int PRIMARY KEY, email text);
      INSERT INTO shop.customers SELECT g, 'c' || g || '@example.com' FROM generate_series(1, 300) g;
      ANALYZE;)");
  }

  json Config(const std::string& name) const {
    PgClient source(pg_db_);
    MysqlClient target(my_db_);
    return {{"name", name},
            {"config",
             {{"connector.class", "postgres"},
              {"database.hostname", source.host()},
              {"database.port", std::to_string(source.port())},
              {"database.user", source.user()},
              {"database.dbname", pg_db_},
              {"table.include.list", "shop\\..*"},
              {"sink.type", "mysql"},
              {"sink.url", target.Url()}}}};
  }

  void ExpectTargetEqualsSource() {
    PgClient pg(pg_db_);
    MysqlClient my(my_db_);
    ExpectTablesEqual(pg.Query("SELECT id::text, customer, amount::text, note FROM shop.orders"),
                      my.Query("SELECT CAST(id AS CHAR), customer, CAST(amount AS CHAR), note "
                               "FROM orders"));
    ExpectTablesEqual(pg.Query("SELECT id::text, email FROM shop.customers"),
                      my.Query("SELECT CAST(id AS CHAR), email FROM customers"));
  }

  std::string pg_db_;
  std::string my_db_;
};

TEST_F(SyncToMariaDb, SyncJobReachesHundredPercentAndTargetEqualsSource) {
  ServeProcess serve;
  RestClient& api = serve.client();
  json created = api.Expect(201, "POST", "/syncs", Config("full_copy").dump());
  std::string id = created["id"];
  EXPECT_THAT(id, ::testing::StartsWith("sync_"));
  EXPECT_EQ(created["config"]["snapshot.mode"], "initial_only");

  json last;
  double last_percent = -1;
  WaitUntil([&] {
    last = api.Expect(200, "GET", "/syncs/" + id);
    if (last["progress"]["percent"].is_number()) {
      double p = last["progress"]["percent"].get<double>();
      EXPECT_GE(p, last_percent) << "progress went backwards: " << last.dump();
      last_percent = p;
    }
    if (last["state"] == "FAILED") throw HarnessError("sync failed: " + last.dump());
    return last["state"] == "SUCCEEDED";
  }, std::chrono::seconds(120), "the sync succeeds", std::chrono::milliseconds(100));

  EXPECT_EQ(last["progress"]["percent"], 100.0) << last.dump();
  EXPECT_EQ(last["result"]["status"], "ok");
  ASSERT_EQ(last["progress"]["tables"].size(), 2u) << last.dump();
  uint64_t rows = 0;
  for (const auto& t : last["progress"]["tables"]) {
    EXPECT_EQ(t["done"], true);
    EXPECT_EQ(t["percent"], 100.0);
    EXPECT_TRUE(t.contains("rows_per_s") && t.contains("eta_s") && t.contains("bytes_done"));
    rows += t["rows_done"].get<uint64_t>();
  }
  EXPECT_EQ(rows, 20300u);
  auto list = api.Expect(200, "GET", "/syncs");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_EQ(api.Expect(200, "DELETE", "/syncs/" + id)["state"], "SUCCEEDED");

  // Kept in the state store across a restart of the server.
  serve.Restart();
  EXPECT_EQ(api.Expect(200, "GET", "/syncs/" + id)["state"], "SUCCEEDED");
  ExpectTargetEqualsSource();
}

TEST_F(SyncToMariaDb, SyncCommandPrintsProgressAndASummary) {
  CommandResult r = SluiceProcess::RunToCompletion("sync", Config("cli_copy"),
                                                   std::chrono::seconds(120));
  ASSERT_TRUE(r.Success()) << r.status.Describe() << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err;
  EXPECT_THAT(r.out, HasSubstr("shop.orders"));
  EXPECT_THAT(r.out, HasSubstr("shop.customers"));
  EXPECT_THAT(r.out, HasSubstr("total"));
  EXPECT_THAT(r.out, HasSubstr("20300"));
  EXPECT_THAT(r.err, HasSubstr("100.0%"));  // plain progress lines when not a terminal
  EXPECT_THAT(r.err, HasSubstr("sluice sync: done"));
  ExpectTargetEqualsSource();
}

}  // namespace
}  // namespace sluice::itest
