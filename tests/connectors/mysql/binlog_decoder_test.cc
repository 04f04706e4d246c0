// Tests of the pure binlog decoder on bytes captured from MariaDB 10.11
// (tests/testdata/binlog/types.binlog, made by types_fixture.sql) and on truncated and corrupted
// variants, which must produce errors and never crash. Hand-made value images are in
// binlog_values_test.cc.
#include "connectors/mysql/binlog_decoder.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/connectors/mysql/binlog_capture.h"

namespace sluice::mysql {
namespace {

using testing::CapturedEvent;
using testing::LoadBinlog;

// Decodes a whole captured binlog the way the stream reader does, with schemas built from the
// TABLE_MAP metadata (binlog_row_metadata=FULL).
class CapturedBinlog : public ::testing::Test {
 protected:
  void SetUp() override {
    events_ = LoadBinlog("types.binlog");
    ASSERT_GT(events_.size(), 20u) << "tests/testdata/binlog/types.binlog missing";
  }

  // Decodes every ROWS event; returns the first error.
  core::Status DecodeAll() {
    std::map<uint64_t, TableMap> maps;
    uint32_t txn = batch_.AddTxn({});
    for (const auto& ev : events_) {
      BinlogLocation at{file_, ev.pos};
      auto raw = SplitEvent(ev.bytes, true, at);
      if (!raw.ok()) return raw.status();
      uint8_t type = raw->header.type;
      if (type == static_cast<uint8_t>(EventType::kTableMap)) {
        auto map = DecodeTableMap(raw->body, at);
        if (!map.ok()) return map.status();
        maps[map->table_id] = *map;
        continue;
      }
      if ((type >= 23 && type <= 25) || (type >= 30 && type <= 32)) {
        auto rows = DecodeRowsHeader(type, raw->body, at);
        if (!rows.ok()) return rows.status();
        const TableMap& map = maps.at(rows->table_id);
        auto schema = std::make_shared<core::TableSchema>();
        schema->id = {map.database, map.table};
        std::vector<SchemaColumnInfo> info;
        SchemaFromTableMap(map, *schema, info);
        schemas_.push_back(schema);
        auto plan = BuildRowsPlan(map, schema, info, std::vector<bool>(map.types.size(), false),
                                  zero_dates_);
        if (!plan.ok()) return plan.status();
        SLUICE_RETURN_IF_ERROR(DecodeRows(*rows, **plan, txn, batch_, at, &stats_));
      }
    }
    return core::Status::Ok();
  }

  std::string Text(const core::ChangeEvent& ev, bool after, const std::string& column) {
    int i = ev.table->FindColumn(column);
    EXPECT_GE(i, 0) << column;
    auto row = batch_.row(after ? ev.after : ev.before);
    if (row.is_null(i)) return "<null>";
    return std::string(row.text(i));
  }

