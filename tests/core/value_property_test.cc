// Property tests of the value conversions in core that the type matrix (integration/matrix)
// relies on, beyond the date/time ones in value_text_test.cc: random values over each type's
// whole range and its limits, parsed, printed canonically and parsed again. Seeded: the seed is
// printed, and SLUICE_PROPERTY_SEED=N repeats a run.
#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/parse_number.h"
#include "core/text_codec.h"
#include "core/value_text.h"

namespace sluice::core {
namespace {

class ValueProperty : public ::testing::Test {
 protected:
  ValueProperty() {
    const char* env = std::getenv("SLUICE_PROPERTY_SEED");
    seed_ = env ? std::strtoull(env, nullptr, 10) : 20261205;
    rng_.seed(seed_);
    std::printf("value property seed: %llu (SLUICE_PROPERTY_SEED)\n",
                static_cast<unsigned long long>(seed_));
  }
  uint64_t seed_;
  std::mt19937_64 rng_;
};

template <typename T>
std::string Text(T v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

template <typename T>
void IntegersRoundTrip(std::mt19937_64& rng) {
  using L = std::numeric_limits<T>;
  std::vector<T> values = {L::min(), static_cast<T>(L::min() + 1), 0, 1, static_cast<T>(L::max() - 1),
                           L::max()};
  if constexpr (std::is_signed_v<T>) values.push_back(-1);
  for (int i = 0; i < 20000; ++i) values.push_back(static_cast<T>(rng()));
  for (T v : values) {
    std::string text = Text(v);
    auto parsed = ParseNumber<T>(text, "value");
    ASSERT_TRUE(parsed.ok()) << text;
    ASSERT_EQ(*parsed, v) << text;
    ASSERT_TRUE(IsJsonNumber(text)) << text;
  }
  // One past each limit is refused, never wrapped.
  std::string above = Text(static_cast<unsigned long long>(L::max()) + 1ULL);
  if constexpr (sizeof(T) == 8 && std::is_unsigned_v<T>) above = "18446744073709551616";
  EXPECT_FALSE(ParseNumber<T>(above, "value").ok()) << above;
  if constexpr (std::is_signed_v<T>) {
    std::string below = "-" + Text(static_cast<unsigned long long>(L::max()) + 2ULL);
    EXPECT_FALSE(ParseNumber<T>(below, "value").ok()) << below;
  }
}

TEST_F(ValueProperty, IntegersRoundTripAtTheirLimits) {
  IntegersRoundTrip<int16_t>(rng_);
  IntegersRoundTrip<int32_t>(rng_);
  IntegersRoundTrip<int64_t>(rng_);
  IntegersRoundTrip<uint16_t>(rng_);
  IntegersRoundTrip<uint32_t>(rng_);
  IntegersRoundTrip<uint64_t>(rng_);
}

template <typename T, typename Bits>
void FloatsRoundTrip(std::mt19937_64& rng) {
  using L = std::numeric_limits<T>;
  std::vector<T> values = {L::max(), L::lowest(), L::min(), L::denorm_min(), -L::denorm_min(),
                           T(0), -T(0), T(0.1), T(1) / T(3)};
  for (int i = 0; i < 50000; ++i) {
    T v = std::bit_cast<T>(static_cast<Bits>(rng()));
    if (std::isfinite(v)) values.push_back(v);
  }
  for (T v : values) {
    // The shortest text that reads back as the same value (what PostgreSQL 12+ prints).
    std::string text = Text(v);
    auto parsed = ParseNumber<T>(text, "value");
    ASSERT_TRUE(parsed.ok()) << text;
    ASSERT_EQ(std::bit_cast<Bits>(*parsed), std::bit_cast<Bits>(v)) << text;  // -0 keeps its sign
    ASSERT_TRUE(IsJsonNumber(text)) << text;
    // A JSON reader gets the same value back.
    double json = nlohmann::json::parse(text).template get<double>();
    ASSERT_EQ(static_cast<T>(json), v) << text;
  }
  for (const char* special : {"NaN", "Infinity", "-Infinity", "inf", "nan"}) {
    EXPECT_FALSE(IsJsonNumber(special)) << special;
  }
}

TEST_F(ValueProperty, FloatsRoundTripBitForBit) {
  FloatsRoundTrip<double, uint64_t>(rng_);
  FloatsRoundTrip<float, uint32_t>(rng_);
}

TEST_F(ValueProperty, Base64RoundTripsAnyBytes) {
  std::vector<std::string> inputs = {"", std::string(1, '\0'), std::string(3, '\xff')};
  for (int b = 0; b < 256; ++b) inputs.push_back(std::string(1, static_cast<char>(b)));
  for (int i = 0; i < 5000; ++i) {
    std::string bytes(rng_() % 200, '\0');
    for (char& c : bytes) c = static_cast<char>(rng_());
    inputs.push_back(bytes);
  }
  for (const std::string& bytes : inputs) {
    std::string encoded;
    AppendBase64(encoded, bytes);
    ASSERT_EQ(encoded.size() % 4, 0u);
    ASSERT_EQ(DecodeBase64(encoded), bytes);
    // Without its padding too.
    while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();
    ASSERT_EQ(DecodeBase64(encoded), bytes);
  }
}

TEST_F(ValueProperty, Utf8AndJsonStringsRoundTrip) {
  for (int i = 0; i < 5000; ++i) {
    // Random code points over the whole range: ASCII and control characters, BMP, emoji and
    // the other supplementary planes; surrogates are no characters and are skipped.
    std::string text;
    std::vector<uint32_t> points;
    for (int n = static_cast<int>(rng_() % 20); n > 0; --n) {
      uint32_t cp = 0;
      switch (rng_() % 4) {
        case 0: cp = static_cast<uint32_t>(rng_() % 0x80); break;
        case 1: cp = static_cast<uint32_t>(rng_() % 0x800); break;
        case 2: cp = static_cast<uint32_t>(rng_() % 0x10000); break;
        default: cp = 0x10000 + static_cast<uint32_t>(rng_() % 0x100000); break;
      }
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      AppendUtf8(text, cp);
      points.push_back(cp);
    }
    ASSERT_TRUE(IsValidUtf8(text));
    size_t at = 0;
    for (uint32_t cp : points) {
      uint32_t got = 0;
      size_t len = DecodeUtf8(text, at, &got);
      ASSERT_GT(len, 0u);
      ASSERT_EQ(got, cp);
      at += len;
    }
    ASSERT_EQ(at, text.size());
    std::string json;
    AppendJsonString(json, text);
    ASSERT_EQ(nlohmann::json::parse(json).get<std::string>(), text) << json;
  }
  // Any bytes at all still make valid JSON (invalid UTF-8 repaired as U+FFFD).
  for (int i = 0; i < 5000; ++i) {
    std::string bytes(rng_() % 40, '\0');
    for (char& c : bytes) c = static_cast<char>(rng_());
    std::string json;
    AppendJsonString(json, bytes);
    auto parsed = nlohmann::json::parse(json, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << json;
    if (IsValidUtf8(bytes)) {
      ASSERT_EQ(parsed.get<std::string>(), bytes);
    }
  }
}

TEST_F(ValueProperty, HexDigitsAgreeWithStrtol) {
  for (int c = 0; c < 256; ++c) {
    char s[2] = {static_cast<char>(c), 0};
    char* end = nullptr;
    long v = std::strtol(s, &end, 16);
    bool is_hex = std::isxdigit(c) != 0;
    EXPECT_EQ(HexDigitValue(static_cast<char>(c)), is_hex ? static_cast<int>(v) : -1) << c;
  }
}

TEST_F(ValueProperty, DatesAndTimestampsAtTheEdgesOfEveryEncoding) {
  // The limits the type matrix crosses: PostgreSQL's first and last date and timestamp, int32
  // days, int64 microseconds, MariaDB's DATE/DATETIME range and infinity.
  for (const char* d : {"4713-01-01 BC", "4714-11-24 BC", "5874897-12-31", "1000-01-01",
                        "9999-12-31", "0001-01-01", "0001-12-31 BC", "1970-01-01", "2024-02-29"}) {
    auto days = DateToEpochDays(d);
    ASSERT_TRUE(days.has_value()) << d;
    EXPECT_EQ(EpochDaysToDate(*days), d);
  }
  EXPECT_EQ(DateToEpochDays("infinity"), kInfinityDays);
  EXPECT_EQ(DateToEpochDays("-infinity"), -static_cast<int64_t>(kInfinityDays));
  EXPECT_EQ(DateToEpochDays("2023-02-29"), std::nullopt);
  for (const char* ts : {"4713-01-01 00:00:00 BC", "294247-01-10 04:00:54.775807",
                         "9999-12-31 23:59:59.999999", "1970-01-01 00:00:00"}) {
    auto micros = TimestampToEpochMicros(ts);
    ASSERT_TRUE(micros.has_value()) << ts;
    EXPECT_EQ(EpochMicrosToTimestamp(*micros), ts);
  }
  bool out_of_range = false;
  EXPECT_EQ(TimestampToEpochMicros("294276-12-31 23:59:59.999999", &out_of_range), std::nullopt);
  EXPECT_TRUE(out_of_range);
  for (const char* t : {"00:00:00", "24:00:00", "23:59:59.999999", "838:59:59", "-838:59:59"}) {
    auto micros = TimeToMicros(t);
    ASSERT_TRUE(micros.has_value()) << t;
    EXPECT_EQ(MicrosToTime(*micros), t);
  }
}

}  // namespace
}  // namespace sluice::core
