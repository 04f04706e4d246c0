// The supervisor and the sync manager under faults and hostile administration, with fake
// connectors: exceptions in its thread, retries shown as RUNNING, connectors that would share a
// slot, offsets PATCH validation, cleanup of server objects on DELETE and after syncs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/supervisor.h"
#include "api/sync_manager.h"
#include "core/sqlite_state_store.h"
#include "tests/api/api_fakes.h"

namespace sluice::api {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// What the administrative calls of the fake sources saw.
struct AdminLog {
  std::mutex mu;
  std::vector<std::string> checked;   // "position force=0|1"
  std::vector<std::string> released;  // "connector drop=0|1"
  core::Status check_result;          // what CheckOffset answers
  std::vector<std::string> watches;   // "watch <connector> at <position>", "unwatch <connector>"
  std::atomic<int> watching{0};
};

// A retention watch that says in the connector's status that it samples, as the PostgreSQL
// slot's does.
class FakeWatch : public core::RetentionWatch {
 public:
  FakeWatch(std::string connector, AdminLog* log) : connector_(std::move(connector)), log_(log) {
    ++log_->watching;
  }
  ~FakeWatch() override {
    std::lock_guard lock(log_->mu);
    log_->watches.push_back("unwatch " + connector_);
    --log_->watching;
  }

 private:
  std::string connector_;
  AdminLog* log_;
};

// A FakeSource whose "slot" is the config's fake.slot and that records administrative calls.
class AdminSource : public testing::FakeSource {
 public:
  AdminSource(testing::FakeWorld* world, const core::ConnectorConfig& config, AdminLog* log,
              core::ProgressTracker* progress)
      : FakeSource(world, config.Get("snapshot.mode") == "initial_only", progress),
        config_(config),
        log_(log) {}

  core::Result<core::PollStatus> Poll(core::EventBatch& batch,
                                      const core::PollLimits& limits) override {
    // As std::stoul on bad server text did on the source thread: std::terminate, every
    // connector of the process gone.
    if (config_.Get("fake.throw.poll") == "true") throw std::invalid_argument("stoul");
    return FakeSource::Poll(batch, limits);
  }

  std::vector<std::string> ExclusiveServerObjects(
      const std::optional<core::SourcePosition>&) const override {
    if (config_.Get("fake.slot").empty()) return {};
    return {"replication slot '" + config_.Get("fake.slot") + "' on fake:5432"};
  }
  core::Status CheckOffset(const core::SourcePosition& proposed,
                           const std::optional<core::SourcePosition>&, bool force) override {
    std::lock_guard lock(log_->mu);
    log_->checked.push_back(proposed.value + " force=" + std::to_string(force));
    return log_->check_result;
  }
  core::Result<std::string> ReleaseServerObjects(const std::optional<core::SourcePosition>&,
                                                 bool drop) override {
    std::lock_guard lock(log_->mu);
    log_->released.push_back(config_.name() + " drop=" + std::to_string(drop));
    return std::string(drop ? "dropped fake slot" : "kept fake slot");
  }
  std::unique_ptr<core::RetentionWatch> WatchRetention(
      const std::optional<core::SourcePosition>& stored,
      core::ProgressTracker* progress) override {
    if (!stored) return nullptr;
    progress->SetDetail("slot", R"({"name":"fake_slot","watched_at":")" + stored->value + "\"}");
    std::lock_guard lock(log_->mu);
    log_->watches.push_back("watch " + config_.name() + " at " + stored->value);
    return std::make_unique<FakeWatch>(config_.name(), log_);
  }

 private:
  core::ConnectorConfig config_;
  AdminLog* log_;
};

core::Status AcceptAll(const core::ConnectorConfig& config) {
  if (!config.Has("connector.class")) return core::InvalidArgumentError("missing connector.class");
  return core::Status::Ok();
}

class SupervisorSafetyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-supervisor-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = core::SqliteStateStore::Open((dir_ / "state.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  void TearDown() override {
    if (syncs_) syncs_->Shutdown();
    if (supervisor_) supervisor_->Shutdown();
    syncs_.reset();
    supervisor_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  ConnectorBuilder Builder() {
    auto fake = testing::FakeBuilder(&world_);
    return [this, fake](const core::ConnectorConfig& config, core::MetricsRegistry* metrics,
                        core::ProgressTracker* progress) -> core::Result<BuiltConnector> {
      if (config.Get("fake.throw") == "true") throw std::runtime_error("json.exception.type_error");
      SLUICE_ASSIGN_OR_RETURN(BuiltConnector built, fake(config, metrics, progress));
      built.source = std::make_unique<AdminSource>(&world_, config, &admin_, progress);
      return built;
    };
  }

  void StartSupervisor() {
    SupervisorOptions options;
    options.builder = Builder();
    options.validator = &AcceptAll;
    options.restart_backoff_initial = 200ms;
    options.restart_backoff_max = 400ms;
    options.reconcile_interval = 10ms;
    supervisor_ = std::make_unique<Supervisor>(store_.get(), &metrics_, options);
    ASSERT_TRUE(supervisor_->Start().ok());
  }

  static core::ConnectorConfig Config(const std::string& name,
                                      std::map<std::string, std::string> extra = {}) {
    core::ConnectorConfig c;
    c.set_name(name);
    c.mutable_values()["name"] = name;
    c.mutable_values()["connector.class"] = "postgres";
    c.mutable_values()["sink.type"] = "file";
    for (auto& [k, v] : extra) c.mutable_values()[k] = v;
    return c;
  }

  ConnectorView View(const std::string& name) {
    auto v = supervisor_->Get(name);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : ConnectorView{};
  }

  void WaitFor(const std::function<bool()>& done, const std::string& what) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "timed out waiting for " << what;
      std::this_thread::sleep_for(5ms);
    }
  }

  void StopAndWait(const std::string& name) {
    ASSERT_TRUE(supervisor_->Stop(name).ok());
    // kFailedPrecondition until STOPPED is the target, kUnavailable while the pipeline flushes.
    WaitFor([&] {
      core::StatusCode c = supervisor_->ResetOffset(name).code();
      return c != core::StatusCode::kFailedPrecondition && c != core::StatusCode::kUnavailable;
    }, name + " stopped");
  }

  std::filesystem::path dir_;
  std::unique_ptr<core::StateStore> store_;
  core::MetricsRegistry metrics_;
  testing::FakeWorld world_;
  AdminLog admin_;
  std::unique_ptr<Supervisor> supervisor_;
  std::unique_ptr<SyncManager> syncs_;
};

TEST_F(SupervisorSafetyTest, AnExceptionWhileStartingFailsThatConnectorOnly) {
  StartSupervisor();
  ASSERT_TRUE(supervisor_->Create(Config("good")).ok());
  ASSERT_TRUE(supervisor_->Create(Config("bad", {{"fake.throw", "true"}})).ok());
  WaitFor([&] { return View("bad").state == "FAILED"; }, "bad FAILED");
  EXPECT_THAT(View("bad").trace, HasSubstr("json.exception.type_error"));
  WaitFor([&] { return View("good").state == "RUNNING" && world_.rows_written >= 50; },
          "good running");
}

TEST_F(SupervisorSafetyTest, AnExceptionOnASourceThreadFailsThatConnectorOnly) {
  StartSupervisor();
  ASSERT_TRUE(supervisor_->Create(Config("good")).ok());
  ASSERT_TRUE(supervisor_->Create(Config("thrower", {{"fake.throw.poll", "true"}})).ok());
  WaitFor([&] { return View("thrower").state == "FAILED"; }, "thrower FAILED");
  EXPECT_THAT(View("thrower").trace, HasSubstr("source thread"));
  EXPECT_THAT(View("thrower").trace, HasSubstr("stoul"));
  WaitFor([&] { return View("good").state == "RUNNING" && world_.rows_written >= 50; },
          "good running");
  // It is not retried by itself: the exception is a bug, not a passing condition.
  int starts = world_.starts;
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(View("thrower").state, "FAILED");
  EXPECT_EQ(world_.starts, starts);
}

TEST_F(SupervisorSafetyTest, ARetriableFailureStaysRunningAndShowsTheRetryInTheTrace) {
  StartSupervisor();
  world_.fail_builds = 1000;
  ASSERT_TRUE(supervisor_->Create(Config("flaky")).ok());
  WaitFor([&] { return View("flaky").restart_attempts >= 2; }, "two restart attempts");
  ConnectorView v = View("flaky");
  EXPECT_EQ(v.state, "RUNNING");
  EXPECT_THAT(v.trace, HasSubstr("retrying"));
  EXPECT_THAT(v.trace, HasSubstr("attempt "));
  EXPECT_THAT(v.trace, HasSubstr("next retry at 20"));
  EXPECT_THAT(v.trace, HasSubstr("target down"));
  world_.fail_builds = 0;
  WaitFor([&] { return View("flaky").trace.empty(); }, "the retry to succeed");
  EXPECT_EQ(View("flaky").state, "RUNNING");
}

