#include "integration/common/test_env.h"

#include <cstdlib>
#include <string>

namespace sluice::itest {
namespace {

int ParsePort(const char* name) {
  std::string text = TestEnv::Require(name);
  try {
    size_t used = 0;
    int port = std::stoi(text, &used);
    if (used == text.size() && port > 0 && port < 65536) return port;
  } catch (const std::exception&) {
  }
  throw HarnessError(std::string(name) + "='" + text + "' is not a TCP port");
}

}  // namespace

std::string TestEnv::Require(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    std::string hint = std::string(name) == kSluiceBinVar
                           ? "the sluice binary is not built in this tree (target 'sluice'); "
                             "run through make test"
                           : "run through make test, which starts the servers (or export "
                             "the variables of .servers/servers.env after make servers-up)";
    throw HarnessError(std::string("environment variable ") + name + " is not set: " + hint);
  }
  return value;
}

std::string TestEnv::PgHost() { return Require(kPgHostVar); }
int TestEnv::PgPort() { return ParsePort(kPgPortVar); }
std::string TestEnv::PgUser() { return Require(kPgUserVar); }
std::string TestEnv::MysqlHost() { return Require(kMysqlHostVar); }
int TestEnv::MysqlPort() { return ParsePort(kMysqlPortVar); }
std::string TestEnv::MysqlUser() { return Require(kMysqlUserVar); }
std::string TestEnv::KafkaBootstrap() { return Require(kKafkaBootstrapVar); }
std::string TestEnv::KafkaControlSocket() { return Require(kKafkaControlVar); }
std::filesystem::path TestEnv::ServersDir() { return Require(kServersDirVar); }
std::filesystem::path TestEnv::SluiceBin() { return Require(kSluiceBinVar); }

}  // namespace sluice::itest
