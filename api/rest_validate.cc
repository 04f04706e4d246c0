// PUT /connector-plugins/{class}/config/validate: the config checked key by key, then the
// connections tried, answered in Kafka Connect's ConfigInfos shape.
#include <set>

#include <nlohmann/json.hpp>

#include "api/plugins.h"
#include "api/rest_api.h"
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

HttpResponse JsonResponse(int status, const json& body) {
  return {status, "application/json", body.dump()};
}

HttpResponse ErrorResponse(int status, const std::string& message) {
  return JsonResponse(status, {{"error_code", status}, {"message", message}});
}

}  // namespace

std::vector<std::pair<std::string, std::string>> CheckConnections(
    const core::ConnectorConfig& config) {
  std::vector<std::pair<std::string, std::string>> errors;
  core::MetricsRegistry metrics;  // throwaway: a check must not show up in /metrics
  auto built = BuildConnector(config, &metrics, nullptr);
  if (!built.ok()) {
    errors.emplace_back("connector.class", built.status().message());
    return errors;
  }
  const std::string source_key = config.Has("database.hostname") ? "database.hostname"
                                                                 : "connector.class";
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
    return ErrorResponse(404, "connector plugin " + plugin_class +
                                  " not found; GET /connector-plugins lists them");
  }
  json body;
  try {
    body = json::parse(body_text);
  } catch (const json::exception& e) {
    return ErrorResponse(400, std::string("malformed JSON: ") + e.what());
  }
  auto parsed = core::ConnectorConfigFromJson(body);
  if (!parsed.ok()) return ErrorResponse(400, parsed.status().message());
  core::ConnectorConfig config = std::move(*parsed);
  if (!config.Has("connector.class")) {
    config.mutable_values()["connector.class"] = plugin_class;
  } else if (core::CanonicalConnectorClass(config.Get("connector.class")) !=
             core::CanonicalConnectorClass(plugin_class)) {
    return ErrorResponse(400, "connector.class '" + config.Get("connector.class") +
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
    for (const auto& [key, message] : options_.check_connections(config)) {
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
  return JsonResponse(200, {{"name", plugin->kafka_connect_class},
                            {"error_count", error_count},
                            {"groups", {"Common", "Source", "Sink", "Other"}},
                            {"configs", configs}});
}

}  // namespace sluice::api
