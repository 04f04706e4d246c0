// A MariaDB source -> Kafka sink connector run with the sluice binary, for suites that read the
// topics back with kcat (integration/dbz_txn, integration/dbz_query): a fixture that kills sluice
// and drops the scratch database, and the connector config they share, to which each suite adds
// its own keys (table.include.list, provide.transaction.metadata, include.query, ...).
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <random>
#include <string>

#include "integration/common/itest.h"

namespace sluice::itest {

class MariadbToKafkaTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (sluice_) sluice_->Kill();
    sluice_.reset();
    if (!db_.empty()) DropMysqlDatabase(db_);
  }

  // Debezium's MySQL connector class on the test MariaDB (password user, a random server id),
  // capturing database `db_` into topics `prefix`.<db>.<table>, heartbeats every 200 ms,
  // flushed every 100 ms.
  nlohmann::json BaseConfig(const std::string& name, const std::string& prefix) const {
    std::random_device rd;
    return {{"name", name},
            {"connector.class", "io.debezium.connector.mysql.MySqlConnector"},
            {"database.hostname", TestEnv::MysqlHost()},
            {"database.port", std::to_string(TestEnv::MysqlPort())},
            {"database.user", kPasswordUser},
            {"database.password", kTestPassword},
            {"database.server.id", std::to_string(100000 + rd() % 1000000)},
            {"database.include.list", db_},
            {"topic.prefix", prefix},
            {"heartbeat.interval.ms", "200"},
            {"sink.type", "kafka"},
            {"sink.kafka.bootstrap.servers", TestEnv::KafkaBootstrap()},
            {"sink.batch.ms", "100"}};
  }

  std::optional<SluiceProcess> sluice_;
  std::string db_;
};

}  // namespace sluice::itest
