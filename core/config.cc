#include "core/config.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/column_policy.h"
#include "core/config_providers.h"
#include "core/debezium_catalog.h"
#include "core/human_units.h"
#include "core/redact.h"
#include "core/snapshot_mode.h"
#include "core/snapshot_overrides.h"
#include "core/table_filter.h"
#include "core/user_regex.h"

namespace sluice::core {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool ParseInt(std::string_view text, int64_t& out) {
  text = Trim(text);
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

std::string Join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) {
    if (!s.empty()) s += ", ";
    s += i;
  }
  return s;
}

}  // namespace

std::vector<std::string> SplitConfigList(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = Trim(text.substr(start, comma - start));
    if (!item.empty()) out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

std::vector<std::string> SplitSqlStatements(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  auto finish = [&] {
    std::string_view item = Trim(current);
    if (!item.empty()) out.emplace_back(item);
    current.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != ';') {
      current += text[i];
    } else if (i + 1 < text.size() && text[i + 1] == ';') {
      current += ';';  // ";;": an escaped semicolon
      ++i;
    } else {
      finish();
    }
  }
  finish();
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool IsIgnoredCompatKey(std::string_view key) {
  const DebeziumProperty* p = FindDebeziumProperty(key);
  return p != nullptr && p->support == DebeziumSupport::kNoEffect;
}

bool IsSecretKey(std::string_view key) {
  auto has = [&](std::string_view part) { return key.find(part) != std::string_view::npos; };
  return key.ends_with("password") || has("secret") || has("token") || has("sasl.jaas.config") ||
         has("private.key") || has("ssl.key.pem");
}

std::string RedactUrl(std::string_view url) { return RedactConnectionStrings(url); }

std::optional<std::string> CanonicalConnectorClass(std::string_view value) {
  if (value == "postgres" || value == "postgresql" ||
      value == "io.debezium.connector.postgresql.PostgresConnector")
    return "postgres";
  if (value == "mysql" || value == "mariadb" ||
      value == "io.debezium.connector.mysql.MySqlConnector" ||
      value == "io.debezium.connector.mariadb.MariaDbConnector")
    return "mysql";
  if (value == "kafka") return "kafka";
  return std::nullopt;
}

ConfigKey MakeConfigKey(std::string name, ConfigType type, std::string default_value,
                        std::string doc) {
  ConfigKey key;
  key.name = std::move(name);
  key.type = type;
  key.default_value = std::move(default_value);
  key.doc = std::move(doc);
  return key;
}

ConfigKey MakePrefixConfigKey(std::string prefix, std::string doc) {
  ConfigKey key = MakeConfigKey(std::move(prefix), ConfigType::kString, "", std::move(doc));
  key.is_prefix = true;
  return key;
}

ConfigKey MakeIntConfigKey(std::string name, std::string default_value, std::string doc,
                           int64_t min, int64_t max) {
  ConfigKey key =
      MakeConfigKey(std::move(name), ConfigType::kInt, std::move(default_value), std::move(doc));
  key.min = min;
  key.max = max;
  return key;
}

std::vector<ConfigKey> CommonConfigKeys() {
  const auto k = MakeConfigKey;
  std::vector<ConfigKey> keys;
  keys.push_back(k("name", ConfigType::kString, "", "connector name"));
  ConfigKey cls = k("connector.class", ConfigType::kString, "",
                    "postgres, mysql or kafka (Debezium class names are accepted)");
  cls.required = true;
  keys.push_back(cls);
  ConfigKey mode = k("snapshot.mode", ConfigType::kEnum, "initial",
                     "initial, initial_only, never, no_data (schema_only), when_needed, always, "
                     "recovery (MySQL)");
  mode.allowed = SplitConfigList(kSnapshotModeNames);
  keys.push_back(mode);
  keys.push_back(k("table.include.list", ConfigType::kRegexList, "",
                   "regexes on schema.table; empty includes all"));
  keys.push_back(k("table.exclude.list", ConfigType::kRegexList, "", "regexes on schema.table"));
  keys.push_back(k("column.exclude.list", ConfigType::kRegexList, "",
                   "regexes on schema.table.column"));
  keys.push_back(k("column.include.list", ConfigType::kRegexList, "",
                   "regexes on schema.table.column; empty includes all"));
  for (auto& key : ColumnPolicyConfigKeys()) keys.push_back(std::move(key));
  keys.push_back(k("column.propagate.source.type", ConfigType::kRegexList, "",
                   "regexes on schema.table.column: these columns' schemas carry "
                   "__debezium.source.column.type/length/scale (Kafka sink with schemas)"));
  keys.push_back(k("datatype.propagate.source.type", ConfigType::kRegexList, "",
                   "regexes on schema.table.<type name>, e.g. .+\\.NUMERIC: as "
                   "column.propagate.source.type, by type"));
  for (auto& key : SelectOverrideConfigKeys()) keys.push_back(std::move(key));
  keys.push_back(k("topic.prefix", ConfigType::kString, "sluice",
                   "logical source name; Kafka topics are <prefix>.<schema>.<table>"));
  ConfigKey sink = k("sink.type", ConfigType::kEnum, "", "kafka, postgres, mysql or file");
  sink.required = true;
  sink.allowed = {"kafka", "postgres", "mysql", "file"};
  keys.push_back(sink);
  keys.push_back(k("sink.url", ConfigType::kString, "",
                   "target: postgresql://…, mysql://…, or a directory for file"));
  keys.push_back(MakeIntConfigKey("sink.batch.size", "10000", "events per sink flush", 1));
  keys.push_back(MakeIntConfigKey("sink.batch.ms", "500", "longest wait before a flush", 0));
  keys.push_back(MakeIntConfigKey(
      "sink.batch.idle.ms", "20",
      "flush early once the source has sent nothing for this long (caught up)", 0));
  keys.push_back(MakeIntConfigKey(
      "sink.snapshot.batch.bytes", "0",
      "while only snapshot rows are pending, flush once they reach this many bytes "
      "(or after 30 s, or sink.batch.ms without a new batch); 0: like other events",
      0));
  keys.push_back(k("sink.table.name.format", ConfigType::kString, "",
                   "target table name with ${schema} and ${table}"));
  keys.push_back(MakeIntConfigKey("max.batch.size", "4096", "events per source poll", 1));
  keys.push_back(MakeIntConfigKey("max.queue.size", "100000", "queue bound in events", 1));
  keys.push_back(
      MakeIntConfigKey("max.queue.size.in.bytes", "268435456", "queue bound in bytes", 1024));
  keys.push_back(MakeIntConfigKey("errors.retry.timeout", "300000",
                                  "ms to keep retrying retriable errors before failing; -1 forever",
                                  -1));
  keys.push_back(k("slot.drop.on.delete", ConfigType::kBool, "true",
                   "DELETE /connectors/{name} drops the replication slot and the publication the "
                   "connector created (PostgreSQL); false keeps them"));
  return keys;
}

ConfigDef& ConfigDef::Add(ConfigKey key) {
  for (auto& existing : keys_) {
    if (existing.name == key.name) {
      existing = std::move(key);
      return *this;
    }
  }
  keys_.push_back(std::move(key));
  return *this;
}

ConfigDef& ConfigDef::AddAll(const std::vector<ConfigKey>& keys) {
  for (const auto& k : keys) Add(k);
  return *this;
}

const ConfigKey* ConfigDef::Find(std::string_view name) const {
  for (const auto& k : keys_) {
    if (k.is_prefix ? name.starts_with(k.name) : k.name == name) return &k;
  }
  return nullptr;
}

std::vector<ConfigIssue> ConfigDef::Check(const ConnectorConfig& config) const {
  std::vector<ConfigIssue> issues;
  for (const auto& [key, value] : config.values()) {
    const ConfigKey* def = Find(key);
    if (def == nullptr) {
      // A Debezium / Kafka Connect key: refused, accepted for the values the catalogue lists,
      // or (implemented by another module's ConfigDef) unknown here.
      const DebeziumProperty* p = FindDebeziumProperty(key);
      if (p != nullptr && (p->support != DebeziumSupport::kImplemented || !p->values.empty())) {
        if (auto why = DebeziumRefusal(*p, key, value)) issues.push_back({key, *why});
        continue;
      }
      std::string best;
      size_t best_d = SIZE_MAX;
      for (const auto& k : keys_) {
        size_t d = EditDistance(key, k.name);
        if (d < best_d) {
          best_d = d;
          best = k.name;
        }
      }
      std::string msg = "unknown configuration key '" + key + "'";
      if (!best.empty() && best_d <= std::max<size_t>(3, key.size() / 4)) {
        msg += "; did you mean '" + best + "'?";
      }
      issues.push_back({key, msg});
      continue;
    }
    if (def->is_prefix) continue;
    switch (def->type) {
      case ConfigType::kInt: {
        int64_t v = 0;
        if (!ParseInt(value, v)) {
          issues.push_back({key, key + " must be an integer, got '" + value + "'"});
        } else if (v < def->min || v > def->max) {
          std::string range = "[" + (def->min == INT64_MIN ? std::string("-inf") : std::to_string(def->min)) +
                              ", " + (def->max == INT64_MAX ? std::string("inf") : std::to_string(def->max)) + "]";
          issues.push_back({key, key + " must be in " + range + ", got " + value});
        }
        break;
      }
      case ConfigType::kBool:
        if (value != "true" && value != "false") {
          issues.push_back({key, key + " must be true or false, got '" + value + "'"});
        }
        break;
      case ConfigType::kEnum:
        if (std::find(def->allowed.begin(), def->allowed.end(), value) == def->allowed.end()) {
          issues.push_back({key, key + " must be one of " + Join(def->allowed) + ", got '" +
                                     value + "'"});
        }
        break;
      case ConfigType::kBytes:
        if (!value.empty()) {
          if (auto bytes = ParseHumanBytes(value, key); !bytes.ok()) {
            issues.push_back({key, bytes.status().message()});
          }
        }
        break;
      case ConfigType::kRegexList:
        if (auto compiled = CompileRegexList(key, value); !compiled.ok()) {
          issues.push_back({key, compiled.status().message()});
        }
        break;
      default:
        break;
    }
  }
  for (const auto& k : keys_) {
    if (k.required && !k.is_prefix && !config.Has(k.name)) {
      issues.push_back({k.name, "missing required key '" + k.name + "' (" + k.doc + ")"});
    }
  }
  for (auto& issue : DebeziumConfigIssues(config)) issues.push_back(std::move(issue));
  for (auto& issue : TableFilterIssues(config)) issues.push_back(std::move(issue));
  for (auto& issue : ColumnPolicyIssues(config)) issues.push_back(std::move(issue));
  for (auto& issue : SelectOverrideIssues(config)) issues.push_back(std::move(issue));
  if (config.Has("connector.class") && !CanonicalConnectorClass(config.Get("connector.class"))) {
    issues.push_back({"connector.class", "connector.class '" + config.Get("connector.class") +
                                             "' is not known; use postgres, mysql or kafka"});
  }
  return issues;
}

Status ConfigDef::Validate(const ConnectorConfig& config) const {
  auto issues = Check(config);
  if (issues.empty()) return Status::Ok();
  std::string msg = issues.front().message;
  if (issues.size() > 1) msg += " (and " + std::to_string(issues.size() - 1) + " more problems)";
  return InvalidArgumentError(msg);
}

std::vector<ConfigIssue> ConfigDef::Warnings(const ConnectorConfig& config) const {
  std::vector<ConfigIssue> out;
  for (const auto& [key, value] : config.values()) {
    if (Find(key) == nullptr && IsIgnoredCompatKey(key)) {
      const DebeziumProperty* p = FindDebeziumProperty(key);
      out.push_back({key, "accepting Kafka Connect/Debezium key '" + key +
                              "', which changes nothing sluice writes: " + std::string(p->note)});
    }
  }
  return out;
}

bool ConnectorConfig::Has(std::string_view key) const {
  return values_.find(std::string(key)) != values_.end();
}

std::string ConnectorConfig::Get(std::string_view key, std::string_view fallback) const {
  auto it = values_.find(std::string(key));
  return it == values_.end() ? std::string(fallback) : it->second;
}

Result<int64_t> ConnectorConfig::GetInt(std::string_view key, int64_t fallback) const {
  auto it = values_.find(std::string(key));
  if (it == values_.end() || Trim(it->second).empty()) return fallback;
  int64_t v = 0;
  if (!ParseInt(it->second, v)) {
    return InvalidArgumentError(std::string(key) + " must be an integer, got '" + it->second + "'");
  }
  return v;
}

Result<bool> ConnectorConfig::GetBool(std::string_view key, bool fallback) const {
  auto it = values_.find(std::string(key));
  if (it == values_.end() || Trim(it->second).empty()) return fallback;
  if (it->second == "true") return true;
  if (it->second == "false") return false;
  return InvalidArgumentError(std::string(key) + " must be true or false, got '" + it->second + "'");
}

std::vector<std::string> ConnectorConfig::GetList(std::string_view key) const {
  auto it = values_.find(std::string(key));
  if (it == values_.end()) return {};
  return SplitConfigList(it->second);
}

std::map<std::string, std::string> ConnectorConfig::WithPrefix(std::string_view prefix) const {
  std::map<std::string, std::string> out;
  for (auto it = values_.lower_bound(std::string(prefix)); it != values_.end(); ++it) {
    if (!std::string_view(it->first).starts_with(prefix)) break;
    out.emplace(it->first.substr(prefix.size()), it->second);
  }
  return out;
}

std::string ConnectorConfig::connector_class() const {
  auto c = CanonicalConnectorClass(Get("connector.class"));
  return c ? *c : Get("connector.class");
}

nlohmann::json ConnectorConfig::RedactedJson() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : values_) {
    if (IsSecretKey(k)) {
      // A reference (${env:…}, ${file:…}) names where the secret is, not the secret.
      j[k] = IsOnlyConfigReferences(v) ? v : "********";
    } else {
      // URLs and keyword-form connection strings in any value (sink.url, a *.url, a conninfo).
      j[k] = RedactConnectionStrings(v);
    }
  }
  return j;
}

