// Conversions of canonical value text (see LogicalType in event.h) to the representations that
// sinks need: JSON string escaping, base64, days/microseconds since the epoch. Pure functions.
//
// Thread-safety: stateless.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::core {

// Appends the decimal digits of `v` (no allocation beyond `out`'s growth).
inline void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}

// Appends `text` to `out` as a JSON string literal (with quotes), escaping control characters.
// Invalid UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON.
void AppendJsonString(std::string& out, std::string_view text);
// Appends the JSON escape of `c`, one of '"', '\\' and the control characters below 0x20: the
// short forms (\" \\ \b \t \n \f \r), else \u00XX written with `hex` ("0123456789abcdef", or upper
// case for Jackson's output).
void AppendJsonEscape(std::string& out, unsigned char c, const char* hex);

// Standard base64 with padding; `url_safe`: RFC 4648's URL-safe alphabet ('-', '_'), padded.
void AppendBase64(std::string& out, std::string_view bytes, bool url_safe = false);
// Decodes base64, standard or URL-safe (padding optional); nullopt when malformed.
std::optional<std::string> DecodeBase64(std::string_view text);

// Microseconds that stand for +/- infinity in integer temporal encodings (as Debezium does).
inline constexpr int64_t kInfinityMicros = 9223372036825200000LL;
inline constexpr int32_t kInfinityDays = 2147483647;

// Parsing is strict (the whole text, valid months and days, minutes and seconds below 60) and
// never overflows: when the text is well formed but its value has no exact integer encoding,
// the result is nullopt and *out_of_range (when given) is set, so that a caller can refuse the
// value by name instead of writing something else.
//
// "YYYY-MM-DD[ BC]" -> days since 1970-01-01; "infinity" maps to +/-kInfinityDays. Years may
// have more than four digits and an ISO 8601 sign ("+294276-01-01", "-0043-03-15" = 44 BC).
// Out of range: a real date whose day number is +/-kInfinityDays.
std::optional<int64_t> DateToEpochDays(std::string_view date, bool* out_of_range = nullptr);
// "[-]HH:MM:SS[.ffffff]" -> microseconds since midnight (24:00:00 allowed), or a MySQL TIME
// duration of up to three hour digits (negative when signed).
std::optional<int64_t> TimeToMicros(std::string_view time);
// "YYYY-MM-DD[ T]HH:MM:SS[.ffffff][Z|+HH[:MM[:SS]]][ BC]" -> microseconds since the epoch (UTC
// when an offset is given, else the wall-clock value as if UTC); "infinity" maps to
// +/-kInfinityMicros. Out of range: beyond int64 microseconds (PostgreSQL's timestamps from
// 294247-01-10 04:00:54.775808 to 294276-12-31 23:59:59.999999), or exactly +/-kInfinityMicros.
std::optional<int64_t> TimestampToEpochMicros(std::string_view ts, bool* out_of_range = nullptr);
// Days since 1970-01-01 -> proleptic Gregorian year (astronomical: 0 = 1 BC), month, day; for
// every int64 `days`.
void CivilFromDays(int64_t days, int64_t& y, int64_t& m, int64_t& d);
// Epoch days -> "YYYY-MM-DD[ BC]"; epoch micros -> "YYYY-MM-DD HH:MM:SS[.ffffff][ BC]" (the era
// last, as PostgreSQL prints it); micros since midnight -> "[-]HH:MM:SS[.ffffff]". Defined for
// every int64 and parsed back exactly by the functions above (dates within 100,000,000 years).
std::string EpochDaysToDate(int64_t days);
std::string EpochMicrosToTimestamp(int64_t micros);
std::string MicrosToTime(int64_t micros);
// The same, appended to `out` (no allocation beyond `out`'s growth: the envelope's hot path).
void AppendEpochDaysAsDate(std::string& out, int64_t days);
void AppendEpochMicrosAsTimestamp(std::string& out, int64_t micros);
void AppendMicrosAsTime(std::string& out, int64_t micros);
// "2024-01-02 03:04:05.5+00" -> "2024-01-02T03:04:05.5Z" (ISO 8601, as Debezium's ZonedTimestamp):
// exact for every year (not limited to int64 microseconds); "+294276-12-31T23:59:59.999999Z".
std::string TimestampTzToIso(std::string_view ts);
// The same, appended to `out` as a JSON string (quoted); text that is not a timestamp is
// appended as a JSON string unchanged.
void AppendTimestampTzIsoJson(std::string& out, std::string_view ts);

// Any timestamp text TimestampToEpochMicros takes ("…T…Z" ISO too; without an offset: UTC) ->
// PostgreSQL's canonical UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]+00[ BC]"; exact for every year.
// nullopt when malformed; "infinity" and "-infinity" unchanged.
std::optional<std::string> TimestampTzToCanonicalUtc(std::string_view ts);

// True when `text` is a JSON number as canonical integer/float text produces (not NaN/Infinity).
bool IsJsonNumber(std::string_view text);

}  // namespace sluice::core
