// SnapshotRowCodec: how a snapshot reads one table's rows through the text protocol into the
// canonical text of core::EventBatch values — the select list and the per-column fix-ups the
// text protocol needs (SnapshotReader's class comment has them: TIMESTAMP gets "+00", zero
// dates are refused or NULL, YEAR loses leading zeros, BIT(1) becomes t/f, FLOAT is read as a
// DOUBLE and shortened back, text in a non-UTF-8 set is read as bytes and converted here).
// Shared by the initial snapshot and incremental-snapshot chunks, so both give the same text
// for the same value as the stream does.
//
// Thread-safety: immutable after construction; any number of threads may read with one codec
// (each passes its own scratch buffer).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "connectors/mysql/mysql_schema.h"
#include "connectors/mysql/mysql_types.h"
#include "core/event.h"
#include "core/status.h"

namespace sluice::mysql {

class SnapshotRowCodec {
 public:
  // `table` must outlive the codec.
  SnapshotRowCodec(const LoadedTable* table, ZeroDateMode zero_dates);

  // The emitted columns as SELECT expressions ("`a`, CAST(`b` AS BINARY), (`c` + 0E0)"), "1"
  // when every column is excluded (rows are still counted).
  std::string SelectList() const;
  // Appends the values of one row (as the text protocol gives them, in SelectList order) to
  // `batch`, between the caller's BeginRow and EndRow. `bytes` grows by the values' sizes,
  // `zero_dates` by the zero dates emitted as NULL. On error the row is abandoned and the error
  // names the table, the column and the row's primary key.
  core::Status AppendRow(core::EventBatch& batch, char** values, const unsigned long* lengths,
                         uint64_t& bytes, uint64_t& zero_dates, std::string& scratch) const;

 private:
  // kFloat: FLOAT read as a DOUBLE (f + 0E0) (the text protocol prints FLOAT with six
  // significant digits) and written back as the shortest text of the float32 value.
  enum class Fix : uint8_t { kNone, kZeroDate, kTimestampTz, kYear, kBitBool, kConvert, kFloat };
  // The error for a value of emitted `column` that has no exact image (`what`: why and what to
  // do), naming the table, the row by its primary key, and the column.
  core::Status RefusedValue(size_t column, char** values, const unsigned long* lengths,
                            const std::string& what) const;

  const LoadedTable* table_;
  ZeroDateMode zero_dates_;
  std::vector<Fix> fixes_;  // per emitted column
  // Per emitted column: the converter of a kConvert column, else null.
  std::vector<const CharsetConverter*> converters_;
};

}  // namespace sluice::mysql
