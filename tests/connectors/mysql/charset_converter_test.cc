// CharsetConverter (connectors/mysql/charset_converter.h): binlog text in cp1251, gbk, big5,
// utf16 and other MySQL character sets becomes UTF-8; invalid bytes are refused, never passed on.
#include "connectors/mysql/charset_converter.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::mysql {
namespace {

std::string Convert(std::string_view charset, std::string_view bytes) {
  auto converter = ConverterForCharset(charset);
  if (!converter.ok()) return "<" + converter.status().ToString() + ">";
  std::string out = "prefix:";
  if (!(*converter)->Append(out, bytes)) return "<invalid>";
  return out;
}

TEST(CharsetConverterTest, ConvertsCommonCharsetsToUtf8) {
  EXPECT_EQ(Convert("cp1251", "\xCF\xF0\xE8\xE2\xE5\xF2"), "prefix:Привет");
  EXPECT_EQ(Convert("koi8r", "\xF0\xD2\xC9\xD7\xC5\xD4"), "prefix:Привет");
  EXPECT_EQ(Convert("gbk", "\xD6\xD0\xCE\xC4"), "prefix:中文");
  EXPECT_EQ(Convert("big5", "\xA4\xA4\xA4\xE5"), "prefix:中文");
  EXPECT_EQ(Convert("sjis", "\x93\xFA\x96\x7B"), "prefix:日本");
  EXPECT_EQ(Convert("latin2", "\xB3\xF3\xBF\xEA"), "prefix:łóżę");
  EXPECT_EQ(Convert("utf16", std::string("\x00h\x00\xE9\xD8\x3D\xDE\x00", 8)), "prefix:hé😀");
  EXPECT_EQ(Convert("cp1251", "plain ascii"), "prefix:plain ascii");
  EXPECT_EQ(Convert("cp1251", ""), "prefix:");
}

TEST(CharsetConverterTest, RefusesInvalidBytes) {
  EXPECT_EQ(Convert("gbk", "\xD6"), "<invalid>");        // a truncated double-byte character
  EXPECT_EQ(Convert("utf16", std::string(1, '\0')), "<invalid>");  // half a code unit
  EXPECT_EQ(Convert("sjis", "\x81\x20"), "<invalid>");   // not a valid trail byte
  // The converter stays usable after a failure.
  EXPECT_EQ(Convert("gbk", "\xD6\xD0"), "prefix:中");
}

TEST(CharsetConverterTest, UnknownCharsetsAreAClearError) {
  auto converter = ConverterForCharset("keybcs2");
  ASSERT_FALSE(converter.ok());
  EXPECT_NE(converter.status().message().find("keybcs2"), std::string::npos);
  EXPECT_NE(converter.status().message().find("utf8mb4"), std::string::npos);
}

TEST(CharsetConverterTest, CollationIdsNameTheirCharset) {
  EXPECT_EQ(CharsetNameForCollationId(51), "cp1251");
  EXPECT_EQ(CharsetNameForCollationId(28), "gbk");
  EXPECT_EQ(CharsetNameForCollationId(28 + 1024), "gbk");  // MariaDB NO PAD variant
  EXPECT_EQ(CharsetNameForCollationId(101), "utf16");
  EXPECT_EQ(CharsetNameForCollationId(45), "");            // utf8mb4: not a converted set
}

TEST(CharsetConverterTest, ConvertersAreShared) {
  auto a = ConverterForCharset("cp1251");
  auto b = ConverterForCharset("cp1251");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->get(), b->get());
}

}  // namespace
}  // namespace sluice::mysql
