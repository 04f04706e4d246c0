// The binlog decoder's value decoding on hand-made images (no capture): DECIMAL edge cases,
// BINARY padding and long CHAR lengths, TIME2 durations, zero dates under both
// zero.date.handling.mode values. The captured-bytes tests are in binlog_decoder_test.cc.
#include "connectors/mysql/binlog_decoder.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::mysql {
namespace {

TEST(BinlogDecoder, DecimalEdgeCases) {
  auto dec = [](std::vector<uint8_t> bytes, int p, int s) {
    std::string out;
    size_t used = 0;
    std::string in(bytes.begin(), bytes.end());
    if (!DecodeDecimal(in, p, s, out, used)) return std::string("<bad>");
    return out;
  };
  // DECIMAL(4,2) 12.34 = 0x80 0x0C 0x22 (2 bytes int "12" -> 1 byte, frac "34" -> 1 byte).
  EXPECT_EQ(dec({0x8C, 0x22}, 4, 2), "12.34");
  EXPECT_EQ(dec({0x73, 0xDD}, 4, 2), "-12.34");
  EXPECT_EQ(dec({0x80, 0x00}, 4, 2), "0.00");
  EXPECT_EQ(dec({0x80}, 4, 2), "<bad>");               // truncated
  EXPECT_EQ(dec({0xFF, 0xFF}, 4, 2), "<bad>");         // digits out of range
  EXPECT_EQ(DecimalBinarySize(65, 30), 30u);
}

// Decodes one WRITE_ROWS image of hand-made values for a hand-made TABLE_MAP (every column
// present, no NULLs): the canonical text of each column, "<null>" for a NULL result.
// With `refused`, a decode error is stored there (and the batch checked to hold no row)
// instead of failing the test.
std::vector<std::string> DecodeOneRow(const std::vector<uint8_t>& types,
                                      const std::vector<uint16_t>& metadata,
                                      const std::vector<uint32_t>& collations,
                                      const std::string& values,
                                      ZeroDateMode zero_dates = ZeroDateMode::kNull,
                                      core::Status* refused = nullptr) {
  TableMap map;
  map.table_id = 7;
  map.database = "db";
  map.table = "t";
  map.types = types;
  map.metadata = metadata;
  map.nullable.assign(types.size(), true);
  map.is_unsigned.assign(types.size(), false);
  map.collations = collations;
  map.labels.resize(types.size());
  auto schema = std::make_shared<core::TableSchema>();
  schema->id = {"db", "t"};
  std::vector<SchemaColumnInfo> info;
  SchemaFromTableMap(map, *schema, info);
  auto plan = BuildRowsPlan(map, schema, info, std::vector<bool>(types.size(), false), zero_dates);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  if (!plan.ok()) return {};
  RowsEvent rows;
  rows.table_id = 7;
  rows.op = core::Op::kCreate;
  rows.column_count = static_cast<uint32_t>(types.size());
  std::string present((types.size() + 7) / 8, '\xff');
  rows.present_before = present;
  rows.present_after = present;  // DecodeRowsHeader puts a write's only image here
  std::string data = std::string((types.size() + 7) / 8, '\0') + values;  // null bitmap: none
  rows.rows = data;
  core::EventBatch batch;
  uint32_t txn = batch.AddTxn({});
  core::Status st = DecodeRows(rows, **plan, txn, batch, {"hand", 4}, nullptr);
  if (refused != nullptr) {
    *refused = st;
    if (!st.ok()) {
      EXPECT_EQ(batch.size(), 0u);
      EXPECT_EQ(batch.row_count(), 0u) << "a refused row must leave no partial row";
      return {};
    }
  }
  EXPECT_TRUE(st.ok()) << st.ToString();
  std::vector<std::string> out;
  if (!st.ok() || batch.events().size() != 1) return out;
  auto row = batch.row(batch.events()[0].after);
  for (uint32_t i = 0; i < types.size(); ++i) {
    out.emplace_back(row.is_null(i) ? "<null>" : std::string(row.text(i)));
  }
  return out;
}

// BINARY(n) values arrive without their trailing 0x00 pad bytes (the server strips the pad
// character when it logs a CHAR-type column) and must come out as the server stores them,
// right-padded to n bytes: what the snapshot reads. CHAR(100) in utf8mb4 is up to 400 bytes:
// the TABLE_MAP folds the length's high bits into the real-type byte (0xFE ^ 0x10 = 0xEE) and
// the value has a 2-byte length.
TEST(BinlogDecoder, BinaryIsRightPaddedAndLongCharUsesTwoLengthBytes) {
  std::string text = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80";
  // BINARY(4) X'AB00' is stored as AB 00 00 00 and logged as the one byte AB.
  std::string values("\x01\xab", 2);
  values += static_cast<char>(text.size() & 0xff);
  values += '\0';
  values += text;
  auto row = DecodeOneRow({kTypeString, kTypeString}, {0xFE04, 0xEE90}, {63, 45}, values);
  ASSERT_EQ(row.size(), 2u);
  EXPECT_EQ(row[0], std::string("\xab\0\0\0", 4));
  EXPECT_EQ(row[1], text);
  // A BINARY(4) value logged at full length is unchanged.
  row = DecodeOneRow({kTypeString}, {0xFE04}, {63}, std::string("\x04" "a\0b\0", 5));
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0], std::string("a\0b\0", 4));
  // CHAR(2) in utf8mb4 keeps what was logged (trailing spaces are not significant for CHAR).
  row = DecodeOneRow({kTypeString}, {0xFE08}, {45}, std::string("\x01" "x", 2));
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0], "x");
}

