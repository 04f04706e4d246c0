// Cluster mode end to end on the test broker and PostgreSQL: three workers, PostgreSQL -> file
// connectors created through different workers, each running on exactly one worker at any
// moment (sampled every 100 ms), the owner shown by every worker's status, then kill -9 of a
// worker under load: its connectors resume on the others within session.timeout.ms + 10 s and
// every target equals its source. Then a graceful scale-out 1 -> 3 -> 1 under load, and a worker
// frozen with SIGSTOP, fenced by the slots it holds until it wakes and stops its connectors.
// Restart, pause and resume sent to a worker that does not own the connector take effect on
// the owner (a restart exactly once).
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <set>
#include <thread>

#include "integration/cluster/cluster_fixture.h"
#include "integration/postgres/replay.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

constexpr int kConnectors = 6;

class ClusterFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    group_ = UniqueName("cluster");
    CreateClusterTopics(group_);
    db_ = CreateScratchPgDatabase("cluster");
    src_ = PgClient(db_);
    for (int k = 0; k < kConnectors; ++k) {
      src_.Exec("CREATE TABLE t" + std::to_string(k) +
                " (id int PRIMARY KEY, v text NOT NULL); INSERT INTO t" + std::to_string(k) +
                " SELECT g, 'r' || g FROM generate_series(1, 200) g");
    }
  }
  void TearDown() override {
    for (auto& w : workers_) {
      if (w->process().IsRunning()) w->Kill();
    }
    DropPgSourceDatabase(db_, /*terminate_active=*/true);
  }

  std::string Name(int k) const { return "c" + std::to_string(k); }

  nlohmann::json Body(int k) const {
    return {{"name", Name(k)},
            {"config",
             {{"connector.class", "postgres"},
              {"database.hostname", src_.host()},
              {"database.port", std::to_string(src_.port())},
              {"database.user", src_.user()},
              {"database.dbname", db_},
              {"table.include.list", "public.t" + std::to_string(k)},
              {"slot.name", "s_" + db_ + "_" + std::to_string(k)},
              {"publication.name", "p_" + db_ + "_" + std::to_string(k)},
              {"sink.type", "file"},
              {"sink.url", (out_.path() / Name(k)).string()},
              {"sink.file.fsync", "false"},
              // Replaying the file needs a restarted snapshot's truncates.
              {"skipped.operations", "none"},
              {"sink.batch.ms", "50"}}}};
  }

  // connector -> the live worker running it; a connector on no live worker is missing.
  std::map<std::string, std::string> Placement() {
    std::map<std::string, std::string> placed;
    for (auto& w : workers_) {
      if (!w->alive()) continue;
      for (const std::string& c : w->Running()) placed[c] = w->id();
    }
    return placed;
  }

  ::testing::AssertionResult AllPlacedOnLiveWorkers() {
    auto placed = Placement();
    if (placed.size() == kConnectors) return ::testing::AssertionSuccess();
    auto failure = ::testing::AssertionFailure();
    failure << placed.size() << " of " << kConnectors << " connectors running:";
    for (const auto& [c, w] : placed) failure << " " << c << "@" << w;
    return failure;
  }

  // Whether the live workers other than `gone`, by their heartbeat records as a live worker
  // sees them, hold every partition of the assignments topic.
  bool SurvivorsHoldEveryPartition(const std::string& gone) {
    for (auto& w : workers_) {
      if (!w->alive()) continue;
      auto cluster = w->Cluster();
      if (!cluster) continue;
      std::set<int> held;
      for (const auto& record : (*cluster)["workers"]) {
        if (record.value("worker_id", "") == gone) continue;
        for (const auto& p : record["partitions"]) held.insert(p.get<int>());
      }
      return held.size() == static_cast<size_t>(kAssignmentPartitions);
    }
    return false;
  }

  // Every live worker's GET /connectors/{name}/status names the worker that runs it.
  ::testing::AssertionResult StatusShowsOwners() {
    auto placed = Placement();
    for (auto& w : workers_) {
      if (!w->alive()) continue;
      for (const auto& [name, owner] : placed) {
        auto status = w->client().Call("GET", "/connectors/" + name + "/status");
        if (status.status != 200) return ::testing::AssertionFailure() << status.body;
        auto connector = status.Json()["connector"];
        if (connector["state"] != "RUNNING" || connector["worker_id"] != owner) {
          return ::testing::AssertionFailure()
                 << w->id() << " shows " << name << " as " << connector.dump() << ", runs on "
                 << owner;
        }
      }
    }
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult TargetsEqualSources() {
    for (int k = 0; k < kConnectors; ++k) {
      auto source = src_.Query("SELECT id::text, v FROM t" + std::to_string(k));
      auto target = ReplayTable(out_.path() / Name(k), "public", "t" + std::to_string(k), {"id"},
                                {{"id"}, {"v"}});
      auto match = TablesMatch(source, target);
      if (!match) return ::testing::AssertionFailure() << Name(k) << ": " << match.message();
    }
    return ::testing::AssertionSuccess();
  }

  // Inserts, updates and deletes in every table until stopped.
  void Load(std::stop_token stop, std::atomic<int>& batches) {
    int next = 1000;
    while (!stop.stop_requested()) {
      std::string sql;
      for (int k = 0; k < kConnectors; ++k) {
        std::string t = "t" + std::to_string(k);
        sql += "INSERT INTO " + t + " VALUES (" + std::to_string(next) + ", 'n');";
        sql += "UPDATE " + t + " SET v = v || 'u' WHERE id = " + std::to_string(next % 200 + 1) +
               ";";
        sql += "DELETE FROM " + t + " WHERE id = " + std::to_string((next * 7) % 200 + 1) + ";";
      }
      src_.Exec(sql);
      ++next;
      ++batches;
      std::this_thread::sleep_for(20ms);
    }
  }

  // Stops the sampler; it must have sampled at least `min_rounds` times and seen no connector
  // on two workers at once.
  static void ExpectNoDoubleRuns(OwnershipSampler& sampler, int min_rounds) {
    sampler.Stop();
    auto violations = sampler.violations();
    EXPECT_TRUE(violations.empty()) << violations.size() << " double runs, first: "
                                    << (violations.empty() ? "" : violations.front());
    EXPECT_GT(sampler.rounds(), min_rounds);
  }

  void StartThreeWorkers() {
    for (int i = 0; i < 3; ++i) {
      workers_.push_back(std::make_unique<ClusterWorkerProcess>(group_, FreeLoopbackPort()));
    }
    for (auto& w : workers_) w->WaitHealthy();
    WaitGroupSettled();
  }

  // Connector k is created through worker k % 3; waits until each runs and has snapshotted.
  void CreateConnectorsThroughEachWorker() {
    for (int k = 0; k < kConnectors; ++k) {
      workers_[k % 3]->client().Expect(201, "POST", "/connectors", Body(k).dump());
    }
    WaitUntil([&] { return AllPlacedOnLiveWorkers(); }, 60s, "every connector runs");
    WaitUntil([&] { return TargetsEqualSources(); }, 60s, "the snapshots reach the targets");
  }

  ClusterWorkerProcess& AddWorker() {
    workers_.push_back(std::make_unique<ClusterWorkerProcess>(group_, FreeLoopbackPort()));
    workers_.back()->WaitHealthy();
    return *workers_.back();
  }

  // The group settles: the live workers hold every partition between them, each some.
  void WaitGroupSettled() {
    WaitUntil([&] {
      int held = 0;
      for (auto& w : workers_) {
        if (!w->alive()) continue;
        auto c = w->Cluster();
        if (!c) return false;
        for (const auto& rec : (*c)["workers"]) {
          if (rec["worker_id"] != w->id()) continue;
          if (rec["partitions"].empty()) return false;
          held += static_cast<int>(rec["partitions"].size());
        }
      }
      return held == kAssignmentPartitions;
    }, 60s, "the live workers share the assignments topic's partitions");
  }

  std::string group_;
  std::string db_;
  PgClient src_;
  TempDir out_{"cluster-out"};
  std::vector<std::unique_ptr<ClusterWorkerProcess>> workers_;
};

