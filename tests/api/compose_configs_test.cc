// The example connector configs under compose/connectors/ must pass `sluice validate`'s config
// check (keys, values, no typos) so that users can POST them as they are.
#include <gtest/gtest.h>

#include <filesystem>

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

}  // namespace
}  // namespace sluice::api
