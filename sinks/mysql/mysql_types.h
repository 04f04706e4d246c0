// Type mapping for the MySQL/MariaDB sink: the target column type for a source column, and the
// check/conversion of one canonical value (core/event.h) into a MySQL literal.
//
// The mapping (README.md has the table) picks the closest lossless MySQL type; where MySQL has
// no lossless equivalent for a value (NaN, infinity, BC dates) writing it fails with a message
// that names the value, never a silent change.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "connectors/mysql/client/mysql_client.h"
#include "core/event.h"

namespace sluice::sinks::mysql_sink {

// Literal escaping for one live connection is the client layer's (connectors/mysql/client).
using mysql::StringEscaper;

// How a PostgreSQL numeric without precision maps (sink.mysql.numeric.unbounded).
enum class UnboundedNumeric {
  kDecimal,  // DECIMAL(65,30); a value with more digits than that fails the connector
  kText,     // LONGTEXT (VARCHAR for keys): every value, NaN included, kept as text
};

struct TypeOptions {
  UnboundedNumeric unbounded_numeric = UnboundedNumeric::kDecimal;
  // The source's own type text is reused verbatim (a MySQL/MariaDB source).
  bool reuse_source_type = false;
};

// Longest key, in bytes, InnoDB indexes (DYNAMIC row format).
inline constexpr int kMaxKeyBytes = 3072;

// True when a MySQL source's type text is a whole column type ("varchar(10)", not "varchar").
bool IsCompleteMysqlType(std::string_view lower_type);

// The MySQL column type for `column` (without NULL/NOT NULL). `key_chars` is the length to give
// an unbounded string/bytes column that is part of the primary key (VARCHAR/VARBINARY need one).
std::string MysqlColumnType(const core::Column& column, bool is_key, int key_chars,
                            const TypeOptions& options);

// Bytes a key column of this type takes at most in an index, 0 when it is an unbounded
// string/bytes column that shares the remaining key budget.
int FixedKeyBytes(const core::Column& column, const TypeOptions& options);

// How a value of a column is written as a literal.
enum class LiteralKind : uint8_t {
  kNumber,       // validated digits, written bare
  kBool,         // "t"/"f" -> 1/0
  kString,       // quoted, escaped by the client library (StringEscaper)
  kBytes,        // X'hex'
  kDecimal,      // exact text, bare; NaN/Infinity rejected
  kDecimalWide,  // into DECIMAL(65,30): also rejects more than 35 integer or 30 fraction digits
  kDecimalText,  // kept as quoted text
  kFloat,        // bare; NaN/Infinity rejected
  kFloat32,      // the float32 value's exact double text, bare (see AppendLiteral)
  kDate,         // quoted; infinity/BC rejected
  kDateTime,     // quoted; infinity/BC rejected
  kDateTimeTz,   // "+00" suffix dropped (stored in UTC)
};

LiteralKind LiteralKindFor(const core::Column& column, const TypeOptions& options);

// Appends `text` (canonical form) as a MySQL literal of `kind`, strings escaped by `escaper`.
// Returns nullptr on success, or a static reason why MySQL cannot hold the value (nothing
// useful appended then).
//
// kFloat32: MySQL reads a literal as a DOUBLE and compares a FLOAT column as a DOUBLE, so the
// float's shortest text is wrong twice: `f <=> 0.1` never finds the FLOAT 0.1, and
// 3.4028235e38 (FLT_MAX's shortest text) is a double above FLT_MAX, refused as out of range.
// The literal is the float32's value as a double, exactly (0.10000000149011612,
// 3.4028234663852886e+38): stored as the same float, and equal to the stored FLOAT.
const char* AppendLiteral(std::string& out, LiteralKind kind, std::string_view text,
                          const StringEscaper& escaper);

// The file name of the LOAD DATA LOCAL INFILE statements the sink runs; the connection's
// handler serves the sink's rows for this name only and refuses any other file a server asks for.
inline constexpr std::string_view kLoadDataFile = "sluice-rows";

// Appends `text` as one field of a LOAD DATA statement with FIELDS TERMINATED BY TAB, ESCAPED
// BY '\' and LINES TERMINATED BY LF, with the same checks as AppendLiteral: text kinds with
// backslash, TAB, LF and NUL escaped; kBytes as hex digits (the statement stores UNHEX of
// them); every other kind as AppendLiteral writes it bare.
const char* AppendLoadField(std::string& out, LiteralKind kind, std::string_view text);

// Whether LOAD DATA stores `column`'s values exactly as AppendLiteral's INSERT literals do:
// every kind goes through the same string -> column conversion, except bytes, which are safe
// only into a binary string or BLOB column (not BIT, GEOMETRY, ... from a MySQL source).
bool LoadDataStoresExactly(const core::Column& column, LiteralKind kind);

}  // namespace sluice::sinks::mysql_sink