TEST_F(ClusterFailoverTest, ConnectorsRunOnOneWorkerAndResumeAfterKillUnderLoad) {
  StartThreeWorkers();
  OwnershipSampler sampler({workers_[0].get(), workers_[1].get(), workers_[2].get()});
  CreateConnectorsThroughEachWorker();
  WaitUntil([&] { return StatusShowsOwners(); }, 20s, "every worker's status names the owner");

  // Load until the failover is over; the stop token ends it on every path out of the test (a
  // failed wait throws).
  std::atomic<int> batches{0};
  std::jthread load([&](std::stop_token stop) { Load(stop, batches); });

  // The victim: the worker running the most connectors.
  auto placed = Placement();
  std::map<std::string, int> per_worker;
  for (const auto& [c, w] : placed) ++per_worker[w];
  ClusterWorkerProcess* victim = nullptr;
  for (auto& w : workers_) {
    if (victim == nullptr || per_worker[w->id()] > per_worker[victim->id()]) victim = w.get();
  }
  ASSERT_GT(per_worker[victim->id()], 0);
  std::this_thread::sleep_for(1s);
  victim->Kill();
  auto killed_at = std::chrono::steady_clock::now();
  // When the group has handed every partition to the survivors (their heartbeat records, which
  // a worker writes as soon as a rebalance ends), and when the connectors run there.
  std::optional<std::chrono::steady_clock::time_point> reassigned_at;
  WaitUntil([&] {
    if (!reassigned_at && SurvivorsHoldEveryPartition(victim->id())) {
      reassigned_at = std::chrono::steady_clock::now();
    }
    return AllPlacedOnLiveWorkers();
  }, kFailoverBound, "the killed worker's connectors resume on the others");
  auto resumed_at = std::chrono::steady_clock::now();
  auto failover = resumed_at - killed_at;
  // The survivors can run the connectors before their heartbeat records show the partitions.
  if (!reassigned_at) reassigned_at = resumed_at;
  auto ours = std::chrono::duration_cast<std::chrono::milliseconds>(resumed_at - *reassigned_at);
  EXPECT_LT(ours, kResumeAfterAssignment)
      << "the connectors started " << ours.count() << " ms after the group reassigned them";
  std::this_thread::sleep_for(2s);
  load.request_stop();
  load.join();
  EXPECT_GT(batches.load(), 20) << "the load ran during the failover";

  WaitUntil([&] { return TargetsEqualSources(); }, 60s, "every target equals its source");
  WaitUntil([&] { return StatusShowsOwners(); }, 20s, "the survivors' status names the owners");
  ExpectNoDoubleRuns(sampler, 50);
  // Each slot is streaming again (PostgreSQL lets one walsender hold a slot: active_pid).
  EXPECT_EQ(src_.QueryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 's_" +
                            db_ + "_%' AND active_pid IS NOT NULL"),
            std::to_string(kConnectors));
  std::cout << "failover took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(failover).count()
            << " ms, of which " << ours.count() << " ms after the group reassigned the "
            << "partitions; " << sampler.rounds() << " ownership samples\n";
  for (auto& w : workers_) {
    if (w->alive()) {
      EXPECT_TRUE(w->Stop().Success()) << w->process().LogTail();
    }
  }
}

