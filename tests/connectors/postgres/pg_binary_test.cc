// Binary COPY decoding (connectors/postgres/pg_binary.h): each type's send format turned into
// the canonical text, the stream header, and malformed input refused. The integration test
// PostgresSourceTest.BinaryAndTextSnapshotsAgree checks the same against a real server.
#include "connectors/postgres/pg_binary.h"

#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <string>

namespace sluice::pg {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s += static_cast<char>(b);
  return s;
}

std::string Be64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) s[i] = static_cast<char>(v & 0xff);
  return s;
}

std::string Text(BinaryKind kind, const std::string& bytes) {
  char out[kMaxBinaryText];
  int n = FormatBinaryFixed(kind, bytes, out);
  return n < 0 ? "<malformed>" : std::string(out, n);
}

// numeric_send layout: ndigits, weight, sign, dscale, base-10000 digits (all int16 big-endian).
std::string Numeric(int weight, int sign, int dscale, std::initializer_list<int> digits) {
  std::string s;
  auto put16 = [&](int v) {
    s += static_cast<char>((v >> 8) & 0xff);
    s += static_cast<char>(v & 0xff);
  };
  put16(static_cast<int>(digits.size()));
  put16(weight);
  put16(sign);
  put16(dscale);
  for (int d : digits) put16(d);
  return s;
}

std::string NumericText(const std::string& bytes) {
  std::string out;
  return FormatBinaryNumeric(bytes, out) ? out : "<malformed>";
}

TEST(PgBinaryTest, Integers) {
  EXPECT_EQ(Text(BinaryKind::kInt2, Bytes({0x80, 0x00})), "-32768");
  EXPECT_EQ(Text(BinaryKind::kInt4, Bytes({0x7f, 0xff, 0xff, 0xff})), "2147483647");
  EXPECT_EQ(Text(BinaryKind::kInt8, Be64(0x8000000000000000ULL)), "-9223372036854775808");
  EXPECT_EQ(Text(BinaryKind::kOid, Bytes({0xff, 0xff, 0xff, 0xff})), "4294967295");
  EXPECT_EQ(Text(BinaryKind::kBool, Bytes({1})), "t");
  EXPECT_EQ(Text(BinaryKind::kBool, Bytes({0})), "f");
}

TEST(PgBinaryTest, FloatsUsePostgresNotation) {
  auto f8 = [](double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof(v));
    return Text(BinaryKind::kFloat8, Be64(bits));
  };
  auto f4 = [](float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof(v));
    return Text(BinaryKind::kFloat4, Be64(uint64_t{bits} << 32).substr(0, 4));
  };
  EXPECT_EQ(f8(999999999999999.0), "999999999999999");
  EXPECT_EQ(f8(1e15), "1e+15");
  EXPECT_EQ(f8(0.0001), "0.0001");
  EXPECT_EQ(f8(0.00001), "1e-05");
  EXPECT_EQ(f8(-0.0), "-0");
  EXPECT_EQ(f8(0.1), "0.1");
  EXPECT_EQ(f8(123.456), "123.456");
  EXPECT_EQ(f8(5e-324), "5e-324");
  EXPECT_EQ(f8(__builtin_nan("")), "NaN");
  EXPECT_EQ(f8(-__builtin_inf()), "-Infinity");
  EXPECT_EQ(f4(123456.0f), "123456");
  EXPECT_EQ(f4(1234567.0f), "1.234567e+06");
  EXPECT_EQ(f4(1.5f), "1.5");
  EXPECT_EQ(f4(__builtin_inff()), "Infinity");
}

TEST(PgBinaryTest, NumericKeepsItsScale) {
  EXPECT_EQ(NumericText(Numeric(0, 0, 0, {})), "0");
  EXPECT_EQ(NumericText(Numeric(0, 0, 2, {})), "0.00");
  EXPECT_EQ(NumericText(Numeric(1, 0x4000, 5, {12, 3456, 7800})), "-123456.78000");
  EXPECT_EQ(NumericText(Numeric(-2, 0, 6, {100})), "0.000001");
  EXPECT_EQ(NumericText(Numeric(2, 0, 0, {1})), "100000000");
  EXPECT_EQ(NumericText(Numeric(0, 0, 3, {1, 2345})), "1.234");  // cut at dscale, as numeric_out
  EXPECT_EQ(NumericText(Numeric(0, 0xC000, 0, {})), "NaN");
  EXPECT_EQ(NumericText(Numeric(0, 0xD000, 0, {})), "Infinity");
  EXPECT_EQ(NumericText(Numeric(0, 0xF000, 0, {})), "-Infinity");
  EXPECT_EQ(NumericText(Numeric(0, 0x1234, 0, {1})), "<malformed>");
  EXPECT_EQ(NumericText(Numeric(0, 0, 0, {10000})), "<malformed>");
  EXPECT_EQ(NumericText(Numeric(0, 0, 0, {1}).substr(0, 9)), "<malformed>");
}

