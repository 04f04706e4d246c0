// Incremental snapshots over REST (core/incremental_snapshot.h), for a running connector:
//   POST   /connectors/{name}/snapshots          {"tables": [...], "filter": …} -> 202, progress
//   GET    /connectors/{name}/snapshots          per-table progress (chunks, rows, ETA)
//   GET    /connectors/{name}/snapshots/{table}  one table
//   DELETE /connectors/{name}/snapshots          cancel every queued or running table -> 202
//   DELETE /connectors/{name}/snapshots/{table}  cancel one -> 202
#include <chrono>

#include "api/rest_api.h"
#include "api/rest_json.h"
#include "core/incremental_snapshot.h"

namespace sluice::api {

using rest::Error;
using rest::Json;
using rest::MethodNotAllowed;

namespace {

nlohmann::json ProgressJson(const core::IncrementalTableProgress& p, int64_t now_ms) {
  nlohmann::json key = nlohmann::json::array();
  for (const auto& v : p.last_key) key.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
  nlohmann::json j = {{"table", p.table},
                      {"state", p.state},
                      {"chunks", p.chunks},
                      {"rows", p.rows},
                      {"estimated_rows", p.estimated_rows},
                      {"last_key", std::move(key)},
                      {"requested_ms", p.requested_unix_ms},
                      {"started_ms", p.started_unix_ms},
                      {"finished_ms", p.finished_unix_ms}};
  if (!p.filter.empty()) j["filter"] = p.filter;
  if (!p.consistency.empty()) {
    j["consistency"] = p.consistency;
    j["dropped_rows"] = p.dropped_rows;
  }
  if (!p.error.empty()) j["error"] = p.error;
  int64_t eta = p.EtaMs(now_ms);
  j["eta_ms"] = eta < 0 ? nlohmann::json(nullptr) : nlohmann::json(eta);
  return j;
}

nlohmann::json ListJson(const std::string& connector,
                        const std::vector<core::IncrementalTableProgress>& progress) {
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& p : progress) tables.push_back(ProgressJson(p, now));
  return {{"connector", connector}, {"tables", std::move(tables)}};
}

}  // namespace

HttpResponse RestApi::HandleSnapshots(const HttpRequest& request,
                                      const std::vector<std::string>& parts) {
  const std::string& name = parts[1];
  const std::string& method = request.method;
  const std::string* table = parts.size() == 4 ? &parts[3] : nullptr;
  if (table == nullptr && method != "GET" && method != "POST" && method != "DELETE") {
    return MethodNotAllowed(method, request.path, "GET, POST, DELETE");
  }
  if (table != nullptr && method != "GET" && method != "DELETE") {
    return MethodNotAllowed(method, request.path, "GET, DELETE");
  }
  auto snapshots = supervisor_->IncrementalSnapshots(name);
  if (!snapshots.ok()) return Error(snapshots.status());
  core::IncrementalSnapshots& s = **snapshots;
  if (method == "POST") {
    auto parsed = core::ParseIncrementalSnapshotRequest(request.body);
    if (!parsed.ok()) return Error(parsed.status());
    core::Status st = s.Request(*parsed);
    if (!st.ok()) return Error(st);
    return Json(202, ListJson(name, s.Progress()));
  }
  if (method == "DELETE") {
    core::Status st = s.Cancel(table ? *table : "");
    if (!st.ok()) return Error(st);
    return Json(202, ListJson(name, s.Progress()));
  }
  std::vector<core::IncrementalTableProgress> progress = s.Progress();
  if (table == nullptr) return Json(200, ListJson(name, progress));
  for (const auto& p : progress) {
    if (p.table == *table) return Json(200, ListJson(name, {p})["tables"][0]);
  }
  return Error(404, "no incremental snapshot of " + *table + " on connector " + name);
}

}  // namespace sluice::api