TEST_F(ClusterFailoverTest, GracefulScaleOutOneToThreeAndBackMovesConnectorsWithoutDoubleRuns) {
  ClusterWorkerProcess& first = AddWorker();
  WaitGroupSettled();
  for (int k = 0; k < kConnectors; ++k) {
    first.client().Expect(201, "POST", "/connectors", Body(k).dump());
  }
  WaitUntil([&] { return AllPlacedOnLiveWorkers(); }, 60s, "every connector runs on one worker");
  WaitUntil([&] { return TargetsEqualSources(); }, 60s, "the snapshots reach the targets");

  std::atomic<int> batches{0};
  std::jthread load([&](std::stop_token stop) { Load(stop, batches); });
  AddWorker();
  AddWorker();
  OwnershipSampler sampler({workers_[0].get(), workers_[1].get(), workers_[2].get()});
  WaitGroupSettled();
  WaitUntil([&] {
    std::set<std::string> hosts;
    for (const auto& [c, w] : Placement()) hosts.insert(w);
    return Placement().size() == kConnectors && hosts.size() > 1;
  }, 60s, "scale-out: the connectors spread over the workers");

  // Back to one: SIGTERM stops and commits the connectors, then the worker leaves the group.
  EXPECT_TRUE(workers_[2]->Stop().Success()) << workers_[2]->process().LogTail();
  EXPECT_TRUE(workers_[1]->Stop().Success()) << workers_[1]->process().LogTail();
  WaitGroupSettled();
  WaitUntil([&] {
    return first.Running().size() == static_cast<size_t>(kConnectors);
  }, 60s, "scale-in: every connector runs on the remaining worker");
  load.request_stop();
  load.join();
  EXPECT_GT(batches.load(), 20) << "the load ran during the rebalances";
  WaitUntil([&] { return TargetsEqualSources(); }, 60s, "every target equals its source");
  WaitUntil([&] { return StatusShowsOwners(); }, 20s, "the status names the remaining worker");
  ExpectNoDoubleRuns(sampler, 20);
  EXPECT_TRUE(first.Stop().Success()) << first.process().LogTail();
}

