// Incremental snapshots: re-reading chosen tables in key-ordered chunks while the stream keeps
// running (POST /connectors/{name}/snapshots). This header is the seam between the REST API and
// a source that implements them; core keeps the bookkeeping every source shares (which tables
// are queued, how far each got, its persisted form), the source does the reading and decides
// where in its stream each chunk belongs (connectors/postgres/incremental_snapshot.h).
//
// Persistence: the progress travels inside the source's resume position (IncrementalSnapshots::
// StateJson), so it is durable exactly when the chunks it counts are durable in the sink, and a
// restart resumes after the last chunk the sink made durable.
//
// Thread-safety: IncrementalSnapshots is thread-safe (REST threads request, list and cancel;
// the source thread reads tasks and records chunks).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/event.h"
#include "core/status.h"

namespace spdlog {
class logger;
}

namespace sluice::core {

// A key as text: one value per key column in the source's own text form, nullopt for NULL.
using KeyText = std::vector<std::optional<std::string>>;

struct IncrementalSnapshotRequest {
  std::vector<std::string> tables;             // "schema.table"
  std::map<std::string, std::string> filters;  // table -> SQL condition on its rows (optional)
};

// Parses a request body: {"tables": ["s.t", …], "filter": "cond" | {"s.t": "cond", …}}, or
// Debezium's execute-snapshot signal data {"data-collections": [...], "type": "incremental",
// "additional-conditions": [{"data-collection": "s.t", "filter": "cond"}]}. kInvalidArgument
// naming what is wrong.
Result<IncrementalSnapshotRequest> ParseIncrementalSnapshotRequest(std::string_view json);

// What a source found out about a requested table when it checked it.
struct IncrementalTableInfo {
  std::string table;  // canonical "schema.table"
  uint64_t estimated_rows = 0;
  // How the source makes its chunks consistent with its stream, when it has a choice (MySQL:
  // "exact" or "window"); empty when it has one way only.
  std::string consistency;
};

struct IncrementalTableProgress {
  std::string table;
  std::string filter;
  std::string state;  // PENDING, RUNNING, DONE, CANCELLED, FAILED
  std::string error;  // FAILED: why
  uint64_t chunks = 0;
  uint64_t rows = 0;
  uint64_t estimated_rows = 0;
  std::string consistency;    // IncrementalTableInfo::consistency
  uint64_t dropped_rows = 0;  // chunk rows a de-duplication left out (the stream had them)
  KeyText last_key;  // of the last chunk handed over; empty before the first
  int64_t requested_unix_ms = 0;
  int64_t started_unix_ms = 0;   // first chunk read (0: not yet)
  int64_t finished_unix_ms = 0;  // DONE or CANCELLED (0: not yet)
  // Estimated time left from the rate so far; -1 when unknown.
  int64_t EtaMs(int64_t now_unix_ms) const;
};

class IncrementalSnapshots {
 public:
  // Checks one table for a request: it exists, the connector captures it, it has a key, the
  // filter is valid. kInvalidArgument / kNotFound naming the table and the fix; kUnavailable
  // when the source server cannot be asked. May block (it connects).
  using Checker =
      std::function<Result<IncrementalTableInfo>(const std::string& table, const std::string& filter)>;

  explicit IncrementalSnapshots(Checker checker) : checker_(std::move(checker)) {}

  // Checks every table (all or nothing) and queues them in the order given. A table already
  // queued or running is refused (kAlreadyExists): cancel it first. Blocks while checking.
  Status Request(const IncrementalSnapshotRequest& request);
  // Queued, running and recently finished tables, in request order.
  std::vector<IncrementalTableProgress> Progress() const;
  // Cancels one table ("schema.table") or, with an empty name, every queued or running one.
  // kNotFound when nothing matches.
  Status Cancel(const std::string& table);

  // Source thread.
  struct Task {
    uint64_t id = 0;  // changes when the table is cancelled and requested again
    std::string table;
    std::string filter;
    KeyText last_key;  // resume after this key; empty: from the start
  };
  // The table to read next (the oldest queued one), marked RUNNING; nullopt when none.
  std::optional<Task> Next();
  // False once `task` was cancelled.
  bool Wanted(const Task& task) const;
  // A chunk of `task` (rows up to `last_key`) was handed over to the pipeline; `done`: it was
  // the table's last; `dropped`: rows read but left out by a de-duplication. No-op for a
  // cancelled task.
  void ChunkHandedOver(const Task& task, const KeyText& last_key, uint64_t rows, bool done,
                       uint64_t dropped = 0);
  // `task` cannot go on (its table was dropped, its filter no longer valid): FAILED with `error`.
  void Fail(const Task& task, const std::string& error);
  // A JSON array of the queued and running tables and their progress, for the resume position;
  // empty text when there are none.
  std::string StateJson() const;
  // Restores StateJson() text (from a resume position). kInvalidArgument when malformed.
  Status Restore(std::string_view json);
  // True when anything is queued or running (cheap).
  bool Active() const;

 private:
  struct Entry {
    uint64_t id;
    IncrementalTableProgress progress;
  };
  void TrimFinishedLocked();

