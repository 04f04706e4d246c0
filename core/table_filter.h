// TableFilter: schema.include.list / schema.exclude.list (PostgreSQL schema names),
// table.include.list / table.exclude.list and column.include.list / column.exclude.list, as in
// Debezium: comma-separated regular expressions matched against the whole name ("schema",
// "schema.table", "schema.table.column"; for a MySQL source the database plays the schema's
// role). An empty include list includes everything; the include and exclude lists of one level
// are mutually exclusive (ColumnFilterIssues refuses both). A table must pass both the schema
// and the table lists. Patterns use RE2 syntax and limits (core/user_regex.h).
//
// Thread-safety: immutable after construction; const methods from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/event.h"
#include "core/status.h"
#include "core/user_regex.h"

namespace sluice::core {

// Problems of the filter keys taken together (an include list and its exclude list both set),
// each naming the keys.
std::vector<ConfigIssue> TableFilterIssues(const ConnectorConfig& config);

// The refusal of a table whose key column `column` a filter (`excluded_by`) leaves out.
std::string ExcludedKeyColumnMessage(const TableId& id, std::string_view column,
                                     std::string_view excluded_by);

class TableFilter {
 public:
  TableFilter() = default;
  // kInvalidArgument naming the key when a regex is too long or does not compile.
  static Result<TableFilter> FromConfig(const ConnectorConfig& config);

  bool IncludesTable(const TableId& id) const;
  bool IncludesColumn(const TableId& id, std::string_view column) const;
  // The config key that leaves `column` out (for messages), or "" when it is included.
  std::string_view ColumnExcludedBy(const TableId& id, std::string_view column) const;
  // The include list as written (for "unknown table in the include list" checks).
  const std::vector<std::string>& include_patterns() const { return include_text_; }
  // True when `pattern` (one include entry) matches `id`.
  bool PatternMatches(size_t include_index, const TableId& id) const;

 private:
  std::vector<std::string> include_text_;
  std::vector<UserRegex> include_;
  std::vector<UserRegex> exclude_;
  std::vector<UserRegex> schema_include_;
  std::vector<UserRegex> schema_exclude_;
  std::vector<UserRegex> column_include_;
  std::vector<UserRegex> column_exclude_;
};

}  // namespace sluice::core
