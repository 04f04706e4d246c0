#include "core/envelope.h"

#include "core/config.h"
#include "core/value_text.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/common/schema_builders.h"

namespace sluice::core {
namespace {

TableSchemaPtr Schema() {
  using sluice::testing::Col;
  return sluice::testing::MakeSchema(
      "public", "t",
      {Col("id", LogicalType::kInt64), Col("ok", LogicalType::kBool),
       Col("price", LogicalType::kDecimal), Col("blob", LogicalType::kBytes),
       Col("d", LogicalType::kDate), Col("ts", LogicalType::kTimestamp),
       Col("tz", LogicalType::kTimestampTz), Col("f", LogicalType::kFloat64),
       Col("tags", LogicalType::kArray), Col("big", LogicalType::kString)},
      {0}, "shop");
}

// MySQL's source block ends with "thread" then "query" (Debezium's MySQL SourceInfo order): the
// statement's text as a JSON string when the source captured it (include.query=true), null
// otherwise; rows of one statement share one stored copy.
TEST(EnvelopeTest, MysqlSourceQueryIsLastAndNullWhenNotCaptured) {
  EventBatch b;
  TxnInfo info;
  info.file = "bin.000001";
  info.pos = 4;
  info.thread = 12;
  uint32_t txn = b.AddTxn(info);
  uint32_t query = b.AddQuery("INSERT INTO t VALUES (1, 'a\"b')");
  for (int i = 0; i < 3; ++i) {
    uint32_t row = b.BeginRow();
    b.AppendValue(std::to_string(i));
    for (int c = 0; c < 9; ++c) b.AppendNull();
    b.EndRow();
    b.AddEvent({.op = Op::kCreate, .after = row, .txn = txn, .table = Schema(),
                .source_row = static_cast<uint32_t>(i), .query = i < 2 ? query : kNoQuery});
  }
  EXPECT_EQ(b.query_count(), 1u);
  EnvelopeOptions o;
  o.connector = "mysql";
  o.name = "db";
  for (int i = 0; i < 3; ++i) {
    std::string out;
    AppendEnvelopeJson(out, b, b.events()[i], o, 0);
    auto source = nlohmann::json::parse(out)["source"];
    // nlohmann sorts keys: the order is checked in the text.
    const size_t thread_at = out.find("\"thread\":12,\"query\":");
    ASSERT_NE(thread_at, std::string::npos) << out;
    EXPECT_EQ(out.find('}', out.find("\"query\":", thread_at) + 8) ,
              out.find("},\"op\"")) << "query is the source block's last field: " << out;
    if (i < 2) {
      EXPECT_EQ(source["query"], "INSERT INTO t VALUES (1, 'a\"b')");
    } else {
      EXPECT_TRUE(source["query"].is_null());
    }
  }
}

TEST(EnvelopeTest, WritesDebeziumShapesAndTypes) {
  EventBatch b;
  uint32_t txn = b.AddTxn({1700000000000, false, false, 771, 0x16B3748, "", 0, ""});
  uint32_t before = b.BeginRow();
  b.AppendValue("7");
  for (int i = 0; i < 9; ++i) b.AppendNull();
  b.EndRow();
  uint32_t after = b.BeginRow();
  for (auto v : {"7", "t", "12.3400", "\x01\x02", "2024-02-29", "1970-01-01 00:00:01.5",
                 "2023-11-14 22:13:20+00", "NaN", "[1,2]"}) {
    b.AppendValue(v);
  }
  b.AppendUnchanged();
  b.EndRow();
  ChangeEvent e{Op::kUpdate, before, after, txn, Schema()};
  b.AddEvent(e);
  std::string out;
  EnvelopeOptions o;
  o.name = "srv";
  AppendEnvelopeJson(out, b, e, o, 42'000'123'456);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["op"], "u");
  // Debezium 2.x: processing time in ms, us and ns.
  EXPECT_EQ(j["ts_ms"], 42'000);
  EXPECT_EQ(j["ts_us"], 42'000'123);
  EXPECT_EQ(j["ts_ns"], 42'000'123'456);
  EXPECT_EQ(j["before"]["id"], 7);
  EXPECT_TRUE(j["before"]["ok"].is_null());
  const auto& a = j["after"];
  EXPECT_EQ(a["ok"], true);
  // decimal.handling.mode=precise (Debezium's default); numeric without a scale:
  // VariableScaleDecimal, 123400 = 0x01E208.
  EXPECT_EQ(a["price"], nlohmann::json({{"scale", 4}, {"value", "AeII"}}));
  EXPECT_EQ(a["blob"], "AQI=");
  EXPECT_EQ(a["d"], 19782);
  EXPECT_EQ(a["ts"], 1500000);
  EXPECT_EQ(a["tz"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(a["f"], "NaN");
  EXPECT_EQ(a["tags"], nlohmann::json::array({1, 2}));
  EXPECT_EQ(a["big"], kUnavailableValuePlaceholder);
  EXPECT_EQ(j["source"]["connector"], "postgresql");
  EXPECT_EQ(j["source"]["name"], "srv");
  EXPECT_EQ(j["source"]["db"], "shop");
  EXPECT_EQ(j["source"]["schema"], "public");
  EXPECT_EQ(j["source"]["table"], "t");
  EXPECT_EQ(j["source"]["txId"], 771);
  EXPECT_EQ(j["source"]["lsn"], 0x16B3748);
  EXPECT_EQ(j["source"]["snapshot"], "false");

  std::string key;
  AppendKeyJson(key, b, e);
  EXPECT_EQ(nlohmann::json::parse(key), nlohmann::json({{"id", 7}}));
}

TEST(EnvelopeTest, DeleteAndTruncate) {
  EventBatch b;
  uint32_t txn = b.AddTxn({});
  uint32_t before = b.BeginRow();
  b.AppendValue("9");
  for (int i = 0; i < 9; ++i) b.AppendNull();
  b.EndRow();
  ChangeEvent del{Op::kDelete, before, kNoRow, txn, Schema()};
  ChangeEvent trunc{Op::kTruncate, kNoRow, kNoRow, txn, Schema()};
  std::string out, key;
  AppendEnvelopeJson(out, b, del, {}, 0);
  auto j = nlohmann::json::parse(out);
  EXPECT_TRUE(j["after"].is_null());
  EXPECT_EQ(j["before"]["id"], 9);
  AppendKeyJson(key, b, del);
  EXPECT_EQ(key, "{\"id\":9}");
  out.clear();
  key.clear();
  AppendEnvelopeJson(out, b, trunc, {}, 0);
  EXPECT_EQ(nlohmann::json::parse(out)["op"], "t");
  AppendKeyJson(key, b, trunc);
  EXPECT_EQ(key, "null");
}

TEST(EnvelopeTest, DeleteBeforeImageHasNullForColumnsTheSourceDidNotSend) {
  // REPLICA IDENTITY DEFAULT: pgoutput sends only the key of a deleted row. Debezium writes the
  // other columns as null, never the unavailable-value placeholder (which would not even be of
  // the column's type).
  EventBatch b;
  TxnInfo info;
  info.ts_ms = 1700000000123;
  uint32_t txn = b.AddTxn(info);
  uint32_t before = b.BeginRow();
  b.AppendValue("9");
  for (int i = 0; i < 9; ++i) b.AppendUnchanged();
  b.EndRow();
  ChangeEvent del{Op::kDelete, before, kNoRow, txn, Schema()};
  std::string out;
  AppendEnvelopeJson(out, b, del, {}, 0);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["before"]["id"], 9);
  for (const auto& [name, value] : j["before"].items()) {
    if (name != "id") {
      EXPECT_TRUE(value.is_null()) << name << ": " << value;
    }
  }
  EXPECT_EQ(out.find(kUnavailableValuePlaceholder), std::string::npos) << out;
  EXPECT_EQ(j["source"]["ts_ms"], 1700000000123);
  EXPECT_EQ(j["source"]["ts_us"], 1700000000123000);
  EXPECT_EQ(j["source"]["ts_ns"], 1700000000123000000);
  std::string plain;
  AppendRowJson(plain, *Schema(), b.row(before), /*before_image=*/true);
  EXPECT_EQ(nlohmann::json::parse(plain), j["before"]);
}

TEST(EnvelopeTest, SchemaBlockIsValidJson) {
  std::string out;
  EnvelopeOptions o;
  o.name = "srv";
  AppendEnvelopeSchemaJson(out, *Schema(), o);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["name"], "srv.public.t.Envelope");
  EXPECT_EQ(j["fields"][1]["fields"][4]["name"], "io.debezium.time.Date");
}

// include.schema.comments=true: a column's comment is its field schema's "doc", after
// "version" and before "parameters", as JsonConverter writes a Connect schema's doc; off (the
// default) or without a comment, no "doc".
TEST(EnvelopeTest, ColumnCommentIsTheFieldDocWithIncludeSchemaComments) {
  Column c;
  c.name = "price";
  c.type = LogicalType::kDecimal;
  c.precision = 12;
  c.scale = 2;
  c.nullable = false;
  c.comment = "net \"price\"";
  ValueModes modes;
  std::string out;
  AppendFieldSchemaJson(out, c, modes);
  EXPECT_EQ(out.find("doc"), std::string::npos) << out;
  modes.schema_comments = true;
  out.clear();
  AppendFieldSchemaJson(out, c, modes);
  EXPECT_EQ(out, R"({"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal",)"
                 R"("version":1,"doc":"net \"price\"","parameters":{"scale":"2",)"
                 R"("connect.decimal.precision":"12"},"field":"price"})");
  c.comment.clear();
  out.clear();
  AppendFieldSchemaJson(out, c, modes);
  EXPECT_EQ(out.find("doc"), std::string::npos) << out;
  ConnectorConfig config("c", {{"include.schema.comments", "true"}});
  auto from_config = ValueModesFromConfig(config);
  ASSERT_TRUE(from_config.ok());
  EXPECT_TRUE(from_config->schema_comments);
  EXPECT_FALSE(ValueModesFromConfig(ConnectorConfig("c", {}))->schema_comments);
}

// Issue 22 item 4: PostgreSQL's last timestamp (294276-12-31 23:59:59.999999) was written as
// -9222426057709551617 and its timestamptz as "-290278-12-14T15:58:10.448383Z". Now the
// timestamptz is exact and the timestamp, which has no int64 MicroTimestamp, is reported so
// that the sink refuses the event naming table, key and column.
TEST(EnvelopeTest, FarFutureTimestampIsExactOrRefusedByName) {
  EventBatch b;
  uint32_t txn = b.AddTxn({});
  uint32_t row = b.BeginRow();
  b.AppendValue("42");
  for (int i = 0; i < 5; ++i) b.AppendNull();
  b.AppendValue("294276-12-31 23:59:59.999999+00");
  for (int i = 0; i < 3; ++i) b.AppendNull();
  b.EndRow();
  ChangeEvent e{Op::kCreate, kNoRow, row, txn, Schema()};
  b.AddEvent(e);
  std::string out;
  EXPECT_TRUE(AppendEnvelopeJson(out, b, e, EnvelopeOptions{}, 0));
  EXPECT_EQ(nlohmann::json::parse(out)["after"]["tz"], "+294276-12-31T23:59:59.999999Z");
  EXPECT_TRUE(EnvelopeValueError(b, e).ok());

  uint32_t row2 = b.BeginRow();
  b.AppendValue("43");
  for (int i = 0; i < 4; ++i) b.AppendNull();
  b.AppendValue("294276-12-31 23:59:59.999999");
  for (int i = 0; i < 4; ++i) b.AppendNull();
  b.EndRow();
  ChangeEvent e2{Op::kCreate, kNoRow, row2, txn, Schema()};
  out.clear();
  EXPECT_FALSE(AppendEnvelopeJson(out, b, e2, EnvelopeOptions{}, 0));
  EXPECT_EQ(out.find("-9222426057709551617"), std::string::npos) << out;
  Status why = EnvelopeValueError(b, e2);
  EXPECT_EQ(why.code(), StatusCode::kInvalidArgument);
  for (const char* part : {"table public.t", "key {\"id\":43}", "column ts", "294276-12-31 23:59:59.999999"}) {
    EXPECT_NE(why.message().find(part), std::string::npos) << part << " in " << why.message();
  }
  // The last timestamp int64 microseconds hold is still written exactly.
  uint32_t row3 = b.BeginRow();
  b.AppendValue("44");
  for (int i = 0; i < 4; ++i) b.AppendNull();
  b.AppendValue("294247-01-10 04:00:54.775807");
  for (int i = 0; i < 4; ++i) b.AppendNull();
  b.EndRow();
  ChangeEvent e3{Op::kCreate, kNoRow, row3, txn, Schema()};
  out.clear();
  EXPECT_TRUE(AppendEnvelopeJson(out, b, e3, EnvelopeOptions{}, 0));
  EXPECT_NE(out.find("\"ts\":9223372036854775807"), std::string::npos) << out;
  // Dates: the last int32 day number before the infinity marker is written; the next is refused.
  for (auto [date, exact] : {std::pair{"5881580-07-10", true}, std::pair{"5881580-07-11", false},
                             std::pair{"5881580-07-12", false}, std::pair{"5874897-12-31", true}}) {
    uint32_t r = b.BeginRow();
    b.AppendValue("45");
    for (int i = 0; i < 3; ++i) b.AppendNull();
    b.AppendValue(date);
    for (int i = 0; i < 5; ++i) b.AppendNull();
    b.EndRow();
    ChangeEvent ev{Op::kCreate, kNoRow, r, txn, Schema()};
    out.clear();
    EXPECT_EQ(AppendEnvelopeJson(out, b, ev, EnvelopeOptions{}, 0), exact) << date << ": " << out;
    EXPECT_EQ(EnvelopeValueError(b, ev).ok(), exact) << date;
  }
}

// Values a mode has no exact form for are refused by name, with the mode that keeps them.
TEST(EnvelopeModesTest, ValuesWithoutAnExactFormInTheModeAreRefusedNamingTheMode) {
  Column num;
  num.name = "n";
  num.type = LogicalType::kDecimal;
  num.source_type = "numeric";
  Column big;
  big.name = "u";
  big.type = LogicalType::kDecimal;
  big.source_type = "bigint(20) unsigned";
  big.is_unsigned = true;
  big.precision = 20;
  Column t3;
  t3.name = "t";
  t3.type = LogicalType::kTime;
  t3.source_type = "time(3) without time zone";
  std::string out;
  ValueModes defaults;
  EXPECT_FALSE(AppendEnvelopeText(out, num, "NaN", defaults));
  EXPECT_NE(EnvelopeValueProblem(num, "NaN", defaults).find("decimal.handling.mode=string"),
            std::string_view::npos);
  ValueModes text = defaults;
  text.decimal = DecimalMode::kString;
  out.clear();
  EXPECT_TRUE(AppendEnvelopeText(out, num, "NaN", text));
  EXPECT_EQ(out, "\"NaN\"");
  out.clear();
  EXPECT_TRUE(AppendEnvelopeText(out, big, "9223372036854775807", defaults));
  EXPECT_EQ(out, "9223372036854775807");
  out.clear();
  EXPECT_FALSE(AppendEnvelopeText(out, big, "9223372036854775808", defaults));
  EXPECT_NE(EnvelopeValueProblem(big, "9223372036854775808", defaults).find("precise"),
            std::string_view::npos);
  ValueModes precise = defaults;
  precise.bigint_unsigned = BigintUnsignedMode::kPrecise;
  out.clear();
  EXPECT_TRUE(AppendEnvelopeText(out, big, "9223372036854775808", precise));
  EXPECT_EQ(out, "\"AIAAAAAAAAAA\"");  // 0x00 0x80 00..00
  // time(3): Time in int32 ms; a fourth digit has no place (only a Kafka source could carry it).
  out.clear();
  EXPECT_TRUE(AppendEnvelopeText(out, t3, "00:00:01.5", defaults));
  EXPECT_EQ(out, "1500");
  out.clear();
  EXPECT_FALSE(AppendEnvelopeText(out, t3, "00:00:01.5001", defaults));
}

TEST(EnvelopeModesTest, IsoDurationsAsDebeziumsMicroDuration) {
  int64_t us = 0;
  ASSERT_TRUE(IsoDurationToMicros("P1M", us));
  EXPECT_EQ(us, 2629800LL * 1000000);  // 365.25 / 12 days
  ASSERT_TRUE(IsoDurationToMicros("P1Y", us));
  EXPECT_EQ(us, 31557600LL * 1000000);  // 365.25 days
  ASSERT_TRUE(IsoDurationToMicros("P-1DT2H-0.5S", us));
  EXPECT_EQ(us, -86400LL * 1000000 + 7200LL * 1000000 - 500000);
  ASSERT_TRUE(IsoDurationToMicros("PT0S", us));
  EXPECT_EQ(us, 0);
  EXPECT_FALSE(IsoDurationToMicros("P178000000Y", us));  // beyond int64 microseconds
  EXPECT_FALSE(IsoDurationToMicros("1 day", us));
  EXPECT_FALSE(IsoDurationToMicros("PT0.0000001S", us));  // below a microsecond
}

}  // namespace
}  // namespace sluice::core

namespace sluice::core {
namespace {

// Java's BigInteger.toByteArray() of `v`: the minimal big-endian two's complement, written the
// plain way (independent of envelope_values.cc, which has an int64 fast path and a limb path).
std::string JavaBytes(__int128 v) {
  std::string be;
  for (int k = 15; k >= 0; --k) {
    be += static_cast<char>(static_cast<unsigned __int128>(v) >> (8 * k));
  }
  size_t drop = 0;
  while (drop + 1 < be.size()) {
    auto lead = static_cast<uint8_t>(be[drop]), next = static_cast<uint8_t>(be[drop + 1]);
    if ((lead == 0 && !(next & 0x80)) || (lead == 0xff && (next & 0x80))) ++drop; else break;
  }
  return be.substr(drop);
}

std::string DecimalText(__int128 v, int scale) {
  bool negative = v < 0;
  unsigned __int128 u = negative ? -static_cast<unsigned __int128>(v) : v;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  } while (u);
  while (static_cast<int>(digits.size()) <= scale) digits.insert(digits.begin(), '0');
  if (scale > 0) digits.insert(digits.end() - scale, '.');
  return (negative ? "-" : "") + digits;
}

// The decimal encoding (decimal.handling.mode=precise) of values around every byte boundary, of
// random ones, and of 19 to 37 digits (past the int64 fast path) equals Java's bytes.
TEST(EnvelopeTest, PreciseDecimalBytesMatchJavaAcrossByteBoundaries) {
  Column c;
  c.name = "amount";
  c.type = LogicalType::kDecimal;
  c.precision = 38;
  c.scale = 2;
  std::vector<__int128> values = {0, 1, -1, 99, -99};
  for (int bits = 7; bits < 126; bits += 8) {
    for (int d = -2; d <= 2; ++d) {
      __int128 edge = (static_cast<__int128>(1) << bits) + d;
      values.push_back(edge);
      values.push_back(-edge);
    }
  }
  __int128 ten = 1;
  for (int k = 0; k < 37; ++k, ten *= 10) {
    values.push_back(ten - 1);
    values.push_back(-(ten - 1));
    values.push_back(ten);
  }
  uint64_t x = 88172645463325252ull;
  for (int k = 0; k < 2000; ++k) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    values.push_back(static_cast<int64_t>(x) >> (k % 60));
  }
  for (__int128 v : values) {
    std::string text = DecimalText(v, 2);
    std::string out, expected = "\"";
    ASSERT_TRUE(AppendEnvelopeText(out, c, text)) << text;
    AppendBase64(expected, JavaBytes(v));
    expected += '"';
    ASSERT_EQ(out, expected) << text;
  }
  // Fewer digits than the scale, trailing zeros beyond it and leading zeros are the same
  // numbers; other digits beyond the scale are refused.
  for (auto [text, unscaled] : std::vector<std::pair<std::string, __int128>>{
           {"12.5", 1250}, {"-7", -700}, {"-12.3400", -1234}, {"0000000000000000000012.5", 1250},
           {"+3.", 300}, {".5", 50}, {"-0.00", 0}, {"92233720368547758.07", INT64_MAX}}) {
    std::string out, expected = "\"";
    ASSERT_TRUE(AppendEnvelopeText(out, c, text)) << text;
    AppendBase64(expected, JavaBytes(unscaled));
    expected += '"';
    EXPECT_EQ(out, expected) << text;
  }
  std::string out;
  EXPECT_FALSE(AppendEnvelopeText(out, c, "12.345"));
}

}  // namespace
}  // namespace sluice::core
