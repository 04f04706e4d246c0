// Supervisor::Entry, shared by the files that implement the Supervisor (supervisor.cc: the
// lifecycle and the REST-facing calls; supervisor_reconcile.cc: the reconcile loop;
// supervisor_admin.cc: offsets, server objects; cluster/supervisor_cluster.cc: cluster mode).
// Internal.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/supervisor.h"

namespace sluice::api {

inline constexpr const char* kRunning = "RUNNING";
inline constexpr const char* kPaused = "PAUSED";
inline constexpr const char* kStopped = "STOPPED";

struct Supervisor::Entry {
  explicit Entry(std::string n) : name(std::move(n)) {}

  const std::string name;
  std::atomic<bool> removed{false};
  std::mutex mu;  // guards everything below
  core::ConnectorConfig config;
  std::string target_state = kRunning;
  int64_t created_unix_ms = 0;
  std::unique_ptr<core::ProgressTracker> progress;  // of the current (or last) run
  std::unique_ptr<core::Pipeline> pipeline;
  bool stop_requested = false;   // RequestStop sent to the current pipeline
  bool restart_pending = false;  // start a new pipeline once the current one ended
  std::string failure;           // trace of the last failure; empty when none
  bool failure_retriable = false;
  std::chrono::steady_clock::time_point retry_at;
  std::chrono::steady_clock::time_point started_at;
  std::chrono::milliseconds backoff{0};
  int attempts = 0;
  uint64_t events_written = 0;  // over every run since the server started
  std::vector<std::string> exclusive;  // see ExclusiveObjects; guarded by Supervisor::mu_
  // While no pipeline runs here: the source's watch on what the server keeps for it (slot,
  // binlog files), see WatchIdleLocked; the next time one may be built.
  std::unique_ptr<core::RetentionWatch> idle_watch;
  std::chrono::steady_clock::time_point idle_watch_at;

  // A new config (PUT here, or a change written by another worker): restart a running pipeline
  // with it, retry at once, and rebuild the idle watch from it. Call with mu held.
  void Reconfigure(core::ConnectorConfig new_config) {
    config = std::move(new_config);
    idle_watch.reset();
    idle_watch_at = {};
    restart_pending = pipeline != nullptr;
    failure.clear();
    backoff = std::chrono::milliseconds(0);
    attempts = 0;
  }
};

}  // namespace sluice::api
