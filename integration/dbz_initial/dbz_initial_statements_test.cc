// database.initial.statements with the sluice binary, read back with kcat: each statement runs
// on the snapshot's connection (a session variable it sets is what the snapshot's SELECT
// returns, through snapshot.select.statement.overrides; ";;" is a ';' inside a statement), the
// session settings Sluice pins are set again after them (a user's TimeZone/DateStyle or
// time_zone/sql_mode does not change the values read), and a failing statement stops the start
// with an error that names it.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "integration/common/itest.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class DbzInitialStatementsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (sluice_) sluice_->Kill();
    sluice_.reset();
    for (const std::string& slot : slots_) DropPgSlot(slot);
    if (!pg_db_.empty()) DropPgDatabase(pg_db_);
    if (!my_db_.empty()) MysqlClient().TryQuery("DROP DATABASE IF EXISTS `" + my_db_ + "`");
  }

  json ToKafka(json config, const std::string& prefix) {
    config.update({{"topic.prefix", prefix},
                   {"sink.type", "kafka"},
                   {"sink.kafka.bootstrap.servers", TestEnv::KafkaBootstrap()},
                   {"sink.batch.ms", "100"}});
    return config;
  }

  json PgSource() {
    const std::string slot = UniqueName("dbzi_slot");
    slots_.push_back(slot);
    return {{"name", slot},
            {"connector.class", "postgres"},
            {"database.hostname", TestEnv::PgHost()},
            {"database.port", std::to_string(TestEnv::PgPort())},
            {"database.user", TestEnv::PgUser()},
            {"database.dbname", pg_db_},
            {"slot.name", slot},
            {"publication.name", "pub_" + slot},
            {"snapshot.select.statement.overrides", "public.t"},
            {"snapshot.select.statement.overrides.public.t",
             "SELECT id, current_setting('dbz.tag') AS tag, ts, d FROM public.t"}};
  }

  json MySource() {
    std::random_device rd;
    return {{"name", UniqueName("dbzi")},
            {"connector.class", "mysql"},
            {"database.hostname", TestEnv::MysqlHost()},
            {"database.port", std::to_string(TestEnv::MysqlPort())},
            {"database.user", TestEnv::MysqlUser()},
            {"database.server.id", std::to_string(100000 + rd() % 1000000)},
            {"database.include.list", my_db_},
            {"snapshot.select.statement.overrides", my_db_ + ".t"},
            {"snapshot.select.statement.overrides." + my_db_ + ".t",
             "SELECT id, @tag AS tag, ts, dt FROM `" + my_db_ + "`.t"}};
  }

  // The `after` image of the one snapshot record on `topic`.
  json SnapshotAfter(const std::string& topic) {
    auto messages = WaitForMessages(topic, 1, 60s);
    EXPECT_EQ(messages.size(), 1u);
    if (messages.empty() || !messages[0].value) return json();
    return json::parse(*messages[0].value).at("after");
  }

  // Runs `config` to its end and checks that it failed naming `statement`.
  void ExpectRefusedNaming(const json& config, const std::string& statement) {
    CommandResult r = SluiceProcess::RunToCompletion("run", config, 60s);
    EXPECT_FALSE(r.Success()) << r.out << r.err;
    const std::string text = r.out + r.err;
    EXPECT_NE(text.find("database.initial.statements"), std::string::npos) << text;
    EXPECT_NE(text.find("'" + statement + "'"), std::string::npos) << text;
  }

  std::optional<SluiceProcess> sluice_;
  std::vector<std::string> slots_;
  std::string pg_db_, my_db_;
};

