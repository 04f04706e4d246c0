// Debezium's value-encoding modes (its connector keys decimal.handling.mode, time.precision.mode,
// interval.handling.mode, binary.handling.mode, bigint.unsigned.handling.mode,
// hstore.handling.mode), as the envelope encoder (core/envelope.h) applies them. The defaults are Debezium's defaults.
//
//   decimal   precise: org.apache.kafka.connect.data.Decimal (base64 of the unscaled big-endian
//             two's complement; parameters scale, connect.decimal.precision); a PostgreSQL
//             numeric without a fixed scale: io.debezium.data.VariableScaleDecimal
//             {"scale","value"}. NaN/Infinity have no precise form: the value is refused.
//             double: a JSON number (NaN/Infinity as strings). string: the exact text.
//   time      adaptive: date -> io.debezium.time.Date (days); time(p<=3) -> Time (ms, int32),
//             time(p<=6) -> MicroTime (µs); timestamp(p<=3) -> Timestamp (ms), (p<=6) ->
//             MicroTimestamp (µs). adaptive_time_microseconds: every time MicroTime.
//             connect: org.apache.kafka.connect.data.Date/Time/Timestamp (days/ms/ms); a value
//             with sub-millisecond digits has no connect form and is refused (Debezium drops the
//             digits). Zoned types are ZonedTimestamp strings in every mode.
//   interval  numeric: io.debezium.time.MicroDuration, int64 µs with Debezium's documented
//             365.25 / 12 = 30.4375 days per month. string: io.debezium.time.Interval (ISO 8601).
//   binary    bytes (a bytes field: base64 in JSON), base64, base64-url-safe (padded), hex
//             (lowercase): strings.
//   bigint    MySQL BIGINT UNSIGNED. long: int64, a value above 2^63-1 is refused. precise:
//             Decimal with scale 0.
//   hstore    PostgreSQL hstore (core/pg_text_types.h). json: io.debezium.data.Json, the pairs as
//             a JSON object string ({"k":"v","n":null}). map: a Connect map<string, string> with
//             optional values, a JSON object in the envelope.
//
//   comments  include.schema.comments=true: a column's comment (Column::comment) is its field
//             schema's "doc", after "version", as JsonConverter writes a Connect schema's doc.
//
// kSluiceText is the file sink's own representation (decimals and intervals as text, every time
// in µs, no Debezium-only logical types); it is not a Debezium mode and no key selects it.
//
// Thread-safety: plain data and a pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::core {

class ConnectorConfig;
struct ConfigKey;

enum class DecimalMode : uint8_t { kPrecise, kDouble, kString };
enum class TimePrecisionMode : uint8_t { kAdaptive, kAdaptiveTimeMicroseconds, kConnect, kMicros };
enum class IntervalMode : uint8_t { kNumeric, kString };
enum class BinaryMode : uint8_t { kBytes, kBase64, kBase64UrlSafe, kHex };
enum class BigintUnsignedMode : uint8_t { kLong, kPrecise };
enum class HstoreMode : uint8_t { kJson, kMap };

struct ValueModes {
  DecimalMode decimal = DecimalMode::kPrecise;
  TimePrecisionMode time = TimePrecisionMode::kAdaptive;
  IntervalMode interval = IntervalMode::kNumeric;
  BinaryMode binary = BinaryMode::kBytes;
  BigintUnsignedMode bigint_unsigned = BigintUnsignedMode::kLong;
  // Debezium's Year, EnumSet, Bits, BIGINT UNSIGNED, ZonedTime and hstore handling; off in
  // kSluiceText.
  bool debezium_types = true;
  HstoreMode hstore = HstoreMode::kJson;
  // include.schema.comments: each column's comment as its field schema's "doc" (schemas on).
  bool schema_comments = false;
};

inline constexpr ValueModes kSluiceText{DecimalMode::kString, TimePrecisionMode::kMicros,
                                        IntervalMode::kString, BinaryMode::kBytes,
                                        BigintUnsignedMode::kLong, false, HstoreMode::kJson};

// The modes a config selects with Debezium's keys (absent keys: Debezium's defaults);
// kInvalidArgument naming the key for an unknown value.
Result<ValueModes> ValueModesFromConfig(const ConnectorConfig& config);

// Debezium's skipped.operations, as the envelope sinks (Kafka, file) apply it: the op letters
// (c, u, d, t) whose records are not written. Debezium's default, "t", is theirs: truncates are
// dropped unless the key says otherwise ("none" keeps every operation). Database sinks do not
// declare the key: they apply truncates so that the target equals the source, and the
// catalogue accepts only "none" there.
inline constexpr std::string_view kDefaultSkippedOperations = "t";
ConfigKey SkippedOperationsConfigKey();
// The letters `config` selects (the default when the key is absent); kInvalidArgument naming
// the key and the value for anything but c, u, d, t and none.
Result<std::string> SkippedOperationsFromConfig(const ConnectorConfig& config);

// The binary.handling.mode of `text` ("bytes", "base64", "base64-url-safe", "hex").
Result<BinaryMode> BinaryModeFromName(std::string_view text);

}  // namespace sluice::core
