// PgIncrementalSnapshot: incremental snapshots of the PostgreSQL source — chosen tables re-read
// in key-ordered chunks while the stream runs, each chunk placed at the one point of the stream
// where it is consistent, without writing anything to the source (README.md, "Incremental
// snapshots", has the argument in full).
//
// A chunk is read on a connection of its own (never the replication connection) in a REPEATABLE
// READ READ ONLY transaction that first takes pg_current_snapshot() and pg_current_wal_lsn():
//   SELECT <columns>, <key>::text FROM t WHERE (<filter>) AND (<key>) > (<last key>)
//   ORDER BY <key> LIMIT incremental.snapshot.chunk.size
// The chunk is the table's state after exactly the transactions its snapshot sees. It is then
// held, while the stream goes on, and handed over (op "r" rows, between two transactions):
//   - just before the first streamed transaction the snapshot does not see (TransactionObserver:
//     every transaction before it in the stream was visible, so the chunk holds their effects,
//     and every later change to its rows is newer than the chunk and follows it), or
//   - when the stream is between transactions and the server's WAL end (keepalive) has passed
//     the LSN read with the snapshot: every transaction the snapshot saw has been streamed.
// A chunk read while a transaction the snapshot does not see had already been handed over
// (commit order and visibility order can differ by a hair in PostgreSQL) is thrown away and
// read again. The stream waits only while one chunk is read.
//
// Read ahead: while a chunk waits for its place, the next chunk of the same table is read (up to
// kMaxHeldChunks held), so that reading overlaps the wait. Each held chunk is placed by its own
// snapshot; a later snapshot sees every transaction an earlier one saw, so they are handed over
// in the order they were read, and the tracker records them in that order. A held chunk that is
// dropped (a failed Poll, a replay being skipped) drops every chunk read after it, whose keys
// continue from its own.
//
// Progress (core::IncrementalSnapshots) advances when the Poll that handed a chunk over
// succeeded, and is stored in the source position, so that it is durable with the chunk.
//
// Thread-safety: the tracker is thread-safe (REST calls); Cancel() from any thread; everything
// else on the source thread.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "connectors/postgres/incremental_xid.h"
#include "connectors/postgres/pg_connection.h"
#include "connectors/postgres/pg_schema.h"
#include "connectors/postgres/stream_reader.h"
#include "core/incremental_snapshot.h"
#include "core/table_filter.h"

namespace spdlog {
class logger;
}

namespace sluice::pg {

class PgIncrementalSnapshot final : public TransactionObserver {
 public:
  // `filter` and `schemas` must outlive this object.
  PgIncrementalSnapshot(ConnectionParams params, const core::TableFilter* filter,
                        SchemaCache* schemas, size_t chunk_rows,
                        std::shared_ptr<spdlog::logger> logger);
  ~PgIncrementalSnapshot() override;

  const std::shared_ptr<core::IncrementalSnapshots>& tracker() const { return tracker_; }
  // The publication the stream reads (checked for requested tables). Any thread.
  void SetPublication(const std::string& publication);

  // The "incremental" field of a streaming position: the progress of queued and running tables,
  // and the table filter (`config`'s table/schema include and exclude lists) it was taken
  // under, so that a start under a wider filter knows which tables are new.
  std::string PositionField(const core::ConnectorConfig& config) const;
  // The source (re)starts: a held chunk is dropped (it is read again), and on the first start
  // in this process the progress stored in the resume position's field (may be empty) is
  // restored.
  core::Status Restart(const std::string& field);
  // Resuming a stream under `config` whose table filter is wider than the one stored in `field`:
  // requests an incremental snapshot of each table it captures now and did not then. A table
  // that cannot be snapshotted (no key) is logged and only streamed. Connects with `conn`.
  void RequestNewTables(PgConnection& conn, const std::string& field,
                        const core::ConnectorConfig& config);
  // Chunks held at most: one placed, the next read ahead.
  static constexpr size_t kMaxHeldChunks = 2;

