#include "core/table_filter.h"

namespace sluice::core {

namespace {
Status CompileList(const ConnectorConfig& config, std::string_view key, std::vector<std::regex>& out,
                   std::vector<std::string>* text) {
  for (const std::string& pattern : config.GetList(key)) {
    try {
      out.emplace_back(pattern, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return InvalidArgumentError(std::string(key) + ": invalid regular expression '" + pattern +
                                  "': " + e.what());
    }
    if (text) text->push_back(pattern);
  }
  return Status::Ok();
}
}  // namespace

Result<TableFilter> TableFilter::FromConfig(const ConnectorConfig& config) {
  TableFilter f;
  SLUICE_RETURN_IF_ERROR(CompileList(config, "table.include.list", f.include_, &f.include_text_));
  SLUICE_RETURN_IF_ERROR(CompileList(config, "table.exclude.list", f.exclude_, nullptr));
  SLUICE_RETURN_IF_ERROR(CompileList(config, "column.exclude.list", f.column_exclude_, nullptr));
  return f;
}

bool TableFilter::IncludesTable(const TableId& id) const {
  const std::string name = id.ToString();
  bool included = include_.empty();
  for (const auto& re : include_) {
    if (std::regex_match(name, re)) {
      included = true;
      break;
    }
  }
  if (!included) return false;
  for (const auto& re : exclude_) {
    if (std::regex_match(name, re)) return false;
  }
  return true;
}

bool TableFilter::IncludesColumn(const TableId& id, std::string_view column) const {
  if (column_exclude_.empty()) return true;
  std::string name = id.ToString();
  name += '.';
  name += column;
  for (const auto& re : column_exclude_) {
    if (std::regex_match(name, re)) return false;
  }
  return true;
}

bool TableFilter::PatternMatches(size_t include_index, const TableId& id) const {
  return std::regex_match(id.ToString(), include_[include_index]);
}

}  // namespace sluice::core
