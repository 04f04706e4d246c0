// libFuzzer target: every parse and format function of core/value_text.h on arbitrary text, and
// the formatters on every int64, with the round trips they promise:
//   DateToEpochDays / TimestampToEpochMicros / TimeToMicros: a parsed value formats back to text
//   that parses to the same value; formatting any int64 parses back to it (dates within the
//   year bound); out-of-range text is reported as such, never wrapped; JSON and base64 output is
//   valid and base64 round-trips; the ISO and canonical timestamptz forms agree.
#include <cstddef>
#include <cstdint>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/value_text.h"
#include "fuzz_util.h"

namespace {

using namespace sluice;
using sluice::fuzz::Check;

// Days within value_text's year bound (years -100,000,000 .. 100,000,000), rounded inwards.
constexpr int64_t kMaxParsableDays = 36500000000LL;

void TextFunctions(std::string_view t) {
  if (auto d = core::DateToEpochDays(t)) {
    if (*d != core::kInfinityDays && *d != -int64_t{core::kInfinityDays}) {
      std::string back = core::EpochDaysToDate(*d);
      Check(core::DateToEpochDays(back) == *d, "date round trip", back);
    }
  }
  bool out_of_range = false;
  if (auto m = core::TimestampToEpochMicros(t, &out_of_range)) {
    Check(!out_of_range, "timestamp both parsed and out of range");
    if (*m != core::kInfinityMicros && *m != -core::kInfinityMicros) {
      std::string back = core::EpochMicrosToTimestamp(*m);
      Check(core::TimestampToEpochMicros(back) == *m, "timestamp round trip", back);
      // Its canonical UTC form and ISO form denote the same instant.
      auto canonical = core::TimestampTzToCanonicalUtc(t);
      Check(canonical.has_value(), "timestamp parsed but has no canonical UTC form", t);
      Check(core::TimestampToEpochMicros(*canonical) == *m, "canonical UTC form differs", *canonical);
      std::string iso = core::TimestampTzToIso(t);
      Check(core::TimestampToEpochMicros(iso) == *m, "ISO form differs", iso);
    }
  }
  if (auto canonical = core::TimestampTzToCanonicalUtc(t)) {
    // Exact beyond int64 microseconds too: the canonical text is a fixed point.
    Check(core::TimestampTzToCanonicalUtc(*canonical) == canonical, "canonical UTC form is not stable",
          *canonical);
  }
  if (auto us = core::TimeToMicros(t)) {
    std::string back = core::MicrosToTime(*us);
    Check(core::TimeToMicros(back) == *us, "time round trip", back);
  }
  std::string json;
  core::AppendTimestampTzIsoJson(json, t);
  Check(nlohmann::json::accept(json), "ISO timestamp JSON invalid", json);
  json.clear();
  core::AppendJsonString(json, t);
  Check(nlohmann::json::accept(json), "JSON string invalid", json);
  if (core::IsJsonNumber(t) && !nlohmann::json::accept(t)) {
    // The JSON grammar has no range; nlohmann refuses only numbers beyond double ("7E3965").
    std::string copy(t);
    errno = 0;
    (void)std::strtod(copy.c_str(), nullptr);
    Check(errno == ERANGE, "IsJsonNumber accepted a non-number", t);
  }
  std::string b64;
  core::AppendBase64(b64, t);
  Check(core::DecodeBase64(b64) == std::string(t), "base64 round trip");
  (void)core::DecodeBase64(t);
}

void IntegerFunctions(int64_t v) {
  std::string ts = core::EpochMicrosToTimestamp(v);
  if (v != core::kInfinityMicros && v != -core::kInfinityMicros) {
    Check(core::TimestampToEpochMicros(ts) == v, "EpochMicrosToTimestamp does not parse back", ts);
  }
  std::string time = core::MicrosToTime(v);
  if (v > -1000000LL * 3600 * 1000 && v < 1000000LL * 3600 * 1000) {  // within three hour digits
    Check(core::TimeToMicros(time) == v, "MicrosToTime does not parse back", time);
  }
  std::string date = core::EpochDaysToDate(v);
  if (v >= -kMaxParsableDays && v <= kMaxParsableDays && v != core::kInfinityDays &&
      v != -int64_t{core::kInfinityDays}) {
    Check(core::DateToEpochDays(date) == v, "EpochDaysToDate does not parse back", date);
  }
  int64_t y, m, d;
  core::CivilFromDays(v, y, m, d);
  Check(m >= 1 && m <= 12 && d >= 1 && d <= 31, "CivilFromDays month/day out of range");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  TextFunctions(text);
  if (size >= 8) {
    int64_t v;
    std::memcpy(&v, data, 8);
    IntegerFunctions(v);
  }
  return 0;
}
