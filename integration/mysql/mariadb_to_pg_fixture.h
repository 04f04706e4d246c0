// The MariaDB -> PostgreSQL fixture of the suites in this folder: a scratch MariaDB database and
// a scratch PostgreSQL target database per test, the sluice binary between them, and the
// comparator. Dropped (and sluice killed) whatever the test did.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <random>
#include <string>

#include "integration/common/itest.h"

namespace sluice::itest {

class MariadbToPgFixture : public ::testing::Test {
 protected:
  // `prefix` names the scratch databases and the connector.
  explicit MariadbToPgFixture(std::string prefix) : prefix_(std::move(prefix)) {}

  void SetUp() override {
    my_db_ = CreateScratchMysqlDatabase(prefix_);
    pg_db_ = CreateScratchPgDatabase(prefix_ + "_target");
    my_ = MysqlClient(my_db_);
    pg_ = PgClient(pg_db_);
    std::random_device rd;
    server_id_ = 100000 + rd() % 1000000;
  }

  void TearDown() override {
    if (sluice_) sluice_->Kill();
    sluice_.reset();
    DropMysqlDatabase(my_db_);
    DropPgDatabase(pg_db_);
  }

  nlohmann::json Config() const {
    return {{"name", prefix_ + "_" + my_db_},
            {"connector.class", "mysql"},
            {"database.hostname", TestEnv::MysqlHost()},
            {"database.port", std::to_string(TestEnv::MysqlPort())},
            {"database.user", kPasswordUser},
            {"database.password", kTestPassword},
            {"database.server.id", std::to_string(server_id_)},
            {"database.include.list", my_db_},
            {"heartbeat.interval.ms", "200"},
            // Small ranges on two connections: the snapshots here run in parallel chunks.
            {"snapshot.max.threads", "2"},
            {"snapshot.chunk.rows", "5000"},
            {"sink.type", "postgres"},
            {"sink.url", pg_.Url()},
            {"sink.batch.ms", "100"}};
  }

  void StartSluice() { sluice_.emplace(SluiceProcess::Run(Config())); }

  // Target table name in PostgreSQL: the MySQL database plays the schema's role.
  std::string Target(const std::string& table) const { return "\"" + my_db_ + "\"." + table; }

  ::testing::AssertionResult Matches(const std::string& my_sql, const std::string& pg_sql) const {
    SqlResult target = pg_.TryQuery(pg_sql);
    if (!target.ok) return ::testing::AssertionFailure() << "target not ready: " << target.error;
    return TablesMatch(my_.Query(my_sql), target.rows);
  }

  void WaitForMatch(const std::string& my_sql, const std::string& pg_sql,
                    std::chrono::milliseconds timeout = std::chrono::seconds(90)) {
    WaitUntil(
        [&] {
          if (!sluice_->IsRunning()) throw HarnessError("sluice exited:\n" + sluice_->LogTail());
          return Matches(my_sql, pg_sql);
        },
        timeout, "target equals source: " + my_sql, std::chrono::milliseconds(300));
  }

  // Waits until the target has `rows` rows in `table`.
  void WaitForRows(const std::string& table, int rows) {
    WaitUntil(
        [&] {
          if (!sluice_->IsRunning()) throw HarnessError("sluice exited:\n" + sluice_->LogTail());
          SqlResult r = pg_.TryQuery("SELECT count(*) FROM " + Target(table));
          return r.ok && !r.rows.empty() && r.rows[0][0] && *r.rows[0][0] == std::to_string(rows);
        },
        std::chrono::seconds(60), "rows of " + table + " in the target",
        std::chrono::milliseconds(50));
  }

  std::string prefix_;
  std::string my_db_, pg_db_;
  MysqlClient my_;
  PgClient pg_;
  uint32_t server_id_ = 0;
  std::optional<SluiceProcess> sluice_;
};

}  // namespace sluice::itest
