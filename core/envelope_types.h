// How the envelope encodes one column under the value modes: the Debezium representation that
// both the value (envelope_values.cc) and its field schema (envelope_schema.cc) follow. Used by
// core's envelope files, and by sinks that decide each column's kind once per table schema
// (AppendEnvelopeTextAs in envelope.h).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/envelope_modes.h"
#include "core/event.h"

namespace sluice::core {

enum class EnvelopeKind : uint8_t {
  kAsType,           // the LogicalType's own representation (bool, numbers, strings, ...)
  kBytes,            // binary.handling.mode=bytes: a bytes field, base64 in JSON
  kBytesText,        // binary.handling.mode=base64/base64-url-safe/hex: a string field
  kDecimalString,    // decimal.handling.mode=string
  kDecimalDouble,    // decimal.handling.mode=double
  kDecimal,          // org.apache.kafka.connect.data.Decimal, `scale` fixed
  kVariableDecimal,  // io.debezium.data.VariableScaleDecimal
  kUnsignedLong,     // BIGINT UNSIGNED as int64
  kUnsignedDecimal,  // BIGINT UNSIGNED as Decimal(scale 0)
  kDate,             // io.debezium.time.Date or connect Date: days
  kTimeMillis,       // io.debezium.time.Time or connect Time: int32 ms
  kTimeMicros,       // MicroTime
  kTimestampMillis,  // io.debezium.time.Timestamp or connect Timestamp
  kTimestampMicros,  // MicroTimestamp
  kZonedTimestamp,
  kMicroDuration,
  kIntervalString,
  kYear,             // io.debezium.time.Year (int32)
  kEnumSet,          // io.debezium.data.EnumSet
  kBitsFromText,     // PostgreSQL bit(n>1)/varbit text "0101" -> io.debezium.data.Bits
  kBitFromText,      // PostgreSQL bit(1) -> boolean
  kBitsFromBytes,    // MySQL BIT(n>1) big-endian bytes -> io.debezium.data.Bits (little-endian)
  kGeometry,         // MySQL geometry (SRID + WKB) -> io.debezium.data.geometry.Geometry {wkb, srid}
  kPoint,            // PostgreSQL point "(x,y)" -> io.debezium.data.geometry.Point {x, y, wkb, srid}
  kMoney,            // PostgreSQL money "-$1,234.56" -> a decimal of scale 2, as decimal.handling.mode
  kZonedTime,        // PostgreSQL timetz -> io.debezium.time.ZonedTime, UTC ("06:30:00Z")
  kHstoreJson,       // PostgreSQL hstore, hstore.handling.mode=json -> io.debezium.data.Json string
  kHstoreMap,        // PostgreSQL hstore, hstore.handling.mode=map -> map<string, string>
  kZonedTimeArray,   // timetz[]: an array of ZonedTime
  kHstoreJsonArray,  // hstore[], json: an array of io.debezium.data.Json
  kHstoreMapArray,   // hstore[], map: an array of map<string, string>
};

EnvelopeKind EnvelopeKindOf(const Column& column, const ValueModes& modes);

// Digits after the point of a time/timestamp column: the "(p)" of its source type, else
// PostgreSQL's default 6 for its "… time zone" spellings, else Column::precision.
int FractionalDigits(const Column& column);

// The bit count of a Bits column (bit(n), BIT(n)); 2^31-1 for varbit without a length.
int32_t BitsLength(const Column& column);

// The Connect schema name of a kind under `modes` (nullptr: none), and its Connect type.
const char* EnvelopeSchemaName(EnvelopeKind kind, const ValueModes& modes);
const char* EnvelopeSchemaType(EnvelopeKind kind, const Column& column, const ValueModes& modes);

// PostgreSQL's money text in its C / en_US format ("-$92,233,720,368,547,758.08", "$0.00") ->
// plain decimal text in `out`; false for any other format (another lc_monetary).
bool MoneyToDecimal(std::string_view money, std::string& out);

}  // namespace sluice::core