TEST_F(SupervisorSafetyTest, ANonRetriableFailureIsStillFailed) {
  StartSupervisor();
  world_.fail_builds = 1000;
  world_.build_error = core::FailedPreconditionError("wal_level is replica");
  ASSERT_TRUE(supervisor_->Create(Config("broken")).ok());
  WaitFor([&] { return View("broken").state == "FAILED"; }, "FAILED");
  EXPECT_THAT(View("broken").trace, HasSubstr("wal_level is replica"));
}

TEST_F(SupervisorSafetyTest, AConnectorIsUnassignedUntilItsSourceHasStarted) {
  StartSupervisor();
  world_.hold_start = true;
  ASSERT_TRUE(supervisor_->Create(Config("slow")).ok());
  WaitFor([&] { return world_.starts >= 1; }, "the source's Start to be called");
  std::this_thread::sleep_for(50ms);  // several reconcile rounds while Start still runs
  ConnectorView starting = View("slow");
  EXPECT_EQ(starting.state, "UNASSIGNED");
  EXPECT_THAT(starting.trace, HasSubstr("starting"));
  world_.hold_start = false;
  WaitFor([&] { return View("slow").state == "RUNNING"; }, "slow RUNNING");
  EXPECT_EQ(View("slow").trace, "");

  // A start that fails after the wait ends FAILED, not RUNNING.
  world_.hold_start = true;
  world_.fail_start = true;
  ASSERT_TRUE(supervisor_->Create(Config("refused")).ok());
  WaitFor([&] { return world_.starts >= 2; }, "the second source's Start to be called");
  EXPECT_EQ(View("refused").state, "UNASSIGNED");
  world_.hold_start = false;
  WaitFor([&] { return View("refused").state == "FAILED"; }, "refused FAILED");
  EXPECT_THAT(View("refused").trace, HasSubstr("wal_level is not logical"));
}

TEST_F(SupervisorSafetyTest, CreateAndPutRefuseASlotAnotherConnectorUses) {
  StartSupervisor();
  ASSERT_TRUE(supervisor_->Create(Config("orders-eu", {{"fake.slot", "s1"}})).ok());
  auto second = supervisor_->Create(Config("orders_eu", {{"fake.slot", "s1"}}));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_THAT(second.status().message(), HasSubstr("orders-eu"));
  EXPECT_THAT(second.status().message(), HasSubstr("'s1'"));
  ASSERT_TRUE(supervisor_->Create(Config("orders_eu", {{"fake.slot", "s2"}})).ok());
  bool created = false;
  auto put = supervisor_->PutConfig("orders_eu", Config("orders_eu", {{"fake.slot", "s1"}}),
                                    &created);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), core::StatusCode::kInvalidArgument);
  // Replacing a connector's own config with the same slot is fine.
  EXPECT_TRUE(supervisor_->PutConfig("orders-eu", Config("orders-eu", {{"fake.slot", "s1"}}),
                                     &created)
                  .ok());
  // Once the owner is deleted, the slot is free.
  ASSERT_TRUE(supervisor_->Delete("orders-eu").ok());
  EXPECT_TRUE(supervisor_->PutConfig("orders_eu", Config("orders_eu", {{"fake.slot", "s1"}}),
                                     &created)
                  .ok());
}

TEST_F(SupervisorSafetyTest, AtStartTheLaterOfTwoConnectorsOnOneSlotIsRefused) {
  // Stored by an earlier version that derived the same slot for both names.
  ASSERT_TRUE(store_->PutConnector({"orders-eu", Config("orders-eu", {{"fake.slot", "s"}}).ToJson().dump(),
                                    "RUNNING", 1000}).ok());
  ASSERT_TRUE(store_->PutConnector({"orders_eu", Config("orders_eu", {{"fake.slot", "s"}}).ToJson().dump(),
                                    "RUNNING", 2000}).ok());
  StartSupervisor();
  WaitFor([&] { return View("orders_eu").state == "FAILED"; }, "the later one FAILED");
  EXPECT_THAT(View("orders_eu").trace, HasSubstr("connector orders-eu already uses"));
  // UNASSIGNED until its source has started (a loaded machine can take a while), then RUNNING.
  WaitFor([&] { return View("orders-eu").state == "RUNNING"; }, "the earlier one RUNNING");
}

