#include "connectors/mysql/incremental_placement.h"

#include <cctype>
#include <string_view>

#include "core/parse_number.h"

namespace sluice::mysql {
namespace {

struct SplitName {
  std::string_view base;
  uint64_t number = 0;
};

core::Result<SplitName> Split(const std::string& file) {
  const size_t dot = file.rfind('.');
  if (dot == std::string::npos || dot + 1 == file.size()) {
    return core::InvalidArgumentError("binlog file name '" + file +
                                      "' has no numeric extension (expected basename.NNNNNN)");
  }
  SplitName out;
  out.base = std::string_view(file).substr(0, dot);
  SLUICE_ASSIGN_OR_RETURN(out.number,
                          core::ParseNumber<uint64_t>(std::string_view(file).substr(dot + 1),
                                                      "binlog file number of '" + file + "'"));
  return out;
}

}  // namespace

core::Result<int> CompareBinlogPoints(const BinlogPoint& a, const BinlogPoint& b) {
  SLUICE_ASSIGN_OR_RETURN(SplitName x, Split(a.file));
  SLUICE_ASSIGN_OR_RETURN(SplitName y, Split(b.file));
  if (x.base != y.base) {
    return core::InvalidArgumentError("binlog files '" + a.file + "' and '" + b.file +
                                      "' have different base names, so they cannot be ordered: "
                                      "the server's log_bin_basename changed; re-request the "
                                      "incremental snapshot");
  }
  if (x.number != y.number) return x.number < y.number ? -1 : 1;
  if (a.pos != b.pos) return a.pos < b.pos ? -1 : 1;
  return 0;
}

core::Result<BinlogPoint> ParseBinlogSnapshotStatus(
    const std::map<std::string, std::string>& status) {
  // MariaDB prints the names capitalized (Binlog_snapshot_file); match them in any case.
  const std::string* file = nullptr;
  const std::string* pos = nullptr;
  for (const auto& [name, value] : status) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "binlog_snapshot_file") file = &value;
    if (lower == "binlog_snapshot_position") pos = &value;
  }
  if (file == nullptr || pos == nullptr) {
    return core::FailedPreconditionError(
        "the server has no binlog_snapshot_file/binlog_snapshot_position status variables "
        "(MariaDB's binlog position of a consistent snapshot; MySQL 8 has none), so a chunk "
        "cannot be placed exactly in the binlog: incremental snapshots of a mysql source need "
        "MariaDB (10.0 or later); on MySQL re-sync a table with a full snapshot instead");
  }
  if (file->empty()) {
    return core::FailedPreconditionError(
        "the server reports an empty binlog_snapshot_file: binary logging is off; start it with "
        "log_bin and binlog_format=ROW");
  }
  BinlogPoint out;
  out.file = *file;
  SLUICE_ASSIGN_OR_RETURN(out.pos,
                          core::ParseNumber<uint64_t>(*pos, "binlog_snapshot_position"));
  return out;
}

std::string ChunkQuery(const std::string& select_list, const std::string& table,
                       const std::vector<std::string>& key_columns, const std::string& filter,
                       const std::vector<std::string>& last_key, size_t limit) {
  std::string sql = "SELECT " + select_list;
  std::string order;
  for (const std::string& k : key_columns) {
    sql += ", " + k;
    order += (order.empty() ? "" : ", ") + k;
  }
  sql += " FROM " + table + " WHERE (" + (filter.empty() ? std::string("1") : filter) + ")";
  if (!last_key.empty()) {
    // k1 > v1 OR (k1 = v1 AND k2 > v2) OR (k1 = v1 AND k2 = v2 AND k3 > v3) ...
    std::string after, equal;
    for (size_t i = 0; i < key_columns.size() && i < last_key.size(); ++i) {
      std::string term = key_columns[i] + " > " + last_key[i];
      if (!equal.empty()) term = "(" + equal + " AND " + term + ")";
      after += (after.empty() ? "" : " OR ") + term;
      equal += (equal.empty() ? "" : " AND ") + key_columns[i] + " = " + last_key[i];
    }
    sql += " AND (" + after + ")";
  }
  sql += " ORDER BY " + order + " LIMIT " + std::to_string(limit);
  return sql;
}

std::string TableDefinition(std::string_view create) {
  static constexpr std::string_view kOption = "AUTO_INCREMENT=";
  std::string out;
  out.reserve(create.size());
  size_t at = 0;
  while (true) {
    const size_t found = create.find(kOption, at);
    if (found == std::string_view::npos) break;
    size_t end = found + kOption.size();
    while (end < create.size() && create[end] >= '0' && create[end] <= '9') ++end;
    out.append(create.substr(at, found - at));
    at = end;
  }
  out.append(create.substr(at));
  return out;
}

core::Result<ChunkPlacement::Verdict> ChunkPlacement::ChunkRead(const BinlogPoint& at) {
  held_.reset();
  if (last_txn_start_) {
    SLUICE_ASSIGN_OR_RETURN(int cmp, CompareBinlogPoints(*last_txn_start_, at));
    // A transaction that starts at or after P was handed over: it is newer than the chunk.
    if (cmp >= 0) return Verdict::kStale;
  }
  held_ = at;
  return Verdict::kHold;
}

core::Result<bool> ChunkPlacement::HandOverBefore(const BinlogPoint& start) {
  last_txn_start_ = start;
  if (!held_) return false;
  SLUICE_ASSIGN_OR_RETURN(int cmp, CompareBinlogPoints(start, *held_));
  if (cmp < 0) return false;  // the chunk's snapshot saw this transaction
  held_.reset();
  return true;
}

core::Result<bool> ChunkPlacement::HandOverAtPollEnd(const BinlogPoint& read_to,
                                                     bool between_transactions) {
  if (!held_ || !between_transactions) return false;
  SLUICE_ASSIGN_OR_RETURN(int cmp, CompareBinlogPoints(read_to, *held_));
  if (cmp < 0) return false;  // transactions the snapshot saw are still to come
  held_.reset();
  return true;
}

}  // namespace sluice::mysql
