#include "core/value_text.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <random>

namespace sluice::core {
namespace {

std::string Json(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

TEST(ValueTextTest, JsonStringEscapesAndRepairsUtf8) {
  EXPECT_EQ(Json("a\"b\\c\n\t\x01"), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
  EXPECT_EQ(Json("h\xC3\xA9llo \xF0\x9F\x98\x80"), "\"h\xC3\xA9llo \xF0\x9F\x98\x80\"");
  EXPECT_EQ(Json("bad\xFF"), "\"bad\xEF\xBF\xBD\"");
  EXPECT_EQ(Json("trunc\xE2\x82"), "\"trunc\xEF\xBF\xBD\xEF\xBF\xBD\"");
  // The all-verbatim fast path, the empty string, DEL, and text appended after existing output.
  EXPECT_EQ(Json(""), "\"\"");
  EXPECT_EQ(Json("plain text 123 ~"), "\"plain text 123 ~\"");
  EXPECT_EQ(Json("\x7f"), "\"\x7f\"");
  EXPECT_EQ(Json(std::string_view("nul\0x", 5)), "\"nul\\u0000x\"");
  std::string out = "[";
  AppendJsonString(out, "a");
  AppendJsonString(out, "b\"");
  EXPECT_EQ(out, "[\"a\"\"b\\\"\"");
}

TEST(ValueTextTest, Base64RoundTrips) {
  for (std::string s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar",
                                                std::string("\0\xff\x10", 3)}) {
    std::string enc;
    AppendBase64(enc, s);
    auto dec = DecodeBase64(enc);
    ASSERT_TRUE(dec.has_value()) << enc;
    EXPECT_EQ(*dec, s);
  }
  std::string enc;
  AppendBase64(enc, "foobar");
  EXPECT_EQ(enc, "Zm9vYmFy");
  EXPECT_FALSE(DecodeBase64("Zm9v!").has_value());
}

TEST(ValueTextTest, DatesToEpochDaysAndBack) {
  EXPECT_EQ(DateToEpochDays("1970-01-01"), 0);
  EXPECT_EQ(DateToEpochDays("2024-02-29"), 19782);
  EXPECT_EQ(DateToEpochDays("1969-12-31"), -1);
  EXPECT_EQ(DateToEpochDays("infinity"), kInfinityDays);
  EXPECT_EQ(DateToEpochDays("0001-01-01 BC"), DateToEpochDays("0001-01-01").value() - 366);
  EXPECT_EQ(EpochDaysToDate(19782), "2024-02-29");
  EXPECT_EQ(EpochDaysToDate(-1), "1969-12-31");
  EXPECT_EQ(DateToEpochDays("12345-01-01").has_value(), true);
  EXPECT_FALSE(DateToEpochDays("2024-13-01").has_value());
  EXPECT_FALSE(DateToEpochDays("garbage").has_value());
}

TEST(ValueTextTest, TimesAndTimestamps) {
  EXPECT_EQ(TimeToMicros("00:00:01.5"), 1500000);
  EXPECT_EQ(TimeToMicros("23:59:59.999999"), 86399999999);
  // MySQL TIME: signed, up to 838 hours.
  EXPECT_EQ(TimeToMicros("-838:59:58"), -(838LL * 3600 + 59 * 60 + 58) * 1000000);
  EXPECT_EQ(TimeToMicros("100:00:00.5"), 360000500000);
  EXPECT_EQ(TimeToMicros("-00:00:00.000001"), -1);
  EXPECT_EQ(TimeToMicros("10:00:00+02"), std::nullopt);  // not a time of day / duration
  EXPECT_EQ(TimeToMicros("x10:00:00"), std::nullopt);
  EXPECT_EQ(MicrosToTime(-(838LL * 3600 + 59 * 60 + 58) * 1000000), "-838:59:58");
  EXPECT_EQ(MicrosToTime(360000500000), "100:00:00.5");
  EXPECT_EQ(MicrosToTime(-1), "-00:00:00.000001");
  EXPECT_EQ(MicrosToTime(1500000), "00:00:01.5");
  EXPECT_EQ(TimestampToEpochMicros("1970-01-01 00:00:00"), 0);
  EXPECT_EQ(TimestampToEpochMicros("1970-01-01 01:00:00+01"), 0);
  EXPECT_EQ(TimestampToEpochMicros("1970-01-01 00:00:00-05:30"), 19800000000LL);
  EXPECT_EQ(TimestampToEpochMicros("1969-12-31 23:59:59.999999"), -1);
  EXPECT_EQ(EpochMicrosToTimestamp(-1), "1969-12-31 23:59:59.999999");
  EXPECT_EQ(EpochMicrosToTimestamp(1700000000123456LL), "2023-11-14 22:13:20.123456");
  EXPECT_EQ(TimestampTzToIso("2023-11-14 22:13:20.5+00"), "2023-11-14T22:13:20.5Z");
  EXPECT_EQ(TimestampTzToIso("infinity"), "infinity");
  // The canonical fast path and the general path agree.
  for (const char* ts : {"2023-11-14 22:13:20+00", "2023-11-14 22:13:20.123456+00", "0001-01-01 00:00:00.1+00",
                         "9999-12-31 23:59:59.999999+00"}) {
    std::string general = EpochMicrosToTimestamp(*TimestampToEpochMicros(ts));
    general[10] = 'T';
    EXPECT_EQ(TimestampTzToIso(ts), general + "Z") << ts;
  }
  EXPECT_EQ(TimestampTzToIso("2023-11-14 23:13:20.5+01"), "2023-11-14T22:13:20.5Z");
  EXPECT_EQ(TimestampTzToIso("0044-03-15 12:00:00+00 BC"), "-0043-03-15T12:00:00Z");
  std::string json = "x";
  AppendTimestampTzIsoJson(json, "2023-11-14 22:13:20.25+00");
  AppendTimestampTzIsoJson(json, "-infinity");
  EXPECT_EQ(json, "x\"2023-11-14T22:13:20.25Z\"\"-infinity\"");
  EXPECT_EQ(MicrosToTime(0), "00:00:00");
  EXPECT_EQ(MicrosToTime(86400000000LL), "24:00:00");
  EXPECT_EQ(EpochDaysToDate(-719528), "0001-01-01 BC");
  EXPECT_FALSE(TimestampToEpochMicros("2023-11-14").has_value());
}

// Issue 22 item 4: PostgreSQL's last timestamp was written by the file and Kafka sinks as
// -9222426057709551617 (signed overflow of days * 86400000000) and as timestamptz
// "-290278-12-14T15:58:10.448383Z". It is beyond int64 microseconds since 1970 (which end at
// 294247-01-10 04:00:54.775807), so the integer form reports out of range; the ISO form is exact.
TEST(ValueTextTest, FarFutureTimestampsAreExactOrOutOfRange) {
  bool out_of_range = false;
  EXPECT_EQ(TimestampToEpochMicros("294276-12-31 23:59:59.999999", &out_of_range), std::nullopt);
  EXPECT_TRUE(out_of_range);
  EXPECT_EQ(TimestampTzToIso("294276-12-31 23:59:59.999999+00"), "+294276-12-31T23:59:59.999999Z");
  EXPECT_EQ(TimestampTzToIso("294276-12-31 23:59:59.999999+00:30"), "+294276-12-31T23:29:59.999999Z");
  EXPECT_EQ(TimestampTzToCanonicalUtc("+294276-12-31T23:59:59.999999Z"), "294276-12-31 23:59:59.999999+00");
  // The int64 limits themselves are exact.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(EpochMicrosToTimestamp(kMax), "294247-01-10 04:00:54.775807");
  EXPECT_EQ(TimestampToEpochMicros("294247-01-10 04:00:54.775807"), kMax);
  out_of_range = false;
  EXPECT_EQ(TimestampToEpochMicros("294247-01-10 04:00:54.775808", &out_of_range), std::nullopt);
  EXPECT_TRUE(out_of_range);
  EXPECT_EQ(EpochMicrosToTimestamp(kMin), "290309-12-21 19:59:05.224192 BC");
  EXPECT_EQ(TimestampToEpochMicros("290309-12-21 19:59:05.224192 BC"), kMin);
  out_of_range = false;
  EXPECT_EQ(TimestampToEpochMicros("290309-12-21 19:59:05.224191 BC", &out_of_range), std::nullopt);
  EXPECT_TRUE(out_of_range);
  // A real timestamp that would read back as infinity is refused too.
  out_of_range = false;
  EXPECT_EQ(TimestampToEpochMicros(EpochMicrosToTimestamp(kInfinityMicros), &out_of_range), std::nullopt);
  EXPECT_TRUE(out_of_range);
  // PostgreSQL's first timestamp (4714-11-24 BC, Julian day 0) fits.
  EXPECT_EQ(TimestampToEpochMicros("4714-11-24 00:00:00 BC"), -2440588LL * 86400000000LL);
}

// Found by fuzzing (UBSan): signed overflow in ParseDigits (20-digit years), DaysFromCivil (an
// 18-digit year), CivilFromDays (days near INT64_MAX/MIN), AppendMicrosAsTime and
// AppendEpochMicrosAsTimestamp (negating INT64_MIN).
TEST(ValueTextTest, NoOverflowOnExtremeInput) {
  EXPECT_EQ(DateToEpochDays("99999999999999999999-01-01"), std::nullopt);
  EXPECT_EQ(DateToEpochDays("999999999999999999-01-01"), std::nullopt);
  EXPECT_EQ(TimestampToEpochMicros("999999999999999999-01-01 00:00:00"), std::nullopt);
  EXPECT_EQ(TimestampTzToIso("999999999-01-01 00:00:00+00"), "999999999-01-01 00:00:00+00");
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  for (int64_t days : {kMax, kMin, kMax - 719468, kMin + 146096}) {
    int64_t y, m, d;
    CivilFromDays(days, y, m, d);
    EXPECT_TRUE(m >= 1 && m <= 12 && d >= 1 && d <= 31) << days;
    EXPECT_FALSE(EpochDaysToDate(days).empty());
  }
  EXPECT_EQ(EpochDaysToDate(kMax), "25252734927768524-07-27");
  EXPECT_EQ(MicrosToTime(kMin), "-2562047788:00:54.775808");
  EXPECT_EQ(MicrosToTime(kMax), "2562047788:00:54.775807");
}

TEST(ValueTextTest, ParsingIsStrict) {
  EXPECT_EQ(DateToEpochDays("2024-02-30"), std::nullopt);
  EXPECT_EQ(DateToEpochDays("2023-02-29"), std::nullopt);
  EXPECT_EQ(DateToEpochDays("2000-02-29"), 11016);
  EXPECT_EQ(DateToEpochDays("2024-01-01x"), std::nullopt);
  EXPECT_EQ(DateToEpochDays("0000-01-01 BC"), std::nullopt);
  EXPECT_EQ(TimeToMicros("12:60:00"), std::nullopt);
  EXPECT_EQ(TimeToMicros("12:00:00."), std::nullopt);
  EXPECT_EQ(TimestampToEpochMicros("2024-01-01 24:00:00"), std::nullopt);
  EXPECT_EQ(TimestampToEpochMicros("2024-01-01 00:00:00 junk"), std::nullopt);
  EXPECT_EQ(TimestampToEpochMicros("2024-01-01 00:00:00+01:60"), std::nullopt);
  // ISO 8601 signed years are astronomical: -0043 is 44 BC.
  EXPECT_EQ(DateToEpochDays("-0043-03-15"), DateToEpochDays("0044-03-15 BC"));
  EXPECT_EQ(DateToEpochDays("+2024-01-01"), DateToEpochDays("2024-01-01"));
  EXPECT_EQ(TimestampToEpochMicros("-0043-03-15T12:00:00Z"), TimestampToEpochMicros("0044-03-15 12:00:00+00 BC"));
  // The era goes last, as PostgreSQL prints it.
  EXPECT_EQ(EpochMicrosToTimestamp(*TimestampToEpochMicros("0044-03-15 12:00:00 BC")), "0044-03-15 12:00:00 BC");
  EXPECT_EQ(TimestampTzToCanonicalUtc("0044-03-15 13:00:00+01 BC"), "0044-03-15 12:00:00+00 BC");
  EXPECT_EQ(TimestampTzToCanonicalUtc("infinity"), "infinity");
  EXPECT_EQ(TimestampTzToCanonicalUtc("2024-01-01"), std::nullopt);
}

// Property tests, fixed seed: values across each type's whole range and its limits go to
// canonical text and back unchanged, and the calendar agrees with std::chrono's.
class ValueTextProperty : public ::testing::Test {
 protected:
  std::mt19937_64 rng_{20261204};
  int64_t Uniform(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
};

TEST_F(ValueTextProperty, EveryInt64TimestampRoundTrips) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  std::vector<int64_t> values = {kMin, kMin + 1, -1, 0, 1, kMax - 1, kMax, kInfinityMicros - 1,
                                 kInfinityMicros + 1, -kInfinityMicros - 1, -kInfinityMicros + 1};
  for (int i = 0; i < 20000; ++i) values.push_back(static_cast<int64_t>(rng_()));
  // PostgreSQL's range (4714-11-24 BC .. 294247 AD within int64), where real data lives.
  for (int i = 0; i < 20000; ++i) values.push_back(Uniform(-210866803200000000LL, kMax));
  for (int64_t v : values) {
    std::string text = EpochMicrosToTimestamp(v);
    ASSERT_EQ(TimestampToEpochMicros(text), v) << text;
    // As a timestamptz: the canonical UTC text and the ISO form denote the same instant.
    std::string tz = text;
    bool bc = tz.size() > 3 && tz.compare(tz.size() - 3, 3, " BC") == 0;
    if (bc) tz.resize(tz.size() - 3);
    tz += bc ? "+00 BC" : "+00";
    ASSERT_EQ(TimestampTzToCanonicalUtc(tz), tz);
    std::string iso = TimestampTzToIso(tz);
    ASSERT_EQ(TimestampToEpochMicros(iso), v) << iso;
    ASSERT_EQ(TimestampTzToCanonicalUtc(iso), tz) << iso;
  }
}

TEST_F(ValueTextProperty, TimestampTzBeyondInt64IsExact) {
  // 294247 .. 294276 AD: PostgreSQL has them, int64 microseconds do not; text and ISO must.
  const int64_t first = *DateToEpochDays("294247-01-10"), last = *DateToEpochDays("294276-12-31");
  for (int i = 0; i < 5000; ++i) {
    int64_t days = Uniform(first, last);
    int64_t micros = Uniform(0, 86400000000LL - 1);
    std::string canonical = EpochDaysToDate(days) + " " + MicrosToTime(micros) + "+00";
    ASSERT_EQ(TimestampTzToCanonicalUtc(canonical), canonical);
    std::string iso = TimestampTzToIso(canonical);
    ASSERT_EQ(iso.substr(0, 1), "+") << iso;
    ASSERT_EQ(TimestampTzToCanonicalUtc(iso), canonical) << iso;
    bool out_of_range = false;
    auto m = TimestampToEpochMicros(canonical, &out_of_range);
    // Exact when it fits, else refused: never a wrapped number.
    if (m) {
      ASSERT_EQ(EpochMicrosToTimestamp(*m) + "+00", canonical);
    } else {
      ASSERT_TRUE(out_of_range) << canonical;
    }
  }
}

TEST_F(ValueTextProperty, DatesRoundTripAndMatchStdChrono) {
  using namespace std::chrono;
  // Every year std::chrono has (-32767 .. 32767): an independent calendar.
  for (int i = 0; i < 20000; ++i) {
    int y = static_cast<int>(Uniform(-32767, 32767));
    unsigned m = static_cast<unsigned>(Uniform(1, 12));
    year_month_day ymd{year{y}, month{m}, day{1}};
    unsigned last_day = static_cast<unsigned>(year_month_day_last{year{y}, month_day_last{month{m}}}.day());
    ymd = year_month_day{year{y}, month{m}, day{static_cast<unsigned>(Uniform(1, last_day))}};
    int64_t expected = sys_days{ymd}.time_since_epoch().count();
    std::string text = EpochDaysToDate(expected);
    ASSERT_EQ(DateToEpochDays(text), expected) << text;
    int64_t cy, cm, cd;
    CivilFromDays(expected, cy, cm, cd);
    ASSERT_EQ(cy, static_cast<int64_t>(y));
    ASSERT_EQ(cm, static_cast<int64_t>(m));
    ASSERT_EQ(cd, static_cast<int64_t>(static_cast<unsigned>(ymd.day())));
  }
  // PostgreSQL's limits (4714-11-24 BC .. 5874897-12-31), int32's, and far beyond.
  std::vector<int64_t> days = {-2440588, 2145042905, INT32_MIN, INT32_MAX - 1, -36500000000LL,
                               36500000000LL};
  for (int i = 0; i < 20000; ++i) days.push_back(Uniform(-36500000000LL, 36500000000LL));
  for (int64_t d : days) {
    std::string text = EpochDaysToDate(d);
    ASSERT_EQ(DateToEpochDays(text), d) << text;
  }
  EXPECT_EQ(EpochDaysToDate(-2440588), "4714-11-24 BC");
  EXPECT_EQ(EpochDaysToDate(2145042905), "5874897-12-31");
}

TEST_F(ValueTextProperty, TimesRoundTrip) {
  // A time of day (00:00:00 .. 24:00:00) and MySQL TIME (-838:59:59.999999 .. 838:59:59.999999).
  constexpr int64_t kMysqlMax = (838LL * 3600 + 59 * 60 + 59) * 1000000 + 999999;
  std::vector<int64_t> values = {0, 86400000000LL, kMysqlMax, -kMysqlMax, -1, 1};
  for (int i = 0; i < 20000; ++i) values.push_back(Uniform(-kMysqlMax, kMysqlMax));
  for (int64_t v : values) {
    std::string text = MicrosToTime(v);
    ASSERT_EQ(TimeToMicros(text), v) << text;
  }
}

TEST_F(ValueTextProperty, ParsedTextFormatsBackToTheSameValue) {
  // Random well-formed server text (any offset, fraction length, era) -> value -> canonical
  // text -> the same value.
  for (int i = 0; i < 20000; ++i) {
    int64_t y = Uniform(1, 290000);  // within int64 micros either side, BC too
    int64_t m = Uniform(1, 12), d = Uniform(1, 28), h = Uniform(0, 23), mi = Uniform(0, 59), s = Uniform(0, 59);
    char buf[96];
    int frac_digits = static_cast<int>(Uniform(0, 6));
    std::string frac;
    if (frac_digits) frac = "." + std::to_string(Uniform(0, 999999)).substr(0, static_cast<size_t>(frac_digits));
    int64_t off_h = Uniform(-15, 15), off_m = Uniform(0, 59);
    std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld%s%c%02lld:%02lld%s",
                  static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                  static_cast<long long>(h), static_cast<long long>(mi), static_cast<long long>(s),
                  frac.c_str(), off_h < 0 ? '-' : '+', static_cast<long long>(off_h < 0 ? -off_h : off_h),
                  static_cast<long long>(off_m), rng_() % 4 == 0 ? " BC" : "");
    auto v = TimestampToEpochMicros(buf);
    ASSERT_TRUE(v.has_value()) << buf;
    ASSERT_EQ(TimestampToEpochMicros(EpochMicrosToTimestamp(*v)), v) << buf;
    auto canonical = TimestampTzToCanonicalUtc(buf);
    ASSERT_TRUE(canonical.has_value()) << buf;
    ASSERT_EQ(TimestampToEpochMicros(*canonical), v) << buf << " -> " << *canonical;
    ASSERT_EQ(TimestampToEpochMicros(TimestampTzToIso(buf)), v) << buf;
  }
}

TEST(ValueTextTest, JsonNumbers) {
  EXPECT_TRUE(IsJsonNumber("0"));
  EXPECT_TRUE(IsJsonNumber("-12.5e+3"));
  EXPECT_FALSE(IsJsonNumber("NaN"));
  EXPECT_FALSE(IsJsonNumber("01"));
  EXPECT_FALSE(IsJsonNumber("1."));
  EXPECT_FALSE(IsJsonNumber(""));
}

}  // namespace
}  // namespace sluice::core
