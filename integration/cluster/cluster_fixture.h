// Workers of `sluice serve --cluster` on the test broker, for the cluster suites: one group and
// its topics per fixture (created through the broker's control socket, as the test broker has
// no CreateTopics), workers started on free loopback ports, and a sampler that checks every
// 100 ms that no connector runs on two workers at once.
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

#include <nlohmann/json.hpp>

#include "integration/api/http_client.h"
#include "integration/common/itest.h"

namespace sluice::itest {

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
  ClusterWorkerProcess(const std::string& group, int port)
      : port_(port),
        process_(SluiceProcess::Start(
            {"serve", "--listen", "127.0.0.1:" + std::to_string(port), "--cluster",
             "--cluster.bootstrap.servers", TestEnv::KafkaBootstrap(), "--cluster.group.id",
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

}  // namespace sluice::itest
