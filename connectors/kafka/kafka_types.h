// Type mapping for the Kafka source: Kafka Connect / Debezium field schemas to LogicalType, and
// JSON values of Debezium envelopes back to Sluice's canonical text (core/event.h).
//
//   Connect schema (type, name)                           LogicalType   value in the record
//   boolean                                               kBool         true/false
//   int8, int16 / int32 / int64                           kInt16/32/64  number
//   float / double                                        kFloat32/64   number or "NaN"/"Infinity"
//   string                                                kString       string
//   bytes                                                 kBytes        base64
//   string of a binary source type (BYTEA, BLOB, …)      kBytes        base64 / URL-safe / hex, as the
//                                                                       source's binary.handling.mode says
//   io.debezium.data.Bits (bytes, length)                 kString/kBytes  little-endian bits -> PostgreSQL's
//                                                                       "0101" text / MySQL's big-endian bytes
//   double / int64 of a NUMERIC / BIGINT UNSIGNED column  kDecimal      decimal.handling.mode=double (its
//                                                                       double's digits) / bigint long
//   org.apache.kafka.connect.data.Decimal (bytes)         kDecimal      base64 two's complement, scale parameter
//   io.debezium.data.VariableScaleDecimal (struct)        kDecimal      {"scale", "value"}
//   string without name holding a decimal                 kString       (decimal.handling.mode=string: the
//                                                                       target gets text; see README)
//   io.debezium.time.Date, connect.data.Date              kDate         days since the epoch
//   io.debezium.time.Time / MicroTime / NanoTime          kTime         ms / µs / ns since midnight
//   connect.data.Time                                     kTime         ms since midnight
//   io.debezium.time.Timestamp / MicroTimestamp / Nano…   kTimestamp    ms / µs / ns since the epoch
//   connect.data.Timestamp                                kTimestamp    ms since the epoch
//   io.debezium.time.ZonedTimestamp                       kTimestampTz  ISO-8601 string with offset
//   io.debezium.time.ZonedTime                            kString       ISO-8601 time with offset ->
//                                                                       PostgreSQL timetz text in UTC
//   io.debezium.data.Json or map of an HSTORE column      kString       JSON object (string) / map ->
//                                                                       hstore text (hstore_out's form)
//   io.debezium.time.Interval / MicroDuration             kInterval     ISO-8601 string / µs
//   io.debezium.time.Year                                 kInt32        number
//   io.debezium.data.Json / Uuid / Enum                   kJson / kUuid / kEnum   string
//   io.debezium.data.EnumSet                              kString       string (allowed -> enum_values)
//   io.debezium.data.geometry.Geometry (struct)           kBytes        {wkb, srid} -> SRID (LE) + WKB
//   io.debezium.data.geometry.Point (struct)              kString       {x, y} -> "(x,y)"
//   array                                                 kArray        JSON array
//   struct, map, anything else                            kJson         the JSON value as text
//
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "core/envelope_modes.h"
#include "core/event.h"
#include "core/status.h"

namespace sluice::kafka {

// How a JSON value of a column is turned back into canonical text.
enum class Encoding : uint8_t {
  kAsIs,             // strings as they are; other JSON values as their JSON text
  kBool,
  kBase64,           // bytes
  kDecimalBytes,     // Connect Decimal: base64 unscaled big-endian two's complement
  kVariableDecimal,  // {"scale": n, "value": base64}
  kDays,
  kMillisOfDay,
  kMicrosOfDay,
  kNanosOfDay,
  kEpochMillis,
  kEpochMicros,
  kEpochNanos,
  kZoned,            // ISO-8601 with offset -> UTC "…+00"
  kMicroDuration,    // µs -> ISO-8601 duration
  kHex,              // bytes as a hex string (binary.handling.mode=hex)
  kBitsToText,       // io.debezium.data.Bits (little-endian) -> PostgreSQL's "0101" of `length` bits
  kBitsToBytes,      // io.debezium.data.Bits (little-endian) -> MySQL's big-endian bytes
  kGeometry,         // io.debezium.data.geometry.Geometry {wkb, srid} -> MariaDB's SRID + WKB bytes
  kPoint,            // io.debezium.data.geometry.Point {x, y, …} -> PostgreSQL's "(x,y)"
  kZonedTime,        // io.debezium.time.ZonedTime "06:30:00Z" -> timetz text "06:30:00+00"
  kHstore,           // hstore.handling.mode json (an object's text) or map (an object) -> hstore text
};

// What a field schema alone does not say: how the producer wrote binary columns as strings
// (binary.handling.mode), and whether the record came from MySQL (source.connector), whose bit
// strings are bytes where PostgreSQL's are text.
struct DecodeHints {
  core::BinaryMode binary = core::BinaryMode::kBytes;
  bool mysql = false;
};

struct ColumnCodec {
  core::Column column;
  Encoding encoding = Encoding::kAsIs;
  int32_t scale = 0;  // kDecimalBytes
  int32_t bits = 0;   // kBitsToText, kBitsToBytes: the bit count (`length` parameter)
};

// Maps one Connect field schema ({"type", "name", "optional", "parameters", "field"}).
ColumnCodec CodecFromFieldSchema(const nlohmann::ordered_json& field, const DecodeHints& hints = {});
// Infers a column from a JSON value when the record has no schema block.
ColumnCodec CodecFromValue(const std::string& name, const nlohmann::ordered_json& value);

// Appends the canonical text of `value` for `codec` to `batch` (null, unchanged, or present).
// kInvalidArgument (naming the column) when the value does not fit the declared type.
core::Status AppendCanonical(core::EventBatch& batch, const ColumnCodec& codec,
                             const nlohmann::ordered_json& value);

// Bounds of a decimal taken from a record, so that no record can make the decoder build an
// unbounded string (a scale of 2^31 - 1 asked for 2 GB): PostgreSQL's own numeric limits,
// 16383 digits after the point (NUMERIC_DSCALE_MAX) and 131072 before, whose unscaled value
// needs at most 61,230 bytes (a sign bit and 489,835 bits).
inline constexpr int32_t kMaxDecimalScale = 16383;
inline constexpr size_t kMaxDecimalBytes = 61230;

// Unscaled two's complement big-endian integer with `scale` -> exact decimal text; nullopt when
// |scale| > kMaxDecimalScale or the integer is longer than kMaxDecimalBytes.
std::optional<std::string> DecimalFromBytes(std::string_view bytes, int32_t scale);
// "2024-01-02T03:04:05.5+02:00" / "…Z" -> "2024-01-02 01:04:05.5+00"; nullopt when malformed.
std::optional<std::string> ZonedToCanonical(std::string_view iso);
// Microseconds -> "PT…S" (ISO-8601 duration); exact for every int64.
std::string MicrosToIsoDuration(int64_t micros);

}  // namespace sluice::kafka
