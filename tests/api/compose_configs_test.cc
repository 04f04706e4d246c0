// The example connector configs under compose/connectors/ must pass `sluice validate`'s config
// check (keys, values, no typos) so that users can POST them as they are.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/commands.h"
#include "api/plugins.h"
#include "core/config.h"

namespace sluice::api {
namespace {

TEST(ComposeConfigsTest, EveryExampleConfigValidates) {
  std::filesystem::path dir = std::filesystem::path(SLUICE_SOURCE_DIR) / "compose" / "connectors";
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    SCOPED_TRACE(entry.path().string());
    auto config = core::LoadConnectorConfigFile(entry.path().string());
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    EXPECT_EQ(config->name(), entry.path().stem().string()) << "name the file after the connector";
    auto issues = ConfigDefFor(*config).Check(*config);
    for (const auto& issue : issues) ADD_FAILURE() << issue.key << ": " << issue.message;
    ++checked;
  }
  EXPECT_GE(checked, 4);
}

std::string ReadComposeFile(const std::string& name) {
  std::ifstream in(std::filesystem::path(SLUICE_SOURCE_DIR) / "compose" / name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Issue 14: the image listened on 0.0.0.0 with no token. Its CMD listens on an address that
// `sluice serve` refuses without a token, and compose refuses to start without SLUICE_TOKEN.
TEST(ComposeConfigsTest, TheServiceRequiresAToken) {
  std::string dockerfile = ReadComposeFile("Dockerfile");
  size_t cmd = dockerfile.find("\nCMD [");
  ASSERT_NE(cmd, std::string::npos) << "the Dockerfile has a CMD";
  const std::string flag = "\"--listen\", \"";
  size_t at = dockerfile.find(flag, cmd);
  ASSERT_NE(at, std::string::npos) << "the Dockerfile's CMD names --listen";
  at += flag.size();
  std::string host = dockerfile.substr(at, dockerfile.find(':', at) - at);
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_NE(CheckListenSecurity(host, "", false), "")
      << "serve must refuse " << host << " without a token";
  EXPECT_EQ(dockerfile.find("--insecure-no-auth"), std::string::npos);

  std::string compose = ReadComposeFile("docker-compose.yml");
  EXPECT_EQ(compose.find("--insecure-no-auth"), std::string::npos);
  // ${VAR:?message} makes `docker compose up` fail when VAR is unset or empty.
  EXPECT_NE(compose.find("SLUICE_TOKEN: ${SLUICE_TOKEN:?"), std::string::npos)
      << "the sluice service must require SLUICE_TOKEN";
  EXPECT_EQ(compose.find("${SLUICE_TOKEN:-"), std::string::npos) << "no empty default";
  EXPECT_NE(compose.find("ports: [\"127.0.0.1:8083:8083\"]"), std::string::npos)
      << "the REST port is published on loopback only";
}

}  // namespace
}  // namespace sluice::api
