// Verification: proves that a target holds what the source holds, table by table, or names
// every row that differs (missing, extra, different, with the differing columns).
//
// Both sides are read through the event model (canonical text, event.h) behind VerifySide, one
// implementation per engine (connectors/postgres/verify_side.h, connectors/mysql/verify_side.h).
// The algorithm is engine-neutral:
//   1. A table with a single integer key is split into key ranges of about `chunk_rows` rows
//      (the chunking of the MySQL snapshot reader: [lo, hi] from MIN/MAX); any other table is
//      one range.
//   2. mode kCount: row counts per table only.
//      mode kChecksum, both sides the same engine: each range's digest is computed in the
//      database (only the count and a hash cross the network); a range whose digests differ is
//      bisected until it holds at most `leaf_rows` rows, then its rows are read from both sides
//      and compared value by value. A digest is only a filter: a difference is reported only
//      after the rows were compared, so a digest that differs for a lossless type mapping costs
//      time, never a false report.
//      mode kChecksum across engines, and mode kRows: each range's rows are read from both sides
//      and compared value by value (CompareCells, verify_values.h): an exact comparison, no hash.
//   3. Rows are matched by key (AppendKeyForm), so the two engines' sort orders do not matter.
//   5. Repair (optional): the differing rows of a range are written through a VerifyRepairer
//      (the connector's sink), then the range is compared again.
//   4. Recheck (verify while replication runs): every range with differences is read again
//      after `recheck_delay_ms`, up to `rechecks` times; only differences present in every
//      reading are reported, so a row that was merely in flight is not.
//
// Thread-safety: VerifyTable runs on the caller's thread; it queries the source side on a helper
// thread while the target side is queried on the caller's, so each side is used by one thread at
// a time, not always the same one. Both sides' queries of a range run at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/status.h"

namespace sluice::core {

// An inclusive range of a single integer key; `whole` = every row of the table.
struct KeyRange {
  bool whole = true;
  int64_t lo = 0;
  int64_t hi = 0;
};

struct RangeDigest {
  uint64_t rows = 0;
  std::string hash;
  friend bool operator==(const RangeDigest&, const RangeDigest&) = default;
};

// One side of a comparison: a database read through the event model. Implementations keep the
// described tables; a table is always Described before it is read.
class VerifySide {
 public:
  virtual ~VerifySide() = default;
  // "postgres" or "mysql": digests are compared only between sides of the same engine.
  virtual std::string engine() const = 0;
  // The table's schema as this side stores it (canonical logical types, key = primary key).
  // kNotFound when the table does not exist.
  virtual Result<TableSchemaPtr> Describe(const TableId& table) = 0;
  // MIN and MAX of the integer column `key`; nullopt for an empty table.
  virtual Result<std::optional<std::pair<int64_t, int64_t>>> KeyBounds(const TableId& table,
                                                                       uint32_t key) = 0;
  virtual Result<uint64_t> CountRows(const TableId& table, uint32_t key, const KeyRange& range) = 0;
  // Count and hash of the rows in `range` over `columns` (indexes into Describe's schema),
  // computed by the database; order-independent. nullopt when the engine has none.
  virtual Result<std::optional<RangeDigest>> Digest(const TableId& table,
                                                    const std::vector<uint32_t>& columns,
                                                    uint32_t key, const KeyRange& range) = 0;
  // Appends every row in `range` to `out` (kRead events of a schema holding `columns`, in that
  // order) in canonical text. Rows of one range fit in memory (chunk_rows).
  virtual Status ReadRows(const TableId& table, const std::vector<uint32_t>& columns,
                          uint32_t key, const KeyRange& range, EventBatch& out) = 0;
};

// Applies repairs: change events of the source table's schema that make the target rows equal
// the source again (kCreate = upsert of the source row for a missing or different row, kDelete
// of the target's row for an extra one), durable when Apply returns Ok. Implemented in api/ over
// the connector's own sink, so the sink's naming and type mapping apply.
class VerifyRepairer {
 public:
  virtual ~VerifyRepairer() = default;
  virtual Status Apply(const EventBatch& batch) = 0;
};

enum class VerifyMode { kCount, kChecksum, kRows };
std::string_view VerifyModeName(VerifyMode mode);
Result<VerifyMode> ParseVerifyMode(std::string_view text);

enum class DiffKind { kMissing, kExtra, kDifferent, kDocumented };
std::string_view DiffKindName(DiffKind kind);

struct RowDiff {
  DiffKind kind = DiffKind::kDifferent;
  std::string key;                   // "id=5" (values truncated)
  std::vector<std::string> columns;  // kDifferent / kDocumented: the columns that differ
  std::string detail;                // per column: source and target value, truncated
};

struct TableReport {
  TableId source;
  TableId target;
  uint64_t source_rows = 0;
  uint64_t target_rows = 0;
  uint64_t rows_compared = 0;       // rows read and compared value by value
  uint64_t ranges = 0;
  uint64_t ranges_differing = 0;
  uint64_t differences = 0;         // missing + extra + different (documented not included)
  uint64_t documented = 0;
  uint64_t repaired = 0;            // rows written by the repairer and verified equal after
  std::vector<RowDiff> diffs;       // the first `max_reported` of every kind
  std::vector<RowDiff> repairs;     // the first `max_reported` rows the repairer wrote
  std::vector<std::string> problems;  // table-level differences (schema, counts)
  bool equal() const { return differences == 0 && problems.empty(); }
};

struct VerifyOptions {
  VerifyMode mode = VerifyMode::kChecksum;
  uint64_t chunk_rows = 10000;
  uint64_t leaf_rows = 1000;
  size_t max_reported = 100;
  size_t max_value_chars = 40;
  int rechecks = 0;
  int recheck_delay_ms = 1000;
  const std::atomic<bool>* cancel = nullptr;
  // When set, every range with missing, extra or different rows is repaired, then compared
  // again: only what still differs is reported.
  VerifyRepairer* repairer = nullptr;
  // Called after each range with the rows covered so far (may be null).
  std::function<void(uint64_t rows_done, uint64_t rows_total)> progress;
};

// Compares `source_table` at `source` with `target_table` at `target`. Errors: a side's error
// (with the table's name), kCancelled when *cancel became true.
Result<TableReport> VerifyTable(VerifySide& source, VerifySide& target,
                                const TableId& source_table, const TableId& target_table,
                                const VerifyOptions& options);

}  // namespace sluice::core
