// Connector configuration: the flat JSON object of string values that Kafka Connect uses.
//
// ConfigDef lists the keys a connector accepts (common keys here, connector- and sink-specific
// keys from each module); Validate() rejects unknown keys (naming the closest known key),
// missing required keys and bad values before anything starts. Kafka Connect / Debezium keys
// are classified by core/debezium_catalog.h: those that change nothing Sluice writes are
// accepted with a warning, those that would change the output and are not implemented are
// refused.
//
// Thread-safety: ConnectorConfig and ConfigDef are values; const access from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"

namespace sluice::core {

enum class ConfigType {
  kString,
  kInt,       // base-10 integer, checked against [min, max]
  kBool,      // "true" / "false"
  kEnum,      // one of `allowed`
  kList,      // comma-separated strings
  kRegexList, // comma-separated regular expressions (each must compile)
  kPassword,  // a secret: never logged, redacted in API responses
  kBytes,     // a byte count with an optional 1024-based unit (ParseHumanBytes); empty: unset
};

struct ConfigKey {
  std::string name;
  ConfigType type = ConfigType::kString;
  bool required = false;
  std::string default_value;           // empty: no default
  std::vector<std::string> allowed;    // kEnum
  int64_t min = INT64_MIN;             // kInt
  int64_t max = INT64_MAX;             // kInt
  std::string doc;
  bool is_prefix = false;              // `name` is a prefix ("sink.kafka."): any key under it passes
};

// A key with its type, default (empty: none) and documentation; set `required`, `allowed`,
// `min`/`max` or `is_prefix` on the result as needed.
ConfigKey MakeConfigKey(std::string name, ConfigType type, std::string default_value,
                        std::string doc);
// A key that stands for every key starting with `prefix` ("sink.kafka."), all strings.
ConfigKey MakePrefixConfigKey(std::string prefix, std::string doc);
// A kInt key accepting [min, max].
ConfigKey MakeIntConfigKey(std::string name, std::string default_value, std::string doc,
                           int64_t min, int64_t max = INT64_MAX);

struct ConfigIssue {
  std::string key;
  std::string message;
};

// A comma-separated list value: items trimmed of blanks, empty items dropped.
std::vector<std::string> SplitConfigList(std::string_view text);

// Debezium's database.initial.statements: statements separated by ';', where ";;" stands for
// one ';' inside a statement; each trimmed, empty ones dropped (JdbcConnection's rule).
std::vector<std::string> SplitSqlStatements(std::string_view text);

class ConnectorConfig;

class ConfigDef {
 public:
  ConfigDef& Add(ConfigKey key);
  ConfigDef& AddAll(const std::vector<ConfigKey>& keys);
  const std::vector<ConfigKey>& keys() const { return keys_; }
  const ConfigKey* Find(std::string_view name) const;

  // Every problem, in key order. Unknown keys carry "did you mean …" when one is close.
  std::vector<ConfigIssue> Check(const ConnectorConfig& config) const;
  // OK, or kInvalidArgument naming the first problem's key.
  Status Validate(const ConnectorConfig& config) const;
  // Keys accepted and ignored, with the reason to log as a warning.
  std::vector<ConfigIssue> Warnings(const ConnectorConfig& config) const;

 private:
  std::vector<ConfigKey> keys_;
};

// Keys every connector understands (name, connector.class, snapshot.mode, filters, sink.type,
// batching, queue bounds). Modules add their own with ConfigDef::AddAll.
std::vector<ConfigKey> CommonConfigKeys();

// Kafka Connect / Debezium keys accepted with a warning because they change nothing Sluice
// writes (core/debezium_catalog.h), so existing configs load.
bool IsIgnoredCompatKey(std::string_view key);

// True for keys that hold secrets ("*.password", "*secret*", "*token*", sasl.jaas.config).
bool IsSecretKey(std::string_view key);

// "postgresql://user:pw@host/db" -> "postgresql://user:****@host/db", "host=h password=pw" ->
// "host=h password=****"; other text unchanged. Same as RedactConnectionStrings (core/redact.h).
std::string RedactUrl(std::string_view url);

// Canonical connector class for a value of `connector.class` ("postgres", "mysql", "kafka"),
// accepting Debezium's class names; nullopt when unknown.
std::optional<std::string> CanonicalConnectorClass(std::string_view value);

class ConnectorConfig {
 public:
  ConnectorConfig() = default;
  ConnectorConfig(std::string name, std::map<std::string, std::string> values)
      : name_(std::move(name)), values_(std::move(values)) {}

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  const std::map<std::string, std::string>& values() const { return values_; }
  std::map<std::string, std::string>& mutable_values() { return values_; }

  bool Has(std::string_view key) const;
  // The value, or `fallback` when the key is absent.
  std::string Get(std::string_view key, std::string_view fallback = "") const;
  // Parsed values; kInvalidArgument naming the key when malformed.
  Result<int64_t> GetInt(std::string_view key, int64_t fallback) const;
  Result<bool> GetBool(std::string_view key, bool fallback) const;
  // Comma-separated list, trimmed, empty items dropped.
  std::vector<std::string> GetList(std::string_view key) const;
  // Every key under `prefix`, with the prefix stripped ("sink.kafka." -> librdkafka keys).
  std::map<std::string, std::string> WithPrefix(std::string_view prefix) const;

  // The connector class, canonical ("postgres", "mysql", "kafka").
  std::string connector_class() const;

  // JSON object of the values with secrets replaced by "********" (connection strings, URL or
  // keyword form, in any value keep all but the password). Use for logs and API responses.
  nlohmann::json RedactedJson() const;
  nlohmann::json ToJson() const;

 private:
  std::string name_;
  std::map<std::string, std::string> values_;
};

// Parses either the flat config object or the {"name": …, "config": {…}} body that
// POST /connectors takes. Non-string scalars (numbers, booleans) are converted to strings;
// nested objects and arrays are rejected with the offending key. A "name" inside the flat object
// names the connector; `fallback_name` is used when there is none.
Result<ConnectorConfig> ParseConnectorConfig(std::string_view json_text,
                                             std::string_view fallback_name = "");
// Same, from an already parsed object.
Result<ConnectorConfig> ConnectorConfigFromJson(const nlohmann::json& json,
                                                std::string_view fallback_name = "");
// Reads and parses a file; errors name the file.
Result<ConnectorConfig> LoadConnectorConfigFile(const std::string& path);

// Levenshtein distance, for "did you mean" suggestions.
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace sluice::core
