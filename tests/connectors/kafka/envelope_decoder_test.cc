#include "connectors/kafka/envelope_decoder.h"

#include <array>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "connectors/kafka/kafka_consumer.h"
#include "connectors/kafka/kafka_source.h"
#include "core/config.h"
#include "core/envelope.h"
#include "sinks/kafka/kafka_envelope.h"

namespace sluice::kafka {
namespace {

using core::LogicalType;

KafkaRecord Rec(std::string_view topic, const std::string* key, const std::string* value,
                int64_t offset = 7) {
  KafkaRecord r;
  r.topic = topic;
  r.partition = 1;
  r.offset = offset;
  if (key) {
    r.key = key->data();
    r.key_len = key->size();
  }
  if (value) {
    r.value = value->data();
    r.value_len = value->size();
  }
  return r;
}

std::vector<std::string> Texts(const core::EventBatch& b, uint32_t row) {
  std::vector<std::string> out;
  core::RowView v = b.row(row);
  for (uint32_t i = 0; i < v.size(); ++i) {
    if (v.is_null(i)) out.push_back("<null>");
    else if (v.is_unchanged(i)) out.push_back("<unchanged>");
    else out.emplace_back(v.text(i));
  }
  return out;
}

// A Debezium 2.x PostgreSQL record (JsonConverter, schemas.enable=true, default modes).
const char* kDebeziumPgValue = R"({"schema":{"type":"struct","fields":[
 {"type":"struct","fields":[
   {"type":"int32","optional":false,"default":0,"field":"id"},
   {"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"12"},"field":"price"},
   {"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"created"},
   {"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"seen"},
   {"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"field":"day"},
   {"type":"struct","fields":[{"type":"int32","optional":false,"field":"scale"},{"type":"bytes","optional":false,"field":"value"}],"optional":true,"name":"io.debezium.data.VariableScaleDecimal","version":1,"field":"ratio"},
   {"type":"boolean","optional":true,"field":"ok"},
   {"type":"bytes","optional":true,"field":"blob"},
   {"type":"string","optional":true,"field":"note"},
   {"type":"int64","optional":true,"name":"io.debezium.time.MicroTime","version":1,"field":"at"}
  ],"optional":true,"name":"dbz.public.items.Value","field":"before"},
 {"type":"struct","fields":[
   {"type":"int32","optional":false,"default":0,"field":"id"},
   {"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"12"},"field":"price"},
   {"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"created"},
   {"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"seen"},
   {"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"field":"day"},
   {"type":"struct","fields":[{"type":"int32","optional":false,"field":"scale"},{"type":"bytes","optional":false,"field":"value"}],"optional":true,"name":"io.debezium.data.VariableScaleDecimal","version":1,"field":"ratio"},
   {"type":"boolean","optional":true,"field":"ok"},
   {"type":"bytes","optional":true,"field":"blob"},
   {"type":"string","optional":true,"field":"note"},
   {"type":"int64","optional":true,"name":"io.debezium.time.MicroTime","version":1,"field":"at"}
  ],"optional":true,"name":"dbz.public.items.Value","field":"after"},
 {"type":"struct","fields":[{"type":"string","optional":false,"field":"version"}],"optional":false,"name":"io.debezium.connector.postgresql.Source","field":"source"},
 {"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"}],
 "optional":false,"name":"dbz.public.items.Envelope","version":1},
"payload":{"before":null,
 "after":{"id":5,"price":"BNI=","created":1704164645123456,"seen":"2024-01-02T03:04:05.5+02:00","day":19724,
          "ratio":{"scale":3,"value":"AeJA"},"ok":true,"blob":"AQI=","note":"__debezium_unavailable_value","at":3723000001},
 "source":{"version":"2.5.0.Final","connector":"postgresql","name":"dbz","ts_ms":1704164645000,"snapshot":"false",
           "db":"shop","sequence":"[null,\"23456\"]","schema":"public","table":"items","txId":771,"lsn":23456,"xmin":null},
 "op":"c","ts_ms":1704164645100,"transaction":null}})";

TEST(EnvelopeDecoderTest, DebeziumPostgresRecordWithSchema) {
  std::string key = R"({"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"dbz.public.items.Key"},"payload":{"id":5}})";
  std::string value = kDebeziumPgValue;
  EnvelopeDecoder d;
  core::EventBatch b;
  auto r = d.Decode(Rec("dbz.public.items", &key, &value), b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(*r, DecodeOutcome::kEvent);
  ASSERT_EQ(b.size(), 1u);
  const core::ChangeEvent& e = b.events()[0];
  EXPECT_EQ(e.op, core::Op::kCreate);
  EXPECT_EQ(e.before, core::kNoRow);
  const core::TableSchema& s = *e.table;
  EXPECT_EQ(s.id, (core::TableId{"public", "items"}));
  EXPECT_EQ(s.database, "shop");
  ASSERT_EQ(s.key, std::vector<uint32_t>{0});
  EXPECT_EQ(s.columns[1].type, LogicalType::kDecimal);
  EXPECT_EQ(s.columns[1].precision, 12);
  EXPECT_EQ(s.columns[1].scale, 2);
  EXPECT_EQ(s.columns[2].type, LogicalType::kTimestamp);
  EXPECT_EQ(s.columns[3].type, LogicalType::kTimestampTz);
  EXPECT_EQ(s.columns[4].type, LogicalType::kDate);
  EXPECT_EQ(s.columns[9].type, LogicalType::kTime);
  EXPECT_EQ(Texts(b, e.after),
            (std::vector<std::string>{"5", "12.34", "2024-01-02 03:04:05.123456",
                                      "2024-01-02 01:04:05.5+00", "2024-01-02", "123.456", "t",
                                      std::string("\x01\x02"), "<unchanged>", "01:02:03.000001"}));
  const core::TxnInfo& txn = b.txn(e.txn);
  EXPECT_EQ(txn.txid, 771u);
  EXPECT_EQ(e.lsn, 23456u);  // the change's own LSN: per event
  EXPECT_EQ(txn.ts_ms, 1704164645000);
  EXPECT_FALSE(txn.snapshot);
}

TEST(DecimalFromBytesTest, TwosComplementAndScale) {
  EXPECT_EQ(DecimalFromBytes(std::string("\x04\xD2", 2), 2), "12.34");
  EXPECT_EQ(DecimalFromBytes(std::string("\xFB\x2E", 2), 2), "-12.34");
  EXPECT_EQ(DecimalFromBytes(std::string("\x05", 1), 3), "0.005");
  EXPECT_EQ(DecimalFromBytes(std::string("\x00", 1), 2), "0.00");
  EXPECT_EQ(DecimalFromBytes(std::string("\x07", 1), -2), "700");
  EXPECT_EQ(DecimalFromBytes("", 0), "0");
  EXPECT_EQ(DecimalFromBytes(std::string("\xFF", 1), 0), "-1");
}

TEST(EnvelopeDecoderTest, PlainEnvelopeInfersColumnsAndKeepsTypesAcrossNulls) {
  std::string key = R"({"id":1})";
  std::string v1 = R"({"before":null,"after":{"id":1,"name":"a","score":1.5,"tags":[1,2],"meta":{"x":1},"ok":false},
    "source":{"connector":"mysql","name":"m","db":"shop","table":"users","file":"bin.000003","pos":4,"gtid":null,"ts_ms":9},"op":"r","ts_ms":10})";
  std::string v2 = R"({"before":{"id":1,"name":"a","score":null,"tags":null,"meta":null,"ok":null},"after":null,
    "source":{"connector":"mysql","db":"shop","table":"users","file":"bin.000003","pos":99},"op":"d"})";
  EnvelopeDecoder d;
  core::EventBatch b;
  ASSERT_TRUE(d.Decode(Rec("m.shop.users", &key, &v1), b).ok());
  auto r2 = d.Decode(Rec("m.shop.users", &key, &v2), b);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  ASSERT_EQ(b.size(), 2u);
  const auto& s = *b.events()[0].table;
  EXPECT_EQ(s.id, (core::TableId{"shop", "users"}));
  EXPECT_EQ(s.columns[0].type, LogicalType::kInt64);
  EXPECT_EQ(s.columns[2].type, LogicalType::kFloat64);
  EXPECT_EQ(s.columns[3].type, LogicalType::kArray);
  EXPECT_EQ(s.columns[4].type, LogicalType::kJson);
  EXPECT_EQ(s.columns[5].type, LogicalType::kBool);
  EXPECT_EQ(Texts(b, b.events()[0].after),
            (std::vector<std::string>{"1", "a", "1.5", "[1,2]", "{\"x\":1}", "f"}));
  // The delete's nulls did not change the schema.
  EXPECT_EQ(b.events()[1].table, b.events()[0].table);
  EXPECT_EQ(b.events()[1].op, core::Op::kDelete);
  EXPECT_TRUE(b.txn(b.events()[0].txn).snapshot);
  EXPECT_EQ(b.txn(b.events()[1].txn).pos, 99u);
}

