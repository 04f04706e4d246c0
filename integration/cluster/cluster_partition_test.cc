// A network partition of one worker of `sluice serve --cluster`: each of three workers reaches
// the test broker through a KafkaProxy of its own (kafka_proxy.h; the proxy rewrites the
// broker address Kafka advertises, so every connection of the worker's Kafka clients goes
// through it). The worker running the most PostgreSQL -> file connectors is cut off: its proxy
// stops forwarding both ways with the sockets kept open, as a dropped network. It must stop
// its connectors (fenced by its own lost membership: its pipelines end, its target files stop
// growing and its walsenders release the slots) and show the membership lost BEFORE any other
// worker starts them, sampled every 100 ms; they resume on the others within the failover
// bound; after the partition heals the worker rejoins with no connector running twice, every
// target equals its source, and status records of the cut-off worker that arrive late (its
// older assignment generation) do not replace the owners' in any worker's status. The same
// holds for a worker cut off in the middle of a rebalance, waiting for its JoinGroup answer.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "integration/cluster/cluster_fixture.h"
#include "integration/cluster/kafka_proxy.h"

namespace sluice::itest {
namespace {

int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// When, after the partition, each of the cut-off worker's connectors was seen stopped there,
// its slot released by the cut-off worker's walsender, and running on another worker.
struct Handover {
  std::optional<std::chrono::milliseconds> stopped, released, started;
};

// What WatchHandover saw.
struct HandoverWatch {
  std::map<std::string, Handover> handover;
  std::optional<std::chrono::milliseconds> lost_shown;
  std::vector<std::string> overlaps;
  std::chrono::milliseconds resumed{0};  // when every connector ran elsewhere
};

class ClusterPartitionTest : public ClusterTest {
 protected:
  void TearDown() override {
    if (load_.joinable()) {  // a failed test: the load stops before its database goes
      load_.request_stop();
      load_.join();
    }
    ClusterTest::TearDown();
  }
  // slot name -> active_pid ("" when no walsender holds it).
  std::map<std::string, std::string> SlotHolders() {
    std::map<std::string, std::string> holders;
    for (const auto& row : src_.Query("SELECT slot_name, coalesce(active_pid::text, '') FROM "
                                      "pg_replication_slots WHERE slot_name LIKE 's_" + db_ +
                                      "_%'")) {
      holders[row[0].value_or("")] = row[1].value_or("");
    }
    return holders;
  }
  // The size of connector c<k>'s target file (0 before it exists).
  uintmax_t TargetBytes(const std::string& connector) const {
    std::error_code error;
    auto bytes = std::filesystem::file_size(
        out_.path() / connector / ("public.t" + connector.substr(1) + ".jsonl"), error);
    return error ? 0 : bytes;
  }
  std::string Slot(const std::string& connector) const {
    return "s_" + db_ + "_" + connector.substr(1);  // c<k> streams from s_<db>_<k>
  }

  // Starts three workers, each through a KafkaProxy of its own, and the connectors under load;
  // picks the worker running the most connectors as the one to cut off.
  void StartUnderLoad() {
    for (int i = 0; i < 3; ++i) {
      proxies_.push_back(std::make_unique<KafkaProxy>(TestEnv::KafkaBootstrap()));
      bootstraps_.push_back(proxies_.back()->bootstrap());
    }
    StartThreeWorkers(bootstraps_);
    for (auto& proxy : proxies_) {
      EXPECT_GT(proxy->rewritten(), 0u) << "a worker's clients did not learn the proxy's address";
    }
    CreateConnectorsThroughEachWorker();
    load_ = std::jthread([&](std::stop_token stop) { Load(stop, batches_); });
    for (size_t i = 0; i < workers_.size(); ++i) {
      auto running = workers_[i]->Running();
      if (running.size() > moved_.size()) {
        victim_ = i;
        moved_ = running;
      }
    }
    ASSERT_FALSE(moved_.empty());
    auto holders = SlotHolders();
    for (const std::string& c : moved_) {
      victim_pid_[c] = holders[Slot(c)];
      ASSERT_FALSE(victim_pid_[c].empty()) << c << "'s slot is not streaming before the partition";
    }
  }

