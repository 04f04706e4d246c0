// The PostgreSQL -> MariaDB fixture of the suites in this folder: a scratch PostgreSQL source
// database and a MariaDB target database per test, the sluice binary between them; the slot and
// both databases are dropped (and sluice killed) whatever the test did.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "integration/common/itest.h"

namespace sluice::itest {

class PgToMysqlFixture : public ::testing::Test {
 protected:
  // `prefix` names the scratch databases and the connector's slot.
  explicit PgToMysqlFixture(std::string prefix) : prefix_(std::move(prefix)) {}

  void SetUp() override {
    pg_db_ = CreateScratchPgDatabase(prefix_);
    my_db_ = UniqueName(prefix_ + "_target");
    slot_ = UniqueName("slot_" + prefix_);
    pg_ = PgClient(pg_db_);
    my_ = MysqlClient(my_db_);
  }

  void TearDown() override {
    if (sluice_) sluice_->Kill();
    sluice_.reset();
    DropPgSlot(slot_);
    DropPgDatabase(pg_db_);
    DropMysqlDatabase(my_db_);
  }

  nlohmann::json Config(const nlohmann::json& extra = nlohmann::json::object()) const {
    nlohmann::json config = {{"name", slot_},
                             {"connector.class", "postgres"},
                             {"database.hostname", TestEnv::PgHost()},
                             {"database.port", std::to_string(TestEnv::PgPort())},
                             {"database.user", TestEnv::PgUser()},
                             {"database.dbname", pg_db_},
                             {"slot.name", slot_},
                             {"publication.name", "pub_" + slot_},
                             {"table.include.list", "public\\..*"},
                             {"sink.type", "mysql"},
                             {"sink.url", MysqlClient(my_db_).Url()},
                             {"sink.batch.ms", "100"}};
    config.update(extra);
    return config;
  }

  void StartSluice(const nlohmann::json& extra = nlohmann::json::object()) {
    sluice_.emplace(SluiceProcess::Run(Config(extra)));
  }

  std::string prefix_;
  std::string pg_db_, my_db_, slot_;
  PgClient pg_;
  MysqlClient my_;
  std::optional<SluiceProcess> sluice_;
};

}  // namespace sluice::itest
