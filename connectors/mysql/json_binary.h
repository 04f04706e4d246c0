// MySQL 8's binary JSON (the JSON column's storage and binlog form) -> JSON text. Pure and
// bounds-checked: a malformed document yields false, never a crash.
//
// Format: MySQL source sql-common/json_binary.h ("JSON binary format"): a type byte, then
// small/large objects and arrays (element count, byte size, key entries, value entries with
// inlined scalars, keys, values; offsets relative to the container), literals, integers,
// doubles, variable-length-prefixed utf8mb4 strings and opaque values (DECIMAL, temporal types).
// Output follows MySQL's own text form: {"k": [1, 2]} with ", " and ": " separators.
//
// Thread-safety: stateless.
#pragma once

#include <string>
#include <string_view>

namespace sluice::mysql {

// Appends the JSON text of the binary document `in` to `out`; false when malformed (out may
// then hold a partial text). An empty document is JSON null.
bool AppendJsonFromBinary(std::string_view in, std::string& out);

}  // namespace sluice::mysql
