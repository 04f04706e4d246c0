#include "api/rest_api.h"

#include <nlohmann/json.hpp>

#include "api/console.h"
#include "api/plugins.h"
#include "api/progress_view.h"
#include "api/request_guard.h"
#include "api/rest_json.h"
#include "api/verify_manager.h"
#include "core/logging.h"

#ifndef SLUICE_GIT_COMMIT
#define SLUICE_GIT_COMMIT "unknown"
#endif
#ifndef SLUICE_VERSION
#define SLUICE_VERSION "0.1.0"
#endif

namespace sluice::api {

namespace {

using nlohmann::json;
using rest::Error;
using rest::Json;
using rest::MethodNotAllowed;
using rest::NoContent;

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

// Parses a request body; on failure sets *error to the 400 response.
std::optional<json> ParseBody(const std::string& body, HttpResponse* error) {
  if (body.empty()) {
    *error = Error(400, "the request needs a JSON body");
    return std::nullopt;
  }
  try {
    return json::parse(body);
  } catch (const json::exception& e) {
    *error = Error(400, std::string("malformed JSON: ") + e.what());
    return std::nullopt;
  }
}

json RedactedConfig(const core::ConnectorConfig& config) {
  json j = config.RedactedJson();
  if (!config.name().empty()) j["name"] = config.name();
  return j;
}

json InfoJson(const ConnectorView& v) {
  return {{"name", v.name},
          {"config", RedactedConfig(v.config)},
          {"tasks", json::array({{{"connector", v.name}, {"task", 0}}})},
          {"type", "source"}};
}

json TaskStatusJson(const ConnectorView& v) {
  json task = {{"id", 0}, {"state", v.state}, {"worker_id", v.worker_id}};
  if (!v.trace.empty()) task["trace"] = v.trace;
  return task;
}

json StatusJson(const ConnectorView& v) {
  json connector = {{"state", v.state}, {"worker_id", v.worker_id}};
  if (!v.trace.empty()) connector["trace"] = v.trace;
  json status = {{"name", v.name},
                 {"connector", connector},
                 {"tasks", json::array({TaskStatusJson(v)})},
                 {"type", "source"},
                 // Sluice's own additions (Kafka Connect clients ignore unknown fields).
                 {"events_written", v.events_written},
                 {"snapshot", ProgressToJson(v.progress)}};
  // Source-specific objects (PostgreSQL: "slot", the replication slot's retention).
  for (const auto& [key, text] : v.progress.details) {
    json detail = json::parse(text, nullptr, false);
    if (!detail.is_discarded() && !status.contains(key)) status[key] = std::move(detail);
  }
  return status;
}

json SyncJson(const core::SyncRecord& r) {
  json j = {{"id", r.id}, {"state", r.state}, {"started_unix_ms", r.started_unix_ms}};
  j["finished_unix_ms"] = r.finished_unix_ms ? json(r.finished_unix_ms) : json(nullptr);
  auto config = core::ParseConnectorConfig(r.config_json);
  j["config"] = config.ok() ? RedactedConfig(*config) : json(nullptr);
  j["progress"] = json::parse(r.progress_json.empty() ? "null" : r.progress_json, nullptr, false);
  j["result"] = json::parse(r.result_json.empty() ? "null" : r.result_json, nullptr, false);
  if (j["progress"].is_discarded()) j["progress"] = nullptr;
  if (j["result"].is_discarded()) j["result"] = nullptr;
  return j;
}

bool TokenMatches(const std::string& header, const std::string& token) {
  const std::string prefix = "Bearer ";
  if (header.size() != prefix.size() + token.size() || header.compare(0, prefix.size(), prefix)) {
    return false;
  }
  unsigned char diff = 0;  // constant time over the token's length
  for (size_t i = 0; i < token.size(); ++i) {
    diff |= static_cast<unsigned char>(header[prefix.size() + i] ^ token[i]);
  }
  return diff == 0;
}

bool ParseBoolParam(const HttpRequest& request, const std::string& key, bool* out,
                    HttpResponse* error) {
  std::vector<std::string> values = request.QueryValues(key);
  *out = false;
  if (values.empty()) return true;
  std::string v = values.size() == 1 ? values[0] : "";
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (values.size() == 1 && (v == "true" || v == "false")) {
    *out = v == "true";
    return true;
  }
  *error = Error(400, "query parameter " + key + " must be given once as true or false, not '" +
                          (values.size() == 1 ? values[0] : "repeated") + "'");
  return false;
}

}  // namespace

RestApi::RestApi(Supervisor* supervisor, SyncManager* syncs, core::MetricsRegistry* metrics,
                 RestApiOptions options)
    : supervisor_(supervisor), syncs_(syncs), metrics_(metrics), options_(std::move(options)),
      guard_(options_.guard),
      check_pool_(std::make_unique<WorkerPool>("connection check", options_.check_threads,
                                               options_.check_max_pending)) {
  if (!options_.check_connections) options_.check_connections = &CheckConnections;
}

RestApi::~RestApi() = default;

bool RestApi::MayBlock(const HttpRequest& request) {
  return request.method != "GET" && request.method != "HEAD";
}

HttpResponse RestApi::Handle(const HttpRequest& request) {
  HttpResponse response;
  try {
    // The console's assets hold no data: the page loads, then asks for the token.
    bool console = IsConsolePath(request.path);
    bool open_route = (request.method == "GET" && request.path == "/healthz") || console;
    if (auto host = guard_.CheckHost(request)) {
      response = Error(host->status, host->message);
    } else if (auto origin = guard_.CheckOrigin(request)) {
      response = Error(origin->status, origin->message);
    } else if (!options_.token.empty() && !open_route &&
               !TokenMatches(request.Header("authorization"), options_.token)) {
      response = Error(401, "missing or wrong bearer token; send 'Authorization: Bearer <token>'");
      response.headers.emplace_back("WWW-Authenticate", "Bearer");
    } else if (auto type = RequestGuard::CheckContentType(request)) {
      response = Error(type->status, type->message);
    } else {
      response = console ? ServeConsole(request) : Route(request);
    }
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", request.method, SafeText(request.path), SafeText(e.what()));
    response = Error(500, std::string("internal error: ") + e.what());
  }
  spdlog::debug("{} {} -> {}", request.method, SafeText(request.path), response.status);
  return response;
}

HttpResponse RestApi::Route(const HttpRequest& request) {
  const std::vector<std::string> parts = SplitPath(request.path);
  const std::string& method = request.method;
  if (parts.empty()) {
    if (method != "GET") return MethodNotAllowed(method, request.path, "GET");
    nlohmann::json root_info = {{"version", SLUICE_VERSION},
                                {"commit", SLUICE_GIT_COMMIT},
                                {"kafka_cluster_id", nullptr}};
    if (options_.cluster) root_info["cluster"] = options_.cluster();
    return Json(200, root_info);
  }
  if (parts[0] == "cluster" && parts.size() == 1 && options_.cluster) {
    if (method != "GET") return MethodNotAllowed(method, request.path, "GET");
    return Json(200, options_.cluster());
  }
  const std::string& root = parts[0];
  if (root == "healthz" && parts.size() == 1) {
    if (method != "GET") return MethodNotAllowed(method, request.path, "GET");
    if (!supervisor_->accepting()) return Json(503, {{"status", "shutting down"}});
    return Json(200, {{"status", "ok"}, {"connectors", supervisor_->ConnectorCount()}});
  }
  if (root == "metrics" && parts.size() == 1) {
    if (method != "GET") return MethodNotAllowed(method, request.path, "GET");
    supervisor_->UpdateGauges();
    return {200, "text/plain; version=0.0.4; charset=utf-8", metrics_->RenderPrometheus()};
  }
  if (root == "connectors") {
    return parts.size() == 1 ? HandleConnectors(request, parts) : HandleConnector(request, parts);
  }
  if (root == "connector-plugins") return HandlePlugins(request, parts);
  if (root == "syncs") return HandleSyncs(request, parts);
  return Error(404, "no route for " + request.path);
}

HttpResponse RestApi::HandleConnectors(const HttpRequest& request,
                                       const std::vector<std::string>&) {
  if (request.method == "GET") {
    std::vector<std::string> expand = request.QueryValues("expand");
    bool status = false, info = false;
    for (const auto& e : expand) {
      if (e == "status") status = true;
      else if (e == "info") info = true;
      else return Error(400, "expand=" + e + " is not known; use status or info");
    }
    if (!status && !info) return Json(200, supervisor_->Names());
    json out = json::object();
    for (const auto& name : supervisor_->Names()) {
      auto v = supervisor_->Get(name);
      if (!v.ok()) continue;  // deleted meanwhile
      json entry = json::object();
      if (status) entry["status"] = StatusJson(*v);
      if (info) entry["info"] = InfoJson(*v);
      out[name] = entry;
    }
    return Json(200, out);
  }
  if (request.method == "POST") {
    HttpResponse error;
    auto body = ParseBody(request.body, &error);
    if (!body) return error;
    if (!body->is_object()) return Error(400, "the body must be {\"name\": …, \"config\": {…}}");
    if (body->contains("config") && !(*body)["config"].is_object()) {
      return Error(400, "'config' must be a JSON object of string values");
    }
    auto config = core::ConnectorConfigFromJson(*body);
    if (!config.ok()) return Error(config.status());
    if (config->name().empty()) return Error(400, "the connector needs a 'name'");
    if (core::Status s = ValidateConnectorName(config->name()); !s.ok()) return Error(s);
    // Kafka Connect's initial_state (KIP-980): STOPPED, to set offsets before the first run.
    std::string initial_state = "RUNNING";
    if (body->contains("initial_state")) {
      if (!(*body)["initial_state"].is_string()) {
        return Error(400, "'initial_state' must be \"RUNNING\", \"PAUSED\" or \"STOPPED\"");
      }
      initial_state = (*body)["initial_state"].get<std::string>();
    }
    auto view = supervisor_->Create(std::move(*config), initial_state);
    if (!view.ok()) return Error(view.status());
    HttpResponse r = Json(201, InfoJson(*view));
    r.headers.emplace_back("Location", "/connectors/" + PercentEncodeSegment(view->name));
    return r;
  }
  return MethodNotAllowed(request.method, request.path, "GET, POST");
}

HttpResponse RestApi::HandleConnector(const HttpRequest& request,
                                      const std::vector<std::string>& parts) {
  const std::string& name = parts[1];
  const std::string& method = request.method;
  const std::string sub = parts.size() > 2 ? parts[2] : "";

  if (parts.size() == 2) {
    if (method == "GET") {
      auto v = supervisor_->Get(name);
      return v.ok() ? Json(200, InfoJson(*v)) : Error(v.status());
    }
    if (method == "DELETE") {
      core::Status s = supervisor_->Delete(name);
      if (s.ok() && options_.verify != nullptr) options_.verify->Forget(name);
      return s.ok() ? NoContent(204) : Error(s);
    }
    return MethodNotAllowed(method, request.path, "GET, DELETE");
  }
  if (sub == "config" && parts.size() == 3) {
    if (method == "GET") {
      auto v = supervisor_->Get(name);
      return v.ok() ? Json(200, RedactedConfig(v->config)) : Error(v.status());
    }
    if (method != "PUT" && method != "PATCH") {
      return MethodNotAllowed(method, request.path, "GET, PUT, PATCH");
    }
    if (core::Status s = ValidateConnectorName(name); !s.ok()) return Error(s);
    HttpResponse error;
    auto body = ParseBody(request.body, &error);
    if (!body) return error;
    if (!body->is_object()) return Error(400, "the body must be a JSON object of config values");
    if (body->contains("name") && (*body)["name"].is_string() &&
        (*body)["name"].get<std::string>() != name) {
      return Error(400, "the config's name '" + (*body)["name"].get<std::string>() +
                            "' differs from the connector's name '" + name + "' in the path");
    }
    core::ConnectorConfig config;
    if (method == "PUT") {
      auto parsed = core::ConnectorConfigFromJson(*body, name);
      if (!parsed.ok()) return Error(parsed.status());
      config = std::move(*parsed);
    } else {
      auto current = supervisor_->Get(name);
      if (!current.ok()) return Error(current.status());
      config = current->config;
      for (const auto& [key, value] : body->items()) {
        if (value.is_null()) {
          config.mutable_values().erase(key);
        } else if (value.is_string()) {
          config.mutable_values()[key] = value.get<std::string>();
        } else if (value.is_primitive()) {
          config.mutable_values()[key] = value.dump();
        } else {
          return Error(400, "config key '" + key + "' must be a string, number, boolean or null");
        }
      }
    }
    bool created = false;
    auto v = supervisor_->PutConfig(name, std::move(config), &created);
    if (!v.ok()) return Error(v.status());
    return Json(created ? 201 : 200, InfoJson(*v));
  }
  if (sub == "status" && parts.size() == 3) {
    if (method != "GET") return MethodNotAllowed(method, request.path, "GET");
    auto v = supervisor_->Get(name);
    if (!v.ok()) return Error(v.status());
    json status = StatusJson(*v);
    if (options_.verify != nullptr) {
      if (auto last = options_.verify->LastResult(name)) status["verify"] = std::move(*last);
    }
    return Json(200, status);
  }
  if ((sub == "pause" || sub == "resume" || sub == "stop") && parts.size() == 3) {
    if (method != "PUT") return MethodNotAllowed(method, request.path, "PUT");
    core::Status s = sub == "pause"    ? supervisor_->Pause(name)
                     : sub == "resume" ? supervisor_->Resume(name)
                                       : supervisor_->Stop(name);
    // Kafka Connect: pause and resume 202 Accepted, stop 204 No Content.
    return s.ok() ? NoContent(sub == "stop" ? 204 : 202) : Error(s);
  }
  if (sub == "restart" && parts.size() == 3) {
    if (method != "POST") return MethodNotAllowed(method, request.path, "POST");
    return Restart(request, name);
  }
  if (sub == "offsets" && parts.size() == 3) return HandleOffsets(request, name);
  if (sub == "verify" && (parts.size() == 3 || parts.size() == 4)) return HandleVerify(request, parts);
  if (sub == "snapshots" && (parts.size() == 3 || parts.size() == 4)) {
    return HandleSnapshots(request, parts);
  }
  if (sub == "metrics" && parts.size() == 4 && parts[3] == "history") {
    if (method != "GET") return MethodNotAllowed(method, request.path, "GET");
    auto v = supervisor_->Get(name);
    if (!v.ok()) return Error(v.status());
    if (!options_.history) return Error(404, "this server keeps no metrics history");
    return Json(200, options_.history->ToJson(name));
  }
  if (sub == "tasks") {
    auto v = supervisor_->Get(name);
    if (!v.ok()) return Error(v.status());
    if (parts.size() == 3) {
      if (method != "GET") return MethodNotAllowed(method, request.path, "GET");
      return Json(200, json::array({{{"id", {{"connector", name}, {"task", 0}}},
                                     {"config", RedactedConfig(v->config)}}}));
    }
    if (parts[3] != "0") return Error(404, "connector " + name + " has only task 0");
    if (parts.size() == 5 && parts[4] == "status") {
      if (method != "GET") return MethodNotAllowed(method, request.path, "GET");
      return Json(200, TaskStatusJson(*v));
    }
    if (parts.size() == 5 && parts[4] == "restart") {
      if (method != "POST") return MethodNotAllowed(method, request.path, "POST");
      core::Status s = supervisor_->Restart(name);
      return s.ok() ? NoContent(204) : Error(s);
    }
  }
  return Error(404, "no route for " + request.path);
}

// Kafka Connect: without includeTasks/onlyFailed (or both false) the old behaviour, 204; with
// either true, 202 and the status with what is being restarted marked RESTARTING. onlyFailed
// restarts only a FAILED connector (its one task fails with it).
HttpResponse RestApi::Restart(const HttpRequest& request, const std::string& name) {
  bool include_tasks = false, only_failed = false;
  HttpResponse error;
  if (!ParseBoolParam(request, "includeTasks", &include_tasks, &error) ||
      !ParseBoolParam(request, "onlyFailed", &only_failed, &error)) {
    return error;
  }
  if (!include_tasks && !only_failed) {
    core::Status s = supervisor_->Restart(name);
    return s.ok() ? NoContent(204) : Error(s);
  }
  auto view = supervisor_->Get(name);
  if (!view.ok()) return Error(view.status());
  bool restart = !only_failed || view->state == "FAILED";
  if (restart) {
    if (core::Status s = supervisor_->Restart(name); !s.ok()) return Error(s);
  }
  json status = StatusJson(*view);
  if (restart) {
    status["connector"]["state"] = "RESTARTING";
    if (include_tasks) status["tasks"][0]["state"] = "RESTARTING";
  }
  return Json(202, status);
}

// Kafka Connect answers 400 when offsets cannot be changed (the connector is not STOPPED, or the
// offsets are invalid); the supervisor says kFailedPrecondition or kInvalidArgument. A connector
// that was stopped but is still flushing is kUnavailable: 409, retry in a moment (the service
// itself is fine, so not 503).
static HttpResponse OffsetsError(const core::Status& s) {
  if (s.code() == core::StatusCode::kFailedPrecondition ||
      s.code() == core::StatusCode::kInvalidArgument) {
    return Error(400, s.message());
  }
  if (s.code() == core::StatusCode::kUnavailable) return Error(409, s.message());
  return Error(s);
}

HttpResponse RestApi::HandleOffsets(const HttpRequest& request, const std::string& name) {
  const std::string& method = request.method;
  if (method == "GET") {
    auto offsets = supervisor_->ShowOffsets(name);
    if (!offsets.ok()) return Error(offsets.status());
    return Json(200, {{"offsets", std::move(*offsets)}});
  }
  if (method == "DELETE") {
    core::Status s = supervisor_->ResetOffset(name);
    if (!s.ok()) return OffsetsError(s);
    return Json(200, {{"message", "The offsets for this connector have been reset successfully"}});
  }
  if (method == "PATCH") {
    HttpResponse error;
    auto body = ParseBody(request.body, &error);
    if (!body) return error;
    // The supervisor checks the body's shape, the partition and the position (kInvalidArgument).
    core::Status s = supervisor_->PatchOffsets(name, *body);
    if (!s.ok()) return OffsetsError(s);
    return Json(200,
                {{"message", "The offsets for this connector have been altered successfully"}});
  }
  return MethodNotAllowed(method, request.path, "GET, DELETE, PATCH");
}

HttpResponse RestApi::HandlePlugins(const HttpRequest& request,
                                    const std::vector<std::string>& parts) {
  if (parts.size() == 1) {
    if (request.method != "GET") return MethodNotAllowed(request.method, request.path, "GET");
    json out = json::array();
    for (const auto& p : SourcePlugins()) {
      out.push_back({{"class", p.kafka_connect_class},
                     {"type", "source"},
                     {"version", p.version},
                     {"alias", p.connector_class}});
    }
    return Json(200, out);
  }
  if (parts.size() == 4 && parts[2] == "config" && parts[3] == "validate") {
    if (request.method != "PUT") return MethodNotAllowed(request.method, request.path, "PUT");
    return Validate(parts[1], request.body);
  }
  if (parts.size() == 3 && parts[2] == "config") {
    if (request.method != "GET") return MethodNotAllowed(request.method, request.path, "GET");
    if (FindSourcePlugin(parts[1]) == nullptr) {
      return Error(404, "connector plugin " + parts[1] + " not found");
    }
    core::ConnectorConfig probe({}, {{"connector.class", parts[1]}});
    json out = json::array();
    const core::ConfigDef def = ConfigDefFor(probe);
    for (const auto& key : def.keys()) {
      out.push_back({{"name", key.name},
                     {"required", key.required},
                     {"default_value", key.default_value},
                     {"documentation", key.doc}});
    }
    return Json(200, out);
  }
  return Error(404, "no route for " + request.path);
}

HttpResponse RestApi::HandleSyncs(const HttpRequest& request,
                                  const std::vector<std::string>& parts) {
  const std::string& method = request.method;
  if (parts.size() == 1) {
    if (method == "GET") {
      auto list = syncs_->List();
      if (!list.ok()) return Error(list.status());
      json out = json::array();
      for (const auto& r : *list) out.push_back(SyncJson(r));
      return Json(200, out);
    }
    if (method == "POST") {
      HttpResponse error;
      auto body = ParseBody(request.body, &error);
      if (!body) return error;
      auto config = core::ConnectorConfigFromJson(*body);
      if (!config.ok()) return Error(config.status());
      if (!config->name().empty()) {
        if (core::Status s = ValidateConnectorName(config->name()); !s.ok()) return Error(s);
      }
      auto record = syncs_->Create(std::move(*config));
      if (!record.ok()) return Error(record.status());
      HttpResponse r = Json(201, SyncJson(*record));
      r.headers.emplace_back("Location", "/syncs/" + PercentEncodeSegment(record->id));
      return r;
    }
    return MethodNotAllowed(method, request.path, "GET, POST");
  }
  if (parts.size() == 2) {
    if (method == "GET") {
      auto record = syncs_->Get(parts[1]);
      return record.ok() ? Json(200, SyncJson(*record)) : Error(record.status());
    }
    if (method == "DELETE") {
      core::Status s = syncs_->Cancel(parts[1]);
      if (!s.ok()) return Error(s);
      auto record = syncs_->Get(parts[1]);
      return record.ok() ? Json(200, SyncJson(*record)) : Error(record.status());
    }
    return MethodNotAllowed(method, request.path, "GET, DELETE");
  }
  if ((parts.size() == 3 || parts.size() == 4) && parts[2] == "verify") {
    return HandleSyncVerify(request, parts);
  }
  return Error(404, "no route for " + request.path);
}

}  // namespace sluice::api
