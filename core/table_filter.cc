#include "core/table_filter.h"

namespace sluice::core {

Result<TableFilter> TableFilter::FromConfig(const ConnectorConfig& config) {
  TableFilter f;
  SLUICE_ASSIGN_OR_RETURN(f.include_, CompileRegexList(config, "table.include.list"));
  SLUICE_ASSIGN_OR_RETURN(f.exclude_, CompileRegexList(config, "table.exclude.list"));
  SLUICE_ASSIGN_OR_RETURN(f.column_exclude_, CompileRegexList(config, "column.exclude.list"));
  for (const auto& re : f.include_) f.include_text_.push_back(re.pattern());
  return f;
}

bool TableFilter::IncludesTable(const TableId& id) const {
  const std::string name = id.ToString();
  if (!include_.empty() && !AnyFullMatch(include_, name)) return false;
  return !AnyFullMatch(exclude_, name);
}

bool TableFilter::IncludesColumn(const TableId& id, std::string_view column) const {
  if (column_exclude_.empty()) return true;
  std::string name = id.ToString();
  name += '.';
  name += column;
  return !AnyFullMatch(column_exclude_, name);
}

bool TableFilter::PatternMatches(size_t include_index, const TableId& id) const {
  return include_[include_index].FullMatch(id.ToString());
}

}  // namespace sluice::core