TEST_F(SupervisorSafetyTest, OffsetsPatchChecksShapePartitionStateAndAsksTheSource) {
  StartSupervisor();
  ASSERT_TRUE(supervisor_->Create(Config("off")).ok());
  json good = json::parse(R"({"offsets":[{"partition":{"server":"off"},"offset":{"position":"9"}}]})");
  EXPECT_EQ(supervisor_->PatchOffsets("off", good).code(), core::StatusCode::kFailedPrecondition)
      << "a running connector's offsets must not change";
  StopAndWait("off");

  auto code = [&](const char* body) {
    return supervisor_->PatchOffsets("off", json::parse(body)).code();
  };
  EXPECT_EQ(code(R"({"offsets":[{"partition":{"server":"other"},"offset":{"position":"9"}}]})"),
            core::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"offsets":[{"partition":{"server":"off","slot":"x"},"offset":{"position":"9"}}]})"),
            core::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"offsets":[{"offset":{"position":"9"}}]})"), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"offsets":[{"partition":{"server":"off"},"offset":{"position":"9","x":1}}]})"),
            core::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"offsets":[],"force":true})"), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"offsets":[{"partition":{"server":"off"},"offset":{"position":"9"}}],"force":"yes"})"),
            core::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"offsets":[{"partition":{"server":"off"},"offset":{"position":"9"}}],"extra":1})"),
            core::StatusCode::kInvalidArgument);
  // A source without a Debezium counterpart takes only Sluice's own {"position"} shape.
  EXPECT_EQ(code(R"({"offsets":[{"partition":{"server":"off"},"offset":{"lsn":1}}]})"),
            core::StatusCode::kInvalidArgument);
  {
    std::lock_guard lock(admin_.mu);
    EXPECT_TRUE(admin_.checked.empty()) << "malformed bodies must not reach the source";
    admin_.check_result = core::InvalidArgumentError("lsn FFFFFFFF/FFFFFFFF is beyond the server");
  }
  core::Status refused = supervisor_->PatchOffsets("off", good);
  EXPECT_EQ(refused.code(), core::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("beyond the server"));
  EXPECT_EQ(*supervisor_->GetOffset("off"), std::nullopt) << "a refused offset must not be stored";
  {
    std::lock_guard lock(admin_.mu);
    admin_.check_result = core::Status::Ok();
  }
  json forced = good;
  forced["force"] = true;
  ASSERT_TRUE(supervisor_->PatchOffsets("off", forced).ok());
  EXPECT_EQ((*supervisor_->GetOffset("off"))->value, "9");
  auto shown = supervisor_->ShowOffsets("off");
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  EXPECT_EQ(*shown, json::parse(R"([{"partition":{"server":"off"},"offset":{"position":"9"}}])"));
  EXPECT_EQ(supervisor_->ShowOffsets("nobody").status().code(), core::StatusCode::kNotFound);
  std::lock_guard lock(admin_.mu);
  EXPECT_EQ(admin_.checked, (std::vector<std::string>{"9 force=0", "9 force=1"}));
}

// Kafka Connect's initial_state: a connector created STOPPED takes offsets before it first runs.
TEST_F(SupervisorSafetyTest, CreateTakesAnInitialState) {
  StartSupervisor();
  EXPECT_EQ(supervisor_->Create(Config("bad"), "SLEEPING").status().code(),
            core::StatusCode::kInvalidArgument);
  ASSERT_TRUE(supervisor_->Create(Config("cold"), "STOPPED").ok());
  EXPECT_EQ(View("cold").state, "STOPPED");
  json set = json::parse(R"({"offsets":[{"partition":{"server":"cold"},"offset":{"position":"7"}}]})");
  core::Status patched = supervisor_->PatchOffsets("cold", set);
  ASSERT_TRUE(patched.ok()) << patched.ToString();
  EXPECT_EQ((*supervisor_->GetOffset("cold"))->value, "7");
}

