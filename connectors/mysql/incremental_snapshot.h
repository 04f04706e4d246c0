// MysqlIncrementalSnapshot: incremental snapshots of a MySQL/MariaDB source — chosen tables
// re-read in key-ordered chunks while the binlog stream runs, each chunk made consistent with the
// stream without writing anything to the source (README.md of this connector, "Incremental
// snapshots", has the argument in full). Two methods (incremental.snapshot.consistency):
//
// exact (MariaDB; incremental_placement.h has the rule and its proof). A chunk is read on a
// connection of its own (never the binlog connection):
//   START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY
//   SHOW STATUS LIKE 'binlog_snapshot_%'          -> P, the binlog position of the snapshot
//   SELECT <columns>, <key> FROM t WHERE (<filter>) AND <key after the last key>
//     ORDER BY <key> LIMIT incremental.snapshot.chunk.size
//   COMMIT
// The chunk is the table's state at P. It is held while the stream goes on and handed over (op
// "r" rows, between two transactions) just before the first streamed transaction that starts at
// or after P, or at the end of a Poll that left the stream between transactions having read to P
// or beyond.
//
// window (MySQL 8, which has no binlog_snapshot_*; DBLog's de-duplication, incremental_window.h
// has the rule and its proof). The same SELECT, then a high mark H (the binlog end after
// it); the chunk is held, every row whose key a streamed
// transaction handed over since the read began (or just before it: StreamTouches) touched is
// dropped, and the rest is handed over at H by the rule above. While a table is read this way,
// every Poll's touched keys are recorded (AfterPoll); the first chunk after a request or a
// stream restart waits until they cover kTouchLookback and the open transaction from its start.
//
// The table's schema is loaded once and kept while SHOW CREATE TABLE, read in each chunk's
// transaction, shows the same definition (CurrentTable).
//
// The stream waits only while one chunk is read. The bookkeeping (queue, progress, persisted
// form, REST) is core::IncrementalSnapshots'; progress advances when the Poll that handed a
// chunk over succeeded and travels in the source position ("incremental"), so it is durable
// with the chunk.
//
// Thread-safety: the tracker is thread-safe (REST calls); Cancel() from any thread; everything
// else on the source thread.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "connectors/mysql/incremental_placement.h"
#include "connectors/mysql/incremental_window.h"
#include "connectors/mysql/mysql_connection.h"
#include "connectors/mysql/mysql_schema.h"
#include "connectors/mysql/stream_reader.h"
#include "core/incremental_snapshot.h"

namespace spdlog {
class logger;
}

namespace sluice::mysql {

// The config keys that decide which tables a mysql source captures (kept in the position).
const std::vector<std::string>& IncrementalFilterKeys();

class MysqlIncrementalSnapshot final : public TransactionObserver {
 public:
  // `filter` must outlive this object.
  MysqlIncrementalSnapshot(ConnectionParams params, const CaptureFilter* filter,
                           ZeroDateMode zero_dates, size_t chunk_rows,
                           SnapshotConsistency consistency,
                           std::shared_ptr<spdlog::logger> logger);
  ~MysqlIncrementalSnapshot() override;

  const std::shared_ptr<core::IncrementalSnapshots>& tracker() const { return tracker_; }

  // The "incremental" field of a streaming position (core::IncrementalPositionField).
  std::string PositionField(const core::ConnectorConfig& config) const;
  // The source (re)starts with a new stream: a held chunk is dropped (it is read again), and on
  // the first start in this process the progress stored in the position's field is restored.
  core::Status Restart(const std::string& field);
  // Resuming under `config`, whose table filter is wider than the one stored in `field`:
  // requests an incremental snapshot of each table it captures now and did not then.
  void RequestNewTables(const std::string& field, const core::ConnectorConfig& config);
  // True when a table is queued or a chunk is held.
  bool Busy() const { return held_.has_value() || tracker_->Active(); }
  bool holding() const { return held_.has_value(); }
  // Never: a MariaDB chunk is read only when none is held. A read ahead (the PostgreSQL source's)
  // would overlap nothing: a chunk waits ~0.1 ms for its place (README.md, "Speed").
  bool can_read_ahead() const { return false; }

