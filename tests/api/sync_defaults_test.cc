// The settings a one-shot sync changes from the connector's defaults (api/sync_defaults.h).
#include "api/sync_defaults.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace sluice::api {
namespace {

core::ConnectorConfig Config(std::map<std::string, std::string> values) {
  return core::ConnectorConfig("s", std::move(values));
}

TEST(SyncDefaults, PostgresToPostgresReadsOnOneConnection) {
  auto config = Config({{"connector.class", "postgres"}, {"sink.type", "postgres"}});
  EXPECT_EQ(ApplySyncDefaults(config), std::vector<std::string>{"snapshot.max.threads=1"});
  EXPECT_EQ(config.Get("snapshot.max.threads"), "1");
}

TEST(SyncDefaults, DebeziumClassNameCounts) {
  auto config = Config({{"connector.class", "io.debezium.connector.postgresql.PostgresConnector"},
                        {"sink.type", "postgres"}});
  ApplySyncDefaults(config);
  EXPECT_EQ(config.Get("snapshot.max.threads"), "1");
}

TEST(SyncDefaults, TheUsersSettingStays) {
  auto config = Config({{"connector.class", "postgres"},
                        {"sink.type", "postgres"},
                        {"snapshot.max.threads", "4"}});
  EXPECT_TRUE(ApplySyncDefaults(config).empty());
  EXPECT_EQ(config.Get("snapshot.max.threads"), "4");
}

TEST(SyncDefaults, OtherSinksAndSourcesAreLeftAlone) {
  for (const auto& [source, sink] : std::map<std::string, std::string>{
           {"postgres", "kafka"}, {"mysql", "postgres"}}) {
    auto config = Config({{"connector.class", source}, {"sink.type", sink}});
    EXPECT_TRUE(ApplySyncDefaults(config).empty()) << source << " -> " << sink;
    EXPECT_FALSE(config.Has("snapshot.max.threads"));
  }
}

}  // namespace
}  // namespace sluice::api