TEST(PgBinaryTest, DatesAndTimes) {
  EXPECT_EQ(Text(BinaryKind::kDate, Bytes({0, 0, 0, 0})), "2000-01-01");
  EXPECT_EQ(Text(BinaryKind::kDate, Bytes({0xff, 0xff, 0xff, 0xff})), "1999-12-31");
  EXPECT_EQ(Text(BinaryKind::kDate, Bytes({0x7f, 0xff, 0xff, 0xff})), "infinity");
  EXPECT_EQ(Text(BinaryKind::kDate, Bytes({0x80, 0, 0, 0})), "-infinity");
  // 0044-03-15 BC (astronomical year -43) is 746 117 days before 2000-01-01.
  int32_t bc = -746117;
  std::string bc_bytes(4, '\0');
  for (int i = 3; i >= 0; --i, bc >>= 8) bc_bytes[i] = static_cast<char>(bc & 0xff);
  EXPECT_EQ(Text(BinaryKind::kDate, bc_bytes), "0044-03-15 BC");
  EXPECT_EQ(Text(BinaryKind::kTime, Be64(86400000000ULL)), "24:00:00");
  EXPECT_EQ(Text(BinaryKind::kTime, Be64(3723500000ULL)), "01:02:03.5");
  EXPECT_EQ(Text(BinaryKind::kTime, Be64(86400000001ULL)), "<malformed>");
  EXPECT_EQ(Text(BinaryKind::kTimestamp, Be64(1)), "2000-01-01 00:00:00.000001");
  EXPECT_EQ(Text(BinaryKind::kTimestampTz, Be64(static_cast<uint64_t>(-500000))),
            "1999-12-31 23:59:59.5+00");
  EXPECT_EQ(Text(BinaryKind::kTimestampTz, Be64(static_cast<uint64_t>(-746117LL * 86400000000LL))),
            "0044-03-15 00:00:00+00 BC");
  EXPECT_EQ(Text(BinaryKind::kTimestamp, Be64(0x7fffffffffffffffULL)), "infinity");
  EXPECT_EQ(Text(BinaryKind::kTimestampTz, Be64(0x8000000000000000ULL)), "-infinity");
}

TEST(PgBinaryTest, UuidAndWrongSizes) {
  std::string u = Bytes({0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9,
                         0xbd, 0x38, 0x0a, 0x11});
  EXPECT_EQ(Text(BinaryKind::kUuid, u), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  EXPECT_EQ(Text(BinaryKind::kUuid, u.substr(1)), "<malformed>");
  EXPECT_EQ(Text(BinaryKind::kInt4, Bytes({1, 2})), "<malformed>");
  EXPECT_EQ(Text(BinaryKind::kInt8, Bytes({1, 2, 3, 4})), "<malformed>");
  EXPECT_EQ(Text(BinaryKind::kBool, ""), "<malformed>");
  EXPECT_EQ(Text(BinaryKind::kRaw, "x"), "<malformed>");  // not a fixed-size kind
}

TEST(PgBinaryTest, AppendsIntoTheBatch) {
  core::EventBatch batch;
  batch.BeginRow();
  EXPECT_TRUE(AppendBinaryValue(batch, BinaryKind::kRaw, "tab\there"));
  EXPECT_TRUE(AppendBinaryValue(batch, BinaryKind::kJsonb, "\x01{\"a\": 1}"));
  EXPECT_TRUE(AppendBinaryValue(batch, BinaryKind::kBytea, std::string("\0\xff", 2)));
  EXPECT_TRUE(AppendBinaryValue(batch, BinaryKind::kNumeric, Numeric(0, 0, 1, {7})));
  EXPECT_TRUE(AppendBinaryValue(batch, BinaryKind::kInt4, Bytes({0, 0, 1, 0})));
  EXPECT_FALSE(AppendBinaryValue(batch, BinaryKind::kJsonb, "\x02{}"));
  EXPECT_FALSE(AppendBinaryValue(batch, BinaryKind::kNone, "x"));
  EXPECT_FALSE(AppendBinaryValue(batch, BinaryKind::kInt4, "x"));
  batch.AbandonRow();
}

TEST(PgBinaryTest, StreamHeader) {
  std::string header(kCopyBinarySignature);
  header += std::string(8, '\0');  // flags, extension length
  EXPECT_EQ(CopyBinaryHeaderLength(header), 19);
  EXPECT_EQ(CopyBinaryHeaderLength(header + "tuple"), 19);
  EXPECT_EQ(CopyBinaryHeaderLength(header.substr(0, 15)), 0);  // needs more bytes
  std::string with_extension = header;
  with_extension[18] = 3;
  EXPECT_EQ(CopyBinaryHeaderLength(with_extension), 0);
  EXPECT_EQ(CopyBinaryHeaderLength(with_extension + "abc"), 22);
  std::string critical = header;
  critical[11] = 1;  // an unknown critical flag
  EXPECT_EQ(CopyBinaryHeaderLength(critical), -1);
  EXPECT_EQ(CopyBinaryHeaderLength("PGCOPX\n\377\r\n" + std::string(9, '\0')), -1);
}

TEST(PgBinaryTest, KindsForBuiltinTypes) {
  EXPECT_EQ(BinaryKindForOid(20), BinaryKind::kInt8);
  EXPECT_EQ(BinaryKindForOid(1043), BinaryKind::kRaw);
  EXPECT_EQ(BinaryKindForOid(3802), BinaryKind::kJsonb);
  EXPECT_EQ(BinaryKindForOid(1186), BinaryKind::kNone);  // interval: text COPY
  EXPECT_EQ(BinaryKindForOid(869), BinaryKind::kNone);   // inet: text COPY
  EXPECT_EQ(BinaryKindForOid(1007), BinaryKind::kNone);  // int4[]: text COPY
}

}  // namespace
}  // namespace sluice::pg
