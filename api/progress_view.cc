#include "api/progress_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sluice::api {

std::vector<TableRate> ComputeRates(const core::ProgressSnapshot& snapshot) {
  std::vector<TableRate> out;
  out.reserve(snapshot.tables.size());
  for (const auto& t : snapshot.tables) {
    TableRate r;
    r.table = t.table;
    r.rows_done = t.rows_done;
    r.rows_total = t.rows_total;
    r.bytes_done = t.bytes_done;
    r.done = t.done;
    double end = t.done ? t.finished_s : snapshot.elapsed_s;
    r.elapsed_s = std::max(0.0, end - t.started_s);
    if (t.done) {
      r.percent = 100;
    } else if (t.rows_total > 0) {
      r.percent = std::min(99.9, 100.0 * static_cast<double>(t.rows_done) /
                                     static_cast<double>(t.rows_total));
    }
    if (r.elapsed_s > 0.05) r.rows_per_s = static_cast<double>(t.rows_done) / r.elapsed_s;
    if (t.done) {
      r.eta_s = 0;
    } else if (r.rows_per_s > 0 && t.rows_total > t.rows_done) {
      r.eta_s = static_cast<double>(t.rows_total - t.rows_done) / r.rows_per_s;
    } else if (r.rows_per_s > 0 && t.rows_total > 0) {
      r.eta_s = 0;  // the estimate was low; nearly done
    }
    out.push_back(std::move(r));
  }
  return out;
}

namespace {
nlohmann::json NumberOrNull(double v) {
  if (v < 0 || !std::isfinite(v)) return nullptr;
  return std::round(v * 10) / 10;
}
}  // namespace

nlohmann::json ProgressToJson(const core::ProgressSnapshot& snapshot, bool complete) {
  nlohmann::json tables = nlohmann::json::array();
  uint64_t rows_done = 0, rows_total = 0, bytes_done = 0;
  bool all_known = true;
  for (const auto& r : ComputeRates(snapshot)) {
    rows_done += r.rows_done;
    rows_total += std::max(r.rows_total, r.done ? r.rows_done : r.rows_total);
    bytes_done += r.bytes_done;
    if (r.percent < 0) all_known = false;
    tables.push_back({{"table", r.table},
                      {"rows_done", r.rows_done},
                      {"rows_total", r.rows_total},
                      {"bytes_done", r.bytes_done},
                      {"percent", complete ? nlohmann::json(100.0) : NumberOrNull(r.percent)},
                      {"rows_per_s", NumberOrNull(r.rows_per_s)},
                      {"eta_s", complete ? nlohmann::json(0.0) : NumberOrNull(r.eta_s)},
                      {"done", complete || r.done}});
  }
  nlohmann::json percent = nullptr;
  // Streaming means the snapshot is over, whatever the row estimates said.
  if (complete || snapshot.phase == "finished" || snapshot.phase == "streaming") {
    percent = 100.0;
  } else if (all_known && rows_total > 0) {
    percent = NumberOrNull(std::min(99.9, 100.0 * static_cast<double>(rows_done) /
                                              static_cast<double>(rows_total)));
  }
  return {{"phase", complete ? std::string("finished") : snapshot.phase},
          {"elapsed_s", NumberOrNull(snapshot.elapsed_s)},
          {"rows_done", rows_done},
          {"rows_total", rows_total},
          {"bytes_done", bytes_done},
          {"percent", percent},
          {"tables", tables}};
}

std::string FormatBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  }
  return buf;
}

std::string FormatDuration(double seconds) {
  if (seconds < 0 || !std::isfinite(seconds)) return "?";
  auto s = static_cast<long long>(std::llround(seconds));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%llds", s);
  }
  return buf;
}

std::string FormatProgressLine(const TableRate& r, int width) {
  const int bar = std::clamp(width / 4, 10, 30);
  std::string line = "[";
  int filled = r.percent < 0 ? 0 : static_cast<int>(r.percent / 100.0 * bar);
  for (int i = 0; i < bar; ++i) line += i < filled ? '#' : '.';
  line += "] ";
  char buf[256];
  if (r.percent < 0) {
    std::snprintf(buf, sizeof buf, "   ?  ");
  } else {
    std::snprintf(buf, sizeof buf, "%5.1f%%", r.percent);
  }
  line += buf;
  std::snprintf(buf, sizeof buf, "  %s  %llu/%s rows  %s  %.0f rows/s  %s", r.table.c_str(),
                static_cast<unsigned long long>(r.rows_done),
                r.rows_total ? std::to_string(r.rows_total).c_str() : "?",
                FormatBytes(r.bytes_done).c_str(), r.rows_per_s,
                r.done ? "done" : ("ETA " + FormatDuration(r.eta_s)).c_str());
  line += buf;
  if (width > 0 && static_cast<int>(line.size()) > width) line.resize(width);
  return line;
}

std::string FormatSummaryTable(const core::ProgressSnapshot& snapshot) {
  auto rates = ComputeRates(snapshot);
  size_t name_w = 5;
  for (const auto& r : rates) name_w = std::max(name_w, r.table.size());
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf, "%-*s  %12s  %12s  %10s  %12s\n", static_cast<int>(name_w),
                "table", "rows", "bytes", "time", "rows/s");
  out += buf;
  uint64_t rows = 0, bytes = 0;
  for (const auto& r : rates) {
    std::snprintf(buf, sizeof buf, "%-*s  %12llu  %12s  %10s  %12.0f\n", static_cast<int>(name_w),
                  r.table.c_str(), static_cast<unsigned long long>(r.rows_done),
                  FormatBytes(r.bytes_done).c_str(), FormatDuration(r.elapsed_s).c_str(),
                  r.rows_per_s);
    out += buf;
    rows += r.rows_done;
    bytes += r.bytes_done;
  }
  double rate = snapshot.elapsed_s > 0 ? static_cast<double>(rows) / snapshot.elapsed_s : 0;
  std::snprintf(buf, sizeof buf, "%-*s  %12llu  %12s  %10s  %12.0f\n", static_cast<int>(name_w),
                "total", static_cast<unsigned long long>(rows), FormatBytes(bytes).c_str(),
                FormatDuration(snapshot.elapsed_s).c_str(), rate);
  out += buf;
  return out;
}

}  // namespace sluice::api
