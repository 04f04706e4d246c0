// SnapshotReader: reads every captured table inside one consistent snapshot and knows the binlog
// position that snapshot corresponds to, so that streaming can start exactly there.
//
// One connection (snapshot.max.threads=1, or when the global read lock is not granted):
// MariaDB: START TRANSACTION WITH CONSISTENT SNAPSHOT, then SHOW STATUS LIKE
// 'binlog_snapshot_%' gives the snapshot's binlog file/position with no lock at all. MySQL (no
// such status): a short FLUSH TABLES WITH READ LOCK around START TRANSACTION and SHOW MASTER
// STATUS, released at once.
//
// Several connections (snapshot.max.threads > 1): MariaDB and MySQL connections cannot share one
// snapshot, so the reader makes their snapshots equal instead. It holds FLUSH TABLES WITH READ
// LOCK (RELOAD privilege; lock_wait_timeout 10 s) on the control connection while every worker
// runs START TRANSACTION WITH CONSISTENT SNAPSHOT and the binlog position is read, then unlocks.
// While the lock is held no transaction can commit, so every worker's snapshot contains exactly
// the transactions committed before that position and none after it: the union of what the
// workers read is one consistent image at the position, and streaming from there has no gap and
// no duplicate. The lock is held for milliseconds (no data is read under it). When it cannot be
// taken the reader logs why and uses one connection.
//
// Work is split into chunks: a table with a single-column integer primary key and more than
// `chunk_rows` estimated rows is read as primary-key ranges [lo, hi) planned from MIN/MAX in
// the snapshot; other tables are one chunk each. Workers take chunks in order. Rows are streamed
// (mysql_use_result, never buffered whole) in the text protocol, whose text is already the
// canonical form for most types (fix-ups: TIMESTAMP gets "+00", zero dates are refused or NULL, YEAR
// loses leading zeros, BIT(1) becomes t/f). The connection's character set is utf8mb4, so the
// server converts latin1 (every byte maps) and the utf8 sets need nothing; text columns in any
// other set (cp1251, gbk, utf16, …, ENUM/SET included) are selected as CAST(c AS BINARY) and
// converted here with the binlog decoder's converters, because the server would replace bytes
// invalid in the set by '?' without a word: such a value is an error naming the table, the
// column and the row's key, exactly as the stream reports it.
//
// A restarted snapshot (the process died during a previous one) cannot continue the old
// snapshot, so it re-reads every table from scratch in a new one, after a truncate event for
// each table in the first batch: the target then converges to the new snapshot (rows deleted
// since the first attempt do not survive).
//
// Lifecycle: Open() then Next() until it returns true; Cancel() from any thread.
// Thread-safety: Open/Next from the source thread; the workers are internal.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "connectors/mysql/mysql_connection.h"
#include "connectors/mysql/mysql_position.h"
#include "connectors/mysql/mysql_schema.h"
#include "connectors/mysql/snapshot_rows.h"
#include "core/user_regex.h"
#include "core/progress.h"
#include "core/snapshot_batches.h"
#include "core/snapshot_chunks.h"
#include "core/snapshot_overrides.h"
#include "core/source.h"

namespace sluice::mysql {

struct SnapshotOptions {
  int threads = 1;               // snapshot.max.threads
  uint64_t chunk_rows = 200000;  // snapshot.chunk.rows: rows per primary-key range
  size_t batch_events = 4096;
  size_t batch_bytes = 8 << 20;
  ZeroDateMode zero_dates = ZeroDateMode::kFail;  // zero.date.handling.mode
  core::SelectOverrides select_overrides;  // snapshot.select.statement.overrides
  // snapshot.include.collection.list: the captured tables ("database.table") the initial
  // snapshot reads; the others are only streamed. Empty: every captured table.
  std::vector<core::UserRegex> include_tables;
  // include.schema.changes: Debezium's snapshot DDL records (snapshot_schema_changes.h) in the
  // first batch, before any truncate or row.
  bool include_schema_changes = false;
  bool include_schema_comments = false;  // include.schema.comments: comments in tableChanges
};

// The binlog file/position of a SHOW MASTER STATUS result; kFailedPrecondition when binary
// logging is off (no row).
core::Result<BinlogPosition> PositionFromMasterStatus(const std::vector<ResultRow>& master);

class SnapshotReader {
 public:
  SnapshotReader(ConnectionParams params, const CaptureFilter* filter, SnapshotOptions options,
                 std::shared_ptr<spdlog::logger> logger, core::ProgressTracker* progress);
  ~SnapshotReader();

  // Connects, starts the consistent snapshot(s), records the binlog position, lists and loads
  // the tables, plans the chunks and starts the workers. `restarted`: emit a truncate event for
  // each table first.
  core::Status Open(bool restarted);
  const BinlogPosition& position() const { return position_; }

  // Swaps the next batch of snapshot reads into `batch`, checkpointed with position() marked
  // "snapshot running"; true once every table has been read (the source's phases then checkpoint
  // position() itself, source_phases.h). Waits at most limits.max_wait.
  core::Result<bool> Next(core::EventBatch& batch, const core::PollLimits& limits);

  void Cancel();

 private:
  struct Chunk {
    size_t table;
    std::string where;  // empty: the whole table
  };
  core::Status StartSnapshots(int workers);
  core::Status StartOneSnapshot(MysqlConnection& conn);
  // The binlog file/position of a SHOW MASTER STATUS result; an error when binlogging is off.
  core::Status SetPositionFromMasterStatus(const std::vector<ResultRow>& master);
  core::Status EstimateTables();
  core::Status PlanChunks();
  void Worker(size_t index);
  core::Status ReadChunk(MysqlConnection& conn, const Chunk& chunk,
                         std::unique_ptr<core::EventBatch>& batch, uint32_t& txn);
  core::TxnInfo SnapshotTxn() const;

  ConnectionParams params_;
  const CaptureFilter* filter_;
  SnapshotOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  core::ProgressTracker* progress_;
  MysqlConnection control_;  // table list, schemas, the global read lock
  std::vector<std::unique_ptr<MysqlConnection>> conns_;  // one per worker, each in its snapshot
  BinlogPosition position_;
  bool restarted_ = false;
  int64_t started_ms_ = 0;
  std::vector<core::SchemaChange> schema_changes_;  // include_schema_changes: sent by Next()
  std::vector<core::TableId> tables_;
  // Every table's schema, loaded at Open so that the first batch announces them all (empty
  // tables too) before any row.
  std::vector<LoadedTable> loaded_;
  std::vector<SnapshotRowCodec> codecs_;  // per table, into loaded_
  std::vector<int64_t> estimated_rows_;  // per table; -1 when it cannot be chunked
  std::vector<Chunk> chunks_;
  std::atomic<size_t> next_chunk_{0};
  core::SnapshotTableCounts counts_;  // chunks left and rows read, per table
  std::atomic<uint64_t> zero_dates_{0};
  std::vector<std::thread> workers_;

  std::unique_ptr<core::SnapshotBatches> batches_;  // created by Open()
  bool announced_ = false;
  std::atomic<bool> stop_{false};
};

}  // namespace sluice::mysql
