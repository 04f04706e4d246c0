// ChangeWriter: change events (c, u, d, t) as prepared statements in libpq pipeline mode.
//
// Grouped (fast) mode: within one target transaction only the final state is visible, so events
// of different tables may be applied in any order; within a table the source order is kept. A
// run of upserts or of deletes coalesces consecutive rows of one key (the last full row wins)
// and goes out as multi-row statements; a row that needs its own statement — partial update,
// key change, keyless change, truncate — cuts the run. Precise mode: one statement per event in
// source order, so that a failure names its row.
//
// Owns the statement text cache (per table state, prepared once per session), the run being
// collected and the parameter buffers (no allocation per value once warm). PgApplier activates
// it (no COPY open; deferred keys built) before each call.
// Lifecycle: Write*() ... SessionLost() when the session is gone (prepared statements with it).
// Thread-safety: none; one thread at a time (the sink thread).
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "sinks/postgres/pg_session.h"
#include "sinks/postgres/table_catalog.h"

namespace sluice::sinks::pgsink {

// Gives the change writer the target table of an event's schema (created or evolved as
// needed, which ends the pipeline first). One call per table switch, not per value.
class TableResolver {
 public:
  virtual core::Result<const TableState*> Resolve(const core::TableSchemaPtr& schema,
                                                  const core::EventBatch& batch) = 0;

 protected:
  ~TableResolver() = default;
};

// How a change event joins a multi-row statement.
enum class RunKind : uint8_t {
  kNone,    // it needs a statement of its own
  kUpsert,  // INSERT … VALUES (…),(…) ON CONFLICT (key) DO UPDATE
  kDelete,  // DELETE … WHERE (key) IN (…)
  kAppend,  // INSERT of a keyless table
};
struct ChangeRoute {
  RunKind kind = RunKind::kNone;
  uint32_t row = core::kNoRow;  // the row the run takes (the after image; a delete's before)
};
// The grouping decision for `e` of `batch`: a run kind, or kNone (partial update, key change,
// keyless update/delete, truncate, snapshot row, an event without its row).
ChangeRoute RouteChange(const core::EventBatch& batch, const core::ChangeEvent& e);

// Rows of one table and kind collected for multi-row statements; one row per key (coalesced).
class ChangeRun {
 public:
  enum class Added : uint8_t {
    kAdded,
    kCoalesced,  // same key as a row already in the run: the later full row won (upsert)
    kCollision,  // another key with the same hash: flush the run, then add again
  };
  bool empty() const { return rows_.empty(); }
  size_t size() const { return rows_.size(); }
  bool Holds(const TableState* table, RunKind kind) const {
    return table_ == table && kind_ == kind;
  }
  const TableState* table() const { return table_; }
  RunKind kind() const { return kind_; }
  struct Row {
    uint32_t event;
    uint32_t row;
  };
  const std::vector<Row>& rows() const { return rows_; }

  // Empties the run and starts one for `table` and `kind`.
  void Start(const TableState* table, RunKind kind);
  void Clear() { Start(nullptr, RunKind::kNone); }
  Added Add(const core::EventBatch& batch, uint32_t event, uint32_t row);

 private:
  const TableState* table_ = nullptr;
  RunKind kind_ = RunKind::kNone;
  std::vector<Row> rows_;
  std::unordered_map<uint64_t, uint32_t> slots_;  // key hash -> index in rows_
};

// Rows per multi-row statement: the largest of {max_rows, 64, 16, 4, 1} that is at most
// `max_rows` and `remaining` (few statement shapes, each prepared once).
size_t StatementRows(size_t remaining, size_t max_rows);
// The most rows of `width` parameters one statement may carry.
size_t MaxRowsPerStatement(size_t width);

class ChangeWriter {
 public:
  explicit ChangeWriter(PgSession& session) : session_(session) {}

  // Change events [begin, end) grouped per table (fast mode).
  core::Status WriteGrouped(const core::EventBatch& batch, size_t begin, size_t end,
                            TableResolver& tables);
  // Change events [begin, end), one statement each in source order (precise mode).
  core::Status WriteEach(const core::EventBatch& batch, size_t begin, size_t end,
                         TableResolver& tables);
  // Snapshot rows [begin, end) of table `t` as upserts (rows with unchanged cells).
  core::Status UpsertRows(const core::EventBatch& batch, const TableState& t, size_t begin,
                          size_t end);
  void SessionLost();
  // The table state `table_id` was replaced (a new schema version): its statements go.
  void Forget(uint64_t table_id) { statements_.erase(table_id); }

 private:
  core::Status WriteOne(const core::EventBatch& batch, const TableState& t, uint32_t event);
  core::Status AddToRun(const core::EventBatch& batch, const TableState& t, RunKind kind,
                        uint32_t event, uint32_t row);
  core::Status FlushRun(const core::EventBatch& batch);

  core::Status SendUpsert(const core::EventBatch& batch, const TableState& t, uint32_t event,
                          uint32_t row);
  core::Status SendUpdate(const core::EventBatch& batch, const TableState& t, uint32_t event);
  core::Status SendDelete(const core::EventBatch& batch, const TableState& t, uint32_t event);
  // A keyless table's update or delete: one row equal to the before image.
  core::Status SendKeyless(const core::EventBatch& batch, const TableState& t, uint32_t event,
                           bool update);
  // Sends statement key_ of table `t` (prepared from make_sql() on first use) with the
  // parameters collected by AddParams().
  template <typename MakeSql>
  core::Status Send(const TableState& t, MakeSql make_sql, uint32_t event, bool many = false);

  // Parameters: NUL-terminated values in one buffer, pointers computed at send time.
  void ClearParams();
  core::Status AddParams(const core::EventBatch& batch, const TableState& t, uint32_t row,
                         const std::vector<uint32_t>& columns, uint32_t event);

  static constexpr uint32_t kNullParam = UINT32_MAX;

  PgSession& session_;
  // Prepared statement names by table state id, then by statement shape (key_).
  std::unordered_map<uint64_t, std::map<std::string, std::string>> statements_;
  ChangeRun run_;
  std::vector<std::pair<const core::TableSchema*, std::vector<uint32_t>>> groups_;

  // Reused scratch buffers.
  std::string param_buf_;
  std::vector<uint32_t> param_offsets_;  // kNullParam = NULL
  std::vector<const char*> param_values_;
  std::vector<uint32_t> columns_;
  std::vector<uint32_t> columns2_;
  std::string key_;
};

}  // namespace sluice::sinks::pgsink
