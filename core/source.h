// Source: the interface every source connector implements (PostgreSQL, MySQL, Kafka).
//
// Lifecycle, all on the source thread unless stated:
//   Start(resume) -> Poll()* -> Close()
// States a source moves through: snapshotting -> streaming (Poll returns kHaveMore or kIdle;
// kIdle means caught up, NOT finished) -> finished (kFinished, only for one-shot modes such as
// snapshot.mode=initial_only). A source resumed from a position must continue exactly after it:
// a position the server no longer has (purged binlog, missing slot) is an error
// (kFailedPrecondition or kDataLoss), never a silent skip.
//
// Thread-safety: Acknowledge(), RequestStop() and Progress() may be called from any thread;
// everything else only from the source thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/event.h"
#include "core/incremental_snapshot.h"
#include "core/status.h"

namespace spdlog {
class logger;
}

namespace sluice::core {

class MetricsRegistry;
class ProgressTracker;

// A handle on a source's retention watch (Source::WatchRetention): it samples on a thread of its
// own until it is destroyed; the destructor stops it promptly.
class RetentionWatch {
 public:
  virtual ~RetentionWatch() = default;
};

enum class PollStatus {
  kHaveMore,  // more data is available right away
  kIdle,      // caught up with the source; poll again
  kFinished,  // nothing more will come (one-shot snapshot done); the pipeline drains and ends
};

// How long a stream reader that has emptied its socket between transactions waits for more
// before it calls the stream caught up (kIdle): long enough to ride over the server's own pauses
// while it streams a backlog (descheduled on a busy machine, decoding a large record), so that a
// catch-up is not reported caught up every time the reader outpaces it and flushed in small
// pieces; short next to the latency it saves a steady trickle (sink.batch.ms).
inline constexpr std::chrono::milliseconds kCaughtUpProbe{5};

struct PollLimits {
  size_t max_events = 4096;
  size_t max_bytes = 8 << 20;
  std::chrono::milliseconds max_wait{200};  // how long Poll may block waiting for data
  // Events read earlier that the sink has not taken yet (the pipeline's queue) when this Poll
  // began. A source that chooses when to read extra data (an incremental snapshot's next chunk)
  // defers it while this is above a chunk, so that stream changes do not queue behind chunks.
  size_t sink_backlog_events = 0;
};

// What a source or sink gets at construction. The pointers outlive the connector.
struct ConnectorContext {
  ConnectorConfig config;
  MetricsRegistry* metrics = nullptr;    // never null in production; may be null in tests
  ProgressTracker* progress = nullptr;   // snapshot progress per table; may be null
  std::shared_ptr<spdlog::logger> logger;  // named after the connector; never null
};

class Source {
 public:
  virtual ~Source() = default;

  // Connects, checks server settings, and positions the source: at `resume` when given (the last
  // position the sink made durable), else as snapshot.mode says. Blocks. Errors:
  // kFailedPrecondition (server setting or missing privilege: tell the operator),
  // kUnauthenticated, kInvalidArgument (config), kUnavailable (retry with backoff),
  // kDataLoss (the resume position is gone).
  virtual Status Start(const std::optional<SourcePosition>& resume) = 0;

  // Appends events to `batch` (cleared by the caller) within `limits`, setting the batch's
  // checkpoint when it ends at a resumable point. Blocks at most limits.max_wait when there is
  // nothing to read. kUnavailable: the connection was lost — the pipeline calls Close() and
  // Start() again from the last durable position. Other errors stop the connector.
  virtual Result<PollStatus> Poll(EventBatch& batch, const PollLimits& limits) = 0;

  // Everything up to and including `position` is durable downstream: the source may release it
  // (PostgreSQL: confirmed flush LSN on the next standby status update). Non-blocking.
  virtual void Acknowledge(const SourcePosition& position) = 0;

