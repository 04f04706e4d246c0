// MySQL/MariaDB type mapping: information_schema column rows -> core::Column, and the canonical
// text of MySQL values (binary row-event encodings and text-protocol fix-ups).
//
// Mapping (see README.md): integers by width and signedness (BIGINT UNSIGNED -> kDecimal so it is
// lossless), DECIMAL -> kDecimal (exact text), FLOAT/DOUBLE -> kFloat32/kFloat64 (shortest
// round-trip), BIT(1) -> kBool, BIT(n>1) -> kBytes (big-endian bytes), YEAR -> kInt16,
// DATE -> kDate, TIME -> kTime, DATETIME -> kTimestamp, TIMESTAMP -> kTimestampTz (UTC, "+00"),
// CHAR/VARCHAR/TEXT -> kString (UTF-8), BINARY/VARBINARY/BLOB -> kBytes, ENUM -> kEnum,
// SET -> kString (comma-joined labels), JSON -> kJson, GEOMETRY -> kBytes (MySQL internal form:
// 4-byte SRID + WKB). Zero dates ('0000-00-00', and dates with a zero month or day) are
// refused, or NULL as Debezium makes them (ZeroDateMode).
//
// Thread-safety: pure functions and immutable tables.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"

namespace sluice::mysql {

// Binlog column type codes (enum_field_types, MySQL include/field_types.h).
enum FieldType : uint8_t {
  kTypeDecimal = 0,
  kTypeTiny = 1,
  kTypeShort = 2,
  kTypeLong = 3,
  kTypeFloat = 4,
  kTypeDouble = 5,
  kTypeNull = 6,
  kTypeTimestamp = 7,
  kTypeLongLong = 8,
  kTypeInt24 = 9,
  kTypeDate = 10,
  kTypeTime = 11,
  kTypeDateTime = 12,
  kTypeYear = 13,
  kTypeNewDate = 14,
  kTypeVarchar = 15,
  kTypeBit = 16,
  kTypeTimestamp2 = 17,
  kTypeDateTime2 = 18,
  kTypeTime2 = 19,
  kTypeJson = 245,
  kTypeNewDecimal = 246,
  kTypeEnum = 247,
  kTypeSet = 248,
  kTypeTinyBlob = 249,
  kTypeMediumBlob = 250,
  kTypeLongBlob = 251,
  kTypeBlob = 252,
  kTypeVarString = 253,
  kTypeString = 254,
  kTypeGeometry = 255,
};

// How the bytes of a character column are turned into UTF-8.
enum class CharsetKind : uint8_t {
  kUtf8,    // utf8mb3, utf8mb4, ascii: copied as is
  kLatin1,  // MySQL latin1 (= cp1252): converted to UTF-8
  kBinary,  // binary: raw bytes
  kOther,   // any other charset: converted with iconv (charset_converter.h)
};

CharsetKind CharsetKindFromName(std::string_view charset_name);
// Collation id (binlog TABLE_MAP charset metadata) -> kind, for the common collations of MySQL
// 8 and MariaDB 10.x; kOther for ids it does not know.
CharsetKind CharsetKindFromCollationId(uint32_t collation_id);

// One row of information_schema.COLUMNS, as the schema loader reads it.
struct InformationSchemaColumn {
  std::string name;
  std::string data_type;    // DATA_TYPE, e.g. "int", "varchar", "longtext"
  std::string column_type;  // COLUMN_TYPE, e.g. "int(10) unsigned", "enum('a','b')"
  bool nullable = true;
  std::string charset;      // CHARACTER_SET_NAME, empty for non-character columns
  std::string collation;    // COLLATION_NAME, empty for non-character columns
  int64_t char_max_length = 0;
  int64_t numeric_precision = 0;
  int64_t numeric_scale = 0;
  int64_t datetime_precision = 0;
  bool is_json = false;     // MariaDB JSON: LONGTEXT with a json_valid() check
  // For schema-change records (include.schema.changes) only:
  int32_t position = 0;     // ORDINAL_POSITION (1-based)
  std::string extra;        // EXTRA: "auto_increment", "VIRTUAL GENERATED", "STORED GENERATED", ...
  std::optional<std::string> column_default;  // COLUMN_DEFAULT as the server shows it (SQL NULL: none)
  std::string comment;      // COLUMN_COMMENT
};

// The core column for an information_schema row (logical type, source_type, details).
core::Column MapColumn(const InformationSchemaColumn& c);
// Labels of "enum('a','b')" / "set('x','y')" (quotes doubled inside labels are undone).
std::vector<std::string> ParseEnumLabels(std::string_view column_type);

// MariaDB's fixed-size binary types whose value text is not their bytes: INET4 (4 bytes),
// INET6 (16 bytes) and UUID (16 bytes). The binlog carries the bytes; the text protocol (the
// snapshot) prints the server's text, which AppendFixedBinaryText reproduces.
enum class FixedBinaryText : uint8_t { kNone, kInet4, kInet6, kUuid };
FixedBinaryText FixedBinaryTextOf(std::string_view data_type);
size_t FixedBinarySize(FixedBinaryText kind);
// Appends the server's text of `bytes` (exactly FixedBinarySize(kind) bytes; false otherwise):
// INET4 dotted quad; INET6 as MariaDB's Inet6::to_string prints it (lower-case hex without
// leading zeros, the first longest run of zero groups as "::" even when it is one group long,
// "::a.b.c.d" / "::ffff:a.b.c.d" for IPv4-compatible and IPv4-mapped addresses); UUID as
// 8-4-4-4-12 lower-case hex of the bytes in order (MariaDB's binlog carries the UUID in its
// in-memory order, the text order, not the index-friendly record order).
bool AppendFixedBinaryText(std::string& out, std::string_view bytes, FixedBinaryText kind);

// Appends the UTF-8 form of `bytes` in `charset` to `out`.
void AppendUtf8(std::string& out, std::string_view bytes, CharsetKind charset);

// Binary encodings of row events (MySQL "Binary Log" docs, Rows_event value formats;
// sql-common/my_time.cc and strings/decimal.c for the packed forms). Each returns false when
// `in` is too short or malformed; `used` gets the bytes consumed.
//
// NEWDECIMAL(precision, scale): the packed decimal of decimal2bin(), as exact text.
bool DecodeDecimal(std::string_view in, int precision, int scale, std::string& out, size_t& used);
// Byte size of a packed NEWDECIMAL(precision, scale).
size_t DecimalBinarySize(int precision, int scale);
// Fractional-second digits of a TIME2/DATETIME2/TIMESTAMP2 value as microseconds; `fsp` 0..6.
size_t FractionBytes(int fsp);

// Formats civil date/time pieces as canonical text with exactly `fsp` fractional digits.
void AppendDate(std::string& out, int year, int month, int day);
void AppendTime(std::string& out, bool negative, int64_t hours, int minutes, int seconds,
                int64_t micros, int fsp);
// Seconds since the epoch (UTC) -> "YYYY-MM-DD HH:MM:SS[.f]+00".
void AppendUtcTimestamp(std::string& out, int64_t seconds, int64_t micros, int fsp);

// A FLOAT value read as a DOUBLE (f + 0E0, exact) -> the shortest text that reads
// back as the same float32 ("3.1415927410125732" -> "3.1415927"), as the binlog path prints
// FLOAT. False when `double_text` is no number or its value is not a float32 value.
bool AppendFloat32FromDoubleText(std::string& out, std::string_view double_text);

// The text protocol gives "0000-00-00" for zero dates: true when `text` is one (date,
// datetime or timestamp with any fraction), or has a zero month or day ("2024-00-15", stored
// when sql_mode lacks NO_ZERO_IN_DATE). No target type holds such a value: see ZeroDateMode.
bool IsZeroDateText(std::string_view text);

// Text of a key value for an error message: printable ASCII as is, other bytes as \xNN (the
// first 64 bytes).
std::string Printable(std::string_view v);

// zero.date.handling.mode: what the source does with a zero date or a date with a zero month
// or day, which no target type can hold. kFail (the default) stops the snapshot or stream with
// kFailedPrecondition naming the table, the row, the column and the value; kNull emits NULL
// and logs a warning (Debezium's behaviour; lossy).
enum class ZeroDateMode : uint8_t { kFail, kNull };
inline constexpr const char* kZeroDateModeKey = "zero.date.handling.mode";
// "fail" or "null"; anything else is kInvalidArgument naming the accepted values.
core::Result<ZeroDateMode> ParseZeroDateMode(std::string_view text);
// The end of the refusal of zero date `value` (as the server prints it, e.g. 2024-00-15):
// "holds the date '2024-00-15', …; set zero.date.handling.mode=null …". The caller puts the
// table, the row and the column in front.
std::string ZeroDateRefusal(std::string_view value);

}  // namespace sluice::mysql
