// Type mapping and value conversion for the PostgreSQL sink: which column type a target table
// gets, and how a canonical value text (core/event.h) becomes PostgreSQL input text.
//
// PG -> PG keeps Column::source_type exactly (format_type() text). From other sources the
// logical type (+ length/precision/scale/unsigned) picks the closest lossless PostgreSQL type;
// the table is in README.md.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/event.h"

namespace sluice::sinks::pgsink {

// How a value's canonical text is turned into PostgreSQL input text.
enum class ValueKind : uint8_t {
  kPlain,  // canonical text is valid PostgreSQL input as it is
  kBytes,  // raw bytes -> bytea hex input "\x…"
  kArray,  // JSON array -> array literal "{…}"
};

// The target column type for `column`. `pg_source`: the source is PostgreSQL (keep its type
// text). nullopt when a PostgreSQL source_type is not a safe type expression (contains ';' or
// a comment outside double quotes).
std::optional<std::string> TargetType(const core::Column& column, bool pg_source);

// The conversion a column's values need, given how its target type was chosen.
ValueKind KindOf(const core::Column& column, bool pg_source);

// Appends the PostgreSQL input text of `canonical` to `out`. False when an array value is not a
// well-formed JSON array (or holds a NUL character, which PostgreSQL text cannot store).
bool AppendPgText(ValueKind kind, std::string_view canonical, std::string& out);

// JSON array text -> PostgreSQL array literal: [1,null,"a\"b",[2]] -> {1,NULL,"a\"b",{2}}.
// Strings are always double-quoted (so "NULL" stays a string), true/false become t/f, JSON
// objects inside (json[] elements) are kept as quoted JSON text. False on malformed input.
bool JsonArrayToPgArray(std::string_view json, std::string& out);

// Appends `text` escaped for COPY … FROM STDIN in text format (backslash, tab, newline, CR).
void AppendCopyEscaped(std::string_view text, std::string& out);

}  // namespace sluice::sinks::pgsink