  // Before a stream Poll: reads the next chunk when none is held and `may_read` (the pacer lets
  // it; blocks for one chunk). Then,
  // when the stream has already read every transaction the chunk's snapshot saw, hands it over
  // into `batch` (with the stream's committed position as checkpoint when the batch has none)
  // and returns true: the caller returns the batch without polling. kUnavailable when the
  // chunk connection broke; a table that cannot be read any more is marked FAILED instead.
  core::Result<bool> Prepare(StreamReader& stream, core::EventBatch& batch, bool may_read);
  core::Status BeforeTransaction(const BinlogLocation& start, bool may_emit,
                                 core::EventBatch& batch) override;
  // After a successful stream Poll: hands a held chunk over at the batch's end when the stream
  // is between transactions at or past P, then records what this Poll handed over. True when it
  // appended events.
  bool AfterPoll(StreamReader& stream, core::EventBatch& batch);
  // The stream Poll failed: its batch is dropped, so a chunk it carried is read again.
  void PollFailed();
  // Interrupts a chunk query; any thread.
  void Cancel();
  void Close();

 private:
  using Held = core::HeldChunk<BinlogPoint>;  // `at`: P
  // Reads the chunk after `task.last_key`; with the window method also its window (seeded with
  // the keys the stream touched just before), else `window` is left empty.
  core::Result<Held> ReadChunk(const core::IncrementalSnapshots::Task& task, StreamReader& stream,
                               std::optional<ChunkWindow>& window);
  // Whether this server's chunks are read with the window method (asked once per connection).
  core::Result<bool> DecideWindow(MysqlConnection& conn);
  // Opens the chunk connection when there is none; returns DecideWindow's answer for it.
  core::Result<bool> Connected();
  // From now on every Poll's touched keys are recorded from a transaction's start.
  void StartTracking();
  // Window method: the streamed changes of `batch` from scan_from_ on drop their keys from the
  // held chunk. False (chunk dropped, to be read again) when the key's shape changed.
  bool ApplyWindow(const core::EventBatch& batch);
  // Window method: records the keys this Poll's streamed changes touched (StreamTouches).
  void RecordTouches(StreamReader& stream, const core::EventBatch& batch);
  // The table as loaded by SchemaLoader, kept while SHOW CREATE TABLE (one round trip, read in
  // the chunk's transaction) shows the same definition: the loader's four information_schema
  // queries ran for every chunk. kFailedPrecondition when the table is gone.
  core::Result<const LoadedTable*> CurrentTable(MysqlConnection& conn, const core::TableId& id,
                                                const std::string& context);
  // The schema the chunk's rows are emitted with: the stream's when it has the shape just
  // loaded, else the loaded one under a fresh version.
  core::TableSchemaPtr EmittedSchema(const LoadedTable& loaded, StreamReader& stream);
  void HandOver(core::EventBatch& batch);
  // A held chunk is handed over at a Poll's end (see AfterPoll) or before polling (Prepare).
  bool HandOverIfCaughtUp(StreamReader& stream, core::EventBatch& batch);
  void Drop();
  // Checks a requested table (the tracker's checker), on a connection of its own.
  core::Result<core::IncrementalTableInfo> Check(const std::string& table, const std::string& filter);

  ConnectionParams params_;
  const CaptureFilter* filter_;
  ZeroDateMode zero_dates_;
  size_t chunk_rows_;
  SnapshotConsistency consistency_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<core::IncrementalSnapshots> tracker_;

  bool restored_ = false;
  std::unique_ptr<MysqlConnection> conn_;  // chunk reads (source thread)
  std::map<core::TableId, core::TableSchemaPtr> loaded_schemas_;  // by EmittedSchema
  struct CachedTable {
    core::TableId id;
    std::string definition;  // SHOW CREATE TABLE without AUTO_INCREMENT=N; empty: not reused
    LoadedTable loaded;
  };
  std::optional<CachedTable> table_cache_;  // the table last read (CurrentTable)
  ChunkPlacement placement_;
  std::optional<Held> held_;
  core::ChunkTimings timings_;  // of the running table, logged when it finishes
  // Window method (see incremental_window.h).
  std::optional<bool> window_mode_;     // per chunk connection; unset: not asked yet
  std::optional<ChunkWindow> window_;   // of the held chunk
  StreamTouches touches_;
  bool tracking_ = false;               // every Poll since the open transaction began was seen
  std::chrono::steady_clock::time_point tracking_since_{};
  std::optional<BinlogPoint> observed_to_;     // the stream's read_to() after the last AfterPoll
  std::optional<BinlogPoint> open_committed_;  // committed() at a Poll end inside a transaction
  BinlogPoint prepare_committed_;              // committed() when this Poll began
  size_t poll_from_ = 0;  // the batch's size when this Poll began
  size_t scan_from_ = 0;  // batch events up to here were applied to window_
  std::string scratch_;
  std::atomic<bool> stop_{false};
  std::mutex conn_mu_;  // guards conn_ against Cancel()
};

}  // namespace sluice::mysql
