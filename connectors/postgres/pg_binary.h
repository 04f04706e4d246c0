// Binary COPY decoding for the PostgreSQL snapshot: the COPY BINARY stream framing and the
// binary wire format ("send" functions) of the common built-in types, turned into the same
// canonical text that the text path produces (pg_types.h), byte for byte.
//
// Why: `COPY … TO STDOUT (FORMAT binary)` costs the server about 30 % less CPU than text COPY
// (no per-value output functions, no escaping), and the snapshot is bounded by the server. A
// table is read in binary only when every column has a binary decoder here; other tables keep
// the text path (arrays, inet, money, bit strings, interval, timetz, "char", unknown types).
//
// References: PostgreSQL documentation, "COPY — Binary Format"; the types' send functions in
// src/backend/utils/adt (int8send, float8send, numeric_send, date_send, timestamp_send,
// time_send, uuid_send, jsonb_send, textsend, byteasend, boolsend). Output must equal the
// text output under DateStyle=ISO, TimeZone=UTC, extra_float_digits=3 (pg_connection.cc).
//
// Every function is pure and bounds-checked: malformed bytes return false, never read past
// the input. Thread-safety: none needed.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/event.h"

namespace sluice::pg {

// The binary decoder of a column's type (chosen once per column from the base type OID).
enum class BinaryKind : uint8_t {
  kNone,  // no binary decoder: the table is read with text COPY
  kRaw,   // text, varchar, bpchar, name, json, xml, enum labels: the bytes are the text
  kBytea,
  kJsonb,  // version byte 1, then the text
  kBool,
  kInt2,
  kInt4,
  kInt8,
  kOid,
  kFloat4,
  kFloat8,
  kNumeric,
  kDate,
  kTime,
  kTimestamp,
  kTimestampTz,
  kUuid,
};

// The binary decoder for base type `oid` (enums are kRaw; the caller decides that).
BinaryKind BinaryKindForOid(uint32_t oid);

// Appends the canonical text of one binary value (the field's bytes, without the length
// word) to the open row of `batch`. False when the bytes are malformed for `kind`.
bool AppendBinaryValue(core::EventBatch& batch, BinaryKind kind, std::string_view bytes);

// The text of one binary value into `out` (at most kMaxBinaryText bytes for the fixed-size
// kinds; kRaw/kBytea/kJsonb are written by AppendBinaryValue only). Returns the length, or
// -1 when malformed. Exposed for tests.
inline constexpr size_t kMaxBinaryText = 64;
int FormatBinaryFixed(BinaryKind kind, std::string_view bytes, char* out);

// Numeric's text, which has no fixed bound; appended to `out`. False when malformed.
bool FormatBinaryNumeric(std::string_view bytes, std::string& out);

// The COPY BINARY stream: an 11-byte signature, flags, a header extension, then tuples of
// (int16 field count, per field int32 length or -1 for NULL, bytes), then int16 -1.
inline constexpr std::string_view kCopyBinarySignature{"PGCOPY\n\377\r\n\0", 11};

// Length of the file header at the start of `data` (signature, flags, extension), 0 when
// more bytes are needed, -1 when it is not a COPY BINARY header or uses unknown flags.
int64_t CopyBinaryHeaderLength(std::string_view data);

}  // namespace sluice::pg
