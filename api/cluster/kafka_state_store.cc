#include "api/cluster/kafka_state_store.h"

#include <algorithm>

#include "core/clock.h"
#include "core/logging.h"

namespace sluice::api::cluster {

namespace {

constexpr std::string_view kConnectorPrefix = "connector-";
constexpr std::string_view kSyncPrefix = "sync-";
constexpr std::string_view kStatusPrefix = "status-";
constexpr std::string_view kWorkerPrefix = "worker-";
constexpr std::string_view kRestartPrefix = "restart-connector-";

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

nlohmann::json SyncJson(const core::SyncRecord& s) {
  return {{"id", s.id},
          {"config", s.config_json},
          {"state", s.state},
          {"progress", s.progress_json},
          {"result", s.result_json},
          {"started_unix_ms", s.started_unix_ms},
          {"finished_unix_ms", s.finished_unix_ms}};
}

}  // namespace

core::Result<std::unique_ptr<KafkaStateStore>> KafkaStateStore::Open(
    KafkaStateStoreOptions options) {
  std::unique_ptr<KafkaStateStore> store(new KafkaStateStore(std::move(options)));
  const KafkaStateStoreOptions& o = store->options_;
  SLUICE_ASSIGN_OR_RETURN(
      store->log_,
      TopicLog::Open(o.client, o.key_prefix, {o.configs_topic, o.offsets_topic, o.status_topic},
                     [raw = store.get()](const TopicRecord& r) { raw->Apply(r); }, o.timeout));
  return store;
}

KafkaStateStore::~KafkaStateStore() { log_.reset(); }

void KafkaStateStore::Apply(const TopicRecord& record) {
  if (record.topic == options_.configs_topic) {
    ApplyConfig(record);
  } else if (record.topic == options_.offsets_topic) {
    std::lock_guard lock(mu_);
    if (record.value) {
      positions_[record.key] = *record.value;
    } else {
      positions_.erase(record.key);
    }
  } else if (record.topic == options_.status_topic) {
    ApplyStatus(record);
  }
}

void KafkaStateStore::ApplyConfig(const TopicRecord& record) {
  if (StartsWith(record.key, kConnectorPrefix)) {
    std::string name = record.key.substr(kConnectorPrefix.size());
    std::function<void(const std::string&)> listener;
    {
      std::lock_guard lock(mu_);
      if (record.value) {
        auto j = nlohmann::json::parse(*record.value);
        connectors_[name] = {name, j.at("config").get<std::string>(),
                             j.at("target_state").get<std::string>(),
                             j.at("created_unix_ms").get<int64_t>()};
      } else {
        connectors_.erase(name);
      }
      listener = listener_;
    }
    if (listener) listener(name);
  } else if (StartsWith(record.key, kSyncPrefix)) {
    std::string id = record.key.substr(kSyncPrefix.size());
    std::lock_guard lock(mu_);
    if (!record.value) {
      syncs_.erase(id);
      return;
    }
    auto j = nlohmann::json::parse(*record.value);
    syncs_[id] = {id,
                  j.at("config").get<std::string>(),
                  j.at("state").get<std::string>(),
                  j.at("progress").get<std::string>(),
                  j.at("result").get<std::string>(),
                  j.at("started_unix_ms").get<int64_t>(),
                  j.at("finished_unix_ms").get<int64_t>()};
  } else if (StartsWith(record.key, kRestartPrefix)) {
    std::string name = record.key.substr(kRestartPrefix.size());
    std::function<void(const std::string&)> listener;
    {
      std::lock_guard lock(mu_);
      if (!record.value) {
        restarts_.erase(name);
        return;
      }
      auto j = nlohmann::json::parse(*record.value);
      restarts_[name] = j.value("requested_unix_ms", int64_t{0});
      listener = restart_listener_;
    }
    if (listener) listener(name);
  } else {
    spdlog::warn("cluster configs topic: unknown key {} (ignored)", record.key);
  }
}

bool KafkaStateStore::Stale(const StatusEntry& record, const StatusEntry& newest) {
  return record.generation && newest.generation && record.worker_id != newest.worker_id &&
         *record.generation < *newest.generation &&
         record.record.ts_unix_ms - newest.record.ts_unix_ms <= kGenerationResetMs;
}

void KafkaStateStore::ApplyStatus(const TopicRecord& record) {
  std::lock_guard lock(mu_);
  if (StartsWith(record.key, kWorkerPrefix)) {
    std::string id = record.key.substr(kWorkerPrefix.size());
    if (record.value) {
      workers_[id] = nlohmann::json::parse(*record.value);
    } else {
      workers_.erase(id);
    }
    return;
  }
  if (!StartsWith(record.key, kStatusPrefix)) {
    spdlog::warn("cluster status topic: unknown key {} (ignored)", record.key);
    return;
  }
  std::string name = record.key.substr(kStatusPrefix.size());
  if (!record.value) {
    statuses_.erase(name);
    return;
  }
  auto j = nlohmann::json::parse(*record.value);
  StatusEntry entry{{j.at("ts_unix_ms").get<int64_t>(), j.at("state").get<std::string>(),
                     j.at("trace").get<std::string>()},
                    j.at("worker_id").get<std::string>(),
                    j.contains("generation") ? std::optional(j["generation"].get<int64_t>())
                                             : std::nullopt};
  auto& history = statuses_[name];
  if (!history.empty() && Stale(entry, history.back())) {
    spdlog::info("connector {}: status {} from worker {} (generation {}) is older than worker "
                 "{}'s (generation {}); not shown",
                 name, entry.record.state, entry.worker_id, *entry.generation,
                 history.back().worker_id, *history.back().generation);
    return;
  }
  history.push_back(std::move(entry));
  while (history.size() > core::kStatusHistoryMax) history.pop_front();
}

core::Status KafkaStateStore::WriteConnector(const core::StoredConnector& c) {
  nlohmann::json value = {{"config", c.config_json},
                          {"target_state", c.target_state},
                          {"created_unix_ms", c.created_unix_ms}};
  return log_->Write(options_.configs_topic, std::string(kConnectorPrefix) + c.name,
                     value.dump());
}

core::Status KafkaStateStore::PutConnector(const core::StoredConnector& connector) {
  std::lock_guard write(write_mu_);
  core::StoredConnector c = connector;
  bool exists = false;
  {
    std::lock_guard lock(mu_);
    auto it = connectors_.find(c.name);
    exists = it != connectors_.end();
    if (exists) c.created_unix_ms = it->second.created_unix_ms;
  }
  if (!exists && c.created_unix_ms == 0) c.created_unix_ms = core::NowUnixMs();
  return WriteConnector(c);
}

core::Result<std::optional<core::StoredConnector>> KafkaStateStore::GetConnector(
    const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = connectors_.find(name);
  if (it == connectors_.end()) return std::optional<core::StoredConnector>();
  return std::optional<core::StoredConnector>(it->second);
}

core::Result<std::vector<core::StoredConnector>> KafkaStateStore::ListConnectors() {
  std::lock_guard lock(mu_);
  std::vector<core::StoredConnector> out;
  for (const auto& [name, c] : connectors_) out.push_back(c);
  return out;
}

core::Status KafkaStateStore::SetTargetState(const std::string& name,
                                             const std::string& target_state) {
  std::lock_guard write(write_mu_);
  core::StoredConnector c;
  {
    std::lock_guard lock(mu_);
    auto it = connectors_.find(name);
    if (it == connectors_.end()) return core::Status::Ok();
    c = it->second;
  }
  c.target_state = target_state;
  return WriteConnector(c);
}

core::Status KafkaStateStore::DeleteConnector(const std::string& name) {
  std::lock_guard write(write_mu_);
  bool known = false;
  {
    std::lock_guard lock(mu_);
    known = connectors_.count(name) || positions_.count(name) || statuses_.count(name);
  }
  if (!known) return core::Status::Ok();
  // The config last: a delete cut short leaves a connector without position (it would start
  // again from its snapshot), never a position that a new connector of the name would resume.
  SLUICE_RETURN_IF_ERROR(log_->Write(options_.offsets_topic, name, std::nullopt));
  SLUICE_RETURN_IF_ERROR(
      log_->Write(options_.status_topic, std::string(kStatusPrefix) + name, std::nullopt));
  SLUICE_RETURN_IF_ERROR(ClearRestart(name));
  return log_->Write(options_.configs_topic, std::string(kConnectorPrefix) + name, std::nullopt);
}

core::Result<std::optional<core::SourcePosition>> KafkaStateStore::LoadPosition(
    const std::string& connector) {
  std::lock_guard lock(mu_);
  auto it = positions_.find(connector);
  if (it == positions_.end()) return std::optional<core::SourcePosition>();
  return std::optional<core::SourcePosition>(core::SourcePosition{it->second});
}

core::Status KafkaStateStore::SavePosition(const std::string& connector,
                                           const core::SourcePosition& position) {
  return log_->Write(options_.offsets_topic, connector, position.value);
}

core::Status KafkaStateStore::SavePositionCopy(const std::string& connector,
                                               const core::SourcePosition& position) {
  SLUICE_RETURN_IF_ERROR(log_->Send(options_.offsets_topic, connector, position.value));
  // The reader applies the same record when it reads it; until then a copy read back from the
  // topic that is older than this one can put the view back briefly (status only).
  std::lock_guard lock(mu_);
  positions_[connector] = position.value;
  return core::Status::Ok();
}

core::Status KafkaStateStore::ClearPosition(const std::string& connector) {
  {
    std::lock_guard lock(mu_);
    if (!positions_.count(connector)) return core::Status::Ok();
  }
  return log_->Write(options_.offsets_topic, connector, std::nullopt);
}

core::Status KafkaStateStore::AppendStatus(const std::string& connector,
                                           const core::StatusRecord& record) {
  nlohmann::json value = {{"ts_unix_ms", record.ts_unix_ms == 0 ? core::NowUnixMs() : record.ts_unix_ms},
                          {"state", record.state},
                          {"trace", record.trace},
                          {"worker_id", options_.worker_id},
                          {"generation", generation_.load()}};
  return log_->Write(options_.status_topic, std::string(kStatusPrefix) + connector,
                     value.dump());
}

core::Result<std::vector<core::StatusRecord>> KafkaStateStore::StatusHistory(
    const std::string& connector, size_t limit) {
  std::lock_guard lock(mu_);
  std::vector<core::StatusRecord> out;
  auto it = statuses_.find(connector);
  if (it == statuses_.end()) return out;
  for (auto r = it->second.rbegin(); r != it->second.rend() && out.size() < limit; ++r) {
    out.push_back(r->record);
  }
  return out;
}

core::Status KafkaStateStore::PutSync(const core::SyncRecord& sync) {
  return log_->Write(options_.configs_topic, std::string(kSyncPrefix) + sync.id,
                     SyncJson(sync).dump());
}

core::Result<std::optional<core::SyncRecord>> KafkaStateStore::GetSync(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = syncs_.find(id);
  if (it == syncs_.end()) return std::optional<core::SyncRecord>();
  return std::optional<core::SyncRecord>(it->second);
}

core::Result<std::vector<core::SyncRecord>> KafkaStateStore::ListSyncs() {
  std::vector<core::SyncRecord> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, s] : syncs_) out.push_back(s);
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.started_unix_ms < b.started_unix_ms;
  });
  return out;
}

