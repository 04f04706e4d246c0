#include "api/supervisor.h"

#include <algorithm>
#include <ctime>

#include <nlohmann/json.hpp>

#include "api/supervisor_entry.h"
#include "core/clock.h"
#include "core/logging.h"

namespace sluice::api {

namespace {


// A client that GETs a config (secrets redacted) and PUTs it back must not overwrite the secrets
// with their redacted text: such values keep the stored ones.
void KeepRedactedSecrets(const core::ConnectorConfig& old_config, core::ConnectorConfig& config) {
  nlohmann::json old_redacted = old_config.RedactedJson();
  for (auto& [key, value] : config.mutable_values()) {
    auto old_it = old_config.values().find(key);
    if (old_it == old_config.values().end() || old_it->second == value) continue;
    if (old_redacted.contains(key) && old_redacted[key].get<std::string>() == value) {
      value = old_it->second;
    }
  }
}

// "2026-12-04T17:40:12Z"
std::string FormatUtc(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Supervisor::Supervisor(core::StateStore* store, core::MetricsRegistry* metrics,
                       SupervisorOptions options)
    : store_(store), metrics_(metrics), options_(std::move(options)) {
  if (!options_.source_builder) options_.source_builder = SourceBuilderFor(options_.builder);
  if (!options_.builder) options_.builder = &BuildConnector;
  if (!options_.validator) options_.validator = &ValidateConfig;
}

Supervisor::~Supervisor() { Shutdown(); }

core::Status Supervisor::Start() {
  SLUICE_ASSIGN_OR_RETURN(auto stored, store_->ListConnectors());
  std::map<std::string, std::vector<std::string>> exclusive;
  for (const auto& s : stored) {
    auto config = core::ParseConnectorConfig(s.config_json, s.name);
    if (!config.ok()) continue;
    config->set_name(s.name);
    auto position = store_->LoadPosition(s.name);
    exclusive[s.name] = ExclusiveObjects(*config, position.ok() ? *position : std::nullopt);
  }
  {
    std::lock_guard lock(mu_);
    for (const auto& s : stored) {
      auto e = std::make_shared<Entry>(s.name);
      e->target_state = s.target_state.empty() ? kRunning : s.target_state;
      e->created_unix_ms = s.created_unix_ms;
      auto config = core::ParseConnectorConfig(s.config_json, s.name);
      if (config.ok()) {
        e->config = std::move(*config);
        e->config.set_name(s.name);
      } else {
        e->config.set_name(s.name);
        e->failure = "stored config is unreadable: " + config.status().message() +
                     "; replace it with PUT /connectors/" + s.name + "/config";
      }
      e->exclusive = exclusive[s.name];
      spdlog::info("restored connector {} ({})", s.name, e->target_state);
      entries_[s.name] = std::move(e);
      connector_count_ = entries_.size();
    }
    started_ = true;
  }
  reconcile_thread_ = std::jthread([this](std::stop_token stop) { ReconcileLoop(stop); });
  return core::Status::Ok();
}

std::shared_ptr<Supervisor::Entry> Supervisor::FindLocal(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end() || it->second->removed.load()) return nullptr;
  return it->second;
}

std::shared_ptr<Supervisor::Entry> Supervisor::Find(const std::string& name) const {
  std::shared_ptr<Entry> e = FindLocal(name);
  if (e != nullptr || !options_.refresh_missing) return e;
  // Cluster mode: another worker may have written it a moment ago.
  options_.refresh_missing(name);
  return FindLocal(name);
}

bool Supervisor::accepting() const { return accepting_.load(); }

core::Status Supervisor::CheckAccepting() const {
  if (!accepting()) return core::UnavailableError("the server is shutting down");
  return core::Status::Ok();
}

void Supervisor::Wake() {
  {
    std::lock_guard lock(wake_mu_);
    wake_ = true;
  }
  wake_cv_.notify_all();
}

void Supervisor::RecordStatus(const std::string& name, const std::string& state,
                              const std::string& trace) {
  core::Status s = store_->AppendStatus(name, {core::NowUnixMs(), state, trace});
  if (!s.ok()) spdlog::warn("connector {}: cannot record status: {}", name, s.message());
}

ConnectorView Supervisor::ViewLocked(const Entry& e) const {
  ConnectorView v;
  v.name = e.name;
  v.config = e.config;
  v.target_state = e.target_state;
  v.worker_id = options_.worker_id;
  v.restart_attempts = e.attempts;
  v.events_written = e.events_written + (e.pipeline ? e.pipeline->events_written() : 0);
  if (e.progress) v.progress = e.progress->Snapshot();
  if (e.target_state == kPaused) {
    v.state = kPaused;
  } else if (e.target_state == kStopped) {
    v.state = kStopped;
  } else if (e.pipeline && !e.pipeline->retry_status() &&
             (e.pipeline->state() == core::PipelineState::kCreated ||
              e.pipeline->state() == core::PipelineState::kStarting)) {
    // Until the source's Start returns (slot creation, snapshot setup): not running yet, as
    // Kafka Connect reports a task that has not started. A failed start ends as FAILED below
    // (or RUNNING with the retry in the trace, as for any retried failure).
    v.state = "UNASSIGNED";
    v.trace = "starting: the source is connecting and preparing its stream";
  } else if (e.pipeline) {
    v.state = kRunning;
    if (auto retry = e.pipeline->retry_status()) {
      v.trace = "retrying the " + retry->side + " (attempt " + std::to_string(retry->attempt) +
                ", next retry at " + FormatUtc(retry->next_retry) +
                ") after: " + retry->error.ToString();
    }
  } else if (options_.owns && !options_.owns(e.name)) {
    // Cluster mode: another worker runs it (or nobody yet).
    auto remote = options_.remote_status ? options_.remote_status(e.name) : std::nullopt;
    v.state = remote ? remote->state : "UNASSIGNED";
    v.trace = remote ? remote->trace : "";
    v.worker_id = remote ? remote->worker_id : "";
  } else if (!e.failure.empty() && e.failure_retriable) {
    // Waiting to restart: RUNNING with the retry in the trace, as Kafka Connect clients expect
    // (FAILED tells them a person must act).
    v.state = kRunning;
    auto next = std::chrono::system_clock::now() +
                std::chrono::duration_cast<std::chrono::system_clock::duration>(
                    std::max(e.retry_at - std::chrono::steady_clock::now(),
                             std::chrono::steady_clock::duration::zero()));
    v.trace = "retrying: automatic restart (attempt " + std::to_string(e.attempts) +
              ", next retry at " + FormatUtc(next) + ") after: " + e.failure;
  } else if (!e.failure.empty()) {
    v.state = "FAILED";
    v.trace = e.failure;
  } else {
    v.state = "UNASSIGNED";
  }
  return v;
}

core::Result<ConnectorView> Supervisor::Create(core::ConnectorConfig config,
                                               const std::string& initial_state) {
  return CreateEntry(std::move(config), initial_state, /*view_refreshed=*/false);
}

core::Result<ConnectorView> Supervisor::CreateEntry(core::ConnectorConfig config,
                                                    const std::string& initial_state,
                                                    bool view_refreshed) {
  SLUICE_RETURN_IF_ERROR(CheckAccepting());
  if (config.name().empty()) return core::InvalidArgumentError("the connector needs a 'name'");
  if (initial_state != kRunning && initial_state != kPaused && initial_state != kStopped) {
    return core::InvalidArgumentError("'initial_state' must be RUNNING, PAUSED or STOPPED, not '" +
                                      initial_state + "'");
  }
  SLUICE_RETURN_IF_ERROR(options_.validator(config));
  // Cluster mode: a connector created through another worker a moment ago is known here
  // before the check below (else this worker's write would replace its config).
  if (!view_refreshed && options_.refresh_missing && FindLocal(config.name()) == nullptr) {
    options_.refresh_missing(config.name());
  }
  auto e = std::make_shared<Entry>(config.name());
  e->config = std::move(config);
  e->created_unix_ms = core::NowUnixMs();
  e->target_state = initial_state;
  std::vector<std::string> exclusive = ExclusiveObjects(e->config, std::nullopt);
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(e->name);
    if (it != entries_.end()) {
      return core::AlreadyExistsError(
          it->second->removed.load() ? "connector " + e->name + " is being deleted; retry"
                                     : "connector " + e->name + " already exists");
    }
    SLUICE_RETURN_IF_ERROR(CheckNoClashLocked(e->name, exclusive, false, 0));
    SLUICE_RETURN_IF_ERROR(store_->PutConnector(
        {e->name, e->config.ToJson().dump(), initial_state, e->created_unix_ms}));
    e->exclusive = std::move(exclusive);
    entries_[e->name] = e;
    connector_count_ = entries_.size();
  }
  spdlog::info("created connector {}: {}", e->name, e->config.RedactedJson().dump());
  Wake();
  std::lock_guard lock(e->mu);
  return ViewLocked(*e);
}

core::Result<ConnectorView> Supervisor::PutConfig(const std::string& name,
                                                  core::ConnectorConfig config, bool* created) {
  SLUICE_RETURN_IF_ERROR(CheckAccepting());
  config.set_name(name);
  config.mutable_values()["name"] = name;
  std::shared_ptr<Entry> e = Find(name);
  if (e == nullptr) {
    *created = true;
    return CreateEntry(std::move(config), kRunning, /*view_refreshed=*/true);
  }
  *created = false;
  {
    std::lock_guard lock(e->mu);
    KeepRedactedSecrets(e->config, config);
  }
  SLUICE_RETURN_IF_ERROR(options_.validator(config));
  auto stored = store_->LoadPosition(name);
  std::vector<std::string> exclusive =
      ExclusiveObjects(config, stored.ok() ? *stored : std::nullopt);
  {
    std::lock_guard lock(mu_);
    SLUICE_RETURN_IF_ERROR(CheckNoClashLocked(name, exclusive, false, 0));
  }
  std::lock_guard lock(e->mu);
  SLUICE_RETURN_IF_ERROR(store_->PutConnector(
      {name, config.ToJson().dump(), e->target_state, e->created_unix_ms}));
  {
    std::lock_guard lock_all(mu_);
    e->exclusive = std::move(exclusive);
  }
  e->Reconfigure(std::move(config));
  spdlog::info("reconfigured connector {}: {}", name, e->config.RedactedJson().dump());
  Wake();
  return ViewLocked(*e);
}

core::Result<ConnectorView> Supervisor::Get(const std::string& name) const {
  std::shared_ptr<Entry> e = Find(name);
  if (e == nullptr) return core::NotFoundError("connector " + name + " not found");
  std::lock_guard lock(e->mu);
  return ViewLocked(*e);
}

core::Result<std::shared_ptr<core::IncrementalSnapshots>> Supervisor::IncrementalSnapshots(
    const std::string& name) const {
  std::shared_ptr<Entry> e = Find(name);
  if (e == nullptr) return core::NotFoundError("connector " + name + " not found");
  std::lock_guard lock(e->mu);
  core::PipelineState state = e->pipeline ? e->pipeline->state() : core::PipelineState::kStopped;
  if (e->target_state != kRunning || e->stop_requested ||
      (state != core::PipelineState::kRunning && state != core::PipelineState::kStarting)) {
    return core::FailedPreconditionError("connector " + name + " is not running; incremental "
                                         "snapshots run while it streams (resume it first)");
  }
  auto snapshots = e->pipeline->incremental_snapshots();
  if (!snapshots) {
    return core::InvalidArgumentError("connector " + name + " (connector.class=" +
                                      e->config.Get("connector.class") +
                                      ") has no incremental snapshots; the postgres and mysql "
                                      "(MariaDB) sources have them");
  }
  return snapshots;
}

std::vector<std::string> Supervisor::Names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, e] : entries_) {
    if (!e->removed.load()) names.push_back(name);
  }
  return names;
}