  Checker checker_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // in request order; the oldest finished ones are dropped
  uint64_t next_id_ = 1;
};

// What every source that implements incremental snapshots keeps in the "incremental" field of
// its streaming position (a JSON object): the progress of queued and running tables, and the
// values of `filter_keys` (the config keys that decide which tables are captured) it was taken
// under, so that a start under a wider filter knows which tables are new.
std::string IncrementalPositionField(const IncrementalSnapshots& tracker,
                                     const ConnectorConfig& config,
                                     const std::vector<std::string>& filter_keys);
// Restores the progress kept in a position's field (may be empty) and logs each table that
// resumes. kInvalidArgument naming `source` ("postgres", "mysql") when the field is malformed.
Status RestoreIncrementalPositionField(IncrementalSnapshots& tracker, const std::string& field,
                                       std::string_view source, spdlog::logger& logger);
// The values of `filter_keys` stored in `field` when they differ from `config`'s (the tables
// the position's filter captured are then to be compared with today's); nullopt when they are
// the same, or when the field holds no filter (an older position: nothing is known).
std::optional<std::map<std::string, std::string>> IncrementalFilterBefore(
    const std::string& field, const ConnectorConfig& config,
    const std::vector<std::string>& filter_keys);
// Requests an incremental snapshot of each of `added` (tables a wider filter captures now),
// logging each request or why a table is only streamed.
void RequestAddedTables(IncrementalSnapshots& tracker, const std::vector<TableId>& added,
                        spdlog::logger& logger, std::string_view source);
// Debezium's signalling table (signal.data.collection): each 'execute-snapshot' row inserted into
// `table` among `batch`'s events (a successful stream Poll's; the table must be captured) is
// requested as POST /connectors/{name}/snapshots would ("data" is Debezium's
// {"data-collections": [...], "type": "incremental"}). A refused request is logged with its
// reason; a table without 'type' and 'data' columns is logged once per batch.
void TakeSnapshotSignals(IncrementalSnapshots& tracker, const EventBatch& batch,
                         const TableId& table, spdlog::logger& logger, std::string_view source);
// signal.data.collection of `config` as a table (nullopt when unset); kInvalidArgument naming
// the key when it is not "<namespace>.<table>" (`form`: "schema.table", "database.table").
Result<std::optional<TableId>> SignalTableFromConfig(const ConnectorConfig& config,
                                                     std::string_view form);
// The signal.data.collection key, documented for a source whose tables are named as `form`.
ConfigKey SignalTableConfigKey(std::string_view form);
// Appends a chunk (`rows`, one row per event, in key order) to `batch` as op "r" events of
// `schema`, in one snapshot transaction described by `info`.
void AppendChunkRows(EventBatch& batch, const EventBatch& rows, const TableSchemaPtr& schema,
                     const TxnInfo& info);

// A chunk a source has read and holds until its place in the stream comes; `Point` is where it
// belongs, in the source's own terms (PostgreSQL: the snapshot's xids and WAL LSN; MariaDB: the
// binlog position of its consistent snapshot). Source thread only.
template <typename Point>
struct HeldChunk {
  IncrementalSnapshots::Task task;
  TableSchemaPtr schema;
  EventBatch rows;  // the chunk's rows, in key order
  KeyText last_key;
  bool last = false;  // fewer rows than a chunk: the table's end
  Point at;
  int64_t read_unix_ms = 0;
  std::chrono::steady_clock::time_point read_at;  // the read ended; placement waits from here
  bool handed_over = false;
};

// Where a table's incremental snapshot spent its time on the source thread, logged when the table
// finishes: reading chunks (the snapshot transaction and its rows) and waiting for each chunk's
// place in the stream. Source thread only.
struct ChunkTimings {
  uint64_t chunks = 0;
  uint64_t rereads = 0;  // chunks thrown away and read again
  std::chrono::steady_clock::duration read{};
  std::chrono::steady_clock::duration placement{};
  // From a chunk's hand-over to the next read's start: the pipeline's queue, the pacer, the
  // stream's Polls in between.
  std::chrono::steady_clock::duration between{};
  std::optional<std::chrono::steady_clock::time_point> handed_at;  // the last hand-over
  // A read starts at `now`: the time since the last hand-over counts as `between`.
  void ReadStarts(std::chrono::steady_clock::time_point now) {
    if (handed_at) between += now - *handed_at;
    handed_at.reset();
  }
  void Reset() { *this = ChunkTimings(); }
  // "N chunks, read X ms (Y ms each), placement wait Z ms (W ms each), between chunks B ms
  // (C ms each), R read again".
  std::string Summary() const;
};

// When a source reads its next chunk. Not while more than a chunk's worth of events waits for
// the sink (PollLimits::sink_backlog_events): the stream's changes would queue behind chunks,
// and their latency with them. But never deferred for longer than kMaxDefer, so that a stream
// that keeps the sink saturated does not starve the snapshot. Source thread only.
class ChunkPacer {
 public:
  static constexpr std::chrono::milliseconds kMaxDefer{200};
  // `clock` (not owned; the real one by default) must outlive this object.
  explicit ChunkPacer(size_t chunk_rows, Clock* clock = &SteadyClock::Get())
      : chunk_rows_(chunk_rows), clock_(clock) {}
  // True: read the next chunk now. Called only when no chunk is held.
  bool ReadNow(size_t sink_backlog_events);
  // True: read the chunk after a held one now (the sink has at most a chunk's worth waiting).
  // Never forced: held chunks already keep the snapshot going.
  bool ReadAheadNow(size_t sink_backlog_events) const { return sink_backlog_events <= chunk_rows_; }

 private:
  size_t chunk_rows_;
  Clock* clock_;
  std::optional<Clock::TimePoint> deferred_since_;
};

}  // namespace sluice::core