TEST(EnvelopeDecoderTest, NewColumnBumpsTheSchemaVersion) {
  std::string key = R"({"id":1})";
  std::string v1 = R"({"after":{"id":1},"source":{"schema":"public","table":"t"},"op":"c"})";
  std::string v2 = R"({"after":{"id":2,"extra":"x"},"source":{"schema":"public","table":"t"},"op":"c"})";
  EnvelopeDecoder d;
  core::EventBatch b;
  ASSERT_TRUE(d.Decode(Rec("p.public.t", &key, &v1), b).ok());
  ASSERT_TRUE(d.Decode(Rec("p.public.t", &key, &v2), b).ok());
  EXPECT_EQ(b.events()[0].table->version, 1u);
  EXPECT_EQ(b.events()[1].table->version, 2u);
  EXPECT_EQ(b.events()[1].table->columns.size(), 2u);
}

TEST(EnvelopeDecoderTest, TombstonesTruncatesAndNonChangeRecords) {
  EnvelopeDecoder d;
  core::EventBatch b;
  std::string key = R"({"id":1})";
  auto tomb = d.Decode(Rec("p.public.t", &key, nullptr), b);
  ASSERT_TRUE(tomb.ok());
  EXPECT_EQ(*tomb, DecodeOutcome::kTombstone);
  std::string ddl = R"J({"source":{"server":"m"},"databaseName":"shop","ddl":"CREATE TABLE t (id int)"})J";
  auto nc = d.Decode(Rec("m", nullptr, &ddl), b);
  ASSERT_TRUE(nc.ok());
  EXPECT_EQ(*nc, DecodeOutcome::kNotChange);
  // A logical decoding message (<topic.prefix>.message) is no change either.
  std::string msg_key = R"({"prefix":"audit"})";
  std::string msg = R"({"op":"m","ts_ms":1,"source":{"schema":"","table":""},"message":{"prefix":"audit","content":"AA=="}})";
  auto m = d.Decode(Rec("p.message", &msg_key, &msg), b);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(*m, DecodeOutcome::kNotChange);
  EXPECT_EQ(b.size(), 0u);
  std::string trunc = R"({"before":null,"after":null,"source":{"schema":"public","table":"t"},"op":"t"})";
  auto t = d.Decode(Rec("p.public.t", nullptr, &trunc), b);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b.events()[0].op, core::Op::kTruncate);
  EXPECT_EQ(b.events()[0].table->id, (core::TableId{"public", "t"}));
}

