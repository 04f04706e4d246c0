// Workers of `sluice serve --cluster` on the test broker, for the cluster suites: one group and
// its topics per fixture (created through the broker's control socket, as the test broker has
// no CreateTopics), workers started on free loopback ports, a sampler that checks every
// 100 ms that no connector runs on two workers at once, and ClusterTest, the fixture of
// cluster_failover_test and cluster_partition_test (PostgreSQL -> file connectors under load).
#pragma once

#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/api/http_client.h"
#include "integration/common/itest.h"
#include "integration/postgres/replay.h"

namespace sluice::itest {

using namespace std::chrono_literals;

inline constexpr int kSessionTimeoutMs = 6000;
inline constexpr int kAssignmentPartitions = 12;
// A dead worker's connectors run on the others at most this long after the survivors took its
// partitions (their heartbeat records list them, written once the rebalance callback, which
// reads the state topics to their end, has returned): starting the pipelines and taking over
// the slots, on a loaded 2-core machine.
inline constexpr std::chrono::milliseconds kResumeAfterAssignment{10000};
// The whole failover on the test broker, from kill -9: the session timeout (the broker checks
// sessions once a second), then for each rebalance round the broker's delay (librdkafka's mock
// cluster waits session.timeout.ms - 1 s for members to rejoin before it elects a leader, even
// when all of them have; a real broker goes on once they have), up to four cooperative rounds
// as seen in the cluster benchmark, then kResumeAfterAssignment.
inline constexpr std::chrono::milliseconds kFailoverBound{
    kSessionTimeoutMs + 1000 + 4 * (kSessionTimeoutMs - 1000) + kResumeAfterAssignment.count()};

// One worker process. Not thread-safe except Running() (read by the sampler).
class ClusterWorkerProcess {
 public:
  // `bootstrap`: the broker, or a KafkaProxy in front of it (cluster_partition_test).
  ClusterWorkerProcess(const std::string& group, int port,
                       const std::string& bootstrap = TestEnv::KafkaBootstrap())
      : port_(port),
        process_(SluiceProcess::Start(
            {"serve", "--listen", "127.0.0.1:" + std::to_string(port), "--cluster",
             "--cluster.bootstrap.servers", bootstrap, "--cluster.group.id",
             group, "--cluster.assignments.partitions", std::to_string(kAssignmentPartitions),
             "--cluster.session.timeout.ms", std::to_string(kSessionTimeoutMs)})),
        client_(port) {}

  int port() const { return port_; }
  std::string id() const { return "127.0.0.1:" + std::to_string(port_); }
  RestClient& client() { return client_; }
  SluiceProcess& process() { return process_; }
  bool alive() const { return alive_.load(); }

  void WaitHealthy() {
    WaitUntil([&] {
      if (!process_.IsRunning()) throw HarnessError("worker exited: " + process_.LogTail());
      return client_.Call("GET", "/healthz").status == 200;
    }, std::chrono::seconds(60), "worker " + id() + " answers /healthz");
  }
  void Kill() {
    alive_ = false;
    process_.Kill();
  }
  // SIGSTOP: the worker goes silent as behind a network partition, its connections (Kafka,
  // PostgreSQL) stay open. Thaw() is SIGCONT.
  void Freeze() {
    alive_ = false;
    process_.process().Signal(SIGSTOP);
  }
  void Thaw() {
    process_.process().Signal(SIGCONT);
    alive_ = true;
  }
  ExitStatus Stop() {
    alive_ = false;
    return process_.Stop();
  }

  // GET /cluster through a raw socket (cheap enough to call every 100 ms); nullopt when the
  // worker does not answer.
  std::optional<nlohmann::json> Cluster() const {
    std::string reply;
    try {
      reply = RawExchange(port_, "GET /cluster HTTP/1.1\r\nHost: 127.0.0.1:" +
                                     std::to_string(port_) + "\r\nConnection: close\r\n\r\n");
    } catch (const HarnessError&) {
      return std::nullopt;
    }
    size_t body = reply.find("\r\n\r\n");
    if (reply.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) return std::nullopt;
    auto parsed = nlohmann::json::parse(reply.substr(body + 4), nullptr, false);
    if (parsed.is_discarded()) return std::nullopt;
    return parsed;
  }
  // The connectors with a pipeline on this worker now (empty when it does not answer).
  std::set<std::string> Running() const {
    auto cluster = Cluster();
    if (!cluster) return {};
    return (*cluster)["running"].get<std::set<std::string>>();
  }

