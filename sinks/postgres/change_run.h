// ChangeRun: the rows of one target table waiting to go out as one multi-row statement
// (upsert, delete by key, or keyless append), and the decision of which change joins which run.
//
// A run holds its rows' statement parameters already encoded as PostgreSQL input text, in its
// own buffer: it does not point into the event batch, so it stays open across the batches of
// one target transaction (the pipeline's batches are a source poll each, often a few dozen
// events; a run per batch made statements of a few rows, and a hot key — a pgbench branch —
// was written once per batch instead of once per transaction). One key appears once in a run:
// a later full row of the key replaces the earlier one's values in its place (the last full row
// wins; a second delete adds nothing), so the statement never touches a row twice.
//
// Thread-safety: none; the sink thread's ChangeWriter owns its runs.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "sinks/postgres/table_catalog.h"

namespace sluice::sinks::pgsink {

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
// The row holds an unchanged TOAST cell (a value the source did not send).
bool AnyUnchanged(const core::RowView& row);
// The grouping decision for `e` of `batch`: a run kind, or kNone (partial update, key change,
// keyless update/delete, truncate, snapshot row, an event without its row).
ChangeRoute RouteChange(const core::EventBatch& batch, const core::ChangeEvent& e);

// Statement parameters encoded as PostgreSQL input text: `text` holds the values, each
// NUL-terminated; `offsets` one entry per value, into `text`, kParamNull for NULL.
inline constexpr uint32_t kParamNull = UINT32_MAX;
// Appends `columns` of row `row` (of event `event` of `batch`) to `text` and `offsets`.
// kFailedPrecondition naming the event and column when a value cannot be written as
// PostgreSQL text (an array that is not JSON); what was appended for the row is then taken back.
core::Status AppendRowParams(const core::EventBatch& batch, uint32_t event, const TableState& t,
                             uint32_t row, const std::vector<uint32_t>& columns,
                             std::string& text, std::vector<uint32_t>& offsets);

// Rows per multi-row statement: the largest of {max_rows, 64, 16, 4, 1} that is at most
// `max_rows` and `remaining` (few statement shapes, each prepared once).
size_t StatementRows(size_t remaining, size_t max_rows);
// The most rows of `width` parameters one statement may carry.
size_t MaxRowsPerStatement(size_t width);

class ChangeRun {
 public:
  enum class Added : uint8_t {
    kAdded,
    kCoalesced,  // same key as a row already in the run: the later full row won (upsert)
    kCollision,  // another key with the same hash: send the run, then add again
  };
  // Where a row's values came from: the event, and the PgSession batch (Apply() call) it was
  // in. A failure can name the event only while that batch is the one being applied.
  struct Row {
    uint32_t event;
    uint64_t batch_seq;
  };

  bool empty() const { return rows_.empty(); }
  size_t size() const { return rows_.size(); }
  bool Holds(const TableState* table, RunKind kind) const {
    return table_ == table && kind_ == kind;
  }
  const TableState* table() const { return table_; }
  RunKind kind() const { return kind_; }
  const std::vector<Row>& rows() const { return rows_; }
  // Parameters per row: the key columns for a delete, every column of the table otherwise.
  const std::vector<uint32_t>& columns() const { return columns_; }
  // Rows that fill one statement (MaxRowsPerStatement of the run's width): the run is sent then.
  size_t full_rows() const { return full_rows_; }

  // Empties the run and starts one for `table` and `kind`; `table` must outlive the run.
  void Start(const TableState* table, RunKind kind);
  void Clear() { Start(nullptr, RunKind::kNone); }
  // Encodes row `row` of event `event` of `batch` and adds it. kFailedPrecondition naming the
  // event when a value cannot be written as PostgreSQL text (an array that is not JSON).
  core::Result<Added> Add(const core::EventBatch& batch, uint32_t event, uint32_t row,
                          uint64_t batch_seq);
  // Appends the parameter values of rows [begin, end) to `values` (nullptr for NULL); the
  // pointers stay valid until the run changes.
  void Params(size_t begin, size_t end, std::vector<const char*>& values) const;

 private:
  uint64_t KeyHash(size_t first) const;
  bool SameKey(size_t a, size_t b) const;  // rows' first parameter indexes

  const TableState* table_ = nullptr;
  RunKind kind_ = RunKind::kNone;
  std::vector<uint32_t> columns_;
  std::vector<uint32_t> key_positions_;  // the key's places in columns_ (none: append)
  size_t full_rows_ = 1;
  std::string text_;               // encoded values, each NUL-terminated
  std::vector<uint32_t> offsets_;  // columns_.size() per row, into text_ (AppendRowParams)
  std::vector<Row> rows_;
  std::unordered_map<uint64_t, uint32_t> slots_;  // key hash -> index in rows_
};

}  // namespace sluice::sinks::pgsink
