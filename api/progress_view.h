// Snapshot progress as people read it: per-table percent, rate and ETA computed from a
// core::ProgressSnapshot, as JSON (GET /syncs/{id}, connector status) and as text (`sluice sync`).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/progress.h"

namespace sluice::api {

struct TableRate {
  std::string table;
  uint64_t rows_done = 0;
  uint64_t rows_total = 0;  // estimate; 0 when unknown
  uint64_t bytes_done = 0;
  bool done = false;
  double percent = -1;      // -1 when unknown (no estimate)
  double rows_per_s = 0;
  double eta_s = -1;        // -1 when unknown
  double elapsed_s = 0;
};

std::vector<TableRate> ComputeRates(const core::ProgressSnapshot& snapshot);

// {"phase", "elapsed_s", "rows_done", "rows_total", "bytes_done", "percent",
//  "tables": [{"table", "rows_done", "rows_total", "bytes_done", "percent", "rows_per_s",
//              "eta_s", "done"}]}; unknown numbers are null. `complete` forces 100 %.
nlohmann::json ProgressToJson(const core::ProgressSnapshot& snapshot, bool complete = false);

// "1.5 MiB", "12 B".
std::string FormatBytes(uint64_t bytes);
// "1h02m", "3m05s", "42s"; "?" for a negative value.
std::string FormatDuration(double seconds);
// "[#########.........]  45.0%  table  1234/2742 rows  1.2 MiB  5000 rows/s  ETA 3s" within
// `width` columns.
std::string FormatProgressLine(const TableRate& rate, int width);
// The summary table printed at the end of `sluice sync`.
std::string FormatSummaryTable(const core::ProgressSnapshot& snapshot);

}  // namespace sluice::api