// A worker that goes silent without dying (SIGSTOP: its Kafka and PostgreSQL connections stay
// open, as behind a network partition) loses its connectors after the session timeout; the
// new owners are fenced by the slots the frozen worker still holds until it wakes, finds its
// membership lost and stops its connectors. No connector runs twice; targets equal sources.
TEST_F(ClusterFailoverTest, SilentWorkerIsFencedBySlotsUntilItStopsItsConnectors) {
  StartThreeWorkers();
  OwnershipSampler sampler({workers_[0].get(), workers_[1].get(), workers_[2].get()});
  CreateConnectorsThroughEachWorker();

  std::atomic<int> batches{0};
  std::jthread load([&](std::stop_token stop) { Load(stop, batches); });
  ClusterWorkerProcess* victim = nullptr;
  std::set<std::string> moved;
  for (auto& w : workers_) {
    auto running = w->Running();
    if (victim == nullptr || running.size() > moved.size()) {
      victim = w.get();
      moved = running;
    }
  }
  ASSERT_FALSE(moved.empty());
  victim->Freeze();
  // After the session timeout the others own its connectors, but PostgreSQL refuses them the
  // slots while the frozen worker's walsenders hold them.
  WaitUntil([&]() -> ::testing::AssertionResult {
    std::string seen;
    for (auto& w : workers_) {
      if (!w->alive()) continue;
      for (const std::string& name : moved) {
        auto r = w->client().Call("GET", "/connectors/" + name + "/status");
        if (r.status == 200 && r.body.find("in use by another process") != std::string::npos &&
            r.body.find("retrying") != std::string::npos) {
          return ::testing::AssertionSuccess();
        }
        seen += w->id() + ": " + r.body + "\n";
      }
    }
    return ::testing::AssertionFailure() << seen;
  }, kFailoverBound + 4s,
     "a new owner is refused the slot the silent worker holds");
  victim->Thaw();
  WaitUntil([&] { return AllPlacedOnLiveWorkers(); },
            // One more backoff round of the new owners' retries (each waits up to 10 s for
            // the slot) on a loaded machine.
            std::chrono::milliseconds(kSessionTimeoutMs) + 60s,
            "the woken worker gives its connectors up and the new owners stream");
  load.request_stop();
  load.join();
  WaitUntil([&] { return TargetsEqualSources(); }, 60s, "every target equals its source");
  WaitUntil([&] { return StatusShowsOwners(); }, 20s, "the status names the owners");
  ExpectNoDoubleRuns(sampler, 20);
  EXPECT_GT(batches.load(), 20);
}

// How often a worker's log says `needle`.
size_t CountInLog(ClusterWorkerProcess& w, const std::string& needle) {
  size_t n = 0;
  for (const std::string& log : {w.process().Stderr(), w.process().Stdout()}) {
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
  }
  return n;
}