// A paused connector's slot keeps WAL: the source's retention watch runs while no pipeline does,
// shows in its status, gives way to the pipeline on resume, and ends before DELETE drops the slot.
TEST_F(SupervisorSafetyTest, RetentionIsWatchedWhileTheConnectorDoesNotRun) {
  world_.rows_per_run = 30;
  StartSupervisor();
  ASSERT_TRUE(supervisor_->Create(Config("idle")).ok());
  WaitFor([&] { return supervisor_->GetOffset("idle").ok() &&
                       supervisor_->GetOffset("idle")->has_value() &&
                       (*supervisor_->GetOffset("idle"))->value == "29"; }, "rows committed");
  EXPECT_EQ(admin_.watching.load(), 0) << "a running pipeline has its own monitor";
  ASSERT_TRUE(supervisor_->Pause("idle").ok());
  WaitFor([&] { return admin_.watching.load() == 1; }, "the watch while paused");
  ConnectorView paused = View("idle");
  EXPECT_EQ(paused.state, "PAUSED");
  ASSERT_TRUE(paused.progress.details.count("slot"));
  EXPECT_THAT(paused.progress.details.at("slot"), HasSubstr("\"watched_at\":\"29\""));

  ASSERT_TRUE(supervisor_->Resume("idle").ok());
  WaitFor([&] { return admin_.watching.load() == 0; }, "the watch gone on resume");
  WaitFor([&] { return View("idle").state == "RUNNING"; }, "running again");

  ASSERT_TRUE(supervisor_->Pause("idle").ok());
  WaitFor([&] { return admin_.watching.load() == 1; }, "the watch after the second pause");
  std::string report;
  ASSERT_TRUE(supervisor_->Delete("idle", &report).ok());
  EXPECT_EQ(admin_.watching.load(), 0);
  std::lock_guard lock(admin_.mu);
  EXPECT_EQ(admin_.watches, (std::vector<std::string>{"watch idle at 29", "unwatch idle",
                                                      "watch idle at 29", "unwatch idle"}));
  ASSERT_EQ(admin_.released.size(), 1u);
}

TEST_F(SupervisorSafetyTest, DeleteReleasesServerObjectsUnlessToldToKeepThem) {
  StartSupervisor();
  ASSERT_TRUE(supervisor_->Create(Config("dropped")).ok());
  ASSERT_TRUE(supervisor_->Create(Config("kept", {{"slot.drop.on.delete", "false"}})).ok());
  std::string report;
  ASSERT_TRUE(supervisor_->Delete("dropped", &report).ok());
  EXPECT_EQ(report, "dropped fake slot");
  ASSERT_TRUE(supervisor_->Delete("kept", &report).ok());
  EXPECT_EQ(report, "kept fake slot");
  std::lock_guard lock(admin_.mu);
  EXPECT_EQ(admin_.released, (std::vector<std::string>{"dropped drop=1", "kept drop=0"}));
}

TEST_F(SupervisorSafetyTest, AFinishedSyncLeavesNoServerObjectsOrMetricSeries) {
  syncs_ = std::make_unique<SyncManager>(store_.get(), &metrics_, Builder(), &AcceptAll);
  ASSERT_TRUE(syncs_->Start().ok());
  auto record = syncs_->Create(Config("", {{"snapshot.mode", "initial_only"}}));
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  const std::string id = record->id;
  WaitFor([&] {
    auto r = syncs_->Get(id);
    return r.ok() && r->state != "RUNNING";
  }, "the sync to end");
  EXPECT_EQ(syncs_->Get(id)->state, "SUCCEEDED");
  EXPECT_THAT(metrics_.RenderPrometheus(), ::testing::Not(HasSubstr(id)));
  std::lock_guard lock(admin_.mu);
  EXPECT_EQ(admin_.released, (std::vector<std::string>{id + " drop=1"}));
}

TEST_F(SupervisorSafetyTest, ACancelledSyncIsCleanedUpToo) {
  world_.rows_per_run = 1000000000;  // never finishes by itself
  syncs_ = std::make_unique<SyncManager>(store_.get(), &metrics_, Builder(), &AcceptAll);
  ASSERT_TRUE(syncs_->Start().ok());
  auto record = syncs_->Create(Config(""));
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  const std::string id = record->id;
  WaitFor([&] { return world_.rows_written > 100; }, "rows");
  ASSERT_TRUE(syncs_->Cancel(id).ok());
  EXPECT_EQ(syncs_->Get(id)->state, "CANCELLED");
  EXPECT_THAT(metrics_.RenderPrometheus(), ::testing::Not(HasSubstr(id)));
  std::lock_guard lock(admin_.mu);
  EXPECT_EQ(admin_.released, (std::vector<std::string>{id + " drop=1"}));
}

}  // namespace
}  // namespace sluice::api
