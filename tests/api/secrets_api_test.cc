// Hostile regexes, passwords and config references through the REST API and the supervisor,
// without sockets: the real config validation (ValidateConfig), fake connectors, a real
// StateStore in a temporary file. Complements rest_api_test.cc, which covers the routes.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/plugins.h"
#include "api/rest_api.h"
#include "tests/api/api_fakes.h"
#include "tests/api/rest_fixture.h"

namespace sluice::api {
namespace {

using nlohmann::json;

constexpr const char* kKeywordUrl = "host=db port=5432 password = 'pw A' dbname=shop";
constexpr const char* kUrlSecret = "pw A";
constexpr const char* kDbPassword = "hunter22";

class SecretsApiTest : public RestApiFixture {
 protected:
  void SetUp() override {
    validator_ = &ValidateConfig;  // the real key and regex checks
    RestApiFixture::SetUp();
  }

  static json Config(json extra = json::object()) {
    json c = {{"connector.class", "postgres"},
              {"database.hostname", "db"},
              {"database.user", "app"},
              {"database.password", kDbPassword},
              {"database.dbname", "shop"},
              {"sink.type", "postgres"},
              {"sink.url", "postgresql://app:urlpw9@target/shop"}};
    c.update(extra);
    return c;
  }
};

TEST_F(SecretsApiTest, AValidConfigIsAccepted) {
  HttpResponse r = Call("POST", "/connectors", json{{"name", "ok"}, {"config", Config()}}.dump());
  EXPECT_EQ(r.status, 201) << r.body;
}

// The crash: 20,000 nested groups in table.include.list ended the process while
// std::regex compiled them. Every route that takes a config answers 400 and the server lives.
TEST_F(SecretsApiTest, PathologicalRegexesAreA400OnEveryRoute) {
  const std::string nested = std::string(20000, '(') + "a" + std::string(20000, ')');
  const json config = Config({{"table.include.list", nested}});
  HttpResponse post = Call("POST", "/connectors", json{{"name", "r"}, {"config", config}}.dump());
  EXPECT_EQ(post.status, 400) << post.body;
  EXPECT_NE(json::parse(post.body)["message"].get<std::string>().find("table.include.list"),
            std::string::npos)
      << post.body;
  HttpResponse put = Call("PUT", "/connectors/r/config", config.dump());
  EXPECT_EQ(put.status, 400) << put.body;
  HttpResponse sync = Call("POST", "/syncs", config.dump());
  EXPECT_EQ(sync.status, 400) << sync.body;
  HttpResponse backref = Call("POST", "/connectors",
                              json{{"name", "b"}, {"config", Config({{"table.exclude.list", "(a)\\1"}})}}.dump());
  EXPECT_EQ(backref.status, 400) << backref.body;
  // Validation reports it in Kafka Connect's shape instead of failing.
  HttpResponse validate = Call("PUT", "/connector-plugins/postgres/config/validate", config.dump());
  EXPECT_EQ(validate.status, 200) << validate.body;
  EXPECT_GE(json::parse(validate.body)["error_count"].get<int>(), 1) << validate.body;
  EXPECT_EQ(Call("GET", "/").status, 200);
  EXPECT_EQ(Call("GET", "/connectors/r").status, 404);
}

// A keyword-form sink.url and a build error that echoes it (as libpq does) leave no password
// in any response: config, info, tasks, status traces, sync results.
TEST_F(SecretsApiTest, KeywordFormPasswordsAreRedactedInEveryResponse) {
  world_.fail_builds = 1000;
  world_.build_error = core::FailedPreconditionError(
      std::string("postgres sink: cannot connect with \"") + kKeywordUrl + "\" as " + kDbPassword);
  HttpResponse created = Call(
      "POST", "/connectors",
      json{{"name", "kw"}, {"config", Config({{"sink.url", kKeywordUrl}})}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  WaitFor([&] { return Call("GET", "/connectors/kw/status").body.find("FAILED") != std::string::npos; },
          "the connector to fail");
  HttpResponse sync = Call("POST", "/syncs", Config({{"sink.url", kKeywordUrl}}).dump());
  ASSERT_LT(sync.status, 300) << sync.body;
  const std::string sync_id = json::parse(sync.body)["id"];
  WaitFor([&] { return Call("GET", "/syncs/" + sync_id).body.find("FAILED") != std::string::npos; },
          "the sync to fail");

  for (const std::string& target : std::vector<std::string>{"/connectors/kw", "/connectors/kw/config", "/connectors?expand=info",
        "/connectors?expand=status", "/connectors?expand=info&expand=status",
        "/connectors/kw/tasks", "/connectors/kw/status", "/connectors/kw/tasks/0/status",
        "/syncs", "/syncs/" + sync_id}) {
    HttpResponse r = Call("GET", target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    EXPECT_EQ(r.body.find(kUrlSecret), std::string::npos) << target << ": " << r.body;
    EXPECT_EQ(r.body.find(kDbPassword), std::string::npos) << target << ": " << r.body;
  }
  // The trace says what went wrong, without the secrets.
  std::string status = Call("GET", "/connectors/kw/status").body;
  EXPECT_NE(status.find("cannot connect with"), std::string::npos) << status;
  auto history = store_->StatusHistory("kw", 10);
  ASSERT_TRUE(history.ok());
  ASSERT_FALSE(history->empty());
  for (const auto& record : *history) {
    EXPECT_EQ(record.trace.find(kUrlSecret), std::string::npos) << record.trace;
    EXPECT_EQ(record.trace.find(kDbPassword), std::string::npos) << record.trace;
  }
}

// References are what the state file keeps; they resolve only when a pipeline is built.
TEST_F(SecretsApiTest, ReferencesAreStoredAndShownUnresolved) {
  ::setenv("SLUICE_SECRETS_API_PW", "resolved-s3cret", 1);
  const json config = Config({{"database.password", "${env:SLUICE_SECRETS_API_PW}"},
                              {"sink.url", "postgresql://app:${env:SLUICE_SECRETS_API_PW}@t/shop"}});
  ASSERT_EQ(Call("POST", "/connectors", json{{"name", "ref"}, {"config", config}}.dump()).status, 201);
  auto stored = store_->GetConnector("ref");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_NE((*stored)->config_json.find("${env:SLUICE_SECRETS_API_PW}"), std::string::npos);
  EXPECT_EQ((*stored)->config_json.find("resolved-s3cret"), std::string::npos);
  // Shown as written: a reference says where the secret is, not what it is.
  json shown = json::parse(Call("GET", "/connectors/ref/config").body);
  EXPECT_EQ(shown["database.password"], "${env:SLUICE_SECRETS_API_PW}") << shown;
  EXPECT_EQ(shown["sink.url"], "postgresql://app:${env:SLUICE_SECRETS_API_PW}@t/shop") << shown;
  EXPECT_EQ(shown.dump().find("resolved-s3cret"), std::string::npos) << shown;
  ::unsetenv("SLUICE_SECRETS_API_PW");
}

// BuildConnector, the one place where a config becomes a pipeline (serve, run, sync, validate),
// resolves the references; a missing one fails naming the key and the reference.
TEST(BuildConnectorTest, ResolvesConfigReferences) {
  const std::filesystem::path out = std::filesystem::temp_directory_path() /
                                    ("sluice-build-ref-" + std::to_string(getpid()));
  ::setenv("SLUICE_BUILD_TEST_DIR", out.c_str(), 1);
  ::unsetenv("SLUICE_BUILD_TEST_UNSET");
  core::ConnectorConfig config("ref", {{"connector.class", "postgres"},
                                       {"database.hostname", "db"},
                                       {"database.user", "app"},
                                       {"database.password", "${env:SLUICE_BUILD_TEST_UNSET}"},
                                       {"database.dbname", "shop"},
                                       {"sink.type", "file"},
                                       {"sink.url", "${env:SLUICE_BUILD_TEST_DIR}"}});
  core::MetricsRegistry metrics;
  auto missing = BuildConnector(config, &metrics, nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find(
                "config key 'database.password': ${env:SLUICE_BUILD_TEST_UNSET}"),
            std::string::npos)
      << missing.status().message();

  ::setenv("SLUICE_BUILD_TEST_UNSET", "now-set", 1);
  auto built = BuildConnector(config, &metrics, nullptr);
  EXPECT_TRUE(built.ok()) << built.status().ToString();
  ::unsetenv("SLUICE_BUILD_TEST_UNSET");
  ::unsetenv("SLUICE_BUILD_TEST_DIR");
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace sluice::api
