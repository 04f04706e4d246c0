// SyncManager: one-shot full syncs (POST /syncs). A sync runs a connector config as
// snapshot.mode=initial_only in its own pipeline, named after the sync id, without a stored
// source position (every sync starts from scratch). Its progress comes from its ProgressTracker;
// its record (config, state, last progress, result) is kept in the StateStore, so finished
// syncs stay listed after a restart. A sync that was running when the server stopped is marked
// FAILED ("interrupted") at the next start.
//
// When a sync ends (succeeded, failed or cancelled) what it made on the source server is dropped
// (its publication; its slot is temporary) and its metric series are removed.
//
// States: RUNNING -> SUCCEEDED | FAILED | CANCELLED.
// Thread-safety: every public method is thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/supervisor.h"
#include "core/state_store.h"

namespace sluice::api {

class SyncManager {
 public:
  SyncManager(core::StateStore* store, core::MetricsRegistry* metrics, ConnectorBuilder builder,
              ConfigValidator validator);
  ~SyncManager();  // Shutdown()
  SyncManager(const SyncManager&) = delete;
  SyncManager& operator=(const SyncManager&) = delete;

  // Marks syncs left RUNNING by a previous process as FAILED and starts the watcher thread.
  core::Status Start();

  // Starts a sync; kInvalidArgument for a bad config. snapshot.mode is forced to initial_only.
  core::Result<core::SyncRecord> Create(core::ConnectorConfig config);
  // The record, with live progress for a running sync. kNotFound for an unknown id.
  core::Result<core::SyncRecord> Get(const std::string& id);
  // Newest first.
  core::Result<std::vector<core::SyncRecord>> List();
  // Cancels a running sync (waits until its pipeline stopped); a finished one is left as is.
  // kNotFound for an unknown id.
  core::Status Cancel(const std::string& id);

  // Stops running syncs (marked CANCELLED: shutdown) and refuses new ones.
  void Shutdown();

 private:
  struct Job;
  void WatchLoop(std::stop_token stop);
  // Updates the record from the job; `final` when the pipeline ended.
  void Persist(Job& job);
  void Finish(Job& job);

  core::StateStore* store_;
  core::MetricsRegistry* metrics_;
  ConnectorBuilder builder_;
  SourceBuilder source_builder_;
  ConfigValidator validator_;

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Job>> running_;
  bool accepting_ = true;
  std::jthread watcher_;
};

}  // namespace sluice::api
