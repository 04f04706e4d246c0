// MySQL 8 binary JSON -> text, on hand-made documents (sql-common/json_binary.h layout) and
// their truncations, which must fail cleanly.
#include "connectors/mysql/json_binary.h"

#include <cstring>

#include <gtest/gtest.h>

namespace sluice::mysql {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

std::string Decode(const std::string& in) {
  std::string out;
  if (!AppendJsonFromBinary(in, out)) return "<bad>";
  return out;
}

// {"k": [1, 2]}: a small object with one key whose value is a small array of inlined int16s.
const std::string kObject = Bytes({0x00, 0x01, 0x00, 0x16, 0x00, 0x0B, 0x00, 0x01, 0x00, 0x02, 0x0C,
                                   0x00, 'k', 0x02, 0x00, 0x0A, 0x00, 0x05, 0x01, 0x00, 0x05, 0x02,
                                   0x00});

TEST(JsonBinary, DecodesContainersAndScalars) {
  EXPECT_EQ(Decode(kObject), "{\"k\": [1, 2]}");
  EXPECT_EQ(Decode(Bytes({0x0C, 0x05, 'h', 'e', '"', 'l', 'o'})), "\"he\\\"lo\"");
  EXPECT_EQ(Decode(Bytes({0x04, 0x01})), "true");
  EXPECT_EQ(Decode(Bytes({0x04, 0x00})), "null");
  EXPECT_EQ(Decode(Bytes({0x05, 0xFF, 0xFF})), "-1");
  EXPECT_EQ(Decode(Bytes({0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})),
            "18446744073709551615");
  std::string d = Bytes({0x0B});
  double v = 1.5;
  char raw[8];
  std::memcpy(raw, &v, 8);
  d.append(raw, 8);
  EXPECT_EQ(Decode(d), "1.5");
  // Opaque DECIMAL(4,2) 12.34: field type 246, length 4, precision, scale, packed decimal.
  EXPECT_EQ(Decode(Bytes({0x0F, 0xF6, 0x04, 0x04, 0x02, 0x8C, 0x22})), "12.34");
  EXPECT_EQ(Decode(""), "null");
  // Empty array, large array with an inlined int32.
  EXPECT_EQ(Decode(Bytes({0x02, 0x00, 0x00, 0x04, 0x00})), "[]");
  EXPECT_EQ(Decode(Bytes({0x03, 0x01, 0, 0, 0, 0x0D, 0, 0, 0, 0x07, 0x2A, 0, 0, 0})), "[42]");
}

TEST(JsonBinary, TruncatedAndCorruptedDocumentsFail) {
  for (size_t n = 1; n < kObject.size(); ++n) {
    std::string out;
    EXPECT_FALSE(AppendJsonFromBinary(kObject.substr(0, n), out)) << n;
  }
  for (size_t i = 0; i < kObject.size(); ++i) {
    for (int delta : {1, 0x40, 0x80}) {
      std::string bad = kObject;
      bad[i] = static_cast<char>(bad[i] + delta);
      std::string out;
      (void)AppendJsonFromBinary(bad, out);  // any result, never a crash
    }
  }
  EXPECT_EQ(Decode(Bytes({0x7F})), "<bad>");
}

// Found by fuzzing (UBSan): an opaque temporal value whose packed int64 is INT64_MIN was negated
// to take its magnitude. Such bytes are not a real temporal value, but must decode without
// undefined behaviour (to the fields its bits hold).
TEST(JsonBinary, OpaqueTemporalAtInt64MinHasNoOverflow) {
  EXPECT_EQ(Decode(Bytes({0x0F, 11, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x80})), "\"-00:00:00\"");
  EXPECT_EQ(Decode(Bytes({0x0F, 12, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x80})), "\"10082-06-00 00:00:00\"");
  // A real negative TIME still decodes: -01:02:03 packed is -(((1 << 12) | (2 << 6) | 3) << 24).
  int64_t packed = -((((int64_t{1} << 12) | (2 << 6) | 3)) << 24);
  std::string doc = Bytes({0x0F, 11, 0x08});
  for (int i = 0; i < 8; ++i) doc.push_back(static_cast<char>(static_cast<uint64_t>(packed) >> (8 * i)));
  EXPECT_EQ(Decode(doc), "\"-01:02:03\"");
}

}  // namespace
}  // namespace sluice::mysql