  std::string file_ = "types.binlog";
  std::vector<CapturedEvent> events_;
  core::EventBatch batch_;
  DecodeStats stats_;
  std::vector<core::TableSchemaPtr> schemas_;
  ZeroDateMode zero_dates_ = ZeroDateMode::kNull;  // zero.date.handling.mode
};

TEST_F(CapturedBinlog, EveryEventHasAValidChecksum) {
  for (const auto& ev : events_) {
    auto raw = SplitEvent(ev.bytes, true, {"types.binlog", ev.pos});
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  }
}

TEST_F(CapturedBinlog, TableMapCarriesFullMetadata) {
  for (const auto& ev : events_) {
    auto raw = SplitEvent(ev.bytes, true, {"types.binlog", ev.pos});
    ASSERT_TRUE(raw.ok());
    if (raw->header.type != static_cast<uint8_t>(EventType::kTableMap)) continue;
    auto map = DecodeTableMap(raw->body, {"types.binlog", ev.pos});
    ASSERT_TRUE(map.ok()) << map.status().ToString();
    if (map->table != "t") continue;
    EXPECT_EQ(map->database, "fx");
    ASSERT_EQ(map->types.size(), 37u);
    ASSERT_EQ(map->column_names.size(), 37u);
    EXPECT_EQ(map->column_names[0], "id");
    EXPECT_EQ(map->column_names[23], "l1");
    EXPECT_TRUE(map->is_unsigned[0]);
    EXPECT_FALSE(map->is_unsigned[1]);
    EXPECT_TRUE(map->is_unsigned[2]);
    EXPECT_EQ(CharsetKindFromCollationId(map->collations[23]), CharsetKind::kLatin1);
    EXPECT_EQ(CharsetKindFromCollationId(map->collations[22]), CharsetKind::kUtf8);
    EXPECT_EQ(CharsetKindFromCollationId(map->collations[24]), CharsetKind::kBinary);
    EXPECT_EQ(map->labels[31], (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(map->labels[32], (std::vector<std::string>{"x", "y", "z"}));
    EXPECT_EQ(map->primary_key, (std::vector<uint32_t>{0}));
    return;
  }
  FAIL() << "no TABLE_MAP for fx.t";
}

TEST_F(CapturedBinlog, DecodesEveryColumnType) {
  ASSERT_TRUE(DecodeAll().ok()) << DecodeAll().ToString();
  ASSERT_GE(batch_.events().size(), 1u);
  const auto& ev = batch_.events()[0];
  EXPECT_EQ(ev.op, core::Op::kCreate);
  std::map<std::string, std::string> want = {
      {"id", "1"}, {"ti", "-128"}, {"tiu", "255"}, {"si", "-32768"}, {"siu", "65535"},
      {"mi", "-8388608"}, {"miu", "16777215"}, {"i", "-2147483648"},
      {"bi", "-9223372036854775808"}, {"biu", "18446744073709551615"},
      {"d1", "-1234567890.12"}, {"d2", "123456789012345678901234567890.0123456789"},
      {"d3", "-99999"}, {"f", "1.5"}, {"db", "-2.25e-300"}, {"b", std::string("\x02\xaa", 2)},
      {"y", "2024"}, {"dt", "2024-02-29"}, {"tm", "-838:59:58.123"},
      {"dtm", "2024-01-02 03:04:05.123456"}, {"ts", "2024-01-02 03:04:05.12+00"},
      {"c", "ab"}, {"vc", "h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac"}, {"l1", "caf\xc3\xa9"},
      {"bn", std::string("a\0b", 3)}, {"vb", std::string("\0" "12", 3)}, {"tt", "tiny"},
      {"tx", "text"}, {"mt", "medium"}, {"bl", std::string("blob\0", 5)}, {"lb", "long"},
      {"e", "b"}, {"s", "x,z"}, {"j", "{\"k\": [1, 2]}"}, {"tm0", "12:34:56"},
      {"dtm0", "1999-12-31 23:59:59"}};
  for (const auto& [col, text] : want) EXPECT_EQ(Text(ev, true, col), text) << col;
  // GEOMETRY: 4-byte SRID then WKB of POINT(1 2).
  std::string g = Text(ev, true, "g");
  ASSERT_EQ(g.size(), 25u);
  EXPECT_EQ(g.substr(0, 4), std::string(4, '\0'));
  EXPECT_EQ(ev.table->columns[ev.table->FindColumn("biu")].type, core::LogicalType::kDecimal);
  EXPECT_EQ(ev.table->columns[ev.table->FindColumn("ts")].type, core::LogicalType::kTimestampTz);
}

TEST_F(CapturedBinlog, NullsZeroDatesUpdatesAndDeletes) {
  ASSERT_TRUE(DecodeAll().ok());
  const auto& events = batch_.events();
  ASSERT_GE(events.size(), 9u);
  // INSERT (id) VALUES (2): every other column NULL.
  EXPECT_EQ(Text(events[1], true, "id"), "2");
  EXPECT_EQ(Text(events[1], true, "vc"), "<null>");
  // With zero.date.handling.mode=null zero dates become NULL and are counted.
  EXPECT_EQ(Text(events[2], true, "dt"), "<null>");
  EXPECT_EQ(Text(events[2], true, "dtm"), "<null>");
  EXPECT_EQ(Text(events[2], true, "d1"), "0.50");
  EXPECT_EQ(Text(events[2], true, "y"), "0");
  EXPECT_EQ(Text(events[2], true, "tm"), "00:00:00.500");
  EXPECT_EQ(stats_.zero_dates, 2u);
  // UPDATE: before and after images.
  EXPECT_EQ(events[3].op, core::Op::kUpdate);
  EXPECT_EQ(Text(events[3], false, "vc"), "h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac");
  EXPECT_EQ(Text(events[3], true, "vc"), "changed");
  EXPECT_EQ(Text(events[3], true, "i"), "42");
  // DELETE: before image only.
  EXPECT_EQ(events[4].op, core::Op::kDelete);
  EXPECT_EQ(events[4].after, core::kNoRow);
  EXPECT_EQ(Text(events[4], false, "id"), "2");
  // Multi-row INSERT.
  EXPECT_EQ(Text(events[7], true, "id"), "12");
  // Table without FULL metadata: names are made up, values still decode.
  const auto& last = events.back();
  EXPECT_EQ(last.table->id.table, "m");
  EXPECT_EQ(last.table->columns[0].name, "col_1");
  EXPECT_EQ(batch_.row(last.after).text(0), "1");
  EXPECT_EQ(batch_.row(last.after).text(1), "one");
}

// Finds the first event of `type` in the capture.
const CapturedEvent* FindEvent(const std::vector<CapturedEvent>& events, uint8_t type) {
  for (const auto& ev : events) {
    if (static_cast<uint8_t>(ev.bytes[4]) == type) return &ev;
  }
  return nullptr;
}

// Rewrites a v1 rows event as v2 (MySQL 8 layout: extra_data_len after the flags), without CRC.
std::string ToV2(const std::string& v1_with_crc) {
  std::string body = v1_with_crc.substr(0, v1_with_crc.size() - kChecksumSize);
  std::string v2 = body.substr(0, kEventHeaderSize + 8) + std::string("\x02\x00", 2) +
                   body.substr(kEventHeaderSize + 8);
  v2[4] = static_cast<char>(static_cast<uint8_t>(v2[4]) + 7);
  uint32_t size = static_cast<uint32_t>(v2.size());
  for (int i = 0; i < 4; ++i) v2[9 + i] = static_cast<char>((size >> (8 * i)) & 0xFF);
  return v2;
}

TEST_F(CapturedBinlog, DecodesRowsEventsV2) {
  auto* map_ev = FindEvent(events_, 19);
  auto* upd = FindEvent(events_, 24);
  ASSERT_TRUE(map_ev && upd);
  auto map_raw = SplitEvent(map_ev->bytes, true, {"f", map_ev->pos});
  ASSERT_TRUE(map_raw.ok());
  auto map = DecodeTableMap(map_raw->body, {"f", map_ev->pos});
  ASSERT_TRUE(map.ok());
  std::string v2 = ToV2(upd->bytes);
  auto raw = SplitEvent(v2, false, {"f", upd->pos});
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  auto rows = DecodeRowsHeader(raw->header.type, raw->body, {"f", upd->pos});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->op, core::Op::kUpdate);
  auto schema = std::make_shared<core::TableSchema>();
  std::vector<SchemaColumnInfo> info;
  SchemaFromTableMap(*map, *schema, info);
  auto plan = BuildRowsPlan(*map, schema, info, std::vector<bool>(map->types.size(), false));
  ASSERT_TRUE(plan.ok());
  core::EventBatch batch;
  ASSERT_TRUE(DecodeRows(*rows, **plan, batch.AddTxn({}), batch, {"f", upd->pos}, nullptr).ok());
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch.row(batch.events()[0].after).text(schema->FindColumn("vc")), "changed");
}

TEST_F(CapturedBinlog, ExcludedColumnsAreLeftOut) {
  auto* map_ev = FindEvent(events_, 19);
  auto* ins = FindEvent(events_, 23);
  auto map = DecodeTableMap(SplitEvent(map_ev->bytes, true, {})->body, {});
  ASSERT_TRUE(map.ok());
  auto schema = std::make_shared<core::TableSchema>();
  std::vector<SchemaColumnInfo> info;
  SchemaFromTableMap(*map, *schema, info);
  std::vector<bool> excluded(map->types.size(), true);
  excluded[0] = false;
  auto plan = BuildRowsPlan(*map, schema, info, excluded);
  ASSERT_TRUE(plan.ok());
  auto raw = SplitEvent(ins->bytes, true, {});
  auto rows = DecodeRowsHeader(raw->header.type, raw->body, {});
  core::EventBatch batch;
  ASSERT_TRUE(DecodeRows(*rows, **plan, batch.AddTxn({}), batch, {}, nullptr).ok());
  EXPECT_EQ(batch.row(batch.events()[0].after).size(), 1u);
}

// Every truncation of every event, and random byte flips in ROWS and TABLE_MAP bodies, must give
// an error (or a value), never a crash or a read out of bounds (run under ASan in CI).
TEST_F(CapturedBinlog, TruncatedAndCorruptedEventsErrorNeverCrash) {
  for (const auto& ev : events_) {
    BinlogLocation at{"types.binlog", ev.pos};
    for (size_t n = 0; n < ev.bytes.size(); ++n) {
      auto raw = SplitEvent(std::string_view(ev.bytes).substr(0, n), true, at);
      EXPECT_FALSE(raw.ok());
      if (!raw.ok()) {
        EXPECT_NE(raw.status().message().find("types.binlog:" + std::to_string(ev.pos)),
                  std::string::npos);
      }
    }
  }
  // Truncated bodies (checksum not in the way) through the body decoders.
  std::map<uint64_t, TableMap> maps;
  std::mt19937 rng(42);
  int errors = 0;
  for (const auto& ev : events_) {
    BinlogLocation at{"types.binlog", ev.pos};
    auto raw = SplitEvent(ev.bytes, true, at);
    ASSERT_TRUE(raw.ok());
    uint8_t type = raw->header.type;
    std::string body(raw->body);
    if (type == 19) {
      maps[DecodeTableMap(body, at)->table_id] = *DecodeTableMap(body, at);
    }
    for (size_t n = 0; n < body.size(); ++n) {
      std::string cut = body.substr(0, n);
      if (type == 19) errors += !DecodeTableMap(cut, at).ok();
      if (type == 2) errors += !DecodeQuery(cut, at).ok();
      if (type == 162) errors += !DecodeMariaGtid(cut, at).ok();
      if (type == 23 || type == 24 || type == 25) {
        auto rows = DecodeRowsHeader(type, cut, at);
        if (!rows.ok()) {
          ++errors;
          continue;
        }
        const TableMap& map = maps.at(rows->table_id);
        auto schema = std::make_shared<core::TableSchema>();
        std::vector<SchemaColumnInfo> info;
        SchemaFromTableMap(map, *schema, info);
        // zero.date.handling.mode=null: the captured zero dates are not what is tested here.
        auto plan = BuildRowsPlan(map, schema, info, std::vector<bool>(map.types.size(), false),
                                  ZeroDateMode::kNull);
        core::EventBatch batch;
        auto st = DecodeRows(*rows, **plan, batch.AddTxn({}), batch, at, nullptr);
        // A cut that falls exactly on a row boundary decodes the rows before it.
        if (!st.ok()) {
          ++errors;
          EXPECT_EQ(st.code(), core::StatusCode::kDataLoss);
        }
      }
    }
    // Random corruption of bodies.
    for (int trial = 0; trial < 200 && (type == 19 || (type >= 23 && type <= 25)); ++trial) {
      std::string bad = body;
      for (int k = 0; k < 3; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
      if (type == 19) {
        (void)DecodeTableMap(bad, at);
        continue;
      }
      auto rows = DecodeRowsHeader(type, bad, at);
      if (!rows.ok() || maps.count(rows->table_id) == 0) continue;
      const TableMap& map = maps.at(rows->table_id);
      auto schema = std::make_shared<core::TableSchema>();
      std::vector<SchemaColumnInfo> info;
      SchemaFromTableMap(map, *schema, info);
      auto plan = BuildRowsPlan(map, schema, info, std::vector<bool>(map.types.size(), false));
      core::EventBatch batch;
      (void)DecodeRows(*rows, **plan, batch.AddTxn({}), batch, at, nullptr);
    }
  }
  EXPECT_GT(errors, 1000);
}

// MariaDB's ANNOTATE_ROWS event (captured: binlog_annotate_row_events=ON) is the statement text
// alone; MySQL's ROWS_QUERY has a length byte first, which only holds the low 8 bits of a long
// statement's length, so the text runs to the end of the body.
TEST_F(CapturedBinlog, RowsQueryEventsGiveTheStatementText) {
  std::vector<std::string> statements;
  for (const auto& ev : events_) {
    BinlogLocation at{file_, ev.pos};
    auto raw = SplitEvent(ev.bytes, true, at);
    ASSERT_TRUE(raw.ok()) << raw.status().message();
    if (raw->header.type != static_cast<uint8_t>(EventType::kAnnotateRows)) continue;
    auto sql = DecodeRowsQuery(raw->header.type, raw->body, at);
    ASSERT_TRUE(sql.ok()) << sql.status().message();
    statements.emplace_back(*sql);
  }
  ASSERT_GE(statements.size(), 2u);
  EXPECT_EQ(statements[0].rfind("INSERT INTO t VALUES (1, -128, 255, ", 0), 0u) << statements[0];
  EXPECT_EQ(statements[1], "INSERT INTO t (id) VALUES (2)");

  std::string long_sql = "UPDATE t SET v = '" + std::string(300, 'x') + "'";
  std::string body = std::string(1, static_cast<char>(long_sql.size() & 0xff)) + long_sql;
  auto mysql = DecodeRowsQuery(static_cast<uint8_t>(EventType::kRowsQuery), body, {"f", 4});
  ASSERT_TRUE(mysql.ok());
  EXPECT_EQ(*mysql, long_sql);
  auto empty = DecodeRowsQuery(static_cast<uint8_t>(EventType::kRowsQuery), "", {"f", 9});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), core::StatusCode::kDataLoss);
  EXPECT_NE(empty.status().message().find("f:9"), std::string::npos);
  EXPECT_FALSE(DecodeRowsQuery(static_cast<uint8_t>(EventType::kXid), "x", {"f", 9}).ok());
}

TEST(BinlogDecoder, CorruptedChecksumIsDataLoss) {
  auto events = LoadBinlog("types.binlog");
  ASSERT_FALSE(events.empty());
  std::string bad = events[0].bytes;
  bad[kEventHeaderSize + 3] ^= 0x01;
  auto raw = SplitEvent(bad, true, {"types.binlog", 4});
  ASSERT_FALSE(raw.ok());
  EXPECT_EQ(raw.status().code(), core::StatusCode::kDataLoss);
  EXPECT_NE(raw.status().message().find("types.binlog:4"), std::string::npos);
}

// The captured binlog's zero dates (a DATE and a DATETIME(6) in one row) stop decoding under the
// default mode; the rows decoded before stay whole, the refused row leaves nothing.
TEST_F(CapturedBinlog, ZeroDatesStopDecodingByDefault) {
  zero_dates_ = ZeroDateMode::kFail;
  core::Status st = DecodeAll();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), core::StatusCode::kFailedPrecondition) << st.ToString();
  const std::string& m = st.message();
  // The row is named by its primary key (decoded again for the message) and its position.
  EXPECT_NE(m.find("row of fx.t with id=3 column dt at binlog " + file_ + ":"), std::string::npos)
      << m;
  EXPECT_NE(m.find("holds the date '0000-00-00',"), std::string::npos) << m;
  EXPECT_EQ(batch_.size(), 2u);
  EXPECT_EQ(batch_.row_count(), 2u);
}

