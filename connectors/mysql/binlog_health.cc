#include "connectors/mysql/binlog_health.h"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/human_units.h"
#include "core/metrics.h"
#include "core/parse_number.h"
#include "core/progress.h"

namespace sluice::mysql {
namespace {

constexpr double kCriticalLeftS = 3600;  // may be purged within an hour: critical
constexpr double kWarningLeftS = 86400;  // within a day: warning
constexpr int kQueryTimeoutS = 5;
constexpr size_t kMaxClosedFiles = 4096;  // bounds BinlogRetention's map on a lagging stream

// Binlog files of one server share a base name and differ in a numbered extension that grows in
// length only past 999999: a longer name is a later file.
bool Before(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

std::optional<double> ParseDouble(const std::map<std::string, std::string>& v, const char* name) {
  auto it = v.find(name);
  if (it == v.end() || it->second.empty()) return std::nullopt;
  auto out = core::ParseNumber<double>(it->second, name);
  if (!out.ok()) return std::nullopt;
  return *out;
}

}  // namespace

int64_t ExpireSeconds(const std::map<std::string, std::string>& variables) {
  const double seconds = ParseDouble(variables, "binlog_expire_logs_seconds").value_or(0);
  if (seconds > 0) return static_cast<int64_t>(seconds);
  const double days = ParseDouble(variables, "expire_logs_days").value_or(0);
  return days > 0 ? static_cast<int64_t>(days * 86400) : 0;
}

core::Result<std::vector<BinlogFileInfo>> ParseBinaryLogs(const std::vector<ResultRow>& rows) {
  std::vector<BinlogFileInfo> files;
  files.reserve(rows.size());
  for (const auto& r : rows) {
    if (r.size() < 2 || !r[0] || !r[1]) {
      return core::InternalError("mysql binlog health: SHOW BINARY LOGS returned a row without "
                                 "Log_name and File_size");
    }
    SLUICE_ASSIGN_OR_RETURN(int64_t size,
                            core::ParseNumber<int64_t>(*r[1], "mysql SHOW BINARY LOGS File_size"));
    files.push_back({*r[0], size});
  }
  return files;
}

BinlogHealth AssessBinlog(const BinlogSample& now, const BinlogSample& oldest,
                          const BinlogNeed& need, int64_t warn_bytes) {
  BinlogHealth h;
  for (const auto& f : now.files) h.total_bytes += f.size_bytes;
  if (need.file.empty() || now.files.empty()) return h;
  // Bytes of `s`'s files from the needed file on; -1 when the file is not there.
  auto kept_in = [&](const BinlogSample& s) -> int64_t {
    int64_t sum = 0;
    bool found = false;
    for (const auto& f : s.files) {
      found = found || f.name == need.file;
      if (found) sum += f.size_bytes;
    }
    return found ? sum : -1;
  };
  auto retained_in = [&](const BinlogSample& s) -> int64_t {
    const int64_t kept = kept_in(s);
    return kept < 0 ? -1 : std::max<int64_t>(0, kept - static_cast<int64_t>(need.pos));
  };
  std::vector<std::string> messages;
  auto raise = [&](BinlogHealthLevel level, std::string text) {
    h.level = std::max(h.level, level);
    messages.push_back(std::move(text));
  };
  const std::string needed = "binlog " + need.file;
  h.kept_bytes = kept_in(now);
  h.retained_bytes = retained_in(now);
  if (h.retained_bytes < 0) {
    h.needed_purged = true;
    raise(BinlogHealthLevel::kCritical,
          needed + ", which holds the connector's committed position " + need.file + ":" +
              std::to_string(need.pos) + ", is no longer on the server (oldest kept: " +
              now.files.front().name + "): the stream reads on, but if the connector restarts "
              "before it commits a position in a kept file it cannot resume (it stops FAILED; "
              "snapshot.mode=when_needed takes a new snapshot instead)");
  } else {
    const double dt = now.at_s - oldest.at_s;
    const int64_t before = retained_in(oldest);
    if (dt >= 1 && before >= 0) {
      h.growth_bytes_per_s = static_cast<double>(h.retained_bytes - before) / dt;
    }
    if (now.expire_s > 0) {
      if (need.file == now.files.back().name) {  // the server's current file
        h.time_left_s = static_cast<double>(now.expire_s);  // still written: ages once closed
      } else if (need.last_write_unix_s) {
        h.time_left_s = static_cast<double>(std::max<int64_t>(
            0, *need.last_write_unix_s + now.expire_s - now.server_unix_s));
      }
    }
    // The file the server still writes cannot be purged: no warning until it is closed.
    const bool active = need.file == now.files.back().name;
    if (!active && h.time_left_s >= 0 && h.time_left_s < kWarningLeftS) {
      raise(h.time_left_s < kCriticalLeftS ? BinlogHealthLevel::kCritical
                                           : BinlogHealthLevel::kWarning,
            "the server may purge " + needed + " (the connector's committed position) in about " +
                core::HumanDuration(h.time_left_s) + " (binlog expiry " +
                core::HumanDuration(static_cast<double>(now.expire_s)) +
                "); resume the connector or speed up its sink, or raise "
                "binlog_expire_logs_seconds; once purged, a restart cannot resume");
    }
    if (warn_bytes > 0 && h.retained_bytes >= warn_bytes) {
      raise(BinlogHealthLevel::kWarning,
            "the connector's committed position " + need.file + ":" + std::to_string(need.pos) +
                " is " + core::HumanBytes(h.retained_bytes) +
                " of binlog behind the server (binlog.retained.warn.bytes " +
                core::HumanBytes(warn_bytes) + "), which keeps every file from " + need.file +
                " on (" + core::HumanBytes(h.kept_bytes) + ") until the connector catches up: "
                "the connector is paused or stopped, or its sink is slower than the source");
    }
  }
  for (const auto& m : messages) h.warning += (h.warning.empty() ? "" : "; ") + m;
  return h;
}

std::string BinlogHealthJson(const BinlogSample& s, const BinlogNeed& need, const BinlogHealth& h,
                             int64_t sampled_unix_ms) {
  using nlohmann::json;
  static const char* kLevels[] = {"ok", "warning", "critical"};
  auto name_or_null = [&](bool front) {
    if (s.files.empty()) return json(nullptr);
    return json(front ? s.files.front().name : s.files.back().name);
  };
  json j = {{"needed_file", need.file.empty() ? json(nullptr) : json(need.file)},
            {"needed_pos", need.pos},
            {"needed_on_server", !h.needed_purged},
            {"oldest_file", name_or_null(true)},
            {"newest_file", name_or_null(false)},
            {"files", s.files.size()},
            {"retained_bytes", h.retained_bytes >= 0 ? json(h.retained_bytes) : json(nullptr)},
            {"needed_files_bytes", h.kept_bytes >= 0 ? json(h.kept_bytes) : json(nullptr)},
            {"total_bytes", h.total_bytes},
            {"expire_logs_seconds", s.expire_s > 0 ? json(s.expire_s) : json(nullptr)},
            {"needed_last_write_unix_s",
             need.last_write_unix_s ? json(*need.last_write_unix_s) : json(nullptr)},
            {"growth_bytes_per_s", h.growth_bytes_per_s},
            {"time_left_s", h.time_left_s >= 0 ? json(h.time_left_s) : json(nullptr)},
            {"level", kLevels[static_cast<int>(h.level)]},
            {"warning", h.warning.empty() ? json(nullptr) : json(h.warning)},
            {"sampled_unix_ms", sampled_unix_ms}};
  return j.dump();
}

void BinlogRetention::SetNeeded(const std::string& file, uint64_t pos) {
  std::lock_guard lock(mu_);
  needed_file_ = file;
  needed_pos_ = pos;
  // Files before the needed one are never needed again.
  closed_.erase(closed_.begin(), std::find_if(closed_.begin(), closed_.end(), [&](const auto& e) {
                  return !Before(e.first, file);
                }));
}

void BinlogRetention::FileClosed(const std::string& file, int64_t unix_s) {
  std::lock_guard lock(mu_);
  if (closed_.size() >= kMaxClosedFiles) closed_.erase(closed_.begin());
  closed_[file] = unix_s;
}

void BinlogRetention::FileRead(const std::string& file, int64_t unix_s) {
  std::lock_guard lock(mu_);
  reading_file_ = file;
  reading_unix_s_ = unix_s;
}

BinlogNeed BinlogRetention::Need() const {
  std::lock_guard lock(mu_);
  BinlogNeed need;
  need.file = needed_file_;
  need.pos = needed_pos_;
  auto it = closed_.find(needed_file_);
  if (it != closed_.end()) {
    need.last_write_unix_s = it->second;
    need.closed = true;
  } else if (reading_file_ == needed_file_ && reading_unix_s_ > 0) {
    need.last_write_unix_s = reading_unix_s_;
  }
  return need;
}

BinlogHealthMonitor::BinlogHealthMonitor(BinlogHealthOptions options,
                                         std::shared_ptr<const BinlogRetention> retention,
                                         core::MetricsRegistry* metrics,
                                         core::ProgressTracker* progress,
                                         std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)),
      retention_(std::move(retention)),
      progress_(progress),
      logger_(std::move(logger)) {
  // A peer that never answers must not hold the sampling thread (and Stop) for long.
  options_.params.connect_timeout_s = std::min(options_.params.connect_timeout_s, kQueryTimeoutS);
  options_.params.read_timeout_s = kQueryTimeoutS;
  options_.params.write_timeout_s = kQueryTimeoutS;
  if (!metrics) return;
  const core::Labels labels{{"connector", options_.connector}};
  auto gauge = [&](const char* name, const char* help) {
    return &metrics->GetGauge(name, help, labels);
  };
  retained_ = gauge("sluice_source_binlog_retained_bytes",
                    "Binlog bytes written after the connector's committed position (the server "
                    "keeps every file from that position's file on)");
  time_left_ = gauge("sluice_source_binlog_time_left_seconds",
                     "Estimated seconds before the server's binlog expiry may purge the file of "
                     "the connector's committed position; -1 when unknown or never");
  level_ = gauge("sluice_source_binlog_health",
                 "Binlog retention level: 0 ok, 1 warning, 2 critical");
}

BinlogHealthMonitor::~BinlogHealthMonitor() { Stop(); }

void BinlogHealthMonitor::Start() {
  thread_.Start([this](std::stop_token stop) { Run(stop); });
}

void BinlogHealthMonitor::Stop() {
  thread_.Stop(mu_, wake_, [this] {
    std::lock_guard lock(conn_mu_);
    if (conn_) conn_->Cancel();
  });
}

core::Result<BinlogSample> BinlogHealthMonitor::SampleOnce() {
  MysqlConnection* conn = nullptr;
  {
    std::lock_guard lock(conn_mu_);
    conn = conn_.get();
  }
  if (!conn) {
    // Connected before Stop() can see it (a connect is bounded by its 5 s timeout), so that
    // Cancel() never meets a handle being replaced.
    auto fresh = std::make_unique<MysqlConnection>();
    SLUICE_RETURN_IF_ERROR(fresh->Connect(options_.params));
    std::lock_guard lock(conn_mu_);
    conn_ = std::move(fresh);
    conn = conn_.get();
  }
  auto reset = [&](core::Status st) {
    std::lock_guard lock(conn_mu_);
    conn_.reset();  // reconnect next time: the connection may be broken
    return st;
  };
  auto logs = conn->Query("SHOW BINARY LOGS");
  if (!logs.ok()) return reset(logs.status());
  auto vars = conn->Query("SHOW GLOBAL VARIABLES WHERE Variable_name IN "
                          "('binlog_expire_logs_seconds', 'expire_logs_days')");
  if (!vars.ok()) return reset(vars.status());
  auto clock = conn->Query("SELECT UNIX_TIMESTAMP()");
  if (!clock.ok()) return reset(clock.status());
  BinlogSample s;
  SLUICE_ASSIGN_OR_RETURN(s.files, ParseBinaryLogs(*logs));
  std::map<std::string, std::string> variables;
  for (const auto& r : *vars) {
    if (r.size() >= 2 && r[0]) variables[*r[0]] = r[1].value_or("");
  }
  s.expire_s = ExpireSeconds(variables);
  if (clock->size() != 1 || clock->front().empty() || !clock->front()[0]) {
    return core::InternalError("mysql binlog health: SELECT UNIX_TIMESTAMP() returned no value");
  }
  SLUICE_ASSIGN_OR_RETURN(s.server_unix_s, core::ParseNumber<int64_t>(
                                               *clock->front()[0], "mysql UNIX_TIMESTAMP()"));
  return s;
}

void BinlogHealthMonitor::Publish(const BinlogSample& sample) {
  const BinlogSample& base = window_.Add(sample);
  const BinlogNeed need = retention_->Need();
  const BinlogHealth h = AssessBinlog(sample, base, need, options_.warn_bytes);
  if (retained_) {
    retained_->Set(static_cast<double>(std::max<int64_t>(h.retained_bytes, 0)));
    time_left_->Set(h.time_left_s);
    level_->Set(static_cast<double>(h.level));
  }
  if (progress_) progress_->SetDetail("binlog", BinlogHealthJson(sample, need, h, core::NowUnixMs()));
  log_.Log(*logger_, static_cast<int>(h.level), sample.at_s, "mysql: " + h.warning,
           "mysql: binlog retention is back to normal (needed file " + need.file + ")");
}

void BinlogHealthMonitor::Run(std::stop_token stop) {
  core::RunSampling(stop, mu_, wake_, std::chrono::milliseconds(options_.interval_ms), *logger_,
                    "mysql: binlog retention sampling", [&]() -> core::Result<bool> {
                      SLUICE_ASSIGN_OR_RETURN(BinlogSample sample, SampleOnce());
                      sample.at_s = core::MonotonicSeconds();
                      Publish(sample);
                      return true;
                    });
  std::lock_guard lock(conn_mu_);
  conn_.reset();
}

std::unique_ptr<core::RetentionWatch> WatchBinlog(
    BinlogHealthOptions options, std::shared_ptr<const BinlogRetention> retention,
    core::MetricsRegistry* metrics, core::ProgressTracker* progress,
    std::shared_ptr<spdlog::logger> logger) {
  return std::make_unique<core::MonitorWatch<BinlogHealthMonitor>>(
      std::move(options), std::move(retention), metrics, progress, std::move(logger));
}

}  // namespace sluice::mysql
