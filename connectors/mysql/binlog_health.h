// Retention guardrails for the MySQL/MariaDB source: which binlog file the connector still needs
// (the file of its committed position), how many binlog bytes were written after that position
// (as PostgreSQL's pg_current_wal_lsn() - restart_lsn), what the server keeps from that file on,
// and how long before the server's expiry (binlog_expire_logs_seconds, or expire_logs_days) may
// purge it.
//
// `AssessBinlog`, `BinlogHealthJson`, `ExpireSeconds` and `ParseBinaryLogs` are pure
// (unit-tested). `BinlogRetention` is what the source knows between samples: the needed position
// (set at stream start and at every acknowledged commit) and when the stream saw each file last
// written. `BinlogHealthMonitor` samples the server (SHOW BINARY LOGS, the expiry variables,
// UNIX_TIMESTAMP()) on a connection of its own, on its own thread, every
// `binlog.health.interval.ms` while the source streams, so the per-event path never waits on it.
//
// When does the needed file expire? The server purges a file whose modification time is older
// than the expiry, at a binlog rotation (and at start-up or FLUSH BINARY LOGS). SQL does not
// show a file's modification time, so the stream records it: the header timestamp of the ROTATE
// event that closed the file (written at the rotation, i.e. the file's last write); for the file
// the stream is still reading, the newest event it read from it (a lower bound of its last write,
// so the estimate errs early). The file the server still writes (the last one) cannot expire
// before it is closed: its time left is at least the whole expiry, and it never warns. The
// estimate is the earliest moment the server may purge the file; the purge itself waits for the
// next rotation.
//
// Levels (the `level` field of the status object and the `sluice_source_binlog_health` gauge):
//   ok (0)       nothing to do;
//   warning (1)  retained bytes >= binlog.retained.warn.bytes, or the needed file (closed) may be
//                purged within 24 h;
//   critical (2) it may be purged within 1 h, or it is gone already (purged while streaming: the
//                stream itself reads a later file and goes on, since the server never purges a
//                file a dump thread reads; but until the connector commits a position in a kept
//                file, a restart cannot resume and stops FAILED, or re-snapshots with
//                snapshot.mode=when_needed).
//
// Thread-safety: BinlogRetention is thread-safe. BinlogHealthMonitor's Start/Stop from one
// thread (the source thread).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "connectors/mysql/mysql_connection.h"
#include "connectors/mysql/mysql_position.h"
#include "core/retention_sampling.h"
#include "core/source.h"

namespace sluice::mysql {

struct BinlogFileInfo {
  std::string name;
  int64_t size_bytes = 0;
};

// One reading of the server.
struct BinlogSample {
  std::vector<BinlogFileInfo> files;  // SHOW BINARY LOGS, oldest first
  int64_t expire_s = 0;               // 0: files never expire by age
  int64_t server_unix_s = 0;          // the server's UNIX_TIMESTAMP() (the binlog's clock)
  double at_s = 0;                    // monotonic seconds, for rates
};

// The file the connector needs and what the stream saw of it.
struct BinlogNeed {
  std::string file;  // empty: not known yet
  uint64_t pos = 0;
  // Unix seconds of the file's last write as the stream saw it: exact when `closed` (the ROTATE
  // that closed it), else a lower bound (the newest event read from it); nullopt when unknown.
  std::optional<int64_t> last_write_unix_s;
  bool closed = false;
};

enum class BinlogHealthLevel { kOk = 0, kWarning = 1, kCritical = 2 };

struct BinlogHealth {
  BinlogHealthLevel level = BinlogHealthLevel::kOk;
  std::string warning;            // empty when ok
  bool needed_purged = false;     // the needed file is not in SHOW BINARY LOGS
  // Binlog written after the committed position (the needed file's size past its pos, and every
  // later file): what the connector still has to read and commit; -1 unknown.
  int64_t retained_bytes = -1;
  int64_t kept_bytes = -1;        // the needed file whole and every later one (the server keeps)
  int64_t total_bytes = 0;        // every file the server keeps
  double growth_bytes_per_s = 0;  // retained growth over the rate window; 0 when unknown
  double time_left_s = -1;        // before the needed file may expire; -1 unknown or never
};

// The expiry in seconds from SHOW GLOBAL VARIABLES: binlog_expire_logs_seconds when above 0,
// else expire_logs_days (MariaDB 10.11 keeps both, fractions of a day allowed) × 86400; 0 when
// neither is set (files never expire by age).
int64_t ExpireSeconds(const std::map<std::string, std::string>& variables);

// SHOW BINARY LOGS rows (Log_name, File_size, …) → files; kInternal on a malformed row.
core::Result<std::vector<BinlogFileInfo>> ParseBinaryLogs(const std::vector<ResultRow>& rows);

// Assesses `now`; `oldest` is the oldest sample of the rate window (the last few minutes), the
// same sample as `now` when there is no history. Pure.
BinlogHealth AssessBinlog(const BinlogSample& now, const BinlogSample& oldest,
                          const BinlogNeed& need, int64_t warn_bytes);

// The connector status's "binlog" object:
// {"needed_file", "needed_pos", "needed_on_server", "oldest_file", "newest_file", "files",
//  "retained_bytes", "needed_files_bytes", "total_bytes", "expire_logs_seconds" (null: never),
//  "needed_last_write_unix_s" (null: unknown), "growth_bytes_per_s", "time_left_s" (null:
//  unknown or never), "level" (ok, warning, critical), "warning" (null when ok),
//  "sampled_unix_ms"}. Pure.
std::string BinlogHealthJson(const BinlogSample& sample, const BinlogNeed& need,
                             const BinlogHealth& health, int64_t sampled_unix_ms);

// What the source knows between samples. The stream reports file closes (once per file) and the
// newest event of the file it reads (once per Poll); the source sets the needed position.
class BinlogRetention {
 public:
  void SetNeeded(const std::string& file, uint64_t pos);
  // The ROTATE event that closed `file` was written at `unix_s`.
  void FileClosed(const std::string& file, int64_t unix_s);
  // The newest event read from `file` (still being read) was written at `unix_s`.
  void FileRead(const std::string& file, int64_t unix_s);
  BinlogNeed Need() const;

