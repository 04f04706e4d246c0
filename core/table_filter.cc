#include "core/table_filter.h"

namespace sluice::core {

std::vector<ConfigIssue> TableFilterIssues(const ConnectorConfig& config) {
  std::vector<ConfigIssue> out;
  // Debezium refuses an include list together with its exclude list; so does sluice, rather than
  // pick one meaning for the pair.
  for (std::string_view level : {"schema", "column"}) {
    std::string include = std::string(level) + ".include.list";
    std::string exclude = std::string(level) + ".exclude.list";
    if (!config.Get(include).empty() && !config.Get(exclude).empty()) {
      out.push_back({include, include + " and " + exclude +
                                  " are mutually exclusive (as in Debezium): keep one of them"});
    }
  }
  return out;
}

std::string ExcludedKeyColumnMessage(const TableId& id, std::string_view column,
                                     std::string_view excluded_by) {
  std::string by = excluded_by.empty() ? std::string("the column filters") : std::string(excluded_by);
  return "column " + id.ToString() + "." + std::string(column) + " is part of the table's key and " +
         by + " leaves it out: Debezium would keep it in the message key but not in the value, "
         "which sluice cannot represent; keep the column (change " + by +
         ") or leave the table out with table.exclude.list";
}

Result<TableFilter> TableFilter::FromConfig(const ConnectorConfig& config) {
  TableFilter f;
  SLUICE_ASSIGN_OR_RETURN(f.include_, CompileRegexList(config, "table.include.list"));
  SLUICE_ASSIGN_OR_RETURN(f.exclude_, CompileRegexList(config, "table.exclude.list"));
  SLUICE_ASSIGN_OR_RETURN(f.schema_include_, CompileRegexList(config, "schema.include.list"));
  SLUICE_ASSIGN_OR_RETURN(f.schema_exclude_, CompileRegexList(config, "schema.exclude.list"));
  SLUICE_ASSIGN_OR_RETURN(f.column_include_, CompileRegexList(config, "column.include.list"));
  SLUICE_ASSIGN_OR_RETURN(f.column_exclude_, CompileRegexList(config, "column.exclude.list"));
  for (const auto& re : f.include_) f.include_text_.push_back(re.pattern());
  return f;
}

bool TableFilter::IncludesTable(const TableId& id) const {
  if (!schema_include_.empty() && !AnyFullMatch(schema_include_, id.schema)) return false;
  if (AnyFullMatch(schema_exclude_, id.schema)) return false;
  const std::string name = id.ToString();
  if (!include_.empty() && !AnyFullMatch(include_, name)) return false;
  return !AnyFullMatch(exclude_, name);
}

bool TableFilter::IncludesColumn(const TableId& id, std::string_view column) const {
  return ColumnExcludedBy(id, column).empty();
}

std::string_view TableFilter::ColumnExcludedBy(const TableId& id, std::string_view column) const {
  if (column_include_.empty() && column_exclude_.empty()) return {};
  std::string name = id.ToString();
  name += '.';
  name += column;
  if (!column_include_.empty() && !AnyFullMatch(column_include_, name)) {
    return "column.include.list";
  }
  if (AnyFullMatch(column_exclude_, name)) return "column.exclude.list";
  return {};
}

bool TableFilter::PatternMatches(size_t include_index, const TableId& id) const {
  return include_[include_index].FullMatch(id.ToString());
}

}  // namespace sluice::core
