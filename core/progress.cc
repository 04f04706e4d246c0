#include "core/progress.h"

namespace sluice::core {

ProgressTracker::ProgressTracker() : start_(std::chrono::steady_clock::now()) {}

double ProgressTracker::Now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

TableProgress& ProgressTracker::Find(const std::string& table) {
  for (auto& t : tables_) {
    if (t.table == table) return t;
  }
  TableProgress t;
  t.table = table;
  t.started_s = Now();
  tables_.push_back(t);
  return tables_.back();
}

void ProgressTracker::SetPhase(std::string phase) {
  std::lock_guard lock(mu_);
  phase_ = std::move(phase);
}

void ProgressTracker::AddTable(const std::string& table, uint64_t rows_total) {
  std::lock_guard lock(mu_);
  Find(table).rows_total = rows_total;
}

void ProgressTracker::AddRows(const std::string& table, uint64_t rows, uint64_t bytes) {
  std::lock_guard lock(mu_);
  auto& t = Find(table);
  t.rows_done += rows;
  t.bytes_done += bytes;
}

void ProgressTracker::MarkDone(const std::string& table) {
  std::lock_guard lock(mu_);
  auto& t = Find(table);
  t.done = true;
  t.finished_s = Now();
  if (t.rows_total < t.rows_done) t.rows_total = t.rows_done;
}

void ProgressTracker::ResetTable(const std::string& table) {
  std::lock_guard lock(mu_);
  auto& t = Find(table);
  t.rows_done = 0;
  t.bytes_done = 0;
  t.done = false;
  t.started_s = Now();
}

ProgressSnapshot ProgressTracker::Snapshot() const {
  std::lock_guard lock(mu_);
  return ProgressSnapshot{phase_, tables_, Now(), details_};
}

void ProgressTracker::SetDetail(const std::string& key, std::string json) {
  std::lock_guard lock(mu_);
  if (json.empty()) {
    details_.erase(key);
  } else {
    details_[key] = std::move(json);
  }
}

}  // namespace sluice::core
