// TableFilter: table.include.list / table.exclude.list / column.exclude.list, as in Debezium:
// comma-separated regular expressions matched against the whole "schema.table" (columns:
// "schema.table.column"). An empty include list includes every table. Patterns use RE2 syntax
// and limits (core/user_regex.h).
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

class TableFilter {
 public:
  TableFilter() = default;
  // kInvalidArgument naming the key when a regex is too long or does not compile.
  static Result<TableFilter> FromConfig(const ConnectorConfig& config);

  bool IncludesTable(const TableId& id) const;
  bool IncludesColumn(const TableId& id, std::string_view column) const;
  // The include list as written (for "unknown table in the include list" checks).
  const std::vector<std::string>& include_patterns() const { return include_text_; }
  // True when `pattern` (one include entry) matches `id`.
  bool PatternMatches(size_t include_index, const TableId& id) const;

 private:
  std::vector<std::string> include_text_;
  std::vector<UserRegex> include_;
  std::vector<UserRegex> exclude_;
  std::vector<UserRegex> column_exclude_;
};

}  // namespace sluice::core
