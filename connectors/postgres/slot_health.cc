#include "connectors/postgres/slot_health.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/human_units.h"
#include "core/metrics.h"
#include "core/parse_number.h"
#include "core/progress.h"

namespace sluice::pg {
namespace {

constexpr double kCriticalLeftS = 3600;   // dropped within an hour: critical
constexpr double kWarningLeftS = 86400;   // within a day: warning
constexpr int kStatementTimeoutMs = 5000;

std::optional<int64_t> ParseInt(const std::optional<std::string>& v) {
  if (!v) return std::nullopt;
  auto out = core::ParseNumber<int64_t>(*v, "postgres slot health");
  if (!out.ok()) return std::nullopt;
  return *out;
}

}  // namespace

double WalStatusCode(const SlotSample& s) {
  if (!s.exists) return -1;
  if (s.wal_status == "reserved") return 0;
  if (s.wal_status == "extended") return 1;
  if (s.wal_status == "unreserved") return 2;
  if (s.wal_status == "lost") return 3;
  return -1;
}

SlotHealth AssessSlot(const std::string& slot, const SlotSample& now, const SlotSample& oldest,
                      int64_t warn_bytes, int64_t max_retained_bytes) {
  SlotHealth h;
  const std::string name = "replication slot '" + slot + "'";
  std::vector<std::string> messages;
  auto raise = [&](SlotHealthLevel level, std::string text) {
    h.level = std::max(h.level, level);
    messages.push_back(std::move(text));
  };
  if (!now.exists) {
    raise(SlotHealthLevel::kCritical, name + " does not exist: the changes it held are gone");
  } else if (now.wal_status == "lost") {
    raise(SlotHealthLevel::kCritical,
          name + " was invalidated (wal_status=lost, it fell behind max_slot_wal_keep_size): "
                 "the changes it held are gone");
  } else {
    const double dt = now.at_s - oldest.at_s;
    if (dt >= 1 && now.retained_bytes >= 0 && oldest.retained_bytes >= 0) {
      h.growth_bytes_per_s = static_cast<double>(now.retained_bytes - oldest.retained_bytes) / dt;
    }
    if (now.safe_wal_bytes >= 0 || now.wal_status == "unreserved") {
      if (now.wal_status == "unreserved" || now.safe_wal_bytes <= 0) {
        h.time_left_s = 0;
      } else if (h.growth_bytes_per_s > 0) {
        h.time_left_s = static_cast<double>(now.safe_wal_bytes) / h.growth_bytes_per_s;
      }
    }
    if (now.wal_status == "unreserved") {
      raise(SlotHealthLevel::kCritical,
            name + " holds more WAL than max_slot_wal_keep_size (" +
                core::HumanBytes(now.max_keep_bytes) +
                "): the server drops it at its next checkpoint unless the connector catches up; "
                "resume the connector or speed up its sink, or raise max_slot_wal_keep_size");
    } else if (h.time_left_s >= 0 && h.time_left_s < kWarningLeftS) {
      raise(h.time_left_s < kCriticalLeftS ? SlotHealthLevel::kCritical : SlotHealthLevel::kWarning,
            "at the recent rate (" + core::HumanBytes(static_cast<int64_t>(h.growth_bytes_per_s)) +
                "/s) the server drops " + name + " in about " + core::HumanDuration(h.time_left_s) +
                " (max_slot_wal_keep_size " + core::HumanBytes(now.max_keep_bytes) +
                "); resume the connector or speed up its sink, or raise max_slot_wal_keep_size");
    }
    if (max_retained_bytes > 0 && now.retained_bytes >= 0) {
      const int64_t room = max_retained_bytes - now.retained_bytes;
      if (room <= 0) {
        h.limit_time_left_s = 0;
      } else if (h.growth_bytes_per_s > 0) {
        h.limit_time_left_s = static_cast<double>(room) / h.growth_bytes_per_s;
      }
      const std::string limit = "slot.max.retained.wal (" + core::HumanBytes(max_retained_bytes) + ")";
      const std::string fix =
          "resume the connector or speed up its sink (or its snapshot: snapshot.max.threads), or "
          "raise slot.max.retained.wal; if the connector is no longer needed, delete it to drop "
          "the slot";
      if (room <= 0) {
        raise(SlotHealthLevel::kCritical,
              name + " retains " + core::HumanBytes(now.retained_bytes) + " of WAL, past " +
                  limit + "; the connector keeps streaming and the server keeps this WAL on "
                  "disk until it catches up: " + fix);
      } else if (h.limit_time_left_s >= 0 && h.limit_time_left_s < kWarningLeftS) {
        raise(h.limit_time_left_s < kCriticalLeftS ? SlotHealthLevel::kCritical
                                                   : SlotHealthLevel::kWarning,
              name + " retains " + core::HumanBytes(now.retained_bytes) + " of WAL and reaches " +
                  limit + " in about " + core::HumanDuration(h.limit_time_left_s) +
                  " at the recent rate (" +
                  core::HumanBytes(static_cast<int64_t>(h.growth_bytes_per_s)) + "/s): " + fix);
      }
    }
    if (now.wal_status == "extended") {
      raise(SlotHealthLevel::kWarning,
            name + " holds more WAL than max_wal_size (wal_status=extended)");
    }
    if (warn_bytes > 0 && now.retained_bytes >= warn_bytes) {
      raise(SlotHealthLevel::kWarning,
            name + " retains " + core::HumanBytes(now.retained_bytes) +
                " of WAL (slot.retained.warn.bytes " + core::HumanBytes(warn_bytes) +
                "): the connector is paused or stopped, or its sink is slower "
                "than the source; the server keeps this WAL on disk until the connector catches up");
    }
  }
  for (const auto& m : messages) h.warning += (h.warning.empty() ? "" : "; ") + m;
  return h;
}

std::string SlotHealthJson(const std::string& slot, const SlotSample& s, const SlotHealth& h,
                           int64_t sampled_unix_ms, int64_t max_retained_bytes) {
  using nlohmann::json;
  auto bytes_or_null = [](int64_t v) { return v >= 0 ? json(v) : json(nullptr); };
  static const char* kLevels[] = {"ok", "warning", "critical"};
  json j = {{"name", slot},
            {"wal_status", s.exists ? json(s.wal_status) : json("missing")},
            {"retained_bytes", bytes_or_null(s.retained_bytes)},
            {"safe_wal_size", bytes_or_null(s.safe_wal_bytes)},
            {"max_slot_wal_keep_size", bytes_or_null(s.max_keep_bytes)},
            {"growth_bytes_per_s", h.growth_bytes_per_s},
            {"time_left_s", h.time_left_s >= 0 ? json(h.time_left_s) : json(nullptr)},
            {"max_retained_wal", max_retained_bytes > 0 ? json(max_retained_bytes) : json(nullptr)},
            {"max_retained_wal_time_left_s",
             h.limit_time_left_s >= 0 ? json(h.limit_time_left_s) : json(nullptr)},
            {"level", kLevels[static_cast<int>(h.level)]},
            {"warning", h.warning.empty() ? json(nullptr) : json(h.warning)},
            {"sampled_unix_ms", sampled_unix_ms}};
  return j.dump();
}

std::string SlotSampleQuery(const std::string& slot) {
  return "SELECT s.slot_name IS NOT NULL, s.wal_status, "
         "(pg_current_wal_lsn() - s.restart_lsn)::bigint, s.safe_wal_size, "
         "(SELECT setting FROM pg_settings WHERE name = 'max_slot_wal_keep_size') "
         "FROM (SELECT 1) AS one LEFT JOIN pg_replication_slots s ON s.slot_name = " +
         QuoteLiteral(slot);
}

core::Result<SlotSample> ParseSlotSample(const PgRow& row) {
  if (row.size() != 5 || !row[0]) {
    return core::InternalError("postgres slot health: unexpected row shape");
  }
  SlotSample s;
  s.exists = *row[0] == "t";
  if (!s.exists) return s;
  s.wal_status = row[1].value_or("");
  s.retained_bytes = ParseInt(row[2]).value_or(-1);
  s.safe_wal_bytes = ParseInt(row[3]).value_or(-1);
  const int64_t keep_mb = ParseInt(row[4]).value_or(-1);
  s.max_keep_bytes = keep_mb >= 0 ? keep_mb * 1024 * 1024 : -1;
  return s;
}

SlotHealthMonitor::SlotHealthMonitor(SlotHealthOptions options, core::MetricsRegistry* metrics,
                                     core::ProgressTracker* progress,
                                     std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)), progress_(progress), logger_(std::move(logger)) {
  // A peer that never answers must not hold the sampling thread (and Stop) for long.
  options_.params.connect_timeout_s = std::min(options_.params.connect_timeout_s, 5);
  if (!metrics) return;
  const core::Labels labels{{"connector", options_.connector}, {"slot", options_.slot}};
  auto gauge = [&](const char* name, const char* help) {
    return &metrics->GetGauge(name, help, labels);
  };
  retained_ = gauge("sluice_source_slot_retained_bytes",
                    "WAL bytes the replication slot holds back (pg_current_wal_lsn() - restart_lsn)");
  safe_ = gauge("sluice_source_slot_safe_wal_bytes",
                "WAL bytes that can still be written before the server drops the slot "
                "(safe_wal_size); -1 when unlimited");
  wal_status_ = gauge("sluice_source_slot_wal_status",
                      "The slot's wal_status: 0 reserved, 1 extended, 2 unreserved, 3 lost, -1 missing");
  time_left_ = gauge("sluice_source_slot_time_left_seconds",
                     "Estimated seconds before the server drops the slot at the recent WAL rate; "
                     "-1 when unknown or unlimited");
  limit_time_left_ = gauge("sluice_source_slot_max_retained_time_left_seconds",
                           "Estimated seconds before the slot retains slot.max.retained.wal at the "
                           "recent WAL rate; 0 past it; -1 when unknown or no limit is set");
  level_ = gauge("sluice_source_slot_health", "Slot retention level: 0 ok, 1 warning, 2 critical");
}

