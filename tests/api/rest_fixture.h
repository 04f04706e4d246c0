// The fixture of the REST API's unit tests: a real Supervisor, SyncManager and StateStore (in a
// temporary directory) with fake connectors (FakeBuilder), and RestApi called without sockets.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/rest_api.h"
#include "core/sqlite_state_store.h"
#include "tests/api/api_fakes.h"

namespace sluice::api {

// Accepts any key but `bad.key`, so that tests can use secrets of any module.
inline core::Status TestValidator(const core::ConnectorConfig& config) {
  if (config.Has("bad.key")) return core::InvalidArgumentError("unknown key 'bad.key'");
  if (!config.Has("connector.class")) {
    return core::InvalidArgumentError("missing required key 'connector.class'");
  }
  return core::Status::Ok();
}

class RestApiFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-api-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    StartServer();
  }
  void TearDown() override {
    StopServer();
    std::filesystem::remove_all(dir_);
  }

  void StartServer(std::string token = "") {
    auto store = core::SqliteStateStore::Open((dir_ / "state.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    metrics_ = std::make_unique<core::MetricsRegistry>();
    SupervisorOptions options;
    options.worker_id = "127.0.0.1:8083";
    options.builder = testing::FakeBuilder(&world_);
    options.validator = validator_;
    options.restart_backoff_initial = std::chrono::milliseconds(50);
    options.restart_backoff_max = std::chrono::milliseconds(200);
    options.reconcile_interval = std::chrono::milliseconds(10);
    supervisor_ = std::make_unique<Supervisor>(store_.get(), metrics_.get(), options);
    ASSERT_TRUE(supervisor_->Start().ok());
    syncs_ = std::make_unique<SyncManager>(store_.get(), metrics_.get(),
                                           testing::FakeBuilder(&world_), validator_);
    ASSERT_TRUE(syncs_->Start().ok());
    RestApiOptions api_options;
    api_options.token = std::move(token);
    api_options.check_connections = [](const core::ConnectorConfig& c) {
      std::vector<std::pair<std::string, std::string>> errors;
      if (c.Get("sink.url") == "unreachable") errors.emplace_back("sink.url", "sink: refused");
      return errors;
    };
    if (configure_api_) configure_api_(&api_options);
    api_ = std::make_unique<RestApi>(supervisor_.get(), syncs_.get(), metrics_.get(),
                                     api_options);
  }

  void StopServer() {
    if (syncs_) syncs_->Shutdown();
    if (supervisor_) supervisor_->Shutdown();
    api_.reset();
    syncs_.reset();
    supervisor_.reset();
    store_.reset();
  }

  HttpResponse Call(const std::string& method, const std::string& target,
                    const std::string& body = "", const std::string& auth = "") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    if (!auth.empty()) r.headers["authorization"] = auth;
    if (!body.empty()) r.headers["content-type"] = "application/json";
    EXPECT_TRUE(ParseTarget(target, &r.path, &r.query)) << target;
    return api_->Handle(r);
  }
  // A request with exactly these headers (names lowercase); no defaults are added.
  HttpResponse CallWithHeaders(const std::string& method, const std::string& target,
                               const std::string& body,
                               const std::map<std::string, std::string>& headers) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.headers = headers;
    EXPECT_TRUE(ParseTarget(target, &r.path, &r.query)) << target;
    return api_->Handle(r);
  }
  nlohmann::json CallJson(const std::string& method, const std::string& target, int expected_status,
                const std::string& body = "") {
    HttpResponse r = Call(method, target, body);
    EXPECT_EQ(r.status, expected_status) << method << " " << target << ": " << r.body;
    if (r.body.empty()) return nullptr;
    return nlohmann::json::parse(r.body);
  }

  static std::string ConnectorBody(const std::string& name, const std::string& mode = "initial") {
    return nlohmann::json{{"name", name},
                {"config",
                 {{"connector.class", "postgres"},
                  {"database.password", "hunter2"},
                  {"sink.type", "file"},
                  {"sink.url", "postgresql://app:s3cret@db/x"},
                  {"snapshot.mode", mode}}}}
        .dump();
  }

  std::string State(const std::string& name) {
    nlohmann::json status = CallJson("GET", "/connectors/" + name + "/status", 200);
    return status["connector"]["state"].get<std::string>();
  }

  void WaitForState(const std::string& name, const std::string& state) {
    for (int i = 0; i < 500; ++i) {
      if (State(name) == state) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << name << " never reached " << state << "; last "
           << Call("GET", "/connectors/" + name + "/status").body;
  }

  void WaitFor(const std::function<bool()>& predicate, const std::string& what) {
    for (int i = 0; i < 500; ++i) {
      if (predicate()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "timed out waiting for " << what;
  }

  std::filesystem::path dir_;
  testing::FakeWorld world_;
  std::unique_ptr<core::StateStore> store_;
  std::unique_ptr<core::MetricsRegistry> metrics_;
  std::unique_ptr<Supervisor> supervisor_;
  std::unique_ptr<SyncManager> syncs_;
  std::unique_ptr<RestApi> api_;
  // Set before StartServer() to change the RestApi's options.
  std::function<void(RestApiOptions*)> configure_api_;
  // Set before SetUp() to check configs with other rules (the real ValidateConfig, say).
  core::Status (*validator_)(const core::ConnectorConfig&) = &TestValidator;
};

}  // namespace sluice::api
