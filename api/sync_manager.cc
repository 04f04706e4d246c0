#include "api/sync_manager.h"

#include <random>

#include <nlohmann/json.hpp>

#include "api/progress_view.h"
#include "api/sync_defaults.h"
#include "core/clock.h"
#include "core/logging.h"
#include "core/redact.h"
#include "core/snapshot_mode.h"

namespace sluice::api {

namespace {

constexpr auto kWatchInterval = std::chrono::milliseconds(250);
constexpr auto kPersistInterval = std::chrono::seconds(2);

// "sync_" + 12 lowercase hex digits: usable as a slot or table-name suffix by any connector.
std::string NewSyncId() {
  static std::mutex mu;
  static std::mt19937_64 rng(std::random_device{}() ^
                             static_cast<uint64_t>(core::NowUnixMs()));
  std::lock_guard lock(mu);
  char buf[32];
  std::snprintf(buf, sizeof buf, "sync_%012llx",
                static_cast<unsigned long long>(rng() & 0xffffffffffffULL));
  return buf;
}

}  // namespace

struct SyncManager::Job {
  std::mutex mu;  // guards everything below
  core::SyncRecord record;
  core::ConnectorConfig run_config;  // the config the pipeline runs, named after the sync id
  core::ProgressTracker progress;
  std::unique_ptr<core::Pipeline> pipeline;
  bool cancelled = false;
  std::chrono::steady_clock::time_point last_persist;
};

SyncManager::SyncManager(core::StateStore* store, core::MetricsRegistry* metrics,
                         ConnectorBuilder builder, ConfigValidator validator)
    : store_(store), metrics_(metrics), builder_(std::move(builder)),
      source_builder_(SourceBuilderFor(builder_)), validator_(std::move(validator)) {
  if (!builder_) builder_ = &BuildConnector;
  if (!validator_) validator_ = &ValidateConfig;
}

SyncManager::~SyncManager() { Shutdown(); }

core::Status SyncManager::Start() {
  SLUICE_ASSIGN_OR_RETURN(auto syncs, store_->ListSyncs());
  for (auto& s : syncs) {
    if (s.state != "RUNNING") continue;
    s.state = "FAILED";
    s.finished_unix_ms = core::NowUnixMs();
    s.result_json = nlohmann::json{{"status", "error"},
                                   {"message", "interrupted: the server stopped during the sync; "
                                               "start a new sync"}}
                        .dump();
    SLUICE_RETURN_IF_ERROR(store_->PutSync(s));
  }
  watcher_ = std::jthread([this](std::stop_token stop) { WatchLoop(stop); });
  return core::Status::Ok();
}

core::Result<core::SyncRecord> SyncManager::Create(core::ConnectorConfig config) {
  {
    std::lock_guard lock(mu_);
    if (!accepting_) return core::UnavailableError("the server is shutting down");
  }
  std::string id = NewSyncId();
  const std::string one_shot(core::SnapshotModeName(core::SnapshotMode::kInitialOnly));
  std::string requested_mode = config.Get("snapshot.mode", one_shot);
  config.mutable_values()["snapshot.mode"] = one_shot;
  for (const std::string& setting : ApplySyncDefaults(config)) {
    spdlog::info("sync {}: {} (a sync's default where the config leaves it out)", id, setting);
  }
  if (config.name().empty()) config.set_name(id);
  SLUICE_RETURN_IF_ERROR(validator_(config));
  if (requested_mode != one_shot) {
    spdlog::warn("sync {}: snapshot.mode={} replaced by initial_only", id, requested_mode);
  }
  // The pipeline runs under the sync's id, so that its logs, metrics and any per-connector
  // server objects (slots) never collide with a connector or another sync.
  core::ConnectorConfig run_config = config;
  run_config.set_name(id);
  run_config.mutable_values()["name"] = id;

  auto job = std::make_shared<Job>();
  job->run_config = run_config;
  job->record.id = id;
  job->record.config_json = config.ToJson().dump();
  job->record.state = "RUNNING";
  job->record.started_unix_ms = core::NowUnixMs();
  auto built = builder_(run_config, metrics_, &job->progress);
  if (!built.ok()) {
    metrics_->RemoveSeriesWithLabel("connector", id);
    if (built.status().code() == core::StatusCode::kInvalidArgument) return built.status();
    job->record.state = "FAILED";
    job->record.finished_unix_ms = core::NowUnixMs();
    job->record.result_json =
        nlohmann::json{{"status", "error"},
                       {"message", core::RedactSecrets(built.status().ToString(), config)}}
            .dump();
    job->record.progress_json = ProgressToJson(job->progress.Snapshot()).dump();
    SLUICE_RETURN_IF_ERROR(store_->PutSync(job->record));
    return job->record;
  }
  job->record.progress_json = ProgressToJson(job->progress.Snapshot()).dump();
  SLUICE_RETURN_IF_ERROR(store_->PutSync(job->record));
  // No position store, and any position in the target ignored: a sync always starts from
  // scratch.
  built->options.one_shot = true;
  job->pipeline = std::make_unique<core::Pipeline>(id, std::move(built->source),
                                                   std::move(built->sink), nullptr,
                                                   built->options, metrics_,
                                                   core::ConnectorLogger(id));
  job->pipeline->Start();
  job->last_persist = std::chrono::steady_clock::now();
  spdlog::info("sync {} started: {}", id, config.RedactedJson().dump());
  core::SyncRecord record = job->record;
  std::lock_guard lock(mu_);
  running_[id] = std::move(job);
  return record;
}

core::Result<core::SyncRecord> SyncManager::Get(const std::string& id) {
  std::shared_ptr<Job> job;
  {
    std::lock_guard lock(mu_);
    auto it = running_.find(id);
    if (it != running_.end()) job = it->second;
  }
  if (job) {
    std::lock_guard lock(job->mu);
    core::SyncRecord r = job->record;
    r.progress_json = ProgressToJson(job->progress.Snapshot()).dump();
    return r;
  }
  SLUICE_ASSIGN_OR_RETURN(auto record, store_->GetSync(id));
  if (!record) return core::NotFoundError("sync " + id + " not found");
  return *record;
}

core::Result<std::vector<core::SyncRecord>> SyncManager::List() {
  SLUICE_ASSIGN_OR_RETURN(auto records, store_->ListSyncs());
  for (auto& r : records) {
    if (r.state != "RUNNING") continue;
    auto live = Get(r.id);
    if (live.ok()) r = *live;
  }
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    return a.started_unix_ms != b.started_unix_ms ? a.started_unix_ms > b.started_unix_ms
                                                  : a.id > b.id;
  });
  return records;
}