SlotHealthMonitor::~SlotHealthMonitor() { Stop(); }

void SlotHealthMonitor::Start() {
  thread_.Start([this](std::stop_token stop) { Run(stop); });
}

void SlotHealthMonitor::Stop() {
  thread_.Stop(mu_, wake_, [this] { conn_.Cancel(); });
}

std::optional<SlotSample> SlotHealthMonitor::TakeLost() {
  std::lock_guard lock(mu_);
  return std::exchange(lost_sample_, std::nullopt);
}

core::Result<SlotSample> SlotHealthMonitor::SampleOnce() {
  if (!conn_.connected()) {
    SLUICE_RETURN_IF_ERROR(conn_.Connect(options_.params, false));
    core::Status st = conn_.Exec(fmt::format("SET statement_timeout = {}", kStatementTimeoutMs));
    if (!st.ok()) {
      conn_.Close();
      return st;
    }
  }
  auto rows = conn_.Query(SlotSampleQuery(options_.slot));
  if (!rows.ok()) {
    conn_.Close();  // reconnect next time: the connection may be broken
    return rows.status();
  }
  if (rows->size() != 1) return core::InternalError("postgres slot health: expected one row");
  return ParseSlotSample(rows->front());
}

void SlotHealthMonitor::Publish(const SlotSample& sample) {
  const SlotSample& base = window_.Add(sample);
  const SlotHealth h = AssessSlot(options_.slot, sample, base, options_.warn_bytes,
                                  options_.max_retained_bytes);
  if (retained_) {
    retained_->Set(static_cast<double>(std::max<int64_t>(sample.retained_bytes, 0)));
    safe_->Set(static_cast<double>(sample.safe_wal_bytes));
    wal_status_->Set(WalStatusCode(sample));
    time_left_->Set(h.time_left_s);
    limit_time_left_->Set(h.limit_time_left_s);
    level_->Set(static_cast<double>(h.level));
  }
  if (progress_) {
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    progress_->SetDetail("slot", SlotHealthJson(options_.slot, sample, h, now_ms, options_.max_retained_bytes));
  }
  log_.Log(*logger_, static_cast<int>(h.level), sample.at_s, "postgres: " + h.warning,
           "postgres: replication slot " + options_.slot + " retention is back to normal");
}

void SlotHealthMonitor::Run(std::stop_token stop) {
  core::RunSampling(stop, mu_, wake_, std::chrono::milliseconds(options_.interval_ms), *logger_,
                    "postgres: slot health sampling of " + options_.slot,
                    [&]() -> core::Result<bool> {
                      SLUICE_ASSIGN_OR_RETURN(SlotSample sample, SampleOnce());
                      sample.at_s = core::MonotonicSeconds();
                      Publish(sample);
                      if (sample.exists && sample.wal_status != "lost") return true;
                      std::lock_guard lock(mu_);
                      lost_sample_ = sample;
                      lost_.store(true);
                      return false;
                    });
  conn_.Close();
}

std::unique_ptr<core::RetentionWatch> WatchSlot(SlotHealthOptions options,
                                                core::MetricsRegistry* metrics,
                                                core::ProgressTracker* progress,
                                                std::shared_ptr<spdlog::logger> logger) {
  return std::make_unique<core::MonitorWatch<SlotHealthMonitor>>(std::move(options), metrics,
                                                                 progress, std::move(logger));
}

}  // namespace sluice::pg