TEST(BinlogDecoder, RejectsUnknownRowsType) {
  auto rows = DecodeRowsHeader(99, "", {"x", 1});
  EXPECT_FALSE(rows.ok());
}

TEST(MysqlTypes, MapsInformationSchemaColumns) {
  InformationSchemaColumn c;
  c.name = "x";
  c.data_type = "bigint";
  c.column_type = "bigint(20) unsigned";
  auto col = MapColumn(c);
  EXPECT_EQ(col.type, core::LogicalType::kDecimal);
  EXPECT_TRUE(col.is_unsigned);
  c.data_type = "enum";
  c.column_type = "enum('a','it''s','c')";
  col = MapColumn(c);
  EXPECT_EQ(col.type, core::LogicalType::kEnum);
  EXPECT_EQ(col.enum_values, (std::vector<std::string>{"a", "it's", "c"}));
  c.data_type = "bit";
  c.numeric_precision = 1;
  EXPECT_EQ(MapColumn(c).type, core::LogicalType::kBool);
  std::string out;
  AppendUtf8(out, "\x80\xe9", CharsetKind::kLatin1);
  EXPECT_EQ(out, "\xe2\x82\xac\xc3\xa9");
  out.clear();
  AppendUtcTimestamp(out, 0, 5, 6);
  EXPECT_EQ(out, "1970-01-01 00:00:00.000005+00");
}

