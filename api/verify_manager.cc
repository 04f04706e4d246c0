#include "api/verify_manager.h"

#include <algorithm>
#include <atomic>

#include "core/clock.h"

namespace sluice::api {

VerifyManager::VerifyManager(core::MetricsRegistry* metrics, size_t max_running)
    : metrics_(metrics), max_running_(max_running) {}

VerifyManager::~VerifyManager() { Shutdown(); }

core::Result<std::string> VerifyManager::Start(const std::string& connector,
                                               core::ConnectorConfig config,
                                               VerifyRequest request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!accepting_) return core::UnavailableError("the server is shutting down");
  ReapFinishedLocked();
  size_t running = 0;
  for (const auto& [name, list] : jobs_) {
    for (const auto& e : list) {
      if (e->finished_ms.load() != 0) continue;
      ++running;
      if (name == connector) {
        return core::FailedPreconditionError("verification " + e->id + " of connector " + connector +
                                             " is still running; cancel it with DELETE "
                                             "/connectors/" + connector + "/verify/" + e->id);
      }
    }
  }
  if (running >= max_running_) {
    return core::ResourceExhaustedError(std::to_string(running) +
                                        " verifications are running; try again when one ended");
  }
  auto entry = std::make_shared<Entry>();
  entry->id = std::to_string(next_id_++);
  entry->connector = connector;
  entry->started_ms = core::NowUnixMs();
  if (config.name().empty()) config.set_name(connector);
  entry->job = std::make_unique<VerifyJob>(std::move(config), std::move(request), metrics_);
  Entry* raw = entry.get();
  entry->thread = std::thread([raw] {
    // VerifyJob::Run catches everything: nothing escapes this thread.
    (void)raw->job->Run();
    raw->finished_ms.store(core::NowUnixMs());
  });
  auto& list = jobs_[connector];
  list.push_back(entry);
  return entry->id;
}

void VerifyManager::ReapFinishedLocked() {
  for (auto& [name, list] : jobs_) {
    size_t finished = 0;
    for (const auto& e : list) finished += e->finished_ms.load() != 0;
    while (finished > kKeepPerConnector) {
      auto it = std::find_if(list.begin(), list.end(),
                             [](const auto& e) { return e->finished_ms.load() != 0; });
      if (it == list.end()) break;
      if ((*it)->thread.joinable()) (*it)->thread.join();
      list.erase(it);
      --finished;
    }
  }
}

nlohmann::json VerifyManager::EntryJson(const Entry& e) const {
  nlohmann::json out = e.job->ToJson();
  out["id"] = e.id;
  out["connector"] = e.connector;
  out["started_ms"] = e.started_ms;
  const int64_t finished = e.finished_ms.load();
  if (finished != 0) out["finished_ms"] = finished;
  // ETA from the rows done so far, when the job runs.
  if (finished == 0) {
    uint64_t done = 0, total = 0;
    for (const auto& t : out["tables"]) {
      done += t.value("rows_done", uint64_t{0});
      total += t.value("rows_total", uint64_t{0});
    }
    const int64_t elapsed = core::NowUnixMs() - e.started_ms;
    if (done > 0 && total > done) {
      out["eta_ms"] = static_cast<int64_t>(static_cast<double>(elapsed) * (total - done) / done);
    }
  }
  return out;
}

core::Result<nlohmann::json> VerifyManager::Get(const std::string& connector, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(connector);
  if (it != jobs_.end()) {
    for (const auto& e : it->second) {
      if (e->id == id) return EntryJson(*e);
    }
  }
  return core::NotFoundError("no verification " + id + " of connector " + connector);
}

nlohmann::json VerifyManager::List(const std::string& connector) {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json out = nlohmann::json::array();
  auto it = jobs_.find(connector);
  if (it == jobs_.end()) return out;
  for (auto e = it->second.rbegin(); e != it->second.rend(); ++e) out.push_back(EntryJson(**e));
  return out;
}

std::optional<nlohmann::json> VerifyManager::LastResult(const std::string& connector) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(connector);
  if (it == jobs_.end()) return std::nullopt;
  for (auto e = it->second.rbegin(); e != it->second.rend(); ++e) {
    const int64_t finished = (*e)->finished_ms.load();
    if (finished == 0) continue;
    nlohmann::json full = (*e)->job->ToJson();
    uint64_t differences = 0;
    for (const auto& t : full["tables"]) {
      differences += t.value("differences", uint64_t{0}) + t.value("problems", nlohmann::json::array()).size();
    }
    nlohmann::json out = {{"id", (*e)->id}, {"state", full["state"]}, {"differences", differences},
                          {"finished_ms", finished}};
    if (full.contains("equal")) out["equal"] = full["equal"];
    return out;
  }
  return std::nullopt;
}

core::Status VerifyManager::Cancel(const std::string& connector, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(connector);
  if (it != jobs_.end()) {
    for (const auto& e : it->second) {
      if (e->id == id) {
        e->job->Cancel();
        return core::Status::Ok();
      }
    }
  }
  return core::NotFoundError("no verification " + id + " of connector " + connector);
}

void VerifyManager::Forget(const std::string& connector) {
  std::vector<std::shared_ptr<Entry>> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(connector);
    if (it == jobs_.end()) return;
    gone = std::move(it->second);
    jobs_.erase(it);
  }
  for (auto& e : gone) {
    e->job->Cancel();
    if (e->thread.joinable()) e->thread.join();
  }
}

void VerifyManager::Shutdown() {
  std::map<std::string, std::vector<std::shared_ptr<Entry>>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    accepting_ = false;
    all = std::move(jobs_);
    jobs_.clear();
  }
  for (auto& [name, list] : all) {
    for (auto& e : list) e->job->Cancel();
  }
  for (auto& [name, list] : all) {
    for (auto& e : list) {
      if (e->thread.joinable()) e->thread.join();
    }
  }
}

}  // namespace sluice::api
