// Smoke tests: each server that integration/servers/up.sh starts is reachable through the
// harness's own clients (psql, mariadb, kcat) and configured for change data capture.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "integration/common/itest.h"

namespace sluice::itest {
namespace {

using std::chrono::seconds;

TEST(PostgresSmoke, ReachableWithLogicalWal) {
  PgClient pg;
  EXPECT_EQ(pg.QueryValue("SHOW wal_level"), "logical");
  EXPECT_EQ(pg.QueryValue("SELECT current_setting('server_version_num')::int / 10000"), "15");
}

TEST(PostgresSmoke, ScratchDatabaseRoundTripsNullsTabsAndNewlines) {
  PgClient pg(CreateScratchPgDatabase("smoke"));
  pg.Exec("CREATE TABLE t (id int PRIMARY KEY, note text)");
  pg.Exec("INSERT INTO t VALUES (1, NULL), (2, ''), (3, E'a\\tb\\nc')");
  SqlRows rows = pg.Query("SELECT id, note FROM t ORDER BY id");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][1], std::nullopt);
  EXPECT_EQ(rows[1][1], std::optional<std::string>(""));
  EXPECT_EQ(rows[2][1], std::optional<std::string>("a\tb\nc"));
}

TEST(PostgresSmoke, PasswordAndPrivilegeUsers) {
  PgClient with_password("postgres", kPasswordUser, kTestPassword);
  EXPECT_EQ(with_password.QueryValue("SELECT rolreplication FROM pg_roles WHERE rolname = current_user"), "t");
  SqlResult wrong = PgClient("postgres", kPasswordUser, "wrong").TryQuery("SELECT 1");
  EXPECT_FALSE(wrong.ok);
  EXPECT_NE(wrong.error.find("password authentication failed"), std::string::npos) << wrong.error;
  PgClient no_replication("postgres", kNoReplicationUser, kTestPassword);
  EXPECT_EQ(no_replication.QueryValue("SELECT rolreplication FROM pg_roles WHERE rolname = current_user"), "f");
}

TEST(MariadbSmoke, ReachableWithRowBinlog) {
  MysqlClient my;
  EXPECT_EQ(my.QueryValue("SELECT @@binlog_format"), "ROW");
  EXPECT_EQ(my.QueryValue("SELECT @@binlog_row_image"), "FULL");
  EXPECT_EQ(my.QueryValue("SELECT @@binlog_row_metadata"), "FULL");
  EXPECT_EQ(my.QueryValue("SELECT @@log_bin"), "1");
}

TEST(MariadbSmoke, ScratchDatabaseRoundTripsNullsTabsAndNewlines) {
  MysqlClient my(CreateScratchMysqlDatabase("smoke"));
  my.Exec("CREATE TABLE t (id INT PRIMARY KEY, note TEXT)");
  my.Exec("INSERT INTO t VALUES (1, NULL), (2, ''), (3, 'a\\tb\\nc<&>'), (4, 'NULL')");
  SqlRows rows = my.Query("SELECT id, note FROM t ORDER BY id");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0][1], std::nullopt);
  EXPECT_EQ(rows[1][1], std::optional<std::string>(""));
  EXPECT_EQ(rows[2][1], std::optional<std::string>("a\tb\nc<&>"));
  EXPECT_EQ(rows[3][1], std::optional<std::string>("NULL"));
}

TEST(MariadbSmoke, PasswordUser) {
  MysqlClient cdc("", kPasswordUser, kTestPassword);
  EXPECT_EQ(cdc.QueryValue("SELECT current_user()"), "sluice_pw@%");
  SqlResult wrong = MysqlClient("", kPasswordUser, "wrong").TryQuery("SELECT 1");
  EXPECT_FALSE(wrong.ok);
  EXPECT_NE(wrong.error.find("Access denied"), std::string::npos) << wrong.error;
}

TEST(KafkaSmoke, ProduceThenConsumeWithKcat) {
  std::string topic = UniqueName("smoke");
  ProduceMessage(topic, "key-1", "line one\nline\ttwo");
  std::vector<KafkaMessage> messages = WaitForMessages(topic, 1, seconds(30));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].key, std::optional<std::string>("key-1"));
  EXPECT_EQ(messages[0].value, std::optional<std::string>("line one\nline\ttwo"));
  EXPECT_EQ(messages[0].offset, 0);
}

TEST(KafkaSmoke, TopicWithChosenPartitionCount) {
  std::string topic = UniqueName("smoke_parts");
  CreateKafkaTopic(topic, 2);
  ProduceMessage(topic, std::nullopt, "to partition one", 1);
  std::vector<KafkaMessage> messages = WaitForMessages(topic, 1, seconds(30));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].partition, 1);
  EXPECT_EQ(messages[0].key, std::nullopt);
}

TEST(HarnessSmoke, ComparatorReportsDifferences) {
  SqlRows source = {{"1", "a"}, {"2", std::nullopt}, {"3", "c"}};
  SqlRows same_other_order = {{"3", "c"}, {"1", "a"}, {"2", std::nullopt}};
  EXPECT_TRUE(TablesMatch(source, same_other_order));
  SqlRows null_became_empty = {{"1", "a"}, {"2", ""}, {"3", "c"}};
  ::testing::AssertionResult result = TablesMatch(source, null_became_empty);
  EXPECT_FALSE(result);
  EXPECT_NE(std::string(result.message()).find("('2', NULL)"), std::string::npos) << result.message();
  EXPECT_FALSE(TablesMatch(source, {{"1", "a"}}));
}

TEST(HarnessSmoke, SubprocessSignalsAndExitCodes) {
  Subprocess sleeper(ProcessOptions{.argv = {"sleep", "60"}});
  EXPECT_TRUE(sleeper.IsRunning());
  EXPECT_EQ(sleeper.WaitFor(std::chrono::milliseconds(50)), std::nullopt);
  ExitStatus killed = sleeper.Kill();
  EXPECT_EQ(killed.signal, 9) << killed.Describe();
  CommandResult failed = RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(failed.status.exit_code, 3);
  EXPECT_EQ(failed.out, "out\n");
  EXPECT_EQ(failed.err, "err\n");
  EXPECT_THROW(WaitUntil([] { return false; }, std::chrono::milliseconds(100), "never"),
               HarnessError);
}

}  // namespace
}  // namespace sluice::itest