nlohmann::json ConnectorConfig::ToJson() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : values_) j[k] = v;
  return j;
}

Result<ConnectorConfig> ConnectorConfigFromJson(const nlohmann::json& json,
                                                std::string_view fallback_name) {
  if (!json.is_object()) {
    return InvalidArgumentError("a connector config must be a JSON object");
  }
  const nlohmann::json* flat = &json;
  std::string name(fallback_name);
  if (json.contains("config")) {
    if (!json["config"].is_object()) {
      return InvalidArgumentError("'config' must be a JSON object of string values");
    }
    flat = &json["config"];
    if (json.contains("name")) {
      if (!json["name"].is_string()) return InvalidArgumentError("'name' must be a string");
      name = json["name"].get<std::string>();
    }
  }
  std::map<std::string, std::string> values;
  for (const auto& [key, value] : flat->items()) {
    if (value.is_string()) {
      values[key] = value.get<std::string>();
    } else if (value.is_number_integer() || value.is_number_unsigned()) {
      values[key] = value.dump();
    } else if (value.is_number_float()) {
      values[key] = value.dump();
    } else if (value.is_boolean()) {
      values[key] = value.get<bool>() ? "true" : "false";
    } else if (value.is_null()) {
      continue;
    } else {
      return InvalidArgumentError("config key '" + key +
                                  "' must be a string (configs are flat objects of strings)");
    }
  }
  auto it = values.find("name");
  if (it != values.end()) {
    if (!name.empty() && json.contains("config") && it->second != name) {
      return InvalidArgumentError("config 'name' ('" + it->second +
                                  "') differs from the connector name ('" + name + "')");
    }
    name = it->second;
  }
  return ConnectorConfig(std::move(name), std::move(values));
}

Result<ConnectorConfig> ParseConnectorConfig(std::string_view json_text,
                                             std::string_view fallback_name) {
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Parse again with exceptions to get the position of the error.
    try {
      nlohmann::json ignored = nlohmann::json::parse(json_text);
      (void)ignored;
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
      return InvalidArgumentError(std::string("malformed JSON: ") + e.what());
    }
    return InvalidArgumentError("malformed JSON");
  }
  return ConnectorConfigFromJson(j, fallback_name);
}

Result<ConnectorConfig> LoadConnectorConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgumentError("cannot read config file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string stem = path;
  if (auto slash = stem.find_last_of('/'); slash != std::string::npos) stem = stem.substr(slash + 1);
  if (auto dot = stem.find_last_of('.'); dot != std::string::npos) stem = stem.substr(0, dot);
  auto config = ParseConnectorConfig(ss.str(), stem);
  if (!config.ok()) return config.status().WithContext(path);
  return config;
}

}  // namespace sluice::core