TEST(EnvelopeDecoderTest, MalformedRecordsAreErrorsNamingTheRecord) {
  EnvelopeDecoder d;
  core::EventBatch b;
  for (std::string bad : {std::string("{not json"), std::string(R"({"after":{"id":1},"op":"x"})"),
                          std::string(R"({"after":null,"op":"c","source":{"schema":"s","table":"t"}})"),
                          std::string(R"([1,2])"), std::string(R"({"after":{"id":1}})"),
                          std::string("{\"after\":{\"id\":1},\"op\":\"c\"")}) {
    auto r = d.Decode(Rec("p.s.t", nullptr, &bad, 42), b);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("p.s.t/1@42"), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(b.size(), 0u);
  // A key naming a column the row does not have.
  std::string key = R"({"nope":1})";
  std::string v = R"({"after":{"id":1},"source":{"schema":"s","table":"t"},"op":"c"})";
  EXPECT_FALSE(d.Decode(Rec("p.s.t", &key, &v), b).ok());
  // A value that does not fit its declared type.
  std::string typed = R"({"schema":{"type":"struct","fields":[{"type":"struct","field":"after","fields":[
     {"type":"int32","optional":true,"name":"io.debezium.time.Date","field":"d"}]}]},
     "payload":{"after":{"d":{"x":1}},"source":{"schema":"s","table":"t"},"op":"c"}})";
  EXPECT_FALSE(d.Decode(Rec("p.s.t", nullptr, &typed), b).ok());
}

