// The test servers' coordinates, read from the environment that `make test` exports
// (integration/servers/up.sh writes them to DIR/servers.env).
#ifndef SLUICE_INTEGRATION_COMMON_TEST_ENV_H_
#define SLUICE_INTEGRATION_COMMON_TEST_ENV_H_

#include <filesystem>
#include <stdexcept>
#include <string>

namespace sluice::itest {

// Thrown by every helper in this library when it cannot do its job (a missing variable, a
// client that exits non-zero, a timeout). GoogleTest reports an exception escaping a test body
// as a failure with its message, which ends the test; nothing here ever skips a test.
class HarnessError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Names of the variables, so that suites and scripts agree on one spelling.
inline constexpr const char* kPgHostVar = "SLUICE_TEST_PG_HOST";
inline constexpr const char* kPgPortVar = "SLUICE_TEST_PG_PORT";
inline constexpr const char* kPgUserVar = "SLUICE_TEST_PG_USER";
inline constexpr const char* kMysqlHostVar = "SLUICE_TEST_MYSQL_HOST";
inline constexpr const char* kMysqlPortVar = "SLUICE_TEST_MYSQL_PORT";
inline constexpr const char* kMysqlUserVar = "SLUICE_TEST_MYSQL_USER";
inline constexpr const char* kKafkaBootstrapVar = "SLUICE_TEST_KAFKA_BOOTSTRAP";
inline constexpr const char* kKafkaControlVar = "SLUICE_TEST_KAFKA_CONTROL";
inline constexpr const char* kServersDirVar = "SLUICE_TEST_SERVERS_DIR";
inline constexpr const char* kSluiceBinVar = "SLUICE_BIN";

// Users that up.sh creates besides the superusers, for authentication and privilege cases.
// PostgreSQL: sluice_pw (LOGIN REPLICATION), sluice_norepl (LOGIN, no REPLICATION); both need
// the password over TCP. MariaDB: sluice_pw@'%' with SELECT, RELOAD, REPLICATION SLAVE,
// REPLICATION CLIENT.
inline constexpr const char* kPasswordUser = "sluice_pw";
inline constexpr const char* kNoReplicationUser = "sluice_norepl";
inline constexpr const char* kTestPassword = "secret";

// Read-only accessors over the process environment. Each accessor throws HarnessError naming
// the variable when it is unset or empty ("run through make test, which starts the servers").
// Thread-safe as long as nobody calls setenv() concurrently.
class TestEnv {
 public:
  static std::string PgHost();
  static int PgPort();
  static std::string PgUser();  // superuser, trusted (no password)
  static std::string MysqlHost();
  static int MysqlPort();
  static std::string MysqlUser();  // root, empty password
  static std::string KafkaBootstrap();
  // Unix socket of sluice_mock_broker's control channel (creates topics with N partitions).
  static std::string KafkaControlSocket();
  static std::filesystem::path ServersDir();
  // The sluice binary, set per test by sluice_add_integration_test() when the target exists.
  static std::filesystem::path SluiceBin();

  // The value of NAME; throws HarnessError when unset or empty.
  static std::string Require(const char* name);
};

}  // namespace sluice::itest

#endif  // SLUICE_INTEGRATION_COMMON_TEST_ENV_H_
