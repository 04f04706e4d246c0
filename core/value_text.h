// Conversions of canonical value text (see LogicalType in event.h) to the representations that
// sinks need: JSON string escaping, base64, days/microseconds since the epoch. Pure functions.
//
// Thread-safety: stateless.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::core {

// Appends `text` to `out` as a JSON string literal (with quotes), escaping control characters.
// Invalid UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON.
void AppendJsonString(std::string& out, std::string_view text);

void AppendBase64(std::string& out, std::string_view bytes);
// Decodes standard base64 (padding optional); nullopt when malformed.
std::optional<std::string> DecodeBase64(std::string_view text);

// Microseconds that stand for +/- infinity in integer temporal encodings (as Debezium does).
inline constexpr int64_t kInfinityMicros = 9223372036825200000LL;
inline constexpr int32_t kInfinityDays = 2147483647;

// "YYYY-MM-DD" (optionally " BC") -> days since 1970-01-01; "infinity" maps to +/-kInfinityDays.
std::optional<int64_t> DateToEpochDays(std::string_view date);
// "HH:MM:SS[.ffffff]" -> microseconds since midnight (24:00:00 allowed).
std::optional<int64_t> TimeToMicros(std::string_view time);
// "YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]]" -> microseconds since the epoch (UTC when an offset
// is given, else the wall-clock value as if UTC); "infinity" maps to +/-kInfinityMicros.
std::optional<int64_t> TimestampToEpochMicros(std::string_view ts);
// Days since 1970-01-01 -> proleptic Gregorian year (astronomical: 0 = 1 BC), month, day.
void CivilFromDays(int64_t days, int64_t& y, int64_t& m, int64_t& d);
// Epoch days -> "YYYY-MM-DD"; epoch micros -> "YYYY-MM-DD HH:MM:SS[.ffffff]"; micros since
// midnight -> "HH:MM:SS[.ffffff]".
std::string EpochDaysToDate(int64_t days);
std::string EpochMicrosToTimestamp(int64_t micros);
std::string MicrosToTime(int64_t micros);
// The same, appended to `out` (no allocation beyond `out`'s growth: the envelope's hot path).
void AppendEpochDaysAsDate(std::string& out, int64_t days);
void AppendEpochMicrosAsTimestamp(std::string& out, int64_t micros);
void AppendMicrosAsTime(std::string& out, int64_t micros);
// "2024-01-02 03:04:05.5+00" -> "2024-01-02T03:04:05.5Z" (ISO 8601, as Debezium's ZonedTimestamp).
std::string TimestampTzToIso(std::string_view ts);
// The same, appended to `out` as a JSON string (quoted); text that is not a timestamp is
// appended as a JSON string unchanged.
void AppendTimestampTzIsoJson(std::string& out, std::string_view ts);

// True when `text` is a JSON number as canonical integer/float text produces (not NaN/Infinity).
bool IsJsonNumber(std::string_view text);

}  // namespace sluice::core