TEST(EnvelopeDecoderTest, TableFilterSkipsExcludedTables) {
  core::ConnectorConfig config("c", {{"table.include.list", "public\\.keep"}});
  auto filter = core::TableFilter::FromConfig(config);
  ASSERT_TRUE(filter.ok());
  EnvelopeDecoder d;
  d.set_filter(&*filter);
  core::EventBatch b;
  std::string v = R"({"after":{"id":1},"source":{"schema":"public","table":"drop"},"op":"c"})";
  auto r = d.Decode(Rec("p.public.drop", nullptr, &v), b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, DecodeOutcome::kFiltered);
  EXPECT_EQ(b.size(), 0u);
}

// What the Kafka sink writes (schemas enabled) under `modes` (Debezium's keys), the Kafka source
// reads back as the same canonical text and types: `values` with `changed` replacing some
// (index -> the text that comes back where the mode itself is approximate).
void RoundTrip(const std::map<std::string, std::string>& modes,
               const std::map<size_t, std::string>& changed) {
  SCOPED_TRACE(nlohmann::json(modes).dump());
  auto s = std::make_shared<core::TableSchema>();
  s->id = {"public", "all_types"};
  s->database = "db";
  auto col = [](const char* n, LogicalType t, const char* st) {
    core::Column c;
    c.name = n;
    c.type = t;
    c.source_type = st;
    return c;
  };
  s->columns = {col("id", LogicalType::kInt64, "bigint"),
                col("b", LogicalType::kBool, "boolean"),
                col("i2", LogicalType::kInt16, "smallint"),
                col("f8", LogicalType::kFloat64, "double precision"),
                col("num", LogicalType::kDecimal, "numeric(10,3)"),
                col("txt", LogicalType::kString, "text"),
                col("raw", LogicalType::kBytes, "bytea"),
                col("js", LogicalType::kJson, "jsonb"),
                col("u", LogicalType::kUuid, "uuid"),
                col("d", LogicalType::kDate, "date"),
                col("t", LogicalType::kTime, "time without time zone"),
                col("ts", LogicalType::kTimestamp, "timestamp without time zone"),
                col("tz", LogicalType::kTimestampTz, "timestamp with time zone"),
                col("iv", LogicalType::kInterval, "interval"),
                col("arr", LogicalType::kArray, "integer[]"),
                col("vnum", LogicalType::kDecimal, "numeric"),
                col("t3", LogicalType::kTime, "time(3) without time zone"),
                col("ts3", LogicalType::kTimestamp, "timestamp(3) without time zone"),
                col("bits", LogicalType::kString, "bit(10)"),
                col("big", LogicalType::kString, "text")};
  s->columns[4].precision = 10;
  s->columns[4].scale = 3;
  s->key = {0};
  std::vector<std::string> values = {"42", "t", "-3", "2.5", "-1234.500", "héllo \"q\"",
                                     std::string("\x00\xff\xfb", 3), "{\"a\": [1]}",
                                     "0e9c3c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6", "1999-12-31",
                                     "23:59:59.999999", "2024-02-29 12:00:00.5",
                                     "2024-02-29 12:00:00.25+00", "P1Y2M3DT4H5M6.5S", "[1,2,3]",
                                     "-98765432109876543210.0012300", "12:00:00.5",
                                     "2024-02-29 12:00:00.123", "1000000001"};
  core::EventBatch in;
  uint32_t txn = in.AddTxn({1700000000000, true, false, 9, 100, "", 0, ""});
  uint32_t row = in.BeginRow();
  for (const auto& v : values) in.AppendValue(v);
  in.AppendUnchanged();
  in.EndRow();
  core::ChangeEvent e{core::Op::kUpdate, core::kNoRow, row, txn, s};
  in.AddEvent(e);

  core::ConnectorConfig config("c", {modes.begin(), modes.end()});
  core::EnvelopeOptions o;
  o.name = "srv";
  auto parsed = core::ValueModesFromConfig(config);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  o.modes = *parsed;
  auto propagation = core::SourceTypePropagation::FromConfig(config, false);
  ASSERT_TRUE(propagation.ok()) << propagation.status().ToString();
  o.source_types = *propagation;
  sinks::kafka_sink::RecordEncoder enc(o, true);
  ASSERT_TRUE(enc.EncodeKey(in, e));
  ASSERT_TRUE(enc.EncodeValue(in, e, 1));
  std::string key = enc.key(), value = enc.value();
  EnvelopeDecoder d;
  d.set_binary_mode(o.modes.binary);
  core::EventBatch out;
  auto r = d.Decode(Rec("srv.public.all_types", &key, &value), out);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(out.size(), 1u);
  const auto& got = *out.events()[0].table;
  ASSERT_EQ(got.columns.size(), s->columns.size());
  for (size_t i = 0; i < s->columns.size(); ++i) {
    EXPECT_EQ(got.columns[i].type, s->columns[i].type) << s->columns[i].name;
  }
  EXPECT_EQ(got.columns[4].precision, 10);
  EXPECT_EQ(got.columns[4].scale, 3);
  EXPECT_EQ(got.key, s->key);
  for (const auto& [i, text] : changed) values[i] = text;
  values.push_back("<unchanged>");
  EXPECT_EQ(Texts(out, out.events()[0].after), values);
  EXPECT_EQ(out.events()[0].op, core::Op::kUpdate);
  EXPECT_TRUE(out.txn(0).snapshot);
  EXPECT_EQ(out.events()[0].lsn, 100u);  // the snapshot's LSN, written as the event's
}