core::Status Supervisor::SetTarget(const std::string& name, const std::string& target) {
  SLUICE_RETURN_IF_ERROR(CheckAccepting());
  std::shared_ptr<Entry> e = Find(name);
  if (e == nullptr) return core::NotFoundError("connector " + name + " not found");
  std::lock_guard lock(e->mu);
  if (e->target_state != target) {
    SLUICE_RETURN_IF_ERROR(store_->SetTargetState(name, target));
    e->target_state = target;
    RecordStatus(name, target, "");
    spdlog::info("connector {}: target state {}", name, target);
  }
  if (target == kRunning && !e->pipeline) {
    // Resuming a failed connector tries again at once.
    e->failure.clear();
    e->backoff = std::chrono::milliseconds(0);
  }
  Wake();
  return core::Status::Ok();
}

core::Status Supervisor::Pause(const std::string& name) { return SetTarget(name, kPaused); }
core::Status Supervisor::Resume(const std::string& name) { return SetTarget(name, kRunning); }
core::Status Supervisor::Stop(const std::string& name) { return SetTarget(name, kStopped); }

core::Status Supervisor::Restart(const std::string& name) {
  SLUICE_RETURN_IF_ERROR(CheckAccepting());
  std::shared_ptr<Entry> e = Find(name);
  if (e == nullptr) return core::NotFoundError("connector " + name + " not found");
  if (options_.owns && options_.forward_restart && !options_.owns(name)) {
    return options_.forward_restart(name);  // its pipeline runs on another worker
  }
  std::lock_guard lock(e->mu);
  e->failure.clear();
  e->backoff = std::chrono::milliseconds(0);
  e->attempts = 0;
  if (e->target_state == kRunning) e->restart_pending = true;
  spdlog::info("connector {}: restart requested", name);
  Wake();
  return core::Status::Ok();
}

