#include "core/snapshot_overrides.h"

#include <algorithm>
#include <optional>

namespace sluice::core {
namespace {

constexpr std::string_view kListKey = "snapshot.select.statement.overrides";
constexpr std::string_view kTablePrefix = "snapshot.select.statement.overrides.";

// "schema.table" split at its first dot; nullopt without one.
std::optional<TableId> ParseTableName(std::string_view name) {
  size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return std::nullopt;
  return TableId{std::string(name.substr(0, dot)), std::string(name.substr(dot + 1))};
}

bool Blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

}  // namespace

std::vector<ConfigKey> SelectOverrideConfigKeys() {
  std::vector<ConfigKey> keys;
  keys.push_back(MakeConfigKey(std::string(kListKey), ConfigType::kList, "",
                               "schema.table names whose snapshot runs the statement in "
                               "snapshot.select.statement.overrides.<schema.table>"));
  keys.push_back(MakePrefixConfigKey(std::string(kTablePrefix),
                                     "the SELECT the snapshot reads that table with; it must "
                                     "return every captured column by name"));
  keys.push_back(MakeConfigKey("snapshot.include.collection.list", ConfigType::kRegexList, "",
                               "regexes on the captured tables (schema.table; MySQL: "
                               "database.table) the initial snapshot reads; the others are only "
                               "streamed; empty: every captured table"));
  return keys;
}

std::vector<ConfigIssue> SelectOverrideIssues(const ConnectorConfig& config) {
  std::vector<ConfigIssue> out;
  const std::string list_key(kListKey);
  const std::vector<std::string> listed = config.GetList(kListKey);
  for (const std::string& name : listed) {
    const std::string key = std::string(kTablePrefix) + name;
    if (!ParseTableName(name)) {
      out.push_back({list_key, list_key + ": '" + name + "' is not a schema.table name"});
    } else if (!config.Has(key) || Blank(config.Get(key))) {
      out.push_back({list_key, list_key + " lists " + name + " but " + key +
                                   " holds no SELECT statement: add it or remove the table"});
    }
  }
  for (const auto& [key, name] : config.WithPrefix(kTablePrefix)) {
    if (std::find(listed.begin(), listed.end(), key) == listed.end()) {
      const std::string full = std::string(kTablePrefix) + key;
      out.push_back({full, full + " is set but " + list_key + " does not list " + key +
                               " (Debezium would ignore the statement): add " + key + " to " +
                               list_key + " or remove the key"});
    }
  }
  return out;
}

Result<SelectOverrides> SelectOverridesFromConfig(const ConnectorConfig& config) {
  std::vector<ConfigIssue> issues = SelectOverrideIssues(config);
  if (!issues.empty()) return InvalidArgumentError(issues.front().message);
  SelectOverrides out;
  for (const std::string& name : config.GetList(kListKey)) {
    out[*ParseTableName(name)] = config.Get(std::string(kTablePrefix) + name);
  }
  return out;
}

std::string OverrideQuery(const SelectOverrides& overrides, const TableId& id,
                          const std::string& select_list) {
  auto it = overrides.find(id);
  if (it == overrides.end()) return "";
  std::string statement = it->second;
  // A trailing semicolon would end the subquery early.
  while (!statement.empty() && (statement.back() == ';' || statement.back() == ' ' ||
                                statement.back() == '\n' || statement.back() == '\t')) {
    statement.pop_back();
  }
  return "SELECT " + select_list + " FROM (" + statement + ") AS sluice_override";
}

}  // namespace sluice::core