// Debezium's defaults: exact, but for MicroDuration, which counts a month as 30.4375 days.
TEST(EnvelopeRoundTripTest, DefaultModesDecodeToTheSameValues) {
  RoundTrip({}, {{13, "PT37091106.5S"}});
}

// The alternative modes need the source types (column.propagate.source.type): a decimal held as a
// string or a double, and binary held as a string, are told apart from text by them.
TEST(EnvelopeRoundTripTest, AlternativeModesDecodeToTheSameValues) {
  RoundTrip({{"decimal.handling.mode", "string"}, {"interval.handling.mode", "string"},
             {"binary.handling.mode", "hex"}, {"time.precision.mode", "adaptive_time_microseconds"},
             {"column.propagate.source.type", ".*"}},
            {});
  RoundTrip({{"binary.handling.mode", "base64-url-safe"}, {"interval.handling.mode", "string"},
             {"datatype.propagate.source.type", ".+\\.bytea"}},
            {});
  RoundTrip({{"binary.handling.mode", "base64"}, {"interval.handling.mode", "string"},
             {"column.propagate.source.type", "public\\.all_types\\.raw"}},
            {});
  // double: the double's digits (trailing zeros and digits beyond 17 significant ones go).
  RoundTrip({{"decimal.handling.mode", "double"}, {"interval.handling.mode", "string"},
             {"datatype.propagate.source.type", ".+\\.NUMERIC"}},
            {{4, "-1234.5"}, {15, "-9.876543210987654e+19"}});
}