// TIME2 (MySQL sql-common/my_time.cc my_time_packed_to_binary): a duration of up to
// +-838:59:59, not a time of day; 3 bytes of (hours << 12 | minutes << 6 | seconds) + 0x800000,
// then the fraction.
TEST(BinlogDecoder, Time2OutsideOneDayAndNegative) {
  // '100:00:00.5' TIME(1): hms = 100 << 12 = 0x64000 (+0x800000 = 0x864000), fraction 50/100.
  auto row = DecodeOneRow({kTypeTime2}, {1}, {0}, std::string("\x86\x40\x00\x32", 4));
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0], "100:00:00.5");
  // '-838:59:58' TIME(0): 0x800000 - (838 << 12 | 59 << 6 | 58) = 0x4B9106.
  row = DecodeOneRow({kTypeTime2}, {0}, {0}, std::string("\x4b\x91\x06", 3));
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0], "-838:59:58");
}

// DATE: 3 bytes little-endian of year << 9 | month << 5 | day.
std::string BinlogDate(uint32_t year, uint32_t month, uint32_t day) {
  uint32_t u = year << 9 | month << 5 | day;
  return std::string{static_cast<char>(u & 0xff), static_cast<char>(u >> 8 & 0xff),
                     static_cast<char>(u >> 16)};
}

// DATETIME2(0): 5 bytes big-endian of ((year * 13 + month) << 5 | day) << 17 |
// hour << 12 | minute << 6 | second, plus 0x8000000000.
std::string BinlogDatetime2(int64_t year, int64_t month, int64_t day, int64_t h, int64_t m,
                            int64_t sec) {
  int64_t v = (((year * 13 + month) << 5 | day) << 17 | h << 12 | m << 6 | sec) + 0x8000000000LL;
  std::string out;
  for (int i = 4; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i) & 0xff));
  return out;
}

