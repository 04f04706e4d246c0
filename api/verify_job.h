// VerifyJob: one verification of a connector config's target against its source (core/verify.h),
// used by `sluice verify` and by the REST verification jobs. Builds the two sides from the
// config: the source side with the source connector's connection keys and table/column filters,
// the target side from sink.url with the sink's own naming rules (sink.table.name.format; a
// MySQL target's database from sink.url), then verifies table by table.
//
// Lifecycle: Run() once (blocking); Cancel() and Progress() from any thread.
// Thread-safety: Cancel/Progress/Result are thread-safe.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/metrics.h"
#include "core/verify.h"

namespace sluice::api {

struct VerifyRequest {
  std::vector<std::string> tables;  // "schema.table"; empty: every captured table
  core::VerifyMode mode = core::VerifyMode::kChecksum;
  int rechecks = 0;                 // re-read differing ranges (verify while replicating)
  int recheck_delay_ms = 2000;
  uint64_t chunk_rows = 10000;      // rows per key range
  bool repair = false;              // write differing rows through the sink, then compare again
};

// Parses the REST body / CLI options: {"tables": [..] | "a,b", "mode": "...", "rechecks": n,
// "recheck_delay_ms": n, "chunk_rows": n, "repair": bool}.
// kInvalidArgument naming the field.
core::Result<VerifyRequest> ParseVerifyRequest(const nlohmann::json& body);

class VerifyJob {
 public:
  VerifyJob(core::ConnectorConfig config, VerifyRequest request,
            core::MetricsRegistry* metrics = nullptr);

  // Runs the verification. Errors: kInvalidArgument for a config that cannot be verified (no
  // database source or target, unknown table), else the side's error.
  core::Status Run();
  void Cancel() { cancel_.store(true); }

  // {"state", "mode", "tables": [{"table", "target", "state", "rows_done", "rows_total",
  // "source_rows", "target_rows", "rows_compared", "differences", "documented", "diffs",
  // "problems", "equal"}], "equal", "error"}.
  nlohmann::json ToJson() const;
  // True when every table compared equal (valid after Run returned Ok).
  bool equal() const;
  const std::vector<core::TableReport>& reports() const { return reports_; }

 private:
  struct TableProgress {
    std::string table;
    std::string target;
    std::string state = "pending";  // pending, running, done, failed
    uint64_t rows_done = 0;
    uint64_t rows_total = 0;
  };
  core::Status RunLocked();

  core::ConnectorConfig config_;
  VerifyRequest request_;
  core::MetricsRegistry* metrics_;
  std::atomic<bool> cancel_{false};
  mutable std::mutex mu_;
  std::string state_ = "running";
  std::string error_;
  std::vector<TableProgress> progress_;
  std::vector<core::TableReport> reports_;
};

// JSON of one table's report.
nlohmann::json TableReportJson(const core::TableReport& report);

}  // namespace sluice::api
