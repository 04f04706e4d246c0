// MariaDB -> file sink with the sluice binary: the JSON-lines (Debezium envelopes) are replayed
// by key and compared with the source through the one comparator; and start-up errors that the
// operator must fix are reported clearly.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "integration/common/itest.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

class MariadbToFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = CreateScratchMysqlDatabase("my2file");
    my_ = MysqlClient(db_);
    std::random_device rd;
    server_id_ = 100000 + rd() % 1000000;
  }
  void TearDown() override {
    if (sluice_) sluice_->Kill();
    sluice_.reset();
    MysqlClient().TryQuery("DROP DATABASE IF EXISTS `" + db_ + "`");
  }

  nlohmann::json Config(const std::string& out_dir) const {
    return {{"name", "my2file_" + db_},
            {"connector.class", "io.debezium.connector.mysql.MySqlConnector"},
            {"database.hostname", TestEnv::MysqlHost()},
            {"database.port", std::to_string(TestEnv::MysqlPort())},
            {"database.user", kPasswordUser},
            {"database.password", kTestPassword},
            {"database.server.id", std::to_string(server_id_)},
            {"database.include.list", db_},
            {"heartbeat.interval.ms", "200"},
            {"sink.type", "file"},
            {"sink.url", out_dir},
            {"sink.batch.ms", "100"}};
  }

  // Replays <dir>/<db>.items.jsonl by key: r/c/u set the row, d erases it, t clears the table.
  // Values are printed as the source SQL prints them (envelope encodings: decimal as a string,
  // date as epoch days, bytes as base64).
  SqlRows Replay(const std::filesystem::path& dir) const {
    std::ifstream in(dir / (db_ + ".items.jsonl"));
    std::map<int64_t, SqlRow> rows;
    std::string line;
    auto text = [](const nlohmann::json& v) -> SqlValue {
      if (v.is_null()) return std::nullopt;
      if (v.is_string()) return v.get<std::string>();
      return v.dump();
    };
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto e = nlohmann::json::parse(line);
      if (e.is_null()) continue;  // tombstone
      std::string op = e.value("op", "");
      if (op == "t") {
        rows.clear();
      } else if (op == "d") {
        rows.erase(e["before"]["id"].get<int64_t>());
      } else {
        const auto& a = e["after"];
        rows[a["id"].get<int64_t>()] = {text(a["id"]), text(a["name"]), text(a["amt"]),
                                        text(a["d"]), text(a["b"])};
      }
    }
    SqlRows out;
    for (auto& [k, r] : rows) out.push_back(r);
    return out;
  }

  static constexpr const char* kSourceSql =
      "SELECT id, name, CAST(amt AS CHAR), DATEDIFF(d, '1970-01-01'), TO_BASE64(b) FROM items";

  std::string db_;
  MysqlClient my_;
  uint32_t server_id_ = 0;
  std::optional<SluiceProcess> sluice_;
};

TEST_F(MariadbToFileTest, JsonLinesReplayEqualsSourceAfterSnapshotStreamAndTruncate) {
  my_.Exec("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20) CHARACTER SET utf8mb4,"
           " amt DECIMAL(10,2), d DATE, b VARBINARY(8));"
           "INSERT INTO items VALUES (1, 'a', 1.50, '2024-02-03', X'00FF'), (2, 'b', NULL, NULL, NULL),"
           " (3, 'caf\xC3\xA9', -3.25, '1969-12-31', X'');");
  TempDir out;
  sluice_.emplace(SluiceProcess::Run(Config(out.path().string())));
  my_.Exec("INSERT INTO items VALUES (4, 'd', 4, '2000-01-01', X'01');"
           "UPDATE items SET name = 'bb', amt = 2.00 WHERE id = 2; DELETE FROM items WHERE id = 1;");
  WaitUntil([&] { return TablesMatch(my_.Query(kSourceSql), Replay(out.path())); }, 60s,
            "replayed JSON lines equal the source", 200ms);
  my_.Exec("TRUNCATE TABLE items; INSERT INTO items VALUES (9, 'z', 9.99, '2030-06-30', X'AB');");
  WaitUntil([&] { return TablesMatch(my_.Query(kSourceSql), Replay(out.path())); }, 60s,
            "replayed JSON lines equal the source after TRUNCATE", 200ms);
  ExpectTablesEqual(my_.Query(kSourceSql), Replay(out.path()));
}

TEST_F(MariadbToFileTest, WrongPasswordStopsWithAClearMessage) {
  TempDir out;
  auto config = Config(out.path().string());
  config["database.password"] = "wrong";
  CommandResult r = SluiceProcess::RunToCompletion("run", config, 60s);
  EXPECT_FALSE(r.Success());
  EXPECT_NE((r.err + r.out).find("database.password"), std::string::npos) << r.err << r.out;
}

}  // namespace
}  // namespace sluice::itest
