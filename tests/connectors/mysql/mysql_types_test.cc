// Tests of the MySQL/MariaDB value texts that must equal what the server itself prints: FLOAT
// read as DOUBLE in the snapshot, and MariaDB INET4/INET6/UUID decoded from the binlog's bytes.
// The expected texts were checked against MariaDB 10.11 (SELECT col, HEX(col)).
#include "connectors/mysql/binlog_decoder.h"
#include "connectors/mysql/mysql_types.h"

#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstring>
#include <random>

#include <gtest/gtest.h>

namespace sluice::mysql {
namespace {

std::string FloatText(std::string_view double_text) {
  std::string out;
  if (!AppendFloat32FromDoubleText(out, double_text)) return "<refused>";
  return out;
}

// What CAST(f AS DOUBLE) prints for FLOAT values that the text protocol rounds to 6 digits.
TEST(MysqlTypes, FloatReadAsDoubleIsTheShortestFloat32Text) {
  EXPECT_EQ(FloatText("16777216"), "16777216");
  EXPECT_EQ(FloatText("3.1415927410125732"), "3.1415927");
  EXPECT_EQ(FloatText("123456792"), "123456792");
  EXPECT_EQ(FloatText("3.4028234663852886e38"), "3.4028235e+38");  // FLT_MAX
  EXPECT_EQ(FloatText("1.1754943508222875e-38"), "1.1754944e-38");  // FLT_MIN
  EXPECT_EQ(FloatText("1.401298464324817e-45"), "1e-45");  // the smallest denormal
  EXPECT_EQ(FloatText("0.10000000149011612"), "0.1");
  EXPECT_EQ(FloatText("0"), "0");
  EXPECT_EQ(FloatText("-0"), "-0");
  // Not the exact value of a float32, no number at all, or out of its range: refused.
  EXPECT_EQ(FloatText("0.1"), "<refused>");
  EXPECT_EQ(FloatText("1e39"), "<refused>");
  EXPECT_EQ(FloatText("abc"), "<refused>");
  EXPECT_EQ(FloatText(""), "<refused>");
  EXPECT_EQ(FloatText("1.5x"), "<refused>");
}

// Every float32 read back from its text is the same float: random bit patterns over the whole
// range (denormals included), through the double the server prints.
TEST(MysqlTypes, FloatTextRoundTripsEveryFloat32) {
  std::mt19937 rng(7);
  for (int i = 0; i < 200000; ++i) {
    uint32_t bits = rng();
    float f;
    std::memcpy(&f, &bits, sizeof f);
    if (!std::isfinite(f)) continue;
    char buf[40];
    auto res = std::to_chars(buf, buf + sizeof buf, static_cast<double>(f));
    std::string text = FloatText(std::string_view(buf, static_cast<size_t>(res.ptr - buf)));
    float back = 0;
    auto parsed = std::from_chars(text.data(), text.data() + text.size(), back);
    ASSERT_EQ(parsed.ec, std::errc()) << text;
    uint32_t back_bits;
    std::memcpy(&back_bits, &back, sizeof back);
    ASSERT_EQ(back_bits, bits) << text;
  }
}

std::string Hex16(const char* hex) {
  std::string out;
  for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex + i, 2), nullptr, 16)));
  }
  return out;
}

std::string Inet6(const char* hex) {
  std::string out;
  EXPECT_TRUE(AppendFixedBinaryText(out, Hex16(hex), FixedBinaryText::kInet6));
  return out;
}