// Without NO_ZERO_DATE / NO_ZERO_IN_DATE the server stores '0000-00-00' and '2024-00-15';
// no target type holds them. With zero.date.handling.mode=null both the binlog and the
// snapshot's text make them NULL.
TEST(BinlogDecoder, ZeroDatesAndZeroInDatesAreNullInNullMode) {
  auto date = BinlogDate;
  EXPECT_EQ(DecodeOneRow({kTypeDate}, {0}, {0}, date(2024, 2, 29)),
            std::vector<std::string>{"2024-02-29"});
  for (auto bytes : {date(0, 0, 0), date(2024, 0, 15), date(2024, 3, 0)}) {
    auto row = DecodeOneRow({kTypeDate}, {0}, {0}, bytes);
    ASSERT_EQ(row.size(), 1u);
    EXPECT_EQ(row[0], "<null>");
  }
  EXPECT_TRUE(IsZeroDateText("0000-00-00"));
  EXPECT_TRUE(IsZeroDateText("0000-00-00 00:00:00.000"));
  EXPECT_TRUE(IsZeroDateText("2024-00-15"));
  EXPECT_TRUE(IsZeroDateText("2024-03-00 10:00:00"));
  EXPECT_FALSE(IsZeroDateText("2024-03-01"));
  EXPECT_FALSE(IsZeroDateText("2000-10-10 00:00:00"));
  EXPECT_FALSE(IsZeroDateText("12:00"));
}

// zero.date.handling.mode=fail (the default): a zero date is kFailedPrecondition naming the
// table, the column, the value as the server prints it, the binlog position and the fix, and
// the refused row leaves nothing in the batch. Valid dates still decode.
TEST(BinlogDecoder, ZeroDatesAreRefusedByDefault) {
  struct Case {
    std::vector<uint8_t> types;
    std::vector<uint16_t> meta;
    std::string bytes, shown;
  } cases[] = {
      {{kTypeDate}, {0}, BinlogDate(0, 0, 0), "'0000-00-00'"},
      {{kTypeDate}, {0}, BinlogDate(2024, 0, 15), "'2024-00-15'"},
      {{kTypeDate}, {0}, BinlogDate(2024, 3, 0), "'2024-03-00'"},
      {{kTypeDateTime2}, {0}, BinlogDatetime2(0, 0, 0, 0, 0, 0), "'0000-00-00 00:00:00'"},
      {{kTypeDateTime2}, {0}, BinlogDatetime2(2024, 3, 0, 10, 11, 12), "'2024-03-00 10:11:12'"},
      {{kTypeTimestamp2}, {0}, std::string(4, '\0'), "'0000-00-00 00:00:00'"},
      {{kTypeTimestamp2}, {3}, std::string(6, '\0'), "'0000-00-00 00:00:00.000'"},
      // A valid column before the zero date: the whole row is refused, not half of it.
      {{kTypeLong, kTypeDate}, {0, 0}, std::string("\x07\0\0\0", 4) + BinlogDate(0, 0, 0),
       "'0000-00-00'"},
  };
  for (const Case& c : cases) {
    core::Status st;
    std::vector<uint32_t> collations(c.types.size(), 0);
    DecodeOneRow(c.types, c.meta, collations, c.bytes, ZeroDateMode::kFail, &st);
    ASSERT_FALSE(st.ok()) << c.shown;
    EXPECT_EQ(st.code(), core::StatusCode::kFailedPrecondition) << st.ToString();
    const std::string& m = st.message();
    EXPECT_NE(m.find("db.t"), std::string::npos) << m;
    EXPECT_NE(m.find("column col_" + std::to_string(c.types.size())), std::string::npos) << m;
    EXPECT_NE(m.find("holds the date " + c.shown + ","), std::string::npos) << m;
    EXPECT_NE(m.find("hand:4"), std::string::npos) << m;
    EXPECT_NE(m.find("set zero.date.handling.mode=null"), std::string::npos) << m;
    EXPECT_NE(m.find("column.exclude.list"), std::string::npos) << m;
  }
  core::Status st;
  auto row = DecodeOneRow({kTypeDate, kTypeDateTime2}, {0, 0}, {0, 0},
                          BinlogDate(2024, 2, 29) + BinlogDatetime2(2024, 2, 29, 23, 59, 58),
                          ZeroDateMode::kFail, &st);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(row, (std::vector<std::string>{"2024-02-29", "2024-02-29 23:59:58"}));
  EXPECT_EQ(ParseZeroDateMode("fail").value(), ZeroDateMode::kFail);
  EXPECT_EQ(ParseZeroDateMode("null").value(), ZeroDateMode::kNull);
  auto bad = ParseZeroDateMode("skip");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("fail, null"), std::string::npos);
}

}  // namespace
}  // namespace sluice::mysql
