// VerifyManager: the REST verification jobs (POST/GET/DELETE /connectors/{name}/verify[/{id}]).
// Each job runs a VerifyJob (api/verify_job.h) on its own thread against the connector's
// config; jobs live in memory (the last kKeepPerConnector finished ones per connector are kept;
// a restart forgets them). At most one job runs per connector, and at most `max_running` in
// all; more is refused (409 / 429), never queued without bound.
//
// Thread-safety: every public method is thread-safe. Shutdown() (and the destructor) cancels
// running jobs and joins their threads.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/verify_job.h"
#include "core/config.h"
#include "core/metrics.h"

namespace sluice::api {

class VerifyManager {
 public:
  static constexpr size_t kKeepPerConnector = 10;

  explicit VerifyManager(core::MetricsRegistry* metrics, size_t max_running = 2);
  ~VerifyManager();
  VerifyManager(const VerifyManager&) = delete;
  VerifyManager& operator=(const VerifyManager&) = delete;

  // Starts a job; returns its id. kFailedPrecondition when one already runs for the connector,
  // kResourceExhausted when max_running jobs run, kUnavailable after Shutdown().
  core::Result<std::string> Start(const std::string& connector, core::ConnectorConfig config,
                                  VerifyRequest request);
  // {"id", "connector", "started_ms", "finished_ms"?, ...VerifyJob::ToJson()}; kNotFound.
  core::Result<nlohmann::json> Get(const std::string& connector, const std::string& id);
  // Every kept job of the connector, newest first.
  nlohmann::json List(const std::string& connector);
  // The newest finished job of the connector in brief ({"id", "state", "equal", "differences",
  // "finished_ms"}), for the connector's status; nullopt when none finished.
  std::optional<nlohmann::json> LastResult(const std::string& connector);
  // Requests cancellation (the job ends at its next range); kNotFound for an unknown id.
  core::Status Cancel(const std::string& connector, const std::string& id);
  // Forgets the connector's jobs (it was deleted), cancelling a running one.
  void Forget(const std::string& connector);
  void Shutdown();

 private:
  struct Entry {
    std::string id;
    std::string connector;
    int64_t started_ms = 0;
    std::atomic<int64_t> finished_ms{0};
    std::unique_ptr<VerifyJob> job;
    std::thread thread;
  };
  nlohmann::json EntryJson(const Entry& e) const;
  void ReapFinishedLocked();

  core::MetricsRegistry* metrics_;
  const size_t max_running_;
  std::mutex mu_;
  bool accepting_ = true;
  uint64_t next_id_ = 1;
  std::map<std::string, std::vector<std::shared_ptr<Entry>>> jobs_;  // per connector, oldest first
};

}  // namespace sluice::api
