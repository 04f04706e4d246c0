#include "core/text_codec.h"

#include <gtest/gtest.h>

namespace sluice::core {
namespace {

TEST(TextCodecTest, HexDigitValue) {
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('9'), 9);
  EXPECT_EQ(HexDigitValue('a'), 10);
  EXPECT_EQ(HexDigitValue('F'), 15);
  EXPECT_EQ(HexDigitValue('g'), -1);
  EXPECT_EQ(HexDigitValue('-'), -1);
}

TEST(TextCodecTest, Utf8EncodesAndDecodesEveryLength) {
  for (uint32_t cp : {0x41u, 0xE9u, 0x20ACu, 0x1F600u, 0x10FFFFu}) {
    std::string text;
    AppendUtf8(text, cp);
    uint32_t decoded = 0;
    EXPECT_EQ(DecodeUtf8(text, 0, &decoded), text.size()) << cp;
    EXPECT_EQ(decoded, cp);
    EXPECT_TRUE(IsValidUtf8(text));
  }
  uint32_t cp;
  EXPECT_EQ(DecodeUtf8("\xC0\x80", 0, &cp), 0u);      // overlong
  EXPECT_EQ(DecodeUtf8("\xED\xA0\x80", 0, &cp), 0u);  // surrogate
  EXPECT_EQ(DecodeUtf8("\xE2\x82", 0, &cp), 0u);      // cut short
  EXPECT_FALSE(IsValidUtf8("a\xff"));
}

TEST(TextCodecTest, SafeTextEscapesControlsAndInvalidBytesAndCuts) {
  EXPECT_EQ(SafeText("a\r\nb"), "a\\x0D\\x0Ab");
  EXPECT_EQ(SafeText("x\xff"), "x\\xFF");
  EXPECT_EQ(SafeText("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(SafeText("abcdef", 3), "abc…");
}

TEST(TextCodecTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("p%40ss%2Fw"), "p@ss/w");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_EQ(PercentDecode("50%"), std::nullopt);
  EXPECT_EQ(PercentDecode("%4"), std::nullopt);
  EXPECT_EQ(PercentDecode("%zz"), std::nullopt);
  EXPECT_EQ(PercentDecode("%-1"), std::nullopt);  // from_chars took the sign: no longer
}

}  // namespace
}  // namespace sluice::core