core::Status SyncManager::Cancel(const std::string& id) {
  std::shared_ptr<Job> job;
  {
    std::lock_guard lock(mu_);
    auto it = running_.find(id);
    if (it != running_.end()) job = it->second;
  }
  if (!job) {
    SLUICE_ASSIGN_OR_RETURN(auto record, store_->GetSync(id));
    if (!record) return core::NotFoundError("sync " + id + " not found");
    return core::Status::Ok();  // already finished
  }
  {
    std::lock_guard lock(job->mu);
    job->cancelled = true;
    if (job->pipeline) job->pipeline->RequestStop();
  }
  // Wait for it to end, then record it (the watcher may get there first).
  for (int i = 0; i < 600; ++i) {
    {
      std::lock_guard lock(job->mu);
      if (!job->pipeline || job->pipeline->WaitFor(std::chrono::milliseconds(100))) break;
    }
  }
  std::lock_guard lock(job->mu);
  if (job->pipeline) Finish(*job);
  return core::Status::Ok();
}

void SyncManager::Persist(Job& job) {
  job.record.progress_json = ProgressToJson(job.progress.Snapshot(),
                                            job.record.state == "SUCCEEDED")
                                 .dump();
  core::Status s = store_->PutSync(job.record);
  if (!s.ok()) spdlog::warn("sync {}: cannot save its record: {}", job.record.id, s.message());
  job.last_persist = std::chrono::steady_clock::now();
}

