// The Supervisor's cluster-mode calls (declared in api/supervisor.h): releasing the connectors a
// worker no longer owns, and following changes that other workers wrote to the state store.
#include <nlohmann/json.hpp>

#include "api/supervisor.h"
#include "api/supervisor_entry.h"
#include "core/logging.h"

namespace sluice::api {

void Supervisor::ReleaseUnowned() {
  if (!options_.owns) return;
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, e] : entries_) entries.push_back(e);
  }
  std::vector<std::shared_ptr<Entry>> released;
  // Ask every pipeline first so that they flush in parallel, then wait for each.
  for (const auto& e : entries) {
    std::lock_guard lock(e->mu);
    if (!e->pipeline || options_.owns(e->name)) continue;
    e->pipeline->RequestStop();
    e->stop_requested = true;
    released.push_back(e);
  }
  for (const auto& e : released) {
    std::lock_guard lock(e->mu);
    if (!e->pipeline) continue;
    FinishStopLocked(*e);
    spdlog::info("connector {}: released (its partition moved to another worker)", e->name);
    RecordStatus(e->name, "UNASSIGNED", "");
  }
}

void Supervisor::Reload(const std::string& name) {
  auto stored = store_->GetConnector(name);
  if (!stored.ok()) {
    spdlog::warn("connector {}: cannot read it from the state store: {}", name,
                 stored.status().ToString());
    return;
  }
  std::shared_ptr<Entry> e;
  {
    std::lock_guard lock(mu_);
    if (!started_) return;
    auto it = entries_.find(name);
    if (it != entries_.end()) {
      if (it->second->removed.load()) return;  // a local DELETE is under way
      e = it->second;
    }
  }
  if (!stored->has_value()) {
    if (e == nullptr || e->removed.exchange(true)) return;
    std::unique_ptr<core::Pipeline> pipeline;
    core::ConnectorConfig config;
    {
      std::lock_guard lock(e->mu);
      pipeline = std::move(e->pipeline);
      config = e->config;
    }
    if (pipeline) {
      pipeline->RequestStop();
      if (!pipeline->WaitFor(options_.stop_timeout)) {
        spdlog::warn("connector {}: pipeline did not stop within {} ms; waiting", name,
                     options_.stop_timeout.count());
      }
      if (core::Status ended = pipeline->Wait(); !ended.ok()) {
        spdlog::info("connector {}: its pipeline ended with {}", name, ended.ToString());
      }
      pipeline.reset();
      // The worker that took the DELETE could not drop a slot this worker was streaming from:
      // the owner drops it once its stream has stopped.
      auto drop = config.GetBool("slot.drop.on.delete", true);
      ReleaseConnectorObjects(options_.source_builder, config, std::nullopt, !drop.ok() || *drop);
    }
    {
      std::lock_guard gauges(gauges_mu_);
      metrics_->RemoveSeriesWithLabel("connector", name);
    }
    std::lock_guard lock(mu_);
    entries_.erase(name);
    connector_count_ = entries_.size();
    spdlog::info("connector {}: deleted on another worker", name);
    return;
  }
  const core::StoredConnector& s = **stored;
  auto config = core::ParseConnectorConfig(s.config_json, name);
  std::string unreadable;
  if (config.ok()) {
    config->set_name(name);
  } else {
    unreadable = "stored config is unreadable: " + config.status().message() +
                 "; replace it with PUT /connectors/" + name + "/config";
  }
  if (e == nullptr) {
    auto fresh = std::make_shared<Entry>(name);
    fresh->target_state = s.target_state.empty() ? kRunning : s.target_state;
    fresh->created_unix_ms = s.created_unix_ms;
    if (config.ok()) {
      fresh->config = *config;
      auto position = store_->LoadPosition(name);
      fresh->exclusive = ExclusiveObjects(fresh->config, position.ok() ? *position : std::nullopt);
    } else {
      fresh->config.set_name(name);
      fresh->failure = unreadable;
    }
    std::lock_guard lock(mu_);
    if (entries_.count(name)) return;  // created here meanwhile
    entries_[name] = std::move(fresh);
    connector_count_ = entries_.size();
    spdlog::info("connector {}: created on another worker", name);
  } else {
    std::lock_guard lock(e->mu);
    if (config.ok() && e->config.ToJson().dump() != config->ToJson().dump()) {
      e->Reconfigure(*config);
      spdlog::info("connector {}: reconfigured on another worker", name);
    }
    if (!s.target_state.empty() && e->target_state != s.target_state) {
      e->target_state = s.target_state;
      if (e->target_state == kRunning && !e->pipeline) {
        e->failure.clear();
        e->backoff = std::chrono::milliseconds(0);
      }
      spdlog::info("connector {}: target state {} (set on another worker)", name,
                   e->target_state);
    }
  }
  Wake();
}

std::vector<std::string> Supervisor::RunningHere() const {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, e] : entries_) entries.push_back(e);
  }
  std::vector<std::string> names;
  for (const auto& e : entries) {
    std::lock_guard lock(e->mu);
    if (e->pipeline && !e->removed.load()) names.push_back(e->name);
  }
  return names;
}

}  // namespace sluice::api