std::optional<OwnedStatus> KafkaStateStore::LastStatus(const std::string& connector) const {
  std::lock_guard lock(mu_);
  auto it = statuses_.find(connector);
  if (it == statuses_.end() || it->second.empty()) return std::nullopt;
  return OwnedStatus{it->second.back().record, it->second.back().worker_id};
}

core::Status KafkaStateStore::PutWorker(const nlohmann::json& record) {
  return log_->Write(options_.status_topic, std::string(kWorkerPrefix) + options_.worker_id,
                     record.dump());
}

core::Status KafkaStateStore::RemoveWorker() {
  return log_->Write(options_.status_topic, std::string(kWorkerPrefix) + options_.worker_id,
                     std::nullopt);
}

std::map<std::string, nlohmann::json> KafkaStateStore::Workers() const {
  std::lock_guard lock(mu_);
  return workers_;
}

void KafkaStateStore::SetConnectorListener(std::function<void(const std::string&)> listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

core::Status KafkaStateStore::RequestRestart(const std::string& connector) {
  // The worker that took the request already applied onlyFailed; the owner restarts the
  // connector and its one task.
  nlohmann::json value = {{"only-failed", false},
                          {"include-tasks", true},
                          {"requested_unix_ms", core::NowUnixMs()},
                          {"worker_id", options_.worker_id}};
  return log_->Write(options_.configs_topic, std::string(kRestartPrefix) + connector,
                     value.dump());
}

std::optional<int64_t> KafkaStateStore::PendingRestart(const std::string& connector) const {
  std::lock_guard lock(mu_);
  auto it = restarts_.find(connector);
  if (it == restarts_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> KafkaStateStore::PendingRestarts() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, ts] : restarts_) names.push_back(name);
  return names;
}

core::Status KafkaStateStore::ClearRestart(const std::string& connector) {
  if (!PendingRestart(connector)) return core::Status::Ok();
  return log_->Write(options_.configs_topic, std::string(kRestartPrefix) + connector,
                     std::nullopt);
}

void KafkaStateStore::SetRestartListener(std::function<void(const std::string&)> listener) {
  std::lock_guard lock(mu_);
  restart_listener_ = std::move(listener);
}

}  // namespace sluice::api::cluster