core::Status Supervisor::Delete(const std::string& name, std::string* released) {
  SLUICE_RETURN_IF_ERROR(CheckAccepting());
  std::shared_ptr<Entry> e = Find(name);
  if (e == nullptr) return core::NotFoundError("connector " + name + " not found");
  if (e->removed.exchange(true)) return core::NotFoundError("connector " + name + " not found");
  std::unique_ptr<core::Pipeline> pipeline;
  std::unique_ptr<core::RetentionWatch> watch;
  {
    std::lock_guard lock(e->mu);
    pipeline = std::move(e->pipeline);
    watch = std::move(e->idle_watch);
  }
  watch.reset();  // before the slot goes: it would report it missing
  if (pipeline) {
    pipeline->RequestStop();
    if (!pipeline->WaitFor(options_.stop_timeout)) {
      spdlog::warn("connector {}: pipeline did not stop within {} ms; waiting", name,
                   options_.stop_timeout.count());
    }
    pipeline.reset();
  }
  core::ConnectorConfig config;
  {
    std::lock_guard lock(e->mu);
    config = e->config;
  }
  // Before the stored position is deleted: a connector keeps the slot its position names.
  auto stored = store_->LoadPosition(name);
  auto drop = config.GetBool("slot.drop.on.delete", true);
  std::string report = ReleaseConnectorObjects(options_.source_builder, config,
                                               stored.ok() ? *stored : std::nullopt,
                                               !drop.ok() || *drop);
  if (released != nullptr) *released = report;
  core::Status s = store_->DeleteConnector(name);
  {
    // `removed` is set, so an UpdateGauges that starts after this block skips the connector.
    std::lock_guard gauges(gauges_mu_);
    metrics_->RemoveSeriesWithLabel("connector", name);
  }
  {
    std::lock_guard lock(mu_);
    entries_.erase(name);
    connector_count_ = entries_.size();
  }
  spdlog::info("deleted connector {}{}{}", name, report.empty() ? "" : ": ", report);
  return s;
}

void Supervisor::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (!accepting_) return;
    accepting_ = false;
  }
  if (reconcile_thread_.joinable()) {
    reconcile_thread_.request_stop();
    reconcile_thread_.join();
  }
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, e] : entries_) entries.push_back(e);
  }
  // Ask every pipeline first so that they flush in parallel, then wait for each.
  for (const auto& e : entries) {
    std::lock_guard lock(e->mu);
    if (e->pipeline) e->pipeline->RequestStop();
  }
  for (const auto& e : entries) {
    std::lock_guard lock(e->mu);
    if (!e->pipeline) continue;
    FinishStopLocked(*e);
    spdlog::info("connector {}: stopped for shutdown (desired state {} kept)", e->name,
                 e->target_state);
  }
}

}  // namespace sluice::api