  // Called on the source thread, about once a second, while the pipeline waits for room in the
  // queue (a slow sink) instead of polling: keep the server from ending an idle-looking
  // connection (PostgreSQL: a standby status update, so that wal_sender_timeout does not end
  // the stream). Must not block. An error is logged only: the next Poll() meets it for real.
  virtual Status KeepAlive() { return Status::Ok(); }

  // Makes a blocked Poll() return promptly. Non-blocking; any thread.
  virtual void RequestStop() = 0;

  // Releases connections. Safe to call more than once; Start() may follow.
  virtual void Close() = 0;

  // Connects and checks settings and privileges without changing anything (sluice validate).
  virtual Status Check() = 0;

  // The incremental snapshots of this source (core/incremental_snapshot.h), or null when the
  // source has none. The same object for the life of the source; any thread.
  virtual std::shared_ptr<IncrementalSnapshots> incremental_snapshots() const { return nullptr; }

  // Administrative calls of the supervisor, made on a source that is built but not started
  // (no pipeline runs the connector). The defaults suit a source that keeps nothing on the
  // server. `stored` is the connector's committed position, if any.

  // Keys naming the server objects this connector must not share with another connector of
  // the service (a PostgreSQL replication slot and publication, qualified by the server), as
  // readable text: two connectors whose keys intersect are refused. Does not connect.
  virtual std::vector<std::string> ExclusiveServerObjects(
      const std::optional<SourcePosition>& /*stored*/) const {
    return {};
  }

  // Checks a position an operator wants to store (PATCH /connectors/{name}/offsets): only the
  // keys this source's positions use, this connector's slot, a position that parses, is not
  // beyond the server's current one and (PostgreSQL) does not move a slot forward unless
  // `force`. kInvalidArgument with the reason; kUnavailable when the server cannot be asked.
  // Connects; blocks.
  virtual Status CheckOffset(const SourcePosition& /*proposed*/,
                             const std::optional<SourcePosition>& /*stored*/, bool /*force*/) {
    return Status::Ok();
  }

  // Offsets as GET /connectors/{name}/offsets shows them and PATCH takes them (Kafka Connect's
  // {"partition": …, "offset": …} entry). The PostgreSQL and MySQL sources answer Debezium's
  // shapes (partition {"server": topic.prefix}; offset {"lsn", "lsn_commit", …} or {"file",
  // "pos", "gtids", …}), so that offsets move between Debezium and Sluice; the defaults keep
  // Sluice's own shape, {"server": <connector name>} and {"position": "<position text>"}.
  // Pure: no server is asked. ImportOffset: kInvalidArgument naming what is wrong.
  virtual nlohmann::json OffsetPartition(const std::string& connector) const;
  virtual Result<nlohmann::json> ExportOffset(const SourcePosition& position) const;
  virtual Result<SourcePosition> ImportOffset(const nlohmann::json& offset) const;

  // The connector is being deleted: drop the server objects it created (`drop`), or keep them.
  // Returns what was dropped and what was left (with the SQL to drop it), for the log; an
  // error (the server unreachable) says what was left behind and how to drop it. Blocks.
  virtual Result<std::string> ReleaseServerObjects(
      const std::optional<SourcePosition>& /*stored*/, bool /*drop*/) {
    return std::string();
  }

  // What the server keeps for this connector while no pipeline runs it (paused, stopped,
  // failed, waiting to retry) keeps growing: PostgreSQL's slot retains WAL, MySQL's binlog files
  // from `stored` on must not be purged. The watch samples it as the streaming source does, into
  // the same status object of `progress` and the same metrics, until it is destroyed. nullptr:
  // nothing to watch (no slot yet, nothing stored, a source that keeps nothing). Does not
  // connect; `progress` outlives the watch.
  virtual std::unique_ptr<RetentionWatch> WatchRetention(
      const std::optional<SourcePosition>& /*stored*/, ProgressTracker* /*progress*/) {
    return nullptr;
  }
};

}  // namespace sluice::core
