// The Debezium 2.x property catalogue: every property of the PostgreSQL and MySQL connectors'
// reference tables (and the Kafka Connect keys that appear in the same configs), each classified
// as implemented by Sluice, accepted because it changes nothing Sluice writes, or refused.
//
// The promise it keeps: a Debezium config moved over (only `sink.*` changed) either produces the
// same output or is refused with kInvalidArgument naming the key and why — a key that would
// change the output is never accepted and ignored. README.md's "Debezium properties" table lists
// the same entries; tests/core/debezium_catalog_test.cc checks the two agree.
//
// Keys Sluice implements under Debezium's name are declared, with their checks, by the modules'
// ConfigDefs (core/config.cc, connectors/*, sinks/*); the catalogue only classifies them. An
// implemented entry with `values` is checked here (the sink that honours it has no ConfigDef
// key for it).
//
// Thread-safety: immutable data and pure functions.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::core {

class ConnectorConfig;
struct ConfigIssue;

enum class DebeziumSupport {
  kImplemented,  // Sluice does what Debezium does with it (for the `values` listed, if any)
  kNoEffect,     // accepted: it changes nothing Sluice writes (for the `values` listed, if any)
  kRefused,      // 400: it would change the output and Sluice does not implement it
};

struct DebeziumProperty {
  std::string_view name;
  std::string_view connectors;  // "postgres", "mysql", "both", or "connect" (Kafka Connect)
  DebeziumSupport support;
  // Comma-separated values accepted (kImplemented, kNoEffect); empty: any value (or, for an
  // implemented key, the module's ConfigDef checks it).
  std::string_view values;
  std::string_view note;  // why, or what Sluice does instead; the refusal message's tail
  bool is_prefix = false;  // `name` ends with '.' and covers every key under it
};

// Every catalogued property, in README order.
std::span<const DebeziumProperty> DebeziumProperties();

// The entry for `key` (an exact name, else the longest prefix entry), or nullptr.
const DebeziumProperty* FindDebeziumProperty(std::string_view key);

// Why `key`=`value` is refused (a message naming the key), or nullopt when it is accepted.
std::optional<std::string> DebeziumRefusal(const DebeziumProperty& property, std::string_view key,
                                           std::string_view value);

// Problems that involve more than one key (key and value converters that disagree, ...).
std::vector<ConfigIssue> DebeziumConfigIssues(const ConnectorConfig& config);

std::string_view DebeziumSupportName(DebeziumSupport support);

}  // namespace sluice::core