// tests/testdata/binlog/charsets.binlog (charsets_fixture.sql): latin1, cp1251, gbk, utf8mb4 and
// binary columns and a cp1251 ENUM/SET, whose binlog values are raw bytes of their set.
class CapturedCharsetBinlog : public CapturedBinlog {
 protected:
  void SetUp() override {
    file_ = "charsets.binlog";
    events_ = LoadBinlog(file_);
    ASSERT_GT(events_.size(), 8u) << "tests/testdata/binlog/charsets.binlog missing";
  }
};

TEST_F(CapturedCharsetBinlog, TextInEveryCharacterSetArrivesAsUtf8) {
  ASSERT_TRUE(DecodeAll().ok()) << DecodeAll().ToString();
  ASSERT_EQ(batch_.size(), 3u);  // insert 1, insert 2, update 2
  const auto& ins = batch_.events()[0];
  EXPECT_EQ(Text(ins, true, "l1"), "caf\xC3\xA9");                       // latin1 E9
  EXPECT_EQ(Text(ins, true, "ru"), "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");  // Привет
  EXPECT_EQ(Text(ins, true, "ru_c"), "\xD0\xBC\xD0\xB8\xD1\x80");                // мир
  EXPECT_EQ(Text(ins, true, "zh"), "\xE4\xB8\xAD\xE6\x96\x87");              // 中文 (GBK D6D0 CEC4)
  EXPECT_EQ(Text(ins, true, "u8"), "ok \xE2\x82\xAC");
  EXPECT_EQ(Text(ins, true, "bin"), "\xCF\xF0\xE8");  // binary stays bytes, not converted
  // ENUM/SET labels come from the TABLE_MAP in cp1251 and are converted once.
  EXPECT_EQ(Text(ins, true, "e"), "\xD0\xBD\xD0\xB5\xD1\x82");                // нет
  EXPECT_EQ(Text(ins, true, "s"), "\xD0\xBE\xD0\xB4\xD0\xB8\xD0\xBD,\xD0\xB4\xD0\xB2\xD0\xB0");  // один,два
  EXPECT_EQ(ins.table->columns[ins.table->FindColumn("e")].enum_values,
            (std::vector<std::string>{"\xD0\xB4\xD0\xB0", "\xD0\xBD\xD0\xB5\xD1\x82"}));
  const auto& upd = batch_.events()[2];
  EXPECT_EQ(upd.op, core::Op::kUpdate);
  EXPECT_EQ(Text(upd, false, "ru"), "ascii");
  EXPECT_EQ(Text(upd, true, "zh"), "\xE6\x9B\xB4\xE6\x96\xB0");  // 更新
  EXPECT_EQ(Text(upd, true, "e"), "\xD0\xB4\xD0\xB0");             // да
  EXPECT_EQ(Text(upd, true, "s"), "");
}

