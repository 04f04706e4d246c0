// SnapshotReader: reads every captured table inside the replication slot's exported snapshot,
// in parallel, with COPY … TO STDOUT, decoding rows straight into EventBatches. Binary format
// where every column of the table has a binary decoder (pg_binary.h), text format otherwise.
//
// Work is split into chunks: with more than one thread, a table larger than `chunk_pages` blocks
// is read as ctid ranges (TID range scans, PostgreSQL 14+), so several threads share one large
// table; smaller tables are one chunk each, and so is every table when one thread reads (a
// plain COPY TO is cheaper for the server). `threads` worker connections each import the snapshot
// (SET TRANSACTION SNAPSHOT) in Open(), while the exporting replication connection stays idle,
// so every chunk sees exactly the state at the slot's consistent point: streaming from that
// point afterwards has no gap and no duplicate.
//
// Restarted snapshots (`emit_truncates`): the first batch truncates every captured table, so
// rows deleted at the source between two attempts cannot survive in the target (see README).
//
// Lifecycle: Open() -> Next()* until it returns true -> destroy. Cancel() from any thread.
// Thread-safety: Next() from one thread; workers are internal.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "connectors/postgres/pg_connection.h"
#include "connectors/postgres/pg_schema.h"
#include "core/user_regex.h"
#include "core/event.h"
#include "core/snapshot_overrides.h"
#include "core/metrics.h"
#include "core/progress.h"
#include "core/snapshot_batches.h"
#include "core/snapshot_chunks.h"
#include "core/source.h"

namespace spdlog {
class logger;
}

namespace sluice::pg {

struct SnapshotOptions {
  int threads = 2;
  uint64_t chunk_pages = 16384;  // 128 MiB of heap per chunk
  size_t batch_events = 4096;
  size_t batch_bytes = 8 << 20;
  bool emit_truncates = false;
  bool binary = true;  // COPY (FORMAT binary) for tables whose columns all decode in binary
  core::SelectOverrides select_overrides;  // snapshot.select.statement.overrides
  // snapshot.include.collection.list: the captured tables ("schema.table") the initial snapshot
  // reads; the others are only streamed. Empty: every captured table.
  std::vector<core::UserRegex> include_tables;
};

// Whether a table of `pages` heap pages is read as ctid-range chunks rather than whole
// (`overridden`: it has a snapshot.select.statement.overrides query, always read whole).
bool ReadInChunks(const SnapshotOptions& options, uint64_t pages, bool overridden);

struct SnapshotTable {
  TableEntry entry;
  RelationInfo relation;
};

class SnapshotReader {
 public:
  SnapshotReader(ConnectionParams params, std::vector<SnapshotTable> tables,
                 std::string snapshot_name, uint64_t consistent_lsn, std::string slot,
                 SnapshotOptions options, std::shared_ptr<spdlog::logger> logger,
                 core::ProgressTracker* progress, core::MetricsRegistry* metrics,
                 std::string connector);
  ~SnapshotReader();

  // Connects the workers and imports the snapshot; must run before the exporting connection
  // runs another command. Starts the workers. `first`, when given, is a connection already in
  // a REPEATABLE READ transaction that imported this snapshot (the catalog's): the first worker
  // reads on it instead of a new connection (one backend start less before the first row).
  core::Status Open(std::unique_ptr<PgConnection> first = nullptr);
  // Swaps the next batch of rows into `batch` (with a snapshot checkpoint); true when every
  // table is done and nothing is left. Waits at most limits.max_wait.
  core::Result<bool> Next(core::EventBatch& batch, const core::PollLimits& limits);
  void Cancel();

 private:
  struct Chunk {
    size_t table;
    uint64_t from_page;
    uint64_t to_page;  // 0 = to the end
    bool whole;
  };
  // conns_ = `first` (if any) + new connections, each in its own thread, up to `threads`;
  // every one has imported the snapshot when it returns.
  core::Status ConnectWorkers(int threads, std::unique_ptr<PgConnection> first);
  void Worker(size_t index);
  core::Status ReadChunk(PgConnection& conn, const Chunk& chunk,
                         std::unique_ptr<core::EventBatch>& batch,
                         uint32_t& txn);
  void TableRowsDone(size_t table, uint64_t rows, uint64_t bytes);

  ConnectionParams params_;
  std::vector<SnapshotTable> tables_;
  std::string snapshot_name_;
  uint64_t lsn_;
  std::string slot_;
  SnapshotOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  core::ProgressTracker* progress_;
  core::MetricsRegistry* metrics_;
  std::string connector_;
  int64_t started_ms_ = 0;
  static constexpr int64_t kProgressLogMs = 10000;
  std::atomic<int64_t> last_progress_log_ms_{0};  // the first line 10 s after the start

  std::vector<Chunk> chunks_;
  std::vector<uint8_t> binary_;  // per table: read with COPY (FORMAT binary)
  std::atomic<size_t> next_chunk_{0};
  core::SnapshotTableCounts counts_;  // chunks left and rows read, per table
  std::vector<std::unique_ptr<PgConnection>> conns_;
  std::vector<std::thread> workers_;

  std::unique_ptr<core::SnapshotBatches> batches_;  // created by Open()
  bool truncates_sent_ = false;
  bool announced_ = false;  // the tables were announced to the sink (first Next)
  std::atomic<bool> stop_{false};
};

}  // namespace sluice::pg
