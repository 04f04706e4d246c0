// The Supervisor's reconcile loop (declared in api/supervisor.h): every reconcile_interval it
// brings each connector's pipeline to its target state (start, stop, restart with backoff,
// release what this worker no longer owns), watches retention while none runs, and updates
// the gauges. The lifecycle and the REST-facing calls are in supervisor.cc.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "api/supervisor.h"
#include "api/supervisor_entry.h"
#include "core/logging.h"
#include "core/redact.h"

namespace sluice::api {

namespace {

constexpr auto kHealthyRunResetsBackoff = std::chrono::seconds(30);
const char* const kStates[] = {"UNASSIGNED", "RUNNING", "PAUSED", "STOPPED", "FAILED"};

}  // namespace

void Supervisor::UpdateGauges() {
  std::lock_guard gauges(gauges_mu_);
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, e] : entries_) entries.push_back(e);
  }
  for (const auto& e : entries) {
    if (e->removed.load()) continue;
    ConnectorView v;
    {
      std::lock_guard lock(e->mu);
      v = ViewLocked(*e);
    }
    for (const char* state : kStates) {
      metrics_
          ->GetGauge("sluice_connector_state",
                     "1 for the connector's current state, 0 for the others",
                     {{"connector", v.name}, {"state", state}})
          .Set(v.state == state ? 1 : 0);
    }
    metrics_
        ->GetGauge("sluice_connector_restart_attempts",
                   "automatic restarts since the connector last ran healthy",
                   {{"connector", v.name}})
        .Set(v.restart_attempts);
    for (const auto& t : v.progress.tables) {
      core::Labels labels = {{"connector", v.name}, {"table", t.table}};
      metrics_->GetGauge("sluice_snapshot_rows_done", "rows read by the snapshot", labels)
          .Set(static_cast<double>(t.rows_done));
      metrics_->GetGauge("sluice_snapshot_rows_total", "estimated rows of the table", labels)
          .Set(static_cast<double>(t.rows_total));
      metrics_->GetGauge("sluice_snapshot_bytes_done", "bytes read by the snapshot", labels)
          .Set(static_cast<double>(t.bytes_done));
      metrics_->GetGauge("sluice_snapshot_table_done", "1 when the table's snapshot is done",
                         labels)
          .Set(t.done ? 1 : 0);
    }
  }
}

void Supervisor::ReconcileLoop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    std::vector<std::shared_ptr<Entry>> entries;
    {
      std::lock_guard lock(mu_);
      for (const auto& [name, e] : entries_) entries.push_back(e);
    }
    for (const auto& e : entries) {
      if (stop.stop_requested()) return;
      if (e->removed.load()) continue;
      std::lock_guard lock(e->mu);
      if (e->removed.load()) continue;
      // An exception must not leave this thread (std::terminate would end every connector):
      // it fails this connector only, and the others carry on.
      try {
        Reconcile(*e);
      } catch (...) {
        core::Status failed = core::ExceptionToStatus("supervising connector " + e->name,
                                                      std::current_exception());
        e->failure = failed.ToString();
        e->failure_retriable = false;
        e->restart_pending = false;
        spdlog::error("connector {} failed: {}", e->name, e->failure);
        RecordStatus(e->name, "FAILED", e->failure);
      }
    }
    std::unique_lock lock(wake_mu_);
    wake_cv_.wait_for(lock, stop, options_.reconcile_interval, [this] { return wake_; });
    wake_ = false;
  }
}

void Supervisor::Reconcile(Entry& e) {
  auto now = std::chrono::steady_clock::now();
  if (e.pipeline && e.pipeline->WaitFor(std::chrono::milliseconds(0))) {
    core::Status result = e.pipeline->Wait();
    core::PipelineState ended = e.pipeline->state();
    e.events_written += e.pipeline->events_written();
    e.pipeline.reset();
    e.stop_requested = false;
    if (!result.ok()) {
      e.failure = core::RedactSecrets(result.ToString(), e.config);
      e.failure_retriable = Retriable(result);
      if (e.failure_retriable) {
        e.backoff = e.backoff.count() == 0
                        ? options_.restart_backoff_initial
                        : std::min(e.backoff * 2, options_.restart_backoff_max);
        e.retry_at = now + e.backoff;
        ++e.attempts;
      }
      e.restart_pending = false;
      spdlog::error("connector {} failed: {}{}", e.name, e.failure,
                    e.failure_retriable ? " (retriable: restarting with backoff)" : "");
      RecordStatus(e.name, "FAILED", e.failure);
    } else if (ended == core::PipelineState::kFinished && !e.restart_pending &&
               e.target_state == kRunning) {
      // A one-shot connector (snapshot.mode=initial_only) is done: do not run it again.
      e.target_state = kStopped;
      core::Status s = store_->SetTargetState(e.name, kStopped);
      if (!s.ok()) spdlog::warn("connector {}: {}", e.name, s.message());
      spdlog::info("connector {}: snapshot finished; connector stopped", e.name);
      RecordStatus(e.name, kStopped, "");
    }
  }
  const bool owned = !options_.owns || options_.owns(e.name);
  if (e.pipeline) {
    bool want_stop = e.target_state != kRunning || e.restart_pending || !owned;
    if (want_stop && !e.stop_requested) {
      e.pipeline->RequestStop();
      e.stop_requested = true;
    }
    if (!e.stop_requested && e.attempts > 0 && now - e.started_at > kHealthyRunResetsBackoff) {
      e.attempts = 0;
      e.backoff = std::chrono::milliseconds(0);
    }
    return;
  }
  if (e.target_state != kRunning) {
    e.restart_pending = false;
    WatchIdleLocked(e, owned);
    return;
  }
  if (!owned) {
    e.idle_watch.reset();
    return;
  }
  if (!e.failure.empty() && !e.restart_pending) {
    if (!e.failure_retriable || now < e.retry_at) {
      WatchIdleLocked(e, owned);
      return;
    }
  }
  StartPipelineLocked(e);
}