// Replaces the first occurrence of `from` in a captured event (checksum dropped, size fixed).
std::string PatchEvent(const std::string& with_crc, std::string_view from, std::string_view to) {
  std::string ev = with_crc.substr(0, with_crc.size() - kChecksumSize);
  size_t at = ev.find(from);
  if (at == std::string::npos || from.size() != to.size()) return {};
  ev.replace(at, from.size(), to);
  uint32_t size = static_cast<uint32_t>(ev.size());
  for (int i = 0; i < 4; ++i) ev[9 + i] = static_cast<char>((size >> (8 * i)) & 0xFF);
  return ev;
}

// Bytes invalid in the column's set are an error naming the table, the column, the set and
// the binlog position, never passed on as text.
TEST_F(CapturedCharsetBinlog, InvalidBytesAreAnErrorNamingTableColumnAndPosition) {
  auto* map_ev = FindEvent(events_, 19);
  auto* ins = FindEvent(events_, 23);
  ASSERT_TRUE(map_ev && ins);
  auto map = DecodeTableMap(SplitEvent(map_ev->bytes, true, {})->body, {});
  ASSERT_TRUE(map.ok()) << map.status().ToString();
  auto schema = std::make_shared<core::TableSchema>();
  schema->id = {map->database, map->table};
  std::vector<SchemaColumnInfo> info;
  SchemaFromTableMap(*map, *schema, info);
  auto plan = BuildRowsPlan(*map, schema, info, std::vector<bool>(map->types.size(), false));
  ASSERT_TRUE(plan.ok());
  struct Case {
    std::string_view from, to, column, charset;
  } cases[] = {
      {"\xD6\xD0\xCE\xC4", "\xFF\xD0\xCE\xC4", "zh", "gbk"},          // no GBK lead byte 0xFF
      {"\x06\xCF\xF0\xE8\xE2", "\x06\xCF\x98\xE8\xE2", "ru", "cp1251"},  // 0x98 unassigned
  };
  for (const Case& c : cases) {
    std::string bad = PatchEvent(ins->bytes, c.from, c.to);
    ASSERT_FALSE(bad.empty()) << c.column;
    BinlogLocation at{"mysql-bin.000042", ins->pos};
    auto raw = SplitEvent(bad, false, at);
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    auto rows = DecodeRowsHeader(raw->header.type, raw->body, at);
    ASSERT_TRUE(rows.ok());
    core::EventBatch batch;
    core::Status st = DecodeRows(*rows, **plan, batch.AddTxn({}), batch, at, nullptr);
    ASSERT_FALSE(st.ok()) << c.column;
    EXPECT_EQ(st.code(), core::StatusCode::kFailedPrecondition);
    const std::string& m = st.message();
    EXPECT_NE(m.find("cs.texts"), std::string::npos) << m;
    EXPECT_NE(m.find("column " + std::string(c.column)), std::string::npos) << m;
    EXPECT_NE(m.find("not valid " + std::string(c.charset)), std::string::npos) << m;
    EXPECT_NE(m.find("mysql-bin.000042:" + std::to_string(ins->pos)), std::string::npos) << m;
    EXPECT_EQ(batch.size(), 0u);
  }
}

}  // namespace
}  // namespace sluice::mysql
