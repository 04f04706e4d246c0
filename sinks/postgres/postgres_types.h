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
#include <vector>

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
// `delimiter`: the target array's element delimiter (pg_type.typdelim; ';' for box[]).
bool AppendPgText(ValueKind kind, std::string_view canonical, std::string& out,
                  char delimiter = ',');

// JSON array text -> PostgreSQL array literal: [1,null,"a\"b",[2]] -> {1,NULL,"a\"b",{2}}.
// Strings are always double-quoted (so "NULL" stays a string), true/false become t/f, JSON
// objects inside (json[] elements) are kept as quoted JSON text. False on malformed input.
// {"lower_bounds":[0],"values":[7,8,9]} (an array with explicit bounds, from a PostgreSQL
// source) -> [0:2]={7,8,9}. Elements are separated by `delimiter` (the element type's typdelim).
bool JsonArrayToPgArray(std::string_view json, std::string& out, char delimiter = ',');

// Appends `text` escaped for COPY … FROM STDIN in text format (backslash, tab, newline, CR).
void AppendCopyEscaped(std::string_view text, std::string& out);

// COPY … (FORMAT binary) for the snapshot load: the target parses no text (a quarter less of
// its CPU on pgbench rows, and the target is what bounds a PG -> PG snapshot). Only for target
// column types whose binary form is exactly determined by the canonical text: a binary COPY
// converts nothing, so the encoding follows the *target* column's type OID.
enum class BinaryKind : uint8_t {
  kNone,  // no binary encoder: the table is loaded with text COPY
  kBool,
  kInt2,
  kInt4,
  kInt8,
  kFloat4,
  kFloat8,
  kText,  // text, varchar, bpchar: the bytes as they are (typmod checks run in the server)
};
BinaryKind BinaryKindOfOid(uint32_t type_oid);

// The binary COPY signature, flags and header extension.
void AppendCopyBinaryHeader(std::string& out);
// The file trailer (a field count of -1).
void AppendCopyBinaryTrailer(std::string& out);
// One tuple's field count.
void AppendCopyBinaryFieldCount(uint16_t fields, std::string& out);
// A NULL field.
void AppendCopyBinaryNull(std::string& out);
// One field (length and bytes) from canonical text. False when the text is not a value of the
// type as this encoder reads it (the caller then loads the rows with text COPY, where the
// server has the last word): never a different value than the server's own input would give.
bool AppendCopyBinaryField(BinaryKind kind, std::string_view canonical, std::string& out);

}  // namespace sluice::sinks::pgsink
