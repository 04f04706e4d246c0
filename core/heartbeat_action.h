// Debezium's heartbeat.action.query: a statement a source runs on its database at most once per
// heartbeat.interval.ms while it streams, on a connection of its own (typically an upsert into a
// heartbeat table, so that a captured database without traffic still produces changes the
// connector can confirm). It is the one place a connector writes to its source, and only when
// the user asks for it. The source supplies how to run the statement (`run`: connect when not
// connected, execute, drop the connection after a failure).
//
// A failure fails the Poll, as Debezium fails its task; the error names the query. The pipeline
// retries a broken connection (kUnavailable); anything else (a dropped table, a missing
// privilege) stops the connector.
//
// Thread-safety: one thread (the source thread).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>

#include "core/config.h"
#include "core/periodic.h"
#include "core/status.h"

namespace sluice::core {

class HeartbeatAction {
 public:
  using Run = std::function<Status(const std::string& query)>;

  HeartbeatAction(std::string query, std::chrono::milliseconds interval, Run run)
      : query_(std::move(query)), every_(interval), run_(std::move(run)) {}

  // Runs the query when the interval has passed since the last run (the first call runs it).
  Status MaybeRun(Clock::TimePoint now) {
    if (!every_.Due(now)) return Status::Ok();
    Status status = run_(query_);
    if (status.ok()) return status;
    return Status(status.code(), "heartbeat.action.query '" + query_ + "' failed: " +
                                     status.message());
  }

 private:
  std::string query_;
  Periodic every_;
  Run run_;
};

// heartbeat.action.query and the heartbeat.interval.ms it runs at, as set in a config.
struct HeartbeatActionSettings {
  std::string query;       // empty: none
  int64_t interval_ms = 0;  // heartbeat.interval.ms as set (0 when unset)
};
// kInvalidArgument when the query is set without an interval above 0.
Result<HeartbeatActionSettings> HeartbeatActionFromConfig(const ConnectorConfig& config);
// The heartbeat.interval.ms key (no default filled in: with the Kafka sink it also asks for
// Debezium's heartbeat records, off unless set), documented as `interval_doc`, and the
// heartbeat.action.query key.
std::vector<ConfigKey> HeartbeatConfigKeys(std::string interval_doc);

}  // namespace sluice::core
