// The MySQL source's TLS mode: Debezium's database.ssl.mode and Sluice's database.sslmode.
#include "connectors/mysql/source_config.h"

#include <gtest/gtest.h>

namespace sluice::mysql {
namespace {

core::Result<std::string> Mode(std::map<std::string, std::string> values) {
  return SslModeFromConfig(core::ConnectorConfig("c", std::move(values)));
}

TEST(MysqlSslModeTest, DebeziumsKeyOrOursOrPreferred) {
  EXPECT_EQ(*Mode({}), "preferred");
  EXPECT_EQ(*Mode({{"database.sslmode", "required"}}), "required");
  EXPECT_EQ(*Mode({{"database.ssl.mode", "verify_identity"}}), "verify_identity");
  EXPECT_EQ(*Mode({{"database.ssl.mode", "disabled"}, {"database.sslmode", "disabled"}}),
            "disabled");
  auto both = Mode({{"database.ssl.mode", "disabled"}, {"database.sslmode", "required"}});
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(both.status().message().find("database.ssl.mode 'disabled'"), std::string::npos);
  EXPECT_NE(both.status().message().find("database.sslmode 'required'"), std::string::npos);
}

}  // namespace
}  // namespace sluice::mysql