  // Samples every 100 ms from `cut_at` until every connector of the cut-off worker runs on
  // another one: when each stopped there, released its slot and started elsewhere, when the
  // cut-off worker showed its membership lost, and every overlap.
  HandoverWatch WatchHandover(std::chrono::steady_clock::time_point cut_at) {
    ClusterWorkerProcess& cut = *workers_[victim_];
    HandoverWatch watch;
    auto since = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - cut_at);
    };
    std::map<std::string, uintmax_t> frozen_size;  // a stopped connector's file, seen since
    WaitUntil([&] {
      // The target files first: a file that grows after the connector stopped on the cut-off
      // worker, while no other worker runs it (read next), grew by the cut-off worker's hand.
      std::map<std::string, uintmax_t> sizes;
      for (const std::string& c : moved_) sizes[c] = TargetBytes(c);
      // The others, then the cut-off worker: a connector seen elsewhere and then still on the
      // cut-off worker (or its slot still held by that worker's walsender) ran on both.
      std::set<std::string> elsewhere;
      for (size_t i = 0; i < workers_.size(); ++i) {
        if (i == victim_) continue;
        for (const std::string& c : workers_[i]->Running()) elsewhere.insert(c);
      }
      auto slots = SlotHolders();
      auto cluster = cut.Cluster();
      const auto now = since();
      if (!cluster) throw HarnessError("the cut-off worker's REST API stopped answering");
      std::set<std::string> there = (*cluster)["running"].get<std::set<std::string>>();
      if (!watch.lost_shown && (*cluster)["membership"]["state"] == "lost") {
        watch.lost_shown = now;
      }
      bool all_started = true;
      for (const std::string& c : moved_) {
        Handover& h = watch.handover[c];
        const bool held = slots[Slot(c)] == victim_pid_[c];
        if (h.stopped && !elsewhere.count(c)) {
          // Stopped in an earlier sample: its file must not grow until another worker runs it.
          auto [frozen, first] = frozen_size.try_emplace(c, sizes[c]);
          if (!first && frozen->second != sizes[c]) {
            watch.overlaps.push_back(c + "'s target grew from " +
                                     std::to_string(frozen->second) + " to " +
                                     std::to_string(sizes[c]) + " bytes at " +
                                     std::to_string(now.count()) + " ms after the cut-off "
                                     "worker stopped it, with no other worker running it");
            frozen->second = sizes[c];
          }
        }
        if (!h.stopped && !there.count(c)) h.stopped = now;
        if (!h.released && !held) h.released = now;
        if (elsewhere.count(c)) {
          if (!h.started) h.started = now;
          if (there.count(c) || held) {
            watch.overlaps.push_back(c + " ran on another worker at " +
                                     std::to_string(now.count()) + " ms while the cut-off "
                                     "worker " + (there.count(c) ? "still ran it"
                                                                 : "still held its slot"));
          }
        }
        all_started = all_started && h.started;
      }
      return all_started;
    }, kFailoverBound, "the cut-off worker's connectors run on the others", 100ms);
    watch.resumed = since();
    return watch;
  }

  // Fenced: the cut-off worker showed its membership lost, stopped each connector and its
  // walsender let the slot go before another worker started it, and nothing ran twice.
  void ExpectFenced(const HandoverWatch& watch) {
    EXPECT_TRUE(watch.overlaps.empty()) << watch.overlaps.size() << " overlaps, first: "
                                        << watch.overlaps.front();
    ASSERT_TRUE(watch.lost_shown.has_value()) << "the cut-off worker's GET /cluster never "
                                                 "showed its membership lost";
    for (const auto& [c, h] : watch.handover) {
      ASSERT_TRUE(h.stopped && h.released && h.started) << c;
      EXPECT_LT(*h.stopped, *h.started) << c;
      EXPECT_LE(*h.released, *h.started) << c;
      EXPECT_LE(*watch.lost_shown, *h.started) << c;
      std::cout << c << ": stopped on the cut-off worker " << h.stopped->count()
                << " ms after the partition, slot released " << h.released->count()
                << " ms, started elsewhere " << h.started->count() << " ms\n";
    }
    std::cout << "membership lost shown " << watch.lost_shown->count()
              << " ms after the partition; " << moved_.size()
              << " connectors resumed elsewhere after " << watch.resumed.count() << " ms\n";
  }

  // Heals the partition (the held bytes go out first, as TCP would retransmit them): the
  // cut-off worker rejoins, the group spreads the partitions again, and every connector runs.
  void HealAndRejoin() {
    proxies_[victim_]->Heal();
    WaitUntil([&] {
      auto cluster = workers_[victim_]->Cluster();
      return cluster && (*cluster)["membership"]["state"] == "member";
    }, std::chrono::milliseconds(kSessionTimeoutMs) + 60s, "the healed worker rejoins the group");
    WaitGroupSettled();
    WaitUntil([&] { return AllPlacedOnLiveWorkers(); }, 60s,
              "every connector runs after the heal");
  }

  std::vector<std::unique_ptr<KafkaProxy>> proxies_;
  std::vector<std::string> bootstraps_;
  std::atomic<int> batches_{0};
  std::jthread load_;
  size_t victim_ = 0;
  std::set<std::string> moved_;                   // what the cut-off worker ran
  std::map<std::string, std::string> victim_pid_;  // their walsenders before the cut
};

