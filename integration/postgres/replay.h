// Replays the file sink's JSON-lines envelopes by key to rebuild a table, for comparison with
// the source through the harness comparator.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "integration/common/itest.h"

namespace sluice::itest {

// How a column's envelope value turns back into PostgreSQL's text (psql with DateStyle=ISO,
// TimeZone=UTC, IntervalStyle=iso_8601).
enum class Render { kText, kBytesHex, kDate, kTime, kTimestamp, kTimestampTz };

struct ReplayColumn {
  std::string name;
  Render render = Render::kText;
};

// Reads DIR/<schema>.<table>.jsonl (if present) and applies each event in order by the key
// columns: r/c/u upsert (unchanged placeholders keep the previous value), d deletes, t clears.
// Returns the rows' `columns` as text.
SqlRows ReplayTable(const std::filesystem::path& dir, const std::string& schema,
                    const std::string& table, const std::vector<std::string>& key,
                    const std::vector<ReplayColumn>& columns);

// The table's complete events (lines with their newline), parsed; only those of `op` if given.
std::vector<nlohmann::json> ReadEvents(const std::filesystem::path& dir, const std::string& schema,
                                       const std::string& table, const std::string& op = "");

// Number of lines (events) in the table's file.
size_t CountEvents(const std::filesystem::path& dir, const std::string& schema,
                   const std::string& table, const std::string& op = "");

}  // namespace sluice::itest
