// PUT /connector-plugins/{class}/config/validate: the config checked key by key, then the
// connections tried (on the check pool, with a deadline), answered in Kafka Connect's
// ConfigInfos shape.
#include <condition_variable>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "api/plugins.h"
#include "api/rest_api.h"
#include "api/rest_json.h"
#include "core/logging.h"
#include "core/metrics.h"

namespace sluice::api {

namespace {

using nlohmann::json;

const char* TypeName(core::ConfigType type) {
  switch (type) {
    case core::ConfigType::kInt: return "INT";
    case core::ConfigType::kBool: return "BOOLEAN";
    case core::ConfigType::kList:
    case core::ConfigType::kRegexList: return "LIST";
    case core::ConfigType::kPassword: return "PASSWORD";
    default: return "STRING";
  }
}

using rest::Error;
using rest::Json;

// The key a connection failure is reported under when it concerns the source.
std::string SourceKey(const core::ConnectorConfig& config) {
  return config.Has("database.hostname") ? "database.hostname" : "connector.class";
}

// One check handed to the pool: the validate call waits on it until its deadline; a check that
// outlives the deadline finishes into this state, which the pool job keeps alive.
struct CheckState {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::vector<std::pair<std::string, std::string>> errors;
};

}  // namespace

core::ConnectorConfig BoundCheckTimeouts(const core::ConnectorConfig& config) {
  core::ConnectorConfig bounded = config;
  for (const char* key : {"connect.timeout.ms", "sink.kafka.flush.timeout.ms"}) {
    if (!config.Has(key)) continue;
    auto value = config.GetInt(key, kMaxCheckTimeoutMs);
    if (value.ok() && *value > kMaxCheckTimeoutMs) {
      bounded.mutable_values()[key] = std::to_string(kMaxCheckTimeoutMs);
    }
  }
  return bounded;
}

std::vector<std::pair<std::string, std::string>> RestApi::RunConnectionChecks(
    const core::ConnectorConfig& config) {
  auto state = std::make_shared<CheckState>();
  ConnectionChecker check = options_.check_connections;
  core::ConnectorConfig bounded = BoundCheckTimeouts(config);
  bool queued = check_pool_->TrySubmit([state, check, bounded] {
    std::vector<std::pair<std::string, std::string>> errors;
    try {
      errors = check(bounded);
    } catch (const std::exception& e) {
      errors.emplace_back("connector.class", std::string("connection check failed: ") + e.what());
    }
    std::lock_guard lock(state->mu);
    state->errors = std::move(errors);
    state->done = true;
    state->cv.notify_all();
  });
  if (!queued) {
    return {{SourceKey(config),
             "connection checks are busy (" + std::to_string(check_pool_->in_flight()) +
                 " running or waiting); the connections were not tried, validate again later"}};
  }
  std::unique_lock lock(state->mu);
  if (!state->cv.wait_for(lock, options_.check_deadline, [&] { return state->done; })) {
    return {{SourceKey(config),
             "the connection check did not finish within " +
                 std::to_string(options_.check_deadline.count()) +
                 " ms; is the host reachable and answering? (checks cap connect.timeout.ms at " +
                 std::to_string(kMaxCheckTimeoutMs) + ")"}};
  }
  return state->errors;
}

std::vector<std::pair<std::string, std::string>> CheckConnections(
    const core::ConnectorConfig& config) {
  std::vector<std::pair<std::string, std::string>> errors;
  core::MetricsRegistry metrics;  // throwaway: a check must not show up in /metrics
  auto built = BuildConnector(config, &metrics, nullptr);
  if (!built.ok()) {
    errors.emplace_back("connector.class", built.status().message());
    return errors;
  }
  const std::string source_key = SourceKey(config);
  if (core::Status s = built->source->Check(); !s.ok()) {
    errors.emplace_back(source_key, "source: " + s.message());
  }
  built->source->Close();
  if (core::Status s = built->sink->Check(); !s.ok()) {
    errors.emplace_back(config.Has("sink.url") ? "sink.url" : "sink.type", "sink: " + s.message());
  }
  built->sink->Close();
  return errors;
}

HttpResponse RestApi::Validate(const std::string& plugin_class, const std::string& body_text) {
  const SourcePlugin* plugin = FindSourcePlugin(plugin_class);
  if (plugin == nullptr) {
    return Error(404, "connector plugin " + plugin_class +
                          " not found; GET /connector-plugins lists them");
  }
  json body;
  try {
    body = json::parse(body_text);
  } catch (const json::exception& e) {
    return Error(400, std::string("malformed JSON: ") + e.what());
  }
  auto parsed = core::ConnectorConfigFromJson(body);
  if (!parsed.ok()) return Error(400, parsed.status().message());
  core::ConnectorConfig config = std::move(*parsed);
  if (!config.Has("connector.class")) {
    config.mutable_values()["connector.class"] = plugin_class;
  } else if (core::CanonicalConnectorClass(config.Get("connector.class")) !=
             core::CanonicalConnectorClass(plugin_class)) {
    return Error(400, "connector.class '" + config.Get("connector.class") +
                          "' differs from the plugin '" + plugin_class + "' in the path");
  }

  std::set<std::string> common_keys, source_keys, sink_keys;
  for (const auto& k : core::CommonConfigKeys()) common_keys.insert(k.name);
  for (const auto& k : plugin->keys()) source_keys.insert(k.name);
  if (const SinkPlugin* sink = FindSinkPlugin(config.Get("sink.type"))) {
    for (const auto& k : sink->keys()) sink_keys.insert(k.name);
  }
  auto group_of = [&](const std::string& key) -> std::string {
    if (common_keys.count(key)) return "Common";
    if (source_keys.count(key)) return "Source";
    if (sink_keys.count(key)) return "Sink";
    return "Other";
  };

  core::ConfigDef def = ConfigDefFor(config);
  std::map<std::string, std::vector<std::string>> errors;
  int error_count = 0;
  for (const auto& issue : def.Check(config)) {
    errors[issue.key].push_back(issue.message);
    ++error_count;
  }
  if (error_count == 0) {
    for (const auto& [key, message] : RunConnectionChecks(config)) {
      errors[key].push_back(message);
      ++error_count;
    }
  }

  json redacted = config.RedactedJson();
  json configs = json::array();
  std::set<std::string> listed;
  int order = 0;
  for (const auto& key : def.keys()) {
    if (key.is_prefix) continue;
    listed.insert(key.name);
    json value = redacted.contains(key.name) ? redacted[key.name]
                 : key.default_value.empty()  ? json(nullptr)
                                              : json(key.default_value);
    configs.push_back(
        {{"definition",
          {{"name", key.name},
           {"type", TypeName(key.type)},
           {"required", key.required},
           {"default_value", key.default_value.empty() ? json(nullptr) : json(key.default_value)},
           {"importance", key.required ? "HIGH" : "MEDIUM"},
           {"documentation", key.doc},
           {"group", group_of(key.name)},
           {"width", "NONE"},
           {"display_name", key.name},
           {"dependents", json::array()},
           {"order", ++order}}},
         {"value",
          {{"name", key.name},
           {"value", value},
           {"recommended_values", key.allowed},
           {"errors", errors.count(key.name) ? json(errors[key.name]) : json::array()},
           {"visible", true}}}});
  }
  // Keys the definition does not list (typos, prefixed keys) and errors on keys not in the config.
  std::set<std::string> extra;
  for (const auto& [key, value] : config.values()) extra.insert(key);
  for (const auto& [key, messages] : errors) extra.insert(key);
  for (const auto& key : extra) {
    if (listed.count(key)) continue;
    configs.push_back(
        {{"definition",
          {{"name", key},
           {"type", "STRING"},
           {"required", false},
           {"default_value", nullptr},
           {"importance", "LOW"},
           {"documentation", ""},
           {"group", group_of(key)},
           {"width", "NONE"},
           {"display_name", key},
           {"dependents", json::array()},
           {"order", ++order}}},
         {"value",
          {{"name", key},
           {"value", redacted.contains(key) ? redacted[key] : json(nullptr)},
           {"recommended_values", json::array()},
           {"errors", errors.count(key) ? json(errors[key]) : json::array()},
           {"visible", true}}}});
  }
  return Json(200, {{"name", plugin->kafka_connect_class},
                            {"error_count", error_count},
                            {"groups", {"Common", "Source", "Sink", "Other"}},
                            {"configs", configs}});
}

}  // namespace sluice::api