TEST_F(ClusterPartitionTest, CutOffWorkerStopsItsConnectorsBeforeTheyStartElsewhere) {
  ASSERT_NO_FATAL_FAILURE(StartUnderLoad());
  OwnershipSampler sampler({workers_[0].get(), workers_[1].get(), workers_[2].get()});
  ClusterWorkerProcess& cut = *workers_[victim_];
  const std::set<std::string>& moved = moved_;
  std::this_thread::sleep_for(1s);

  auto before = cut.Cluster();
  ASSERT_TRUE(before.has_value());
  const int64_t cut_generation = (*before)["membership"]["generation"].get<int64_t>();
  ASSERT_GE(cut_generation, 0) << before->dump();
  proxies_[victim_]->Partition();
  ASSERT_NO_FATAL_FAILURE(ExpectFenced(WatchHandover(std::chrono::steady_clock::now())));

  // A late status record of the cut-off worker for each connector it lost, in the generation it
  // had before the partition (what a write already on its way when its session expired
  // becomes), produced with kcat once the new owner's RUNNING record is in: no worker's view
  // may let it replace the new owner's (StatusShowsOwners after the heal).
  for (const std::string& c : moved) {
    WaitUntil([&]() -> ::testing::AssertionResult {
      for (size_t i = 0; i < workers_.size(); ++i) {
        if (i == victim_) continue;
        auto status = workers_[i]->client().Call("GET", "/connectors/" + c + "/status");
        auto connector = status.status == 200 ? status.Json()["connector"] : nlohmann::json();
        if (connector["state"] != "RUNNING" || connector["worker_id"] == cut.id()) {
          return ::testing::AssertionFailure() << workers_[i]->id() << ": " << status.body;
        }
      }
      return ::testing::AssertionSuccess();
    }, 20s, "the others' status shows " + c + " running on its new owner");
    nlohmann::json stale = {{"state", "FAILED"},
                            {"trace", "late record of the cut-off worker"},
                            {"ts_unix_ms", UnixMs()},
                            {"worker_id", cut.id()},
                            {"generation", cut_generation}};
    ProduceMessage(group_ + "-status", "status-" + c, stale.dump());
  }
  const std::string dropped = "status FAILED from worker " + cut.id() + " (generation " +
                              std::to_string(cut_generation) + ") is older than";

  HealAndRejoin();
  std::this_thread::sleep_for(1s);
  StopLoadAndExpectConverged(load_, batches_, sampler, 50);
  // Every worker's view, the healed one's too, read the late records and dropped them.
  for (auto& w : workers_) {
    WaitUntil([&] {
      const std::string log = w->process().Stderr();
      size_t n = 0;
      for (size_t at = log.find(dropped); at != std::string::npos; at = log.find(dropped, at + 1)) {
        ++n;
      }
      return n >= moved.size();
    }, 20s, "worker " + w->id() + " reads the late records and drops them");
  }
  for (auto& w : workers_) EXPECT_TRUE(w->Stop().Success()) << w->process().LogTail();
}

// A worker cut off while the group rebalances waits for the answer to its JoinGroup request, a
// join state in which librdkafka does not check its session: it would keep its connectors for
// minutes while the coordinator, which expires it, hands them to the others. Its lease fences it
// all the same (api/cluster/coordinator_lease.h), and after the heal it rejoins.
TEST_F(ClusterPartitionTest, WorkerCutOffWhileTheGroupRebalancesFencesItselfToo) {
  ASSERT_NO_FATAL_FAILURE(StartUnderLoad());
  ClusterWorkerProcess& cut = *workers_[victim_];
  // A fourth worker, straight to the broker, makes the group rebalance (the test broker holds
  // the JoinGroup answers about session.timeout.ms - 1 s); the cut comes once the worker to cut
  // off has sent its JoinGroup and waits.
  ClusterWorkerProcess& fourth = AddWorker();
  OwnershipSampler sampler(
      {workers_[0].get(), workers_[1].get(), workers_[2].get(), &fourth});
  std::string join_state;
  WaitUntil([&] {
    auto cluster = cut.Cluster();
    join_state = cluster ? (*cluster)["membership"].value("join_state", "") : "";
    return join_state == "wait-join";
  }, 30s, "the worker to cut off waits for its JoinGroup answer", 20ms);
  proxies_[victim_]->Partition();
  ASSERT_NO_FATAL_FAILURE(ExpectFenced(WatchHandover(std::chrono::steady_clock::now())));
  auto fenced = cut.Cluster();
  ASSERT_TRUE(fenced.has_value());
  EXPECT_GT((*fenced)["membership"]["coordinator_silence_ms"].get<int64_t>(), kSessionTimeoutMs)
      << fenced->dump();
  EXPECT_NE(cut.process().Stderr().find("nothing from group " + group_ + "'s coordinator"),
            std::string::npos)
      << "the cut-off worker did not say why it stopped its connectors";

  HealAndRejoin();
  std::this_thread::sleep_for(1s);
  StopLoadAndExpectConverged(load_, batches_, sampler, 50);
  for (auto& w : workers_) EXPECT_TRUE(w->Stop().Success()) << w->process().LogTail();
}

}  // namespace
}  // namespace sluice::itest
