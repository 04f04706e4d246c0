// Type mapping for the PostgreSQL source: PostgreSQL types -> core::LogicalType, Column
// details (source_type = format_type() text, length/precision/scale from the typmod, enum labels)
// and the conversion of PostgreSQL's text output into the canonical text of core/event.h.
//
// Sessions run with DateStyle=ISO, TimeZone=UTC, IntervalStyle=iso_8601 and
// extra_float_digits=3 (pg_connection.cc), so most text output is canonical already: only
// bytea (hex -> raw bytes) and arrays (PostgreSQL literal -> JSON array) are rewritten.
//
//   PostgreSQL                         LogicalType   canonical text
//   boolean                            kBool         t / f
//   smallint, integer, bigint, oid     kInt16/32/64  digits
//   real, double precision             kFloat32/64   shortest exact, NaN, Infinity, -Infinity
//   numeric(p,s)                       kDecimal      exact text, NaN, Infinity
//   text, varchar, char, name, "char"  kString
//   bytea                              kBytes        raw bytes
//   json, jsonb                        kJson
//   uuid                               kUuid
//   date / time / timestamp / tz       kDate / kTime / kTimestamp / kTimestampTz (UTC, +00)
//   interval                           kInterval     ISO 8601 (P1Y2M3DT4H5M6S)
//   enum types                         kEnum         label; enum_values = labels
//   T[] (any array)                    kArray        JSON array (numbers bare, bool true/false);
//                                                    with bounds other than 1:
//                                                    {"lower_bounds":[…],"values":[…]}
//   enum[] / domain[]                  kArray        source_type = schema.enum[] (enum_values =
//                                                    labels) / the base type's array
//   money, inet, cidr, macaddr(8),     kString       the server's text; source_type keeps the
//   bit, varbit, timetz, xml                         exact type
//   domains                            their base type (source_type = the base type's text)
//   anything else                      kUnknown      the server's text
//
// Thread-safety: TypeResolver is single-threaded (one per connection owner); the free functions
// are pure.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/postgres/pg_binary.h"
#include "connectors/postgres/pg_connection.h"
#include "core/event.h"

namespace sluice::pg {

// How a column's text is turned into canonical text (chosen once per column, not per value).
enum class ValueCodec : uint8_t {
  kPlain,  // text is canonical as it is
  kBytea,  // "\x0a1b…" -> raw bytes
  kArray,  // {…} -> JSON array
};

// How an array's elements are rendered in JSON.
enum class ElementKind : uint8_t { kNumber, kBool, kString };

struct ColumnCodec {
  ValueCodec codec = ValueCodec::kPlain;
  ElementKind element = ElementKind::kString;
  BinaryKind binary = BinaryKind::kNone;  // decoder for binary COPY (kNone: text COPY only)
  char delimiter = ',';  // array element delimiter: the element type's pg_type.typdelim
};

// The built-in mapping for a base (non-domain, non-array, non-enum) type OID.
core::LogicalType LogicalTypeForOid(uint32_t oid);

// What the catalog says about one type.
struct PgTypeInfo {
  uint32_t oid = 0;
  char typtype = 'b';        // b base, d domain, e enum, c composite, r range, p pseudo
  char category = 'U';       // pg_type.typcategory ('A' array)
  uint32_t element = 0;      // array element type
  uint32_t base = 0;         // domain base type
  int32_t base_typmod = -1;  // domain typmod
  std::string qualified_name;  // schema.name, quoted where needed
  std::vector<std::string> enum_labels;
  char delimiter = ',';      // pg_type.typdelim: ';' for box, ',' for every other built-in
};

// Looks types up in pg_type on demand and caches them. Built-in types need no query.
class TypeResolver {
 public:
  explicit TypeResolver(PgConnection* conn) : conn_(conn) {}
  core::Result<const PgTypeInfo*> Get(uint32_t oid);
  // Fills type, codec and details of `column` for a column of type `oid` with `typmod`;
  // `format_type` is format_type(oid, typmod) from the server.
  core::Status Describe(uint32_t oid, int32_t typmod, const std::string& format_type,
                        core::Column& column, ColumnCodec& codec);
  void Clear() { cache_.clear(); }

 private:
  core::Result<uint32_t> ResolveDomain(uint32_t oid, int32_t& typmod, std::string& text);
  PgConnection* conn_;
  std::map<uint32_t, PgTypeInfo> cache_;
};

// Appends `text` (the server's text output of a value) to the open row of `batch` in canonical
// form. False when the text is malformed for its codec (the caller names the column and
// position) and abandons the row.
bool AppendCanonical(core::EventBatch& batch, const ColumnCodec& codec, std::string_view text,
                     std::string& scratch);

// Exposed for tests.
bool DecodeByteaHex(std::string_view text, std::string& out);
// Array literal -> JSON array; with explicit bounds ("[0:2]={7,8,9}", printed when a lower
// bound is not 1) -> {"lower_bounds":[0],"values":[7,8,9]}. `delimiter`: the element type's
// typdelim (box[] is printed {(1,1),(0,0);(3,3),(2,2)}).
bool PgArrayToJson(std::string_view text, ElementKind element, std::string& out,
                   char delimiter = ',');

}  // namespace sluice::pg
