#include "core/value_text.h"

#include <gtest/gtest.h>

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