void Supervisor::WatchIdleLocked(Entry& e, bool owned) {
  if (!owned) {
    e.idle_watch.reset();
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (e.idle_watch || now < e.idle_watch_at) return;
  // Until a watch exists, one attempt a minute (building a source does not connect).
  e.idle_watch_at = now + std::chrono::minutes(1);
  auto stored = store_->LoadPosition(e.name);
  if (!stored.ok() || !*stored) return;
  // A config that does not build fails the connector's start, which says why.
  auto source = options_.source_builder(e.config, metrics_);
  if (!source.ok()) return;
  if (!e.progress) e.progress = std::make_unique<core::ProgressTracker>();
  e.idle_watch = (*source)->WatchRetention(*stored, e.progress.get());
  if (e.idle_watch) spdlog::info("connector {}: watching its retention while it does not run", e.name);
}

void Supervisor::StartPipelineLocked(Entry& e) {
  e.idle_watch.reset();  // the source's own monitor takes over, on a new ProgressTracker
  e.idle_watch_at = {};
  e.restart_pending = false;
  e.failure.clear();
  e.progress = std::make_unique<core::ProgressTracker>();
  auto built = options_.builder(e.config, metrics_, e.progress.get());
  if (!built.ok()) {
    e.failure = core::RedactSecrets(built.status().ToString(), e.config);
    e.failure_retriable = Retriable(built.status());
    if (e.failure_retriable) {
      e.backoff = e.backoff.count() == 0 ? options_.restart_backoff_initial
                                         : std::min(e.backoff * 2, options_.restart_backoff_max);
      e.retry_at = std::chrono::steady_clock::now() + e.backoff;
      ++e.attempts;
    }
    spdlog::error("connector {} cannot start: {}", e.name, e.failure);
    RecordStatus(e.name, "FAILED", e.failure);
    return;
  }
  // Two connectors on one slot or publication take each other's changes: the one created
  // later does not start.
  auto stored = store_->LoadPosition(e.name);
  std::vector<std::string> objects =
      built->source->ExclusiveServerObjects(stored.ok() ? *stored : std::nullopt);
  core::Status clash;
  {
    std::lock_guard lock(mu_);
    clash = CheckNoClashLocked(e.name, objects, /*only_older=*/true, e.created_unix_ms);
    if (clash.ok()) e.exclusive = objects;
  }
  if (!clash.ok()) {
    e.failure = clash.ToString();
    e.failure_retriable = false;
    spdlog::error("connector {} cannot start: {}", e.name, e.failure);
    RecordStatus(e.name, "FAILED", e.failure);
    return;
  }
  e.pipeline = std::make_unique<core::Pipeline>(e.name, std::move(built->source),
                                                std::move(built->sink), store_, built->options,
                                                metrics_, core::ConnectorLogger(e.name));
  e.pipeline->Start();
  e.started_at = std::chrono::steady_clock::now();
  e.stop_requested = false;
  spdlog::info("connector {}: started", e.name);
  RecordStatus(e.name, kRunning, "");
}

bool Supervisor::Retriable(const core::Status& status) const {
  return options_.retriable ? options_.retriable(status) : status.IsRetriable();
}

void Supervisor::FinishStopLocked(Entry& e) {
  if (!e.pipeline->WaitFor(options_.stop_timeout)) {
    spdlog::warn("connector {}: still flushing after {} ms; waiting", e.name,
                 options_.stop_timeout.count());
  }
  core::Status s = e.pipeline->Wait();
  if (!s.ok()) spdlog::warn("connector {} stopped with: {}", e.name, s.ToString());
  e.events_written += e.pipeline->events_written();
  e.pipeline.reset();
  e.stop_requested = false;
}

}  // namespace sluice::api
