// Value-level rules of verification (core/verify.h): when a source value and the value the
// target holds for it are the same datum, and how a row is keyed and hashed.
//
// Both sides are read into the event model, so values arrive as canonical text (event.h). Most
// columns compare as text. Where a sink maps a type to a different one (README "Type matrix"),
// the canonical texts of one datum may differ and are compared by meaning instead:
//   decimal / integers / unsigned -> numeric   equal numbers ("1.50" = "1.5" = "1.500")
//   bool <-> integer (BIT(1), TINYINT(1))      t = 1, f = 0
//   float32 / float64                          equal as the narrower float type
//   timestamp <-> timestamptz, dates           the same microsecond
//   TIME <-> interval                          the same duration
//   json (json, jsonb, MariaDB LONGTEXT JSON)  equal JSON values (key order, spacing)
//   uuid <-> char(36)                          case-insensitive
// A decimal that the target type keeps at a smaller scale compares as kDocumented when it is the
// source value rounded to that scale (a documented, lossy mapping), never as equal.
// NULL never equals any text, the empty string included.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.h"

namespace sluice::core {

enum class CellMatch : uint8_t { kEqual, kDocumented, kDifferent };

CellMatch CompareCells(const Column& source_column, CellState source_state,
                       std::string_view source_text, const Column& target_column,
                       CellState target_state, std::string_view target_text);

// A decimal's canonical numeric text: no leading zeros, no trailing fractional zeros, "-0" as
// "0" ("007.50" -> "7.5"). Text that is not a plain decimal is returned unchanged.
std::string NormalizeDecimal(std::string_view text);

// The text a key value is matched by across engines: NormalizeDecimal for numbers, epoch
// microseconds for timestamps, lowercase for uuids, else the text itself. Appended to `out`.
void AppendKeyForm(std::string& out, const Column& column, CellState state, std::string_view text);

// "id=5, region=eu": the key columns and their values (each truncated to `max_value_chars`),
// for reports. NULL prints as NULL.
std::string DescribeKey(const TableSchema& schema, const RowView& row, size_t max_value_chars);

// `text` cut to `max_chars` bytes (at a UTF-8 boundary) with "…" appended when cut; control
// characters escaped.
std::string Truncated(std::string_view text, size_t max_chars);

}  // namespace sluice::core