// Debezium's default (no source types): what the Kafka source cannot tell without them. A string
// decimal stays a string and hex bytes stay their hex text (the same text, another type); a
// decimal's precision and scale are still read from the Decimal schema in precise mode.
TEST(EnvelopeRoundTripTest, WithoutSourceTypesStringDecimalsAndTextBinaryStayStrings) {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {"public", "n"};
  core::Column id{"id", LogicalType::kInt64, "bigint", false};
  core::Column num{"num", LogicalType::kDecimal, "numeric(10,3)"};
  num.precision = 10;
  num.scale = 3;
  core::Column raw{"raw", LogicalType::kBytes, "bytea"};
  s->columns = {id, num, raw};
  s->key = {0};
  core::ConnectorConfig config("c", {{"decimal.handling.mode", "string"},
                                     {"binary.handling.mode", "hex"}});
  core::EnvelopeOptions o;
  o.name = "srv";
  o.modes = *core::ValueModesFromConfig(config);
  sinks::kafka_sink::RecordEncoder enc(o, true);
  core::EventBatch in;
  uint32_t txn = in.AddTxn({});
  uint32_t row = in.BeginRow();
  in.AppendValue("1");
  in.AppendValue("-1234.500");
  in.AppendValue(std::string("\x00\xff", 2));
  in.EndRow();
  core::ChangeEvent e{core::Op::kCreate, core::kNoRow, row, txn, s};
  ASSERT_TRUE(enc.EncodeValue(in, e, 1));
  EXPECT_EQ(enc.value().find("__debezium.source"), std::string::npos);
  std::string key = "{\"id\":1}", value = enc.value();
  EnvelopeDecoder d;
  d.set_binary_mode(o.modes.binary);
  core::EventBatch out;
  ASSERT_TRUE(d.Decode(Rec("srv.public.n", &key, &value), out).ok());
  const auto& got = *out.events()[0].table;
  EXPECT_EQ(got.columns[1].type, LogicalType::kString);
  EXPECT_EQ(got.columns[2].type, LogicalType::kString);
  auto texts = Texts(out, out.events()[0].after);
  EXPECT_EQ(texts[1], "-1234.500");
  EXPECT_EQ(texts[2], "00ff");
}

// Debezium's geometry structs: MariaDB's SRID + WKB bytes and PostgreSQL's point come back.
TEST(EnvelopeRoundTripTest, GeometryAndPointDecodeToTheSameValues) {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {"public", "g"};
  core::Column id, geo, pt;
  id.name = "id";
  id.type = LogicalType::kInt64;
  geo.name = "geo";
  geo.type = LogicalType::kBytes;
  geo.source_type = "linestring";
  pt.name = "pt";
  pt.type = LogicalType::kUnknown;
  pt.source_type = "point";
  s->columns = {id, geo, pt};
  s->key = {0};
  // SRID 4326, then WKB LINESTRING(0 0,1 1).
  std::string wkb("\xe6\x10\x00\x00\x01\x02\x00\x00\x00\x02\x00\x00\x00", 13);
  wkb += std::string(16, '\0');
  wkb += std::string("\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\xf0\x3f", 16);
  core::EventBatch in;
  uint32_t txn = in.AddTxn({});
  uint32_t row = in.BeginRow();
  in.AppendValue("1");
  in.AppendValue(wkb);
  in.AppendValue("(1.5,-2)");
  in.EndRow();
  core::ChangeEvent e{core::Op::kCreate, core::kNoRow, row, txn, s};
  core::EnvelopeOptions o;
  sinks::kafka_sink::RecordEncoder enc(o, true);
  ASSERT_TRUE(enc.EncodeValue(in, e, 1));
  auto v = nlohmann::json::parse(enc.value());
  EXPECT_EQ(v["payload"]["after"]["geo"]["srid"], 4326);
  EXPECT_EQ(v["payload"]["after"]["pt"]["x"], 1.5);
  EXPECT_EQ(v["schema"]["fields"][1]["fields"][1]["name"], "io.debezium.data.geometry.Geometry");
  std::string key = "{\"id\":1}", value = enc.value();
  EnvelopeDecoder d;
  core::EventBatch out;
  ASSERT_TRUE(d.Decode(Rec("srv.public.g", &key, &value), out).ok());
  auto texts = Texts(out, out.events()[0].after);
  EXPECT_EQ(texts[1], wkb);
  EXPECT_EQ(texts[2], "(1.5,-2)");
}