  // True when a table is queued or a chunk is held.
  bool Busy() const { return !held_.empty() || tracker_->Active(); }
  bool holding() const { return !held_.empty(); }
  // True when a chunk is held and the next one may be read ahead (room for it, same table).
  bool can_read_ahead() const {
    return !held_.empty() && held_.size() < kMaxHeldChunks && !held_.back().last;
  }

  // Before a stream Poll: when `may_read`, reads the next chunk (blocks for one chunk): the first
  // of the next table when none is held, else the one after the last held chunk (read ahead),
  // up to kMaxHeldChunks. Then asks the server for a keepalive while a chunk waits, so that an
  // idle stream learns its WAL end soon. kUnavailable when the connection broke (the source
  // restarts); a table that cannot be read any more (dropped, filter no longer valid) is marked
  // FAILED instead of failing the connector.
  core::Status Prepare(StreamReader& stream, bool may_read);
  // Prepare as core::PollWithIncremental calls it: never hands a chunk over before polling (a
  // chunk waits for the keepalive it asked for), so always false.
  core::Result<bool> Prepare(StreamReader& stream, core::EventBatch& /*batch*/, bool may_read) {
    SLUICE_RETURN_IF_ERROR(Prepare(stream, may_read));
    return false;
  }
  core::Status BeforeTransaction(uint32_t xid, bool may_emit, core::EventBatch& batch) override;
  // After a successful stream Poll: hands a held chunk over at the batch's end when the stream
  // has passed every transaction the chunk's snapshot saw (see above), then records what this
  // Poll handed over. True when it appended events.
  bool AfterPoll(StreamReader& stream, core::EventBatch& batch);
  // The stream Poll failed: its batch is dropped, so a chunk it carried is read again.
  void PollFailed();
  // Interrupts a chunk query; any thread.
  void Cancel();
  void Close();

 private:
  // Where a chunk belongs: its snapshot, and the WAL LSN read just after taking it.
  struct Point {
    PgSnapshotXids xids;
    uint64_t wal_lsn = 0;
  };
  using Held = core::HeldChunk<Point>;
  // Reads the chunk after `task.last_key` (nullopt: it must be read again, see above).
  // The relation of the table last read, kept while its catalog fingerprint stays the same.
  struct CachedRelation {
    std::string table;
    std::string fingerprint;
    RelationInfo rel;
  };
  core::Result<std::optional<Held>> ReadChunk(const core::IncrementalSnapshots::Task& task);
  core::Status ReadRows(const std::string& sql, Held& held, const std::vector<ColumnCodec>& codecs);
  // The task to read next: the oldest queued table's (nullopt: none), or the read ahead after
  // the last held chunk (nullopt: it was its table's last).
  std::optional<core::IncrementalSnapshots::Task> NextTask();
  void HandOver(Held& held, core::EventBatch& batch);
  // Drops the held chunks from the first one not handed over on (they are read again).
  void DropUnplaced();
  // Checks a requested table (the tracker's checker), on a connection of its own.
  core::Result<core::IncrementalTableInfo> Check(const std::string& table, const std::string& filter);

  ConnectionParams params_;
  const core::TableFilter* filter_;
  SchemaCache* schemas_;
  size_t chunk_rows_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<core::IncrementalSnapshots> tracker_;

  std::mutex publication_mu_;
  std::string publication_;

  bool restored_ = false;
  std::unique_ptr<PgConnection> conn_;  // chunk reads (source thread)
  std::unique_ptr<TypeResolver> types_;
  std::optional<CachedRelation> relation_;
  std::deque<Held> held_;  // in the order read; handed over in that order
  core::ChunkTimings timings_;         // of the running table, logged when it finishes
  std::deque<uint32_t> handed_xids_;  // the newest transactions the stream handed over
  std::string scratch_;
  std::atomic<bool> stop_{false};
  std::mutex conn_mu_;  // guards conn_ against Cancel()
};

}  // namespace sluice::pg
