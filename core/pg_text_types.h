// PostgreSQL text forms that Debezium's PostgreSQL connector turns into other values, and back:
//
//   timetz  "12:00:00.5+05:30" <-> io.debezium.time.ZonedTime "06:30:00.5Z": the same instant of
//           day in UTC (java.time's ISO_OFFSET_TIME: seconds always, the fraction without
//           trailing zeros, "Z"). The offset is not kept: read back, the value is "06:30:00.5+00".
//           A time past midnight once in UTC wraps within the day, as java.time's OffsetTime
//           does ("24:00:00+00" -> "00:00:00Z").
//   hstore  '"a"=>"1", "b"=>NULL' <-> its pairs (hstore.handling.mode json / map), listed in the
//           order Debezium lists them: it reads an hstore into a java.util.HashMap and writes the
//           map's iteration order (core/java_hash.h replays the map). Read back, the pairs are written as PostgreSQL's hstore_out
//           writes them (keys by length, then bytes; `"k"=>"v"` with `"` and `\` escaped).
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::core {

// PostgreSQL timetz text -> ZonedTime text (without quotes), appended to `out`; false (nothing
// appended) when `text` is not timetz output.
bool TimetzToZonedTime(std::string_view text, std::string& out);

// ZonedTime / ISO-8601 offset time ("06:30:00.5Z", "08:30+02:00") -> PostgreSQL timetz text in
// UTC ("06:30:00.5+00"); nullopt when malformed or finer than a microsecond.
std::optional<std::string> ZonedTimeToTimetz(std::string_view iso);

struct HstorePair {
  std::string key;
  std::optional<std::string> value;  // nullopt: NULL
  friend bool operator==(const HstorePair&, const HstorePair&) = default;
};

// hstore's input syntax (hstore_out's output, and unquoted tokens with backslash escapes; an
// unquoted NULL value is NULL) -> its pairs in text order. False when malformed.
bool ParseHstore(std::string_view text, std::vector<HstorePair>& out);

// Reorders `pairs` (in text order) as Debezium lists them: a java.util.HashMap's iteration order
// (core/java_hash.h); a repeated key keeps its first pair, as hstore_in does.
void OrderAsDebezium(std::vector<HstorePair>& pairs);

// The pairs as a compact JSON object, its strings escaped as Jackson escapes them (Debezium's
// json mode, a string's content), or else as core::AppendJsonString does (the map mode's object,
// part of the envelope).
void AppendHstoreJson(std::string& out, const std::vector<HstorePair>& pairs, bool jackson = true);

// The pairs as PostgreSQL's hstore_out writes them; sorts `pairs` and drops repeated keys (the
// first one stays, as hstore_in keeps it).
std::string HstoreText(std::vector<HstorePair> pairs);

}  // namespace sluice::core