void SyncManager::Finish(Job& job) {
  core::Status result = job.pipeline->Wait();
  core::PipelineState ended = job.pipeline->state();
  uint64_t events = job.pipeline->events_written();
  job.pipeline.reset();
  job.record.finished_unix_ms = core::NowUnixMs();
  double elapsed_s = (job.record.finished_unix_ms - job.record.started_unix_ms) / 1000.0;
  nlohmann::json r = {{"events_written", events}, {"elapsed_s", elapsed_s}};
  if (job.cancelled) {
    job.record.state = "CANCELLED";
    r["status"] = "cancelled";
    r["message"] = "cancelled on request; the target holds a partial copy";
  } else if (!result.ok()) {
    job.record.state = "FAILED";
    r["status"] = "error";
    auto stored = core::ParseConnectorConfig(job.record.config_json);
    r["message"] = stored.ok() ? core::RedactSecrets(result.ToString(), *stored)
                               : core::RedactConnectionStrings(result.ToString());
  } else if (ended != core::PipelineState::kFinished) {
    job.record.state = "FAILED";
    r["status"] = "error";
    r["message"] = "the pipeline stopped before the snapshot finished";
  } else {
    job.record.state = "SUCCEEDED";
    r["status"] = "ok";
  }
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& t : ComputeRates(job.progress.Snapshot())) {
    tables.push_back({{"table", t.table}, {"rows", t.rows_done}, {"bytes", t.bytes_done}});
  }
  r["tables"] = tables;
  // A sync leaves nothing behind: its publication on the source (its slot was temporary) and
  // its metric series, which would otherwise pile up with every sync.
  std::string released = ReleaseConnectorObjects(source_builder_, job.run_config, std::nullopt,
                                                 /*drop=*/true);
  if (!released.empty()) r["source_cleanup"] = released;
  metrics_->RemoveSeriesWithLabel("connector", job.record.id);
  job.record.result_json = r.dump();
  Persist(job);
  spdlog::info("sync {} {}: {}", job.record.id, job.record.state, r.dump());
}

void SyncManager::WatchLoop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    std::vector<std::shared_ptr<Job>> jobs;
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, job] : running_) jobs.push_back(job);
    }
    auto now = std::chrono::steady_clock::now();
    for (const auto& job : jobs) {
      bool done = false;
      {
        std::lock_guard lock(job->mu);
        // No exception may leave this thread (std::terminate): it ends this sync as FAILED.
        try {
          if (!job->pipeline) {
            done = true;
          } else if (job->pipeline->WaitFor(std::chrono::milliseconds(0))) {
            Finish(*job);
            done = true;
          } else if (now - job->last_persist > kPersistInterval) {
            Persist(*job);
          }
        } catch (...) {
          core::Status failed = core::ExceptionToStatus("watching sync " + job->record.id,
                                                        std::current_exception());
          spdlog::error("{}", failed.message());
          job->record.state = "FAILED";
          job->record.finished_unix_ms = core::NowUnixMs();
          job->record.result_json =
              nlohmann::json{{"status", "error"}, {"message", failed.ToString()}}.dump();
          core::Status saved = store_->PutSync(job->record);
          if (!saved.ok()) spdlog::warn("sync {}: {}", job->record.id, saved.message());
          done = true;
        }
      }
      if (done) {
        std::lock_guard lock(mu_);
        running_.erase(job->record.id);
      }
    }
    std::mutex m;
    std::unique_lock lock(m);
    std::condition_variable_any cv;
    cv.wait_for(lock, stop, kWatchInterval, [] { return false; });
  }
}

void SyncManager::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (!accepting_) return;
    accepting_ = false;
  }
  if (watcher_.joinable()) {
    watcher_.request_stop();
    watcher_.join();
  }
  std::vector<std::shared_ptr<Job>> jobs;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, job] : running_) jobs.push_back(job);
    running_.clear();
  }
  for (const auto& job : jobs) {
    std::lock_guard lock(job->mu);
    if (!job->pipeline) continue;
    job->cancelled = true;
    job->pipeline->RequestStop();
    Finish(*job);
  }
}

}  // namespace sluice::api
