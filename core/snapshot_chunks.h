// What the parallel snapshot readers of both database sources (connectors/postgres and
// connectors/mysql snapshot_reader) count per table while their workers read chunks: the chunks
// of each table still to read and the rows read so far, and the worker loop that reports a table
// once its last chunk is read.
//
// Thread-safety: AddTable/Clear before the workers start; AddRows, rows() and ChunkDone from any
// worker.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/snapshot_batches.h"

namespace sluice::core {

class SnapshotTableCounts {
 public:
  void Clear() {
    chunks_left_.clear();
    rows_.clear();
  }
  // Counts the next table (tables are numbered in the order they are added), read in `chunks`.
  void AddTable(size_t chunks) {
    chunks_left_.push_back(std::make_unique<std::atomic<size_t>>(chunks));
    rows_.push_back(std::make_unique<std::atomic<uint64_t>>(0));
  }
  // `rows` more rows of `table` are read.
  void AddRows(size_t table, uint64_t rows) { rows_[table]->fetch_add(rows); }
  uint64_t rows(size_t table) const { return rows_[table]->load(); }
  // One chunk of `table` is read: true when it was the table's last.
  bool ChunkDone(size_t table) { return chunks_left_[table]->fetch_sub(1) == 1; }

 private:
  std::vector<std::unique_ptr<std::atomic<size_t>>> chunks_left_;  // per table
  std::vector<std::unique_ptr<std::atomic<uint64_t>>> rows_;       // per table
};

// One worker's loop (RunSnapshotWorker) over `chunks`, each naming its `table`: reads each with
// `read(chunk, batch)`, and calls `table_done(table)` once the last chunk of a table is read.
template <class Chunk, class Read, class TableDone>
void RunTableChunks(SnapshotBatches& batches, std::atomic<size_t>& next,
                    const std::vector<Chunk>& chunks, SnapshotTableCounts& counts,
                    const std::atomic<bool>& stop, Read read, TableDone table_done) {
  RunSnapshotWorker(
      batches, next, chunks.size(), stop,
      [&](size_t c, std::unique_ptr<EventBatch>& batch) { return read(chunks[c], batch); },
      [&](size_t c) {
        if (counts.ChunkDone(chunks[c].table)) table_done(chunks[c].table);
      });
}

}  // namespace sluice::core
