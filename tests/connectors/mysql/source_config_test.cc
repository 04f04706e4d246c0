// The MySQL source's TLS settings: Debezium's database.ssl.mode and Sluice's database.sslmode, and
// the PEM files (database.sslrootcert, database.sslcert, database.sslkey).
#include "connectors/mysql/source_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

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

core::Status Tls(std::map<std::string, std::string> values, ConnectionParams& params) {
  return ApplyTlsConfig(core::ConnectorConfig("c", std::move(values)), params);
}

void ExpectRefused(const core::Status& s, const std::string& names) {
  EXPECT_EQ(s.code(), core::StatusCode::kInvalidArgument) << s.message();
  EXPECT_NE(s.message().find(names), std::string::npos) << s.message();
}

// The PEM files reach the connection's options, and every combination that would leave one
// unused or unreadable is refused naming the key.
TEST(MysqlTlsConfigTest, FilesReachTheOptionsOrAreRefusedNamingTheKey) {
  char dir_template[] = "/tmp/sluice-tls-config-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir(dir_template);
  for (const char* name : {"ca.pem", "client.pem", "client.key"}) {
    std::ofstream(dir / name) << "-----BEGIN CERTIFICATE-----\n";
  }
  const std::string ca = (dir / "ca.pem").string();
  const std::string cert = (dir / "client.pem").string();
  const std::string key = (dir / "client.key").string();

  ConnectionParams p;
  ASSERT_TRUE(Tls({{"database.ssl.mode", "verify_identity"}, {"database.sslrootcert", ca},
                   {"database.sslcert", cert}, {"database.sslkey", key}}, p).ok());
  EXPECT_EQ(p.ssl_mode, "verify_identity");
  EXPECT_EQ(p.ssl_ca, ca);
  EXPECT_EQ(p.ssl_cert, cert);
  EXPECT_EQ(p.ssl_key, key);
  ConnectionParams q;
  ASSERT_TRUE(Tls({{"database.sslmode", "required"}, {"database.sslcert", cert},
                   {"database.sslkey", key}}, q).ok());
  EXPECT_TRUE(q.ssl_ca.empty());

  ConnectionParams r;
  ExpectRefused(Tls({{"database.sslmode", "required"}, {"database.sslrootcert", ca}}, r),
                "database.sslrootcert is only used to verify the server");
  ExpectRefused(Tls({{"database.sslmode", "preferred"}, {"database.sslrootcert", ca}}, r),
                "database.sslmode 'preferred'");
  ExpectRefused(Tls({{"database.sslmode", "disabled"}, {"database.sslcert", cert},
                     {"database.sslkey", key}}, r),
                "database.sslcert is set but database.sslmode is 'disabled'");
  ExpectRefused(Tls({{"database.sslmode", "required"}, {"database.sslcert", cert}}, r),
                "database.sslcert and database.sslkey go together");
  ExpectRefused(Tls({{"database.sslmode", "required"}, {"database.sslkey", key}}, r),
                "database.sslcert and database.sslkey go together");
  ExpectRefused(Tls({{"database.sslmode", "verify_ca"},
                     {"database.sslrootcert", (dir / "missing.pem").string()}}, r),
                "database.sslrootcert: cannot read '" + (dir / "missing.pem").string() + "'");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sluice::mysql