 private:
  mutable std::mutex mu_;
  std::string needed_file_;
  uint64_t needed_pos_ = 0;
  std::map<std::string, int64_t> closed_;  // file -> close time; files before the needed dropped
  std::string reading_file_;
  int64_t reading_unix_s_ = 0;
};

struct BinlogHealthOptions {
  ConnectionParams params;
  std::string connector;
  int64_t interval_ms = 10000;            // binlog.health.interval.ms
  int64_t warn_bytes = int64_t{1} << 30;  // binlog.retained.warn.bytes
};

class BinlogHealthMonitor {
 public:
  BinlogHealthMonitor(BinlogHealthOptions options, std::shared_ptr<const BinlogRetention> retention,
                      core::MetricsRegistry* metrics, core::ProgressTracker* progress,
                      std::shared_ptr<spdlog::logger> logger);
  ~BinlogHealthMonitor();  // Stop()
  BinlogHealthMonitor(const BinlogHealthMonitor&) = delete;
  BinlogHealthMonitor& operator=(const BinlogHealthMonitor&) = delete;

  // Starts sampling (the first sample right away). A failed sample is logged once (until one
  // succeeds again) and retried at the next interval; it never stops the stream.
  void Start();
  // Stops the thread; interrupts a running query. Returns promptly.
  void Stop();

 private:
  void Run(std::stop_token stop);
  core::Result<BinlogSample> SampleOnce();
  void Publish(const BinlogSample& sample);

  BinlogHealthOptions options_;
  std::shared_ptr<const BinlogRetention> retention_;
  core::ProgressTracker* progress_;
  std::shared_ptr<spdlog::logger> logger_;
  core::Gauge* retained_ = nullptr;
  core::Gauge* time_left_ = nullptr;
  core::Gauge* level_ = nullptr;

  std::unique_ptr<MysqlConnection> conn_;  // the sampling thread's; set only once connected
  std::mutex conn_mu_;                     // guards conn_ (not its use) against Stop's Cancel
  core::RateWindow<BinlogSample> window_;
  core::RetentionLog log_;
  std::mutex mu_;
  std::condition_variable_any wake_;
  core::SamplerThread thread_;
};

// A monitor sampling from now on, as a core::RetentionWatch: the source's watch while no
// pipeline runs the connector (core::Source::WatchRetention); `retention` says which file and
// position are needed.
std::unique_ptr<core::RetentionWatch> WatchBinlog(
    BinlogHealthOptions options, std::shared_ptr<const BinlogRetention> retention,
    core::MetricsRegistry* metrics, core::ProgressTracker* progress,
    std::shared_ptr<spdlog::logger> logger);

}  // namespace sluice::mysql
