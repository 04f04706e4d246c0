// ParseNumber: the whole text is a number of the type's range, or an error naming what was
// parsed; never an exception, never a silently different value.
#include "core/parse_number.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace sluice::core {
namespace {

template <typename T>
std::string ErrorOf(std::string_view text) {
  auto r = ParseNumber<T>(text, "postgres pg_class.relpages of public.orders");
  EXPECT_FALSE(r.ok()) << "'" << text << "' parsed";
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("postgres pg_class.relpages of public.orders"),
            std::string::npos)
      << r.status().message();
  return r.status().message();
}

TEST(ParseNumberTest, ParsesWholeNumbersAtTheLimitsOfTheirType) {
  EXPECT_EQ(*ParseNumber<uint32_t>("4294967295", "oid"), 4294967295u);
  EXPECT_EQ(*ParseNumber<int32_t>("-2147483648", "typmod"), INT32_MIN);
  EXPECT_EQ(*ParseNumber<int32_t>("-1", "typmod"), -1);
  EXPECT_EQ(*ParseNumber<uint64_t>("18446744073709551615", "pos"), UINT64_MAX);
  EXPECT_EQ(*ParseNumber<int64_t>("-9223372036854775808", "n"), INT64_MIN);
  EXPECT_EQ(*ParseNumber<uint64_t>("0", "n"), 0u);
  EXPECT_DOUBLE_EQ(*ParseNumber<double>("-1.5e3", "d"), -1500.0);
}

TEST(ParseNumberTest, OverflowIsAnErrorNotAWrappedValue) {
  EXPECT_NE(ErrorOf<uint32_t>("4294967296").find("out of range"), std::string::npos);
  EXPECT_NE(ErrorOf<int32_t>("2147483648").find("out of range"), std::string::npos);
  EXPECT_NE(ErrorOf<int64_t>("-9223372036854775809").find("out of range"), std::string::npos);
  EXPECT_NE(ErrorOf<uint64_t>("99999999999999999999999").find("out of range"), std::string::npos);
  EXPECT_NE(ErrorOf<double>("1e999").find("out of range"), std::string::npos);
}

TEST(ParseNumberTest, EmptyTextIsAnError) {
  EXPECT_NE(ErrorOf<uint64_t>("").find("empty"), std::string::npos);
  EXPECT_NE(ErrorOf<int>("").find("empty"), std::string::npos);
}

TEST(ParseNumberTest, TrailingOrLeadingJunkIsAnError) {
  EXPECT_NE(ErrorOf<uint64_t>("12abc").find("after the number"), std::string::npos);
  EXPECT_NE(ErrorOf<int>("7 ").find("after the number"), std::string::npos);
  EXPECT_NE(ErrorOf<int>(" 7").find("not a number"), std::string::npos);
  EXPECT_NE(ErrorOf<int>("+7").find("not a number"), std::string::npos);
  EXPECT_NE(ErrorOf<uint32_t>("abc").find("not a number"), std::string::npos);
  EXPECT_NE(ErrorOf<double>("1.5x").find("after the number"), std::string::npos);
}

TEST(ParseNumberTest, NegativeTextForAnUnsignedTypeIsAnError) {
  // std::stoul("-1") returns ULONG_MAX: a silently huge value.
  EXPECT_NE(ErrorOf<uint64_t>("-1").find("negative"), std::string::npos);
  EXPECT_NE(ErrorOf<uint32_t>("-0").find("negative"), std::string::npos);
}

TEST(ParseNumberTest, TheErrorQuotesTheTextShortened) {
  std::string long_text(500, '9');
  std::string message = ErrorOf<int>(long_text);
  EXPECT_LT(message.size(), 200u) << message;
}

}  // namespace
}  // namespace sluice::core
