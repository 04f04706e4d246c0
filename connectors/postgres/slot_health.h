// Retention guardrails for the PostgreSQL source's replication slot: how much WAL the slot holds
// back, how close it is to being dropped by the server, and what the operator should do.
//
// `AssessSlot` and `SlotHealthJson` are pure (unit-tested); `SlotHealthMonitor` samples the slot
// on a regular (non-replication) connection of its own, on its own thread, every
// `slot.health.interval.ms` while the source runs (from the creation of the slot, through the
// initial snapshot, while streaming), so the per-event path never waits on it.
//
// Levels (the `level` field of the status object and the `sluice_source_slot_health` gauge):
//   ok (0)       nothing to do;
//   warning (1)  retained bytes >= slot.retained.warn.bytes, or wal_status = extended (the slot
//                holds more than max_wal_size; kept only because of max_slot_wal_keep_size or
//                wal_keep_size), or the server would drop the slot within 24 h at the recent rate,
//                or the slot reaches slot.max.retained.wal within 24 h;
//   critical (2) wal_status = unreserved (the server drops the slot at its next checkpoint unless
//                the connector catches up), or it would drop it within 1 h, or lost / missing,
//                or the slot retains slot.max.retained.wal or more, or reaches it within 1 h.
// slot.max.retained.wal is the operator's own limit: reaching it changes the status and the
// metrics only. The connector keeps streaming (stopping would make the slot retain more) and
// never drops the slot (the server's max_slot_wal_keep_size is the limit that does).
//
// Thread-safety: SlotHealthMonitor's Start/Stop from one thread (the source thread);
// lost() and TakeLost() from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "connectors/postgres/pg_connection.h"
#include "core/retention_sampling.h"
#include "core/source.h"

namespace sluice::pg {

// One reading of pg_replication_slots for the connector's slot.
struct SlotSample {
  bool exists = false;
  std::string wal_status;       // reserved, extended, unreserved, lost; empty when missing
  int64_t retained_bytes = -1;  // pg_current_wal_lsn() - restart_lsn; -1 when unknown
  int64_t safe_wal_bytes = -1;  // safe_wal_size; -1 when unlimited (NULL)
  int64_t max_keep_bytes = -1;  // max_slot_wal_keep_size in bytes; -1 when unlimited
  double at_s = 0;              // monotonic seconds, for rates
};

enum class SlotHealthLevel { kOk = 0, kWarning = 1, kCritical = 2 };

struct SlotHealth {
  SlotHealthLevel level = SlotHealthLevel::kOk;
  std::string warning;            // empty when ok
  double growth_bytes_per_s = 0;  // retained growth over the rate window; 0 when unknown
  double time_left_s = -1;        // before the server drops the slot; -1 unknown or unlimited
  // Before the slot retains slot.max.retained.wal: 0 at or past it, -1 unknown or no limit.
  double limit_time_left_s = -1;
};

// wal_status as a number for the gauge: reserved 0, extended 1, unreserved 2, lost 3,
// missing -1 (documented in README.md).
double WalStatusCode(const SlotSample& s);

// Assesses `now`; `oldest` is the oldest sample of the rate window (the last few minutes), the
// same sample as `now` when there is no history. `max_retained_bytes`: slot.max.retained.wal,
// 0 for none. Pure.
SlotHealth AssessSlot(const std::string& slot, const SlotSample& now, const SlotSample& oldest,
                      int64_t warn_bytes, int64_t max_retained_bytes = 0);

// The connector status's "slot" object:
// {"name", "wal_status", "retained_bytes", "safe_wal_size" (null: unlimited),
//  "max_slot_wal_keep_size" (null: unlimited), "growth_bytes_per_s", "time_left_s" (null:
//  unknown or unlimited), "max_retained_wal" (slot.max.retained.wal in bytes; null: none),
//  "max_retained_wal_time_left_s" (0 past it; null: unknown or no limit), "level" (ok,
//  warning, critical), "warning" (null when ok), "sampled_unix_ms"}. Pure.
std::string SlotHealthJson(const std::string& slot, const SlotSample& sample,
                           const SlotHealth& health, int64_t sampled_unix_ms,
                           int64_t max_retained_bytes = 0);

// The query that reads one sample (a row even when the slot is missing). Columns: exists,
// wal_status, retained bytes, safe_wal_size, max_slot_wal_keep_size in MB.
std::string SlotSampleQuery(const std::string& slot);
// Parses that query's row; kInternal on a malformed row.
core::Result<SlotSample> ParseSlotSample(const PgRow& row);

struct SlotHealthOptions {
  ConnectionParams params;
  std::string connector;
  std::string slot;
  int64_t interval_ms = 10000;               // slot.health.interval.ms
  int64_t warn_bytes = int64_t{1} << 30;     // slot.retained.warn.bytes
  int64_t max_retained_bytes = 0;            // slot.max.retained.wal; 0: none
};

class SlotHealthMonitor {
 public:
  SlotHealthMonitor(SlotHealthOptions options, core::MetricsRegistry* metrics,
                    core::ProgressTracker* progress, std::shared_ptr<spdlog::logger> logger);
  ~SlotHealthMonitor();  // Stop()
  SlotHealthMonitor(const SlotHealthMonitor&) = delete;
  SlotHealthMonitor& operator=(const SlotHealthMonitor&) = delete;

  // Starts sampling (the first sample right away). A failed sample is logged once (until one
  // succeeds again) and retried at the next interval; it never stops the stream.
  void Start();
  // Stops the thread; interrupts a running query. Returns promptly.
  void Stop();

  // True once a sample found the slot invalidated (wal_status = lost) or missing. One atomic
  // load: cheap enough for every Poll.
  bool lost() const { return lost_.load(std::memory_order_relaxed); }
  // The sample that found it, once.
  std::optional<SlotSample> TakeLost();

 private:
  void Run(std::stop_token stop);
  core::Result<SlotSample> SampleOnce();
  void Publish(const SlotSample& sample);

  SlotHealthOptions options_;
  core::ProgressTracker* progress_;
  std::shared_ptr<spdlog::logger> logger_;
  core::Gauge* retained_ = nullptr;
  core::Gauge* safe_ = nullptr;
  core::Gauge* wal_status_ = nullptr;
  core::Gauge* time_left_ = nullptr;
  core::Gauge* limit_time_left_ = nullptr;
  core::Gauge* level_ = nullptr;

  PgConnection conn_;  // the sampling thread's
  core::RateWindow<SlotSample> window_;
  core::RetentionLog log_;
  std::atomic<bool> lost_{false};
  std::mutex mu_;
  std::optional<SlotSample> lost_sample_;
  std::condition_variable_any wake_;
  core::SamplerThread thread_;
};

// A monitor sampling from now on, as a core::RetentionWatch: the source's watch while no
// pipeline runs the connector (core::Source::WatchRetention).
std::unique_ptr<core::RetentionWatch> WatchSlot(SlotHealthOptions options,
                                                core::MetricsRegistry* metrics,
                                                core::ProgressTracker* progress,
                                                std::shared_ptr<spdlog::logger> logger);

}  // namespace sluice::pg