// MariaDB's own text (SELECT i, HEX(i) FROM ... on 10.11), including where it differs from
// RFC 5952: it compresses a single zero group and takes the first of equal runs.
TEST(MysqlTypes, Inet6TextIsTheServersText) {
  EXPECT_EQ(Inet6("41414141000000000000000000000001"), "4141:4141::1");
  EXPECT_EQ(Inet6("00010000000200030004000500060007"), "1::2:3:4:5:6:7");
  EXPECT_EQ(Inet6("00010000000000020000000000000003"), "1:0:0:2::3");
  EXPECT_EQ(Inet6("00010000000000020000000000030004"), "1::2:0:0:3:4");
  EXPECT_EQ(Inet6("00000000000000000000000001020304"), "::1.2.3.4");
  EXPECT_EQ(Inet6("00000000000000000000FFFF00010002"), "::ffff:0.1.0.2");
  EXPECT_EQ(Inet6("00000000000000000000FFFF01020304"), "::ffff:1.2.3.4");
  EXPECT_EQ(Inet6("00000000000000000000FFFF00000000"), "::ffff:0.0.0.0");
  EXPECT_EQ(Inet6("00000000000000000000FFFFFFFFFFFF"), "::ffff:255.255.255.255");
  EXPECT_EQ(Inet6("0000000000000000FFFF000001020304"), "::ffff:0:102:304");
  EXPECT_EQ(Inet6("00000000000000000000000000000001"), "::1");
  EXPECT_EQ(Inet6("00000000000000000000000000000100"), "::100");
  EXPECT_EQ(Inet6("00010000000000000000000000000000"), "1::");
  EXPECT_EQ(Inet6("ABCDEF01000000000000000000000000"), "abcd:ef01::");
  EXPECT_EQ(Inet6("00000000000000000001000000000000"), "::1:0:0:0");
  EXPECT_EQ(Inet6("00000000000000000000000000000000"), "::");
  EXPECT_EQ(Inet6("20010DB8000000000000FF0000428329"), "2001:db8::ff00:42:8329");
  EXPECT_EQ(Inet6("FE800000000000000000000000000000"), "fe80::");
  EXPECT_EQ(Inet6("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  std::string out;
  EXPECT_FALSE(AppendFixedBinaryText(out, "short", FixedBinaryText::kInet6));
}

TEST(MysqlTypes, UuidAndInet4Text) {
  std::string out;
  ASSERT_TRUE(AppendFixedBinaryText(out, Hex16("123E4567E89B12D3A456426655440000"),
                                    FixedBinaryText::kUuid));
  EXPECT_EQ(out, "123e4567-e89b-12d3-a456-426655440000");
  out.clear();
  ASSERT_TRUE(AppendFixedBinaryText(out, Hex16("FFFFFFFFFFFFFFFFFFFF000000000001"),
                                    FixedBinaryText::kUuid));
  EXPECT_EQ(out, "ffffffff-ffff-ffff-ffff-000000000001");
  out.clear();
  ASSERT_TRUE(AppendFixedBinaryText(out, Hex16("0A00FF01"), FixedBinaryText::kInet4));
  EXPECT_EQ(out, "10.0.255.1");
  EXPECT_EQ(FixedBinaryTextOf("INET6"), FixedBinaryText::kInet6);
  EXPECT_EQ(FixedBinaryTextOf("uuid"), FixedBinaryText::kUuid);
  EXPECT_EQ(FixedBinaryTextOf("binary"), FixedBinaryText::kNone);
  InformationSchemaColumn c;
  c.name = "u";
  c.data_type = "uuid";
  c.column_type = "uuid";
  EXPECT_EQ(MapColumn(c).type, core::LogicalType::kUuid);
  c.data_type = c.column_type = "inet6";
  EXPECT_EQ(MapColumn(c).type, core::LogicalType::kString);
  EXPECT_EQ(MapColumn(c).source_type, "inet6");
}

// A binlog row of an INET6 and a UUID column (BINARY(16) in the TABLE_MAP, the pad bytes
// stripped) decodes to the server's text, whatever the bytes: "AAAA…" and bytes that are no
// UTF-8 were once emitted as they were.
TEST(BinlogDecoder, Inet6AndUuidColumnsDecodeToText) {
  TableMap map;
  map.table_id = 7;
  map.database = "db";
  map.table = "t";
  map.types = {kTypeString, kTypeString, kTypeString};
  map.metadata = {0xFE10, 0xFE10, 0xFE10};
  map.nullable.assign(3, true);
  map.is_unsigned.assign(3, false);
  map.collations = {63, 63, 63};
  map.labels.resize(3);
  auto schema = std::make_shared<core::TableSchema>();
  schema->id = {"db", "t"};
  std::vector<SchemaColumnInfo> info;
  SchemaFromTableMap(map, *schema, info);
  info[0].text_form = FixedBinaryText::kInet6;
  info[1].text_form = FixedBinaryText::kUuid;  // info[2]: a plain BINARY(16)
  auto plan = BuildRowsPlan(map, schema, info, std::vector<bool>(3, false));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  RowsEvent rows;
  rows.table_id = 7;
  rows.op = core::Op::kCreate;
  rows.column_count = 3;
  const std::string present(1, '\x07');  // RowsEvent holds views: keep the bytes alive
  rows.present_before = rows.present_after = present;
  // The UUID is logged as 15 bytes: its last byte, 0x00, is a pad the server strips.
  std::string data = std::string(1, '\0') + '\x10' + Hex16("41414141414141414141414141414141") + '\x0F' +
         Hex16("FF80C3289F000000000000000000AB") + '\x02' + Hex16("FF01");
  rows.rows = data;
  core::EventBatch batch;
  uint32_t txn = batch.AddTxn({});
  core::Status st = DecodeRows(rows, **plan, txn, batch, {"hand", 4}, nullptr);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(batch.events().size(), 1u);
  auto row = batch.row(batch.events()[0].after);
  EXPECT_EQ(row.text(0), "4141:4141:4141:4141:4141:4141:4141:4141");
  EXPECT_EQ(row.text(1), "ff80c328-9f00-0000-0000-00000000ab00");
  EXPECT_EQ(row.text(2), std::string("\xff\x01", 2) + std::string(14, '\0'));
}

}  // namespace
}  // namespace sluice::mysql