// POST …/restart and PUT …/pause|resume through a worker that does not own the connector: the
// restart request goes through the configs topic and the owner restarts the connector exactly
// once (its pipeline starts once more, then no more); pause and resume act on the owner.
TEST_F(ClusterFailoverTest, RestartPauseAndDeleteThroughAWorkerThatDoesNotOwnTheConnector) {
  StartThreeWorkers();
  workers_[0]->client().Expect(201, "POST", "/connectors", Body(0).dump());
  // Read-your-writes across workers: a worker catches its view up before it would answer 404,
  // so every worker knows a connector as soon as its POST returned through any one of them,
  // and refuses to create it again. (Without the catch-up, the others learn of it when their
  // housekeeping thread next runs, up to 50 ms later, and answer 404 until then.) Stopped
  // connectors, so that nothing runs.
  for (int k = 100; k < 112; ++k) {
    nlohmann::json body = Body(k);
    body["initial_state"] = "STOPPED";
    workers_[k % 3]->client().Expect(201, "POST", "/connectors", body.dump());
    for (auto& w : workers_) {
      w->client().Expect(200, "GET", "/connectors/" + Name(k) + "/status");
    }
  }
  for (auto& w : workers_) w->client().Expect(409, "POST", "/connectors", Body(0).dump());
  WaitUntil([&] { return Placement().count(Name(0)) > 0; }, 60s, "c0 runs");
  const std::string owner_id = Placement()[Name(0)];
  ClusterWorkerProcess* owner = nullptr;
  ClusterWorkerProcess* other = nullptr;
  for (auto& w : workers_) (w->id() == owner_id ? owner : other) = w.get();
  ASSERT_NE(owner, nullptr);
  ASSERT_NE(other, nullptr);
  const std::string started = "connector " + Name(0) + ": started";
  WaitUntil([&] { return CountInLog(*owner, started) == 1; }, 30s, "c0 started once");
  OwnershipSampler sampler({workers_[0].get(), workers_[1].get(), workers_[2].get()});

  other->client().Expect(204, "POST", "/connectors/" + Name(0) + "/restart");
  WaitUntil([&] { return CountInLog(*owner, started) == 2; }, 30s,
            "the owner restarts c0 after a restart sent to another worker");
  EXPECT_EQ(CountInLog(*owner, "restart request carried out"), 1u) << owner->process().LogTail();
  // The Kafka Connect variant answers 202 with the status marked RESTARTING.
  auto accepted = other->client().Expect(
      202, "POST", "/connectors/" + Name(0) + "/restart?includeTasks=true&onlyFailed=false");
  EXPECT_EQ(accepted["connector"]["state"], "RESTARTING") << accepted.dump();
  WaitUntil([&] { return CountInLog(*owner, started) == 3; }, 30s, "the second restart");
  std::this_thread::sleep_for(3s);  // nothing restarts it again (the requests are tombstoned)
  EXPECT_EQ(CountInLog(*owner, started), 3u) << owner->process().LogTail();
  for (auto& w : workers_) {
    if (w.get() != owner) {
      EXPECT_EQ(CountInLog(*w, started), 0u) << w->process().LogTail();
    }
  }
  EXPECT_EQ(Placement()[Name(0)], owner_id);

  other->client().Expect(202, "PUT", "/connectors/" + Name(0) + "/pause");
  WaitUntil([&] { return !owner->Running().count(Name(0)); }, 30s,
            "pause through another worker stops the owner's pipeline");
  WaitUntil([&] {
    auto status = owner->client().Call("GET", "/connectors/" + Name(0) + "/status");
    return status.status == 200 && status.Json()["connector"]["state"] == "PAUSED";
  }, 20s, "the owner shows c0 PAUSED");
  other->client().Expect(202, "PUT", "/connectors/" + Name(0) + "/resume");
  WaitUntil([&] { return owner->Running().count(Name(0)) > 0; }, 30s,
            "resume through another worker starts it on the owner again");
  src_.Exec("INSERT INTO t0 VALUES (5000, 'after')");
  WaitUntil([&] {
    auto source = src_.Query("SELECT id::text, v FROM t0");
    auto target = ReplayTable(out_.path() / Name(0), "public", "t0", {"id"}, {{"id"}, {"v"}});
    return static_cast<bool>(TablesMatch(source, target));
  }, 60s, "c0's target equals its source after the restarts");
  ExpectNoDoubleRuns(sampler, 10);

  // DELETE through a worker that does not own c0: the owner stops the pipeline, then drops the
  // slot and publication it created (the worker that took the DELETE could not drop a slot the
  // owner streams from), and every worker forgets c0.
  const std::string slot = "s_" + db_ + "_0";
  EXPECT_EQ(src_.QueryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" +
                            slot + "'"), "1");
  other->client().Expect(204, "DELETE", "/connectors/" + Name(0));
  WaitUntil([&] { return !owner->Running().count(Name(0)); }, 30s,
            "the owner stops c0 after a DELETE sent to another worker");
  WaitUntil([&] {
    return src_.QueryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" +
                           slot + "'") == "0" &&
           src_.QueryValue("SELECT count(*) FROM pg_publication WHERE pubname = 'p_" + db_ +
                           "_0'") == "0";
  }, 30s, "the owner drops c0's slot and publication");
  for (auto& w : workers_) {
    WaitUntil([&] { return w->client().Call("GET", "/connectors/" + Name(0)).status == 404; },
              20s, "worker " + w->id() + " forgets c0");
  }
  EXPECT_EQ(CountInLog(*owner, "connector " + Name(0) + ": deleted on another worker"), 1u)
      << owner->process().LogTail();
}

}  // namespace
}  // namespace sluice::itest