 private:
  int port_;
  SluiceProcess process_;
  RestClient client_;
  std::atomic<bool> alive_{true};
};

// Samples every 100 ms which worker runs which connector. A connector counts as running on two
// workers at once only when a worker reports it in two passes with another worker reporting it
// in between, so that a handover between two reads is not mistaken for a double run.
class OwnershipSampler {
 public:
  explicit OwnershipSampler(std::vector<ClusterWorkerProcess*> workers)
      : workers_(std::move(workers)),
        thread_([this](std::stop_token stop) { Loop(stop); }) {}
  ~OwnershipSampler() { thread_.request_stop(); }

  void Stop() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::string> violations() const {
    std::lock_guard lock(mu_);
    return violations_;
  }
  int rounds() const { return rounds_.load(); }

 private:
  void Loop(std::stop_token stop) {
    while (!stop.stop_requested()) {
      std::vector<std::set<std::string>> first, second;
      for (auto* w : workers_) first.push_back(w->alive() ? w->Running() : std::set<std::string>{});
      for (auto* w : workers_) second.push_back(w->alive() ? w->Running() : std::set<std::string>{});
      for (size_t x = 0; x < workers_.size(); ++x) {
        for (const std::string& c : first[x]) {
          if (!second[x].count(c)) continue;
          for (size_t y = 0; y < workers_.size(); ++y) {
            // Reads of y between x's two reads: later in the first pass, earlier in the second.
            bool between = (y > x && first[y].count(c)) || (y < x && second[y].count(c));
            if (between) {
              std::lock_guard lock(mu_);
              violations_.push_back(c + " ran on " + workers_[x]->id() + " and " +
                                    workers_[y]->id() + " at once");
            }
          }
        }
      }
      ++rounds_;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  std::vector<ClusterWorkerProcess*> workers_;
  mutable std::mutex mu_;
  std::vector<std::string> violations_;
  std::atomic<int> rounds_{0};
  std::jthread thread_;
};

// The topics of a fresh group, as a real Kafka's AdminClient would create them.
inline void CreateClusterTopics(const std::string& group) {
  CreateKafkaTopic(group + "-configs", 1);
  CreateKafkaTopic(group + "-offsets", 5);
  CreateKafkaTopic(group + "-status", 3);
  CreateKafkaTopic(group + "-assignments", kAssignmentPartitions);
}

constexpr int kConnectors = 6;

// The fixture of the cluster suites: a group with its topics, a PostgreSQL database with
// kConnectors tables, and PostgreSQL -> file connectors c<k> of table t<k>, one per table.
class ClusterTest : public ::testing::Test {
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

  // Ends the load, which must have run (more than 20 batches), then expects: every target equals
  // its source, every live worker's status names the owners, no double run in more than
  // `min_rounds` samples, and every slot streaming again (PostgreSQL lets one walsender hold a
  // slot: active_pid).
  void StopLoadAndExpectConverged(std::jthread& load, const std::atomic<int>& batches,
                                  OwnershipSampler& sampler, int min_rounds) {
    load.request_stop();
    load.join();
    EXPECT_GT(batches.load(), 20) << "the load ran while the connectors moved";
    WaitUntil([&] { return TargetsEqualSources(); }, 60s, "every target equals its source");
    WaitUntil([&] { return StatusShowsOwners(); }, 20s, "every worker's status names the owners");
    ExpectNoDoubleRuns(sampler, min_rounds);
    EXPECT_EQ(src_.QueryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE "
                              "'s_" + db_ + "_%' AND active_pid IS NOT NULL"),
              std::to_string(kConnectors));
  }

  // `bootstraps`: worker i's cluster.bootstrap.servers (default: the broker).
  void StartThreeWorkers(const std::vector<std::string>& bootstraps = {}) {
    for (size_t i = 0; i < 3; ++i) {
      workers_.push_back(std::make_unique<ClusterWorkerProcess>(
          group_, FreeLoopbackPort(),
          i < bootstraps.size() ? bootstraps[i] : TestEnv::KafkaBootstrap()));
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

}  // namespace sluice::itest
