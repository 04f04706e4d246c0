// ChangeWriter: applies the events of one batch to the MySQL target inside the sink's open
// transaction. Events are grouped table by table, in order within each table: runs of
// inserts/updates of a table become one multi-row INSERT ... ON DUPLICATE KEY UPDATE, runs of
// snapshot rows one LOAD DATA LOCAL INFILE from memory (below), runs of deletes one DELETE (IN (...) for a one-column key); an update with unchanged
// (TOAST) cells or of a keyless table becomes a precise UPDATE, a keyless delete a DELETE ...
// LIMIT 1, a truncate a DELETE (TRUNCATE would commit). Statements stay under
// sink.mysql.statement.bytes and the server's max_allowed_packet. A value the target rejects is
// kFailedPrecondition naming the table, the key and the reason.
//
// LOAD DATA for snapshot rows (about 1.4x faster on the server than the same rows as INSERT):
// only when the runner supports it and the plan has a load_statement. A run of one table's
// snapshot rows stays open across batches (up to kMaxLoadBytes) until Finish(), before the
// commit, or before a statement of another kind. It is streamed: the statement starts with its
// first piece of rows (after a SAVEPOINT) and the server loads each piece, every
// kLoadPieceBytes and at the end of every batch, while the sink renders the next ones
// (StreamingLoad). LOAD DATA LOCAL turns what INSERT refuses (a duplicate key, a value out of
// range) into warnings and skips or clips the row, so any warning rolls the load back to its
// savepoint and writes the same rows, read back from the load's pieces, as INSERT ... ON
// DUPLICATE KEY UPDATE (which upserts, or fails naming the row); that table then stays on
// INSERT for the rest of the run (a target already holding the rows would pay the load twice).
//
// Lifecycle: owned by MysqlSink; SetLimits() once connected, Apply() per batch, Discard() on
// Reset(). It owns the statement being built; the catalog owns the tables, the sink the
// transaction. It sees both only through narrow seams (StatementRunner, PlanSource), which unit
// tests replace with fakes. Thread-safety: one thread at a time (the sink thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "sinks/mysql/mysql_client.h"
#include "sinks/mysql/mysql_sql.h"
#include "sinks/mysql/table_catalog.h"

namespace sluice::sinks::mysql_sink {

class ChangeWriter {
 public:
  // `runner` (the sink's connection) and `plans` (its table catalog) outlive the writer.
  ChangeWriter(StatementRunner& runner, PlanSource& plans);
  ~ChangeWriter();  // aborts a load still open (its thread reads this writer's pieces)
  ChangeWriter(const ChangeWriter&) = delete;
  ChangeWriter& operator=(const ChangeWriter&) = delete;

  // The largest multi-row statement to build and the server's max_allowed_packet.
  void SetLimits(size_t max_statement_bytes, size_t max_packet_bytes) {
    max_statement_bytes_ = max_statement_bytes;
    max_packet_bytes_ = max_packet_bytes;
  }

  // Creates or updates the batch's announced tables, then applies its events. On an error the
  // statement in progress is dropped; the caller rolls back (the pipeline resets the sink).
  core::Status Apply(const core::EventBatch& batch);
  // Runs the load still open (Apply leaves snapshot rows pending across batches); call before
  // the commit.
  core::Status Finish();
  // Drops the statement in progress (after a reset).
  void Discard();

 private:
  enum class Pending { kNone, kUpsert, kDelete, kLoad };

  core::Status ApplyEvent(const core::EventBatch& batch, const core::ChangeEvent& event);
  core::Status AddUpsert(const core::EventBatch& batch, const TablePlan& plan, uint32_t row);
  // Whether snapshot rows of `plan`'s table go in as LOAD DATA.
  bool Loads(const TablePlan& plan) const;
  core::Status AddLoad(const core::EventBatch& batch, const TablePlan& plan, uint32_t row);
  // Hands the rows rendered into sql_ to the load (starting it at its first piece).
  core::Status HandOverLoadPiece();
  core::Status ExecuteLoad(const TablePlan& plan);
  core::Status AddDelete(const core::EventBatch& batch, const TablePlan& plan, uint32_t row);
  core::Status RunUpdate(const core::EventBatch& batch, const TablePlan& plan, uint32_t row,
                         uint32_t key_row, bool set_key);
  core::Status ExecutePending(const core::EventBatch& batch);
  core::Status ExecuteStatement(const std::string& sql, const core::EventBatch& batch,
                                const TablePlan& plan, const std::vector<uint32_t>& rows);
  core::Status ValueFailure(const TablePlan& plan, const core::RowView& row, ValueError error);

  StatementRunner& runner_;
  PlanSource& plans_;
  StringEscaper escaper_{nullptr};  // the runner's, taken once per Apply()
  size_t max_statement_bytes_ = 4u << 20;
  size_t max_packet_bytes_ = 16u << 20;  // the server's max_allowed_packet

  // The statement being built (always for the batch in Apply()).
  Pending pending_ = Pending::kNone;
  const TablePlan* pending_plan_ = nullptr;
  std::string sql_;
  std::vector<uint32_t> sql_rows_;
  std::string scratch_;
  // Tables (qualified) whose load came back with warnings: INSERT from then on.
  std::set<std::string> no_load_;
  // The load in progress: its pieces, handed to the server as they fill and kept until it
  // ends (to write them again as INSERTs after warnings). A deque: a piece never moves.
  std::deque<std::string> load_pieces_;
  size_t load_bytes_ = 0;      // in load_pieces_
  bool load_started_ = false;  // SAVEPOINT taken and the statement running on the runner
  // The largest load (its rows are held until it ends), and the piece handed over at a time.
  static constexpr size_t kMaxLoadBytes = 64u << 20;
  static constexpr size_t kLoadPieceBytes = 256u << 10;
  bool load_refused_ = false;  // the server does not allow LOAD DATA LOCAL
  // Grouping of a batch's events by table (reused between batches).
  std::vector<const core::TableSchema*> group_tables_;
  std::vector<uint32_t> event_group_;
  std::vector<uint32_t> group_start_;
  std::vector<uint32_t> order_;
};

}  // namespace sluice::sinks::mysql_sink
