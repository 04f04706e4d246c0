// The PostgreSQL -> PostgreSQL fixture of the suites in this folder: scratch source and target
// databases per test and the sluice binary between them; the slot and both databases are dropped
// (and sluice killed) whatever the test did.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "integration/common/itest.h"

namespace sluice::itest {

class PgToPgFixture : public ::testing::Test {
 protected:
  // `prefix` names the scratch databases, the connector, its slot and its publication.
  explicit PgToPgFixture(std::string prefix) : prefix_(std::move(prefix)) {}

  void SetUp() override {
    src_db_ = CreateScratchPgDatabase(prefix_ + "_src");
    dst_db_ = CreateScratchPgDatabase(prefix_ + "_dst");
    src_ = PgClient(src_db_);
    dst_ = PgClient(dst_db_);
  }
  void TearDown() override {
    if (sluice_) sluice_->Kill();
    DropPgSourceDatabase(src_db_);
    DropPgDatabase(dst_db_);
  }

  nlohmann::json Config(const nlohmann::json& extra = nlohmann::json::object()) const {
    nlohmann::json config = {{"name", prefix_},
                             {"connector.class", "postgres"},
                             {"database.hostname", src_.host()},
                             {"database.port", std::to_string(src_.port())},
                             {"database.user", src_.user()},
                             {"database.dbname", src_db_},
                             {"slot.name", prefix_ + "_" + src_db_},
                             {"publication.name", prefix_ + "_" + src_db_},
                             {"sink.type", "postgres"},
                             {"sink.url", dst_.Url()},
                             {"sink.batch.ms", "100"}};
    config.update(extra);
    return config;
  }

  void StartSluice(const nlohmann::json& extra = nlohmann::json::object()) {
    sluice_.emplace(SluiceProcess::Run(Config(extra)));
  }

  std::string prefix_;
  std::string src_db_, dst_db_;
  PgClient src_, dst_;
  std::optional<SluiceProcess> sluice_;
};

}  // namespace sluice::itest
