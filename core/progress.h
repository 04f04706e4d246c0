// ProgressTracker: what a connector reports about its snapshot, table by table, for the log,
// metrics, `sluice sync`'s progress display and GET /syncs/{id}; and source-specific status
// objects (the PostgreSQL slot's health) that GET /connectors/{name}/status shows as they are.
//
// Thread-safety: thread-safe; the source updates, readers take copies with Snapshot().
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace sluice::core {

struct TableProgress {
  std::string table;        // "schema.table"
  uint64_t rows_done = 0;
  uint64_t rows_total = 0;  // estimate (pg_class.reltuples, information_schema), 0 if unknown
  uint64_t bytes_done = 0;
  bool done = false;
  double started_s = 0;     // seconds since tracker creation
  double finished_s = 0;
};

struct ProgressSnapshot {
  std::string phase;  // "starting", "snapshot", "streaming", "finished", "failed"
  std::vector<TableProgress> tables;
  double elapsed_s = 0;
  // Source-specific status objects by key ("slot"): JSON object text, shown in the connector
  // status under that key.
  std::map<std::string, std::string> details;
};

class ProgressTracker {
 public:
  ProgressTracker();
  void SetPhase(std::string phase);
  // Registers a table with its estimated row count (idempotent; keeps counts done so far).
  void AddTable(const std::string& table, uint64_t rows_total);
  void AddRows(const std::string& table, uint64_t rows, uint64_t bytes);
  void MarkDone(const std::string& table);
  // Marks a table as being re-read from scratch (restarted snapshot).
  void ResetTable(const std::string& table);
  // Sets (or with empty text removes) the status object `key`: `json` is a JSON object's text.
  void SetDetail(const std::string& key, std::string json);
  ProgressSnapshot Snapshot() const;

 private:
  TableProgress& Find(const std::string& table);
  double Now() const;

  mutable std::mutex mu_;
  std::chrono::steady_clock::time_point start_;
  std::string phase_ = "starting";
  std::vector<TableProgress> tables_;
  std::map<std::string, std::string> details_;
};

}  // namespace sluice::core