// timetz as ZonedTime comes back as the same instant of day in UTC (its offset is gone); hstore,
// in both hstore.handling.modes, comes back as hstore_out's text of the same pairs.
TEST(EnvelopeRoundTripTest, TimetzAndHstoreDecodeToPostgresText) {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {"public", "z"};
  core::Column id, tt, tt3, h;
  id.name = "id";
  id.type = LogicalType::kInt64;
  tt.name = "tt";
  tt.type = LogicalType::kString;
  tt.source_type = "time with time zone";
  tt3 = tt;
  tt3.name = "tt3";
  tt3.source_type = "time(3) with time zone";
  h.name = "h";
  h.type = LogicalType::kUnknown;
  h.source_type = "hstore";
  s->columns = {id, tt, tt3, h};
  s->key = {0};
  const std::vector<std::array<std::string, 4>> rows = {
      {"1", "12:00:00+05:30", "00:00:00.123-15:59",
       R"(""=>"", "a"=>NULL, "é"=>"日本", "q\"t"=>"back\\slash\"", "zz"=>"NULL")"},
      {"2", "24:00:00+15:59", "23:59:59.999+00", ""},
      {"3", "00:00:00.000001+00", "12:34:56.5+01:02:03", R"("k"=>",=> \"")"}};
  const std::vector<std::array<std::string, 3>> expected = {
      {"06:30:00+00", "15:59:00.123+00",
       R"(""=>"", "a"=>NULL, "zz"=>"NULL", "é"=>"日本", "q\"t"=>"back\\slash\"")"},
      {"08:01:00+00", "23:59:59.999+00", ""},
      {"00:00:00.000001+00", "11:32:53.5+00", R"("k"=>",=> \"")"}};
  for (std::string hstore_mode : {"json", "map"}) {
    SCOPED_TRACE(hstore_mode);
    // hstore is told from other JSON by its source type (datatype.propagate.source.type).
    core::ConnectorConfig config("c", {{"hstore.handling.mode", hstore_mode},
                                       {"datatype.propagate.source.type", ".+\\.hstore"}});
    core::EnvelopeOptions o;
    o.name = "srv";
    o.modes = *core::ValueModesFromConfig(config);
    o.source_types = *core::SourceTypePropagation::FromConfig(config, false);
    sinks::kafka_sink::RecordEncoder enc(o, true);
    for (size_t r = 0; r < rows.size(); ++r) {
      core::EventBatch in;
      uint32_t txn = in.AddTxn({});
      uint32_t row = in.BeginRow();
      for (const auto& v : rows[r]) in.AppendValue(v);
      in.EndRow();
      core::ChangeEvent e{core::Op::kCreate, core::kNoRow, row, txn, s};
      ASSERT_TRUE(enc.EncodeValue(in, e, 1)) << rows[r][3];
      std::string key = "{\"id\":" + rows[r][0] + "}", value = enc.value();
      EnvelopeDecoder d;
      core::EventBatch out;
      auto decoded = d.Decode(Rec("srv.public.z", &key, &value), out);
      ASSERT_TRUE(decoded.ok()) << decoded.status().ToString() << " " << value;
      const auto& got = *out.events()[0].table;
      EXPECT_EQ(got.columns[1].type, LogicalType::kString);
      EXPECT_EQ(got.columns[3].type, LogicalType::kString);
      auto texts = Texts(out, out.events()[0].after);
      EXPECT_EQ(texts[1], expected[r][0]);
      EXPECT_EQ(texts[2], expected[r][1]);
      EXPECT_EQ(texts[3], expected[r][2]);
    }
  }
}

// time.precision.mode=connect has no sub-millisecond digits: refused naming the column (Debezium
// would drop them), exact otherwise.
TEST(EnvelopeRoundTripTest, ConnectModeRefusesSubMillisecondDigits) {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {"public", "t"};
  core::Column id, ts;
  id.name = "id";
  id.type = LogicalType::kInt64;
  ts.name = "ts";
  ts.type = LogicalType::kTimestamp;
  ts.source_type = "timestamp without time zone";
  s->columns = {id, ts};
  s->key = {0};
  core::EnvelopeOptions o;
  o.modes.time = core::TimePrecisionMode::kConnect;
  sinks::kafka_sink::RecordEncoder enc(o, true);
  for (auto [text, exact] : {std::pair{"2024-02-29 12:00:00.123", true},
                             std::pair{"2024-02-29 12:00:00.123456", false}}) {
    core::EventBatch in;
    uint32_t txn = in.AddTxn({});
    uint32_t row = in.BeginRow();
    in.AppendValue("1");
    in.AppendValue(text);
    in.EndRow();
    core::ChangeEvent e{core::Op::kCreate, core::kNoRow, row, txn, s};
    EXPECT_EQ(enc.EncodeValue(in, e, 1), exact) << text;
    if (exact) {
      std::string key = "{\"id\":1}", value = enc.value();
      EnvelopeDecoder d;
      core::EventBatch out;
      ASSERT_TRUE(d.Decode(Rec("srv.public.t", &key, &value), out).ok());
      EXPECT_EQ(Texts(out, out.events()[0].after)[1], text);
      EXPECT_EQ(nlohmann::json::parse(value)["schema"]["fields"][1]["fields"][1]["name"],
                "org.apache.kafka.connect.data.Timestamp");
    } else {
      core::Status why = core::EnvelopeValueError(in, e, o.modes);
      EXPECT_NE(why.message().find("column ts"), std::string::npos) << why.message();
      EXPECT_NE(why.message().find("12:00:00.123456"), std::string::npos) << why.message();
    }
  }
}

TEST(OffsetsTest, SerializeParseRoundTripAndErrors) {
  OffsetMap m = {{{"a.b", 0}, 5}, {{"a.b", 3}, 17}, {{"c", 1}, 0}};
  auto back = ParseOffsets(SerializeOffsets(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, m);
  EXPECT_EQ(ParseOffsets("{\"lsn\":5}").status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseOffsets("{\"offsets\":{\"t\":{\"x\":1}}}").ok());
}

TEST(KafkaSourceConfigTest, NeedsTopicsAndForbidsAutoCommit) {
  core::ConnectorConfig c("c1", {{"connector.class", "kafka"},
                                 {"kafka.bootstrap.servers", "127.0.0.1:9"}});
  EXPECT_EQ(KafkaSourceOptionsFromConfig(c).status().code(), core::StatusCode::kInvalidArgument);
  c.mutable_values()["kafka.topic.regex"] = "srv\\..*";
  auto o = KafkaSourceOptionsFromConfig(c);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->topics, std::vector<std::string>{"^srv\\..*"});
  EXPECT_EQ(o->librdkafka.at("group.id"), "sluice-c1");
  EXPECT_EQ(o->librdkafka.at("enable.auto.commit"), "false");
  c.mutable_values()["kafka.consumer.enable.auto.commit"] = "true";
  EXPECT_FALSE(KafkaSourceOptionsFromConfig(c).ok());
}

}  // namespace
}  // namespace sluice::kafka