TEST_F(DbzInitialStatementsTest, PostgresSnapshotSeesTheStatementsButNotTheirSessionSettings) {
  pg_db_ = CreateScratchPgDatabase("dbzi");
  PgClient(pg_db_).Exec(
      "CREATE TABLE t (id int PRIMARY KEY, tag text, ts timestamptz, d date);"
      "INSERT INTO t VALUES (1, 'stored', '2024-02-29 12:00:00.5+00', '2024-02-29')");
  const std::string prefix = UniqueName("dbzi");
  json config = ToKafka(PgSource(), prefix);
  config["database.initial.statements"] =
      "SET dbz.tag = 'semi;;colon'; SET TimeZone = 'Asia/Tokyo';SET DateStyle = 'SQL, DMY';"
      "SET IntervalStyle = 'postgres'";
  sluice_.emplace(SluiceProcess::Run(config));
  json after = SnapshotAfter(prefix + ".public.t");
  ASSERT_TRUE(sluice_->IsRunning()) << sluice_->LogTail();
  EXPECT_EQ(after["tag"], "semi;colon") << after.dump();
  // ISO dates and UTC as Sluice pins them: 2024-02-29 is day 19782, 12:00:00.5 UTC stays so.
  EXPECT_EQ(after["d"], 19782) << after.dump();
  EXPECT_EQ(after["ts"], "2024-02-29T12:00:00.5Z") << after.dump();
  sluice_->Kill();
  sluice_.reset();

  // A statement the server refuses stops the start, named; nothing is captured.
  config = ToKafka(PgSource(), UniqueName("dbzi"));
  config["database.initial.statements"] = "SET dbz.tag = 'ok';SET no_such_setting TO 1";
  ExpectRefusedNaming(config, "SET no_such_setting TO 1");
  // They are for session settings: one that leaves a transaction open is refused.
  config["database.initial.statements"] = "BEGIN";
  CommandResult open = SluiceProcess::RunToCompletion("run", config, 60s);
  EXPECT_FALSE(open.Success());
  EXPECT_NE((open.out + open.err).find("leave a transaction open"), std::string::npos)
      << open.out << open.err;
}

TEST_F(DbzInitialStatementsTest, MariadbSnapshotSeesTheStatementsButNotTheirSessionSettings) {
  my_db_ = CreateScratchMysqlDatabase("dbzi");
  MysqlClient(my_db_).Exec(
      "CREATE TABLE t (id INT PRIMARY KEY, tag VARCHAR(20), ts TIMESTAMP(3) NULL, dt DATETIME);"
      "SET time_zone = '+00:00';"
      "INSERT INTO t VALUES (1, 'stored', '2024-02-29 12:00:00.500', '2024-02-29 12:00:00')");
  const std::string prefix = UniqueName("dbzi");
  json config = ToKafka(MySource(), prefix);
  config["database.initial.statements"] =
      "SET @tag = 'semi;;colon'; SET time_zone = '+09:00'; SET sql_mode = 'ANSI_QUOTES'";
  sluice_.emplace(SluiceProcess::Run(config));
  json after = SnapshotAfter(prefix + "." + my_db_ + ".t");
  ASSERT_TRUE(sluice_->IsRunning()) << sluice_->LogTail();
  EXPECT_EQ(after["tag"], "semi;colon") << after.dump();
  // time_zone stays '+00:00': the TIMESTAMP reads as the UTC instant it holds.
  EXPECT_EQ(after["ts"], "2024-02-29T12:00:00.5Z") << after.dump();
  sluice_->Kill();
  sluice_.reset();

  config = ToKafka(MySource(), UniqueName("dbzi"));
  config["database.initial.statements"] = "SET @tag = 'ok'; SET SESSION no_such_variable = 1";
  ExpectRefusedNaming(config, "SET SESSION no_such_variable = 1");
  config["database.initial.statements"] = "START TRANSACTION";
  CommandResult open = SluiceProcess::RunToCompletion("run", config, 60s);
  EXPECT_FALSE(open.Success());
  EXPECT_NE((open.out + open.err).find("leave a transaction open"), std::string::npos)
      << open.out << open.err;
}

}  // namespace
}  // namespace sluice::itest
