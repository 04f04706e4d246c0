// `sluice run` and `sluice validate` on bad input: exit code 2 for an invalid config, a message on
// stderr that names the key (and the closest known key for a typo), and nothing started.
#include <gtest/gtest.h>

#include <fstream>

#include "integration/common/itest.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

nlohmann::json FileConfig(const TempDir& out) {
  return {{"name", "cli"},
          {"connector.class", "postgres"},
          {"database.hostname", TestEnv::PgHost()},
          {"database.port", std::to_string(TestEnv::PgPort())},
          {"database.user", TestEnv::PgUser()},
          {"database.dbname", "postgres"},
          {"sink.type", "file"},
          {"sink.url", out.path().string()}};
}

TEST(CliTest, ValidateNamesTheClosestKeyForATypo) {
  TempDir out;
  nlohmann::json config = FileConfig(out);
  config["database.hostnme"] = "oops";
  CommandResult r = SluiceProcess::RunToCompletion("validate", config, 60s);
  EXPECT_EQ(r.status.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("unknown configuration key 'database.hostnme'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'database.hostname'"), std::string::npos) << r.err;
}

TEST(CliTest, RunRejectsABadValueBeforeStarting) {
  TempDir out;
  nlohmann::json config = FileConfig(out);
  config["snapshot.mode"] = "sometimes";
  CommandResult r = SluiceProcess::RunToCompletion("run", config, 60s);
  EXPECT_EQ(r.status.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("snapshot.mode must be one of"), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::is_empty(out.path())) << "nothing may be written for a bad config";
}

TEST(CliTest, RunRejectsAMissingRequiredKey) {
  TempDir out;
  nlohmann::json config = FileConfig(out);
  config.erase("sink.type");
  CommandResult r = SluiceProcess::RunToCompletion("run", config, 60s);
  EXPECT_EQ(r.status.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("missing required key 'sink.type'"), std::string::npos) << r.err;
}

TEST(CliTest, MalformedJsonIsAConfigError) {
  TempDir dir;
  std::filesystem::path path = dir.path() / "broken.json";
  {
    std::ofstream f(path);
    f << "{\"name\": \"x\", \"connector.class\": ";
  }
  CommandResult r = RunCommand({TestEnv::SluiceBin().string(), "run", path.string()});
  EXPECT_EQ(r.status.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("malformed JSON"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(path.string()), std::string::npos) << "the message names the file: " << r.err;
}

TEST(CliTest, MissingConfigFileIsNamed) {
  CommandResult r = RunCommand({TestEnv::SluiceBin().string(), "validate", "/nonexistent/x.json"});
  EXPECT_EQ(r.status.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/x.json"), std::string::npos) << r.err;
}

TEST(CliTest, UnknownSubcommandIsAUsageError) {
  CommandResult r = RunCommand({TestEnv::SluiceBin().string(), "frobnicate"});
  EXPECT_EQ(r.status.exit_code, 2) << r.err;
}

TEST(CliTest, SecretsNeverReachTheLog) {
  TempDir out;
  nlohmann::json config = FileConfig(out);
  config["database.password"] = "hunter2-secret";
  config["database.port"] = "1";  // nothing listens: the run fails, but logs first
  config["errors.retry.timeout"] = "0";
  CommandResult r = SluiceProcess::RunToCompletion("run", config, 60s);
  EXPECT_NE(r.status.exit_code, 0);
  EXPECT_EQ(r.err.find("hunter2-secret"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("hunter2-secret"), std::string::npos) << r.out;
}

// libpq quotes a URL token with a bad percent-escape, often the password; validate must not
// print it.
TEST(CliTest, ValidateNeverPrintsAPieceOfAUrlPassword) {
  TempDir out;
  nlohmann::json config = FileConfig(out);
  config["sink.type"] = "postgres";
  for (const char* url : {"postgresql://app:p%zzword@127.0.0.1:1/x",
                          "postgresql://app:pa/zzword@127.0.0.1:1/x"}) {
    config["sink.url"] = url;
    CommandResult r = SluiceProcess::RunToCompletion("validate", config, 60s);
    EXPECT_NE(r.status.exit_code, 0) << url;
    EXPECT_EQ(r.err.find("zzword"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("sink"), std::string::npos) << r.err;
  }
}

// ${file:…} and ${env:…} references resolve when the pipeline is built; one that cannot be
// resolved names the key and the reference.
TEST(CliTest, ConfigReferencesResolveOrNameTheKey) {
  TempDir out;
  TempDir secrets("sluice-cli-secrets");
  std::ofstream(secrets / "sink.properties") << "# where the file sink writes\ndir=" << out.path().string() << "\n";
  nlohmann::json config = FileConfig(out);
  config["sink.url"] = "${file:" + (secrets / "sink.properties").string() + ":dir}";
  CommandResult ok = SluiceProcess::RunToCompletion("validate", config, 60s);
  EXPECT_EQ(ok.status.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("config is valid"), std::string::npos) << ok.out << ok.err;

  config["database.password"] = "${env:SLUICE_CLI_TEST_NEVER_SET}";
  CommandResult missing = SluiceProcess::RunToCompletion("validate", config, 60s);
  EXPECT_EQ(missing.status.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("config key 'database.password': ${env:SLUICE_CLI_TEST_NEVER_SET}"),
            std::string::npos)
      << missing.err;
}

}  // namespace
}  // namespace sluice::itest
