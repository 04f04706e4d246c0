#include "sinks/kafka/kafka_envelope.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/config.h"
#include "sinks/kafka/kafka_sink.h"

namespace sluice::sinks::kafka_sink {
namespace {

using core::LogicalType;
using nlohmann::json;

core::TableSchemaPtr Orders() {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {"public", "orders"};
  s->database = "shop";
  core::Column id{"id", LogicalType::kInt64, "bigint", false};
  core::Column price{"price", LogicalType::kDecimal, "numeric(12,2)"};
  price.precision = 12;
  price.scale = 2;
  core::Column tags{"tags", LogicalType::kArray, "integer[]"};
  core::Column d{"d", LogicalType::kDate, "date"};
  core::Column mood{"mood", LogicalType::kEnum, "mood"};
  mood.enum_values = {"sad", "ok"};
  s->columns = {id, price, tags, d, mood};
  s->key = {0};
  return s;
}

TEST(TopicNameTest, DefaultFormatAndSanitizing) {
  EXPECT_EQ(TopicName(kDefaultTopicFormat, "srv", {"public", "orders"}), "srv.public.orders");
  EXPECT_EQ(TopicName(kDefaultTopicFormat, "srv", {"my schema", "t/1$"}), "srv.my_schema.t_1_");
  EXPECT_EQ(TopicName("cdc-${table}", "srv", {"s", "t"}), "cdc-t");
  EXPECT_EQ(TopicName("${prefix}_${schema}__${table}", "p", {"s", "t"}), "p_s__t");
}

// The value schema's field `name` in the `after` struct of `enc`'s last value.
json AfterField(const RecordEncoder& enc, const std::string& name) {
  json v = json::parse(enc.value());
  for (const json& f : v["schema"]["fields"][1]["fields"]) {
    if (f["field"] == name) return f;
  }
  return json();
}

// Encodes one update of Orders() with schemas under `propagation` and returns the encoder.
std::unique_ptr<RecordEncoder> EncodeOrders(core::SourceTypePropagation propagation) {
  core::EventBatch b;
  uint32_t txn = b.AddTxn({});
  uint32_t row = b.BeginRow();
  for (auto v : {"1", "12.50", "[1,2]", "2024-01-02", "ok"}) b.AppendValue(v);
  b.EndRow();
  core::ChangeEvent e{core::Op::kUpdate, core::kNoRow, row, txn, Orders()};
  core::EnvelopeOptions o;
  o.name = "srv";
  o.source_types = std::move(propagation);
  auto enc = std::make_unique<RecordEncoder>(o, true);
  EXPECT_TRUE(enc->EncodeKey(b, e));
  EXPECT_TRUE(enc->EncodeValue(b, e, 7));
  return enc;
}

TEST(SourceTypePropagationTest, ColumnPropagateMatchesSchemaTableColumnWithoutCase) {
  auto p = core::SourceTypePropagation::FromLists("PUBLIC\\.orders\\.pri.e", "", false);
  ASSERT_TRUE(p.ok()) << p.status().message();
  auto enc = EncodeOrders(*p);
  json price = AfterField(*enc, "price");
  EXPECT_EQ(price["parameters"], json({{"scale", "2"},
                                       {"connect.decimal.precision", "12"},
                                       {"__debezium.source.column.type", "NUMERIC"},
                                       {"__debezium.source.column.length", "12"},
                                       {"__debezium.source.column.scale", "2"}}));
  // Other columns have none; the key's id is not matched either.
  EXPECT_FALSE(AfterField(*enc, "id").contains("parameters"));
  EXPECT_FALSE(AfterField(*enc, "d").contains("parameters"));
  EXPECT_EQ(json::parse(enc->key())["schema"]["fields"][0].contains("parameters"), false);
}

TEST(SourceTypePropagationTest, DatatypePropagateMatchesDebeziumTypeNames) {
  // PostgreSQL's pg_type names: bigint is int8, integer[] is _int4; the key field too.
  auto p = core::SourceTypePropagation::FromLists("", ".+\\.INT8,public\\.orders\\._int4", false);
  ASSERT_TRUE(p.ok()) << p.status().message();
  auto enc = EncodeOrders(*p);
  EXPECT_EQ(AfterField(*enc, "id")["parameters"],
            json({{"__debezium.source.column.type", "INT8"}}));
  EXPECT_EQ(AfterField(*enc, "tags")["parameters"],
            json({{"__debezium.source.column.type", "_INT4"}}));
  EXPECT_FALSE(AfterField(*enc, "price")["parameters"].contains("__debezium.source.column.type"));
  EXPECT_EQ(json::parse(enc->key())["schema"]["fields"][0]["parameters"],
            json({{"__debezium.source.column.type", "INT8"}}));
  // A bare type name does not match: Debezium matches <schema>.<table>.<type>.
  auto bare = core::SourceTypePropagation::FromLists("", "int8", false);
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(AfterField(*EncodeOrders(*bare), "id").contains("parameters"));
}

TEST(SourceTypePropagationTest, TypeNamesAreDebeziums) {
  using core::Column;
  using core::DebeziumSourceTypeName;
  auto pg = [](const char* t) { return DebeziumSourceTypeName(Column{"c", LogicalType::kString, t}, false); };
  EXPECT_EQ(pg("character varying(64)"), "VARCHAR");
  EXPECT_EQ(pg("character(3)"), "BPCHAR");
  EXPECT_EQ(pg("timestamp(3) without time zone"), "TIMESTAMP");
  EXPECT_EQ(pg("timestamp with time zone"), "TIMESTAMPTZ");
  EXPECT_EQ(pg("double precision"), "FLOAT8");
  EXPECT_EQ(pg("numeric(12,2)"), "NUMERIC");
  EXPECT_EQ(pg("public.hstore"), "HSTORE");
  EXPECT_EQ(pg("\"My Schema\".\"Mood\""), "MOOD");
  EXPECT_EQ(pg("text[]"), "_TEXT");
  auto my = [](const char* t, bool is_unsigned = false) {
    Column c{"c", LogicalType::kString, t};
    c.is_unsigned = is_unsigned;
    return DebeziumSourceTypeName(c, true);
  };
  EXPECT_EQ(my("bigint(20) unsigned"), "BIGINT UNSIGNED");
  EXPECT_EQ(my("int(10)", true), "INT UNSIGNED");
  EXPECT_EQ(my("enum('a(',')b')"), "ENUM");
  EXPECT_EQ(my("decimal(12,2)"), "DECIMAL");
  EXPECT_EQ(my("varchar(64)"), "VARCHAR");
}

TEST(SourceTypePropagationTest, InvalidRegexIsRefusedNamingTheKey) {
  for (const char* key : {"column.propagate.source.type", "datatype.propagate.source.type"}) {
    core::ConnectorConfig config;
    config.mutable_values()["connector.class"] = "postgres";
    config.mutable_values()["sink.type"] = "kafka";
    config.mutable_values()["sink.kafka.bootstrap.servers"] = "localhost:9092";
    config.mutable_values()[key] = "public.t.(a";
    auto options = KafkaSinkOptionsFromConfig(config);
    ASSERT_FALSE(options.ok()) << key;
    EXPECT_EQ(options.status().code(), core::StatusCode::kInvalidArgument);
    EXPECT_NE(options.status().message().find(key), std::string::npos) << options.status().message();
  }
}

TEST(RecordEncoderTest, PlainRecordsHaveNoSchemaBlock) {
  core::EventBatch b;
  uint32_t txn = b.AddTxn({1700000000000, false, false, 5, 99, "", 0, ""});
  uint32_t row = b.BeginRow();
  for (auto v : {"1", "12.50", "[1,2]", "2024-01-02", "ok"}) b.AppendValue(v);
  b.EndRow();
  core::ChangeEvent e{core::Op::kCreate, core::kNoRow, row, txn, Orders()};
  core::EnvelopeOptions o;
  o.name = "srv";
  RecordEncoder enc(o, false);
  ASSERT_TRUE(enc.EncodeKey(b, e));
  EXPECT_EQ(json::parse(enc.key()), json({{"id", 1}}));
  enc.EncodeValue(b, e, 7);
  json v = json::parse(enc.value());
  EXPECT_FALSE(v.contains("schema"));
  EXPECT_EQ(v["op"], "c");
  // decimal.handling.mode=precise: 1250 = 0x04E2, base64.
  EXPECT_EQ(v["after"]["price"], "BOI=");
  EXPECT_EQ(v["after"]["d"], 19724);
  EXPECT_TRUE(v["before"].is_null());
}

TEST(RecordEncoderTest, SchemaBlocksFollowDebezium) {
  auto encoder = EncodeOrders({});
  const RecordEncoder& enc = *encoder;
  json k = json::parse(enc.key());
  EXPECT_EQ(k["payload"], json({{"id", 1}}));
  EXPECT_EQ(k["schema"]["name"], "srv.public.orders.Key");
  EXPECT_EQ(k["schema"]["fields"][0]["type"], "int64");
  EXPECT_EQ(k["schema"]["fields"][0]["optional"], false);

  json v = json::parse(enc.value());
  EXPECT_EQ(v["payload"]["op"], "u");
  EXPECT_EQ(v["schema"]["name"], "srv.public.orders.Envelope");
  const json& after = v["schema"]["fields"][1];
  EXPECT_EQ(after["field"], "after");
  EXPECT_EQ(after["name"], "srv.public.orders.Value");
  // decimal.handling.mode=precise: Connect's Decimal with its scale and precision.
  EXPECT_EQ(after["fields"][1]["type"], "bytes");
  EXPECT_EQ(after["fields"][1]["name"], "org.apache.kafka.connect.data.Decimal");
  EXPECT_EQ(after["fields"][1]["parameters"]["scale"], "2");
  EXPECT_EQ(after["fields"][1]["parameters"]["connect.decimal.precision"], "12");
  // Without column/datatype.propagate.source.type, as Debezium: no source type parameters.
  EXPECT_EQ(after["fields"][1]["parameters"].size(), 2u) << after["fields"][1].dump();
  EXPECT_EQ(enc.value().find("__debezium.source"), std::string::npos);
  EXPECT_EQ(after["fields"][2]["items"]["type"], "int32");
  EXPECT_EQ(after["fields"][3]["name"], "io.debezium.time.Date");
  EXPECT_EQ(after["fields"][4]["name"], "io.debezium.data.Enum");
  EXPECT_EQ(after["fields"][4]["parameters"]["allowed"], "sad,ok");
  const json& source = v["schema"]["fields"][2];
  EXPECT_EQ(source["name"], "io.debezium.connector.postgresql.Source");
  // Every payload field of the source block is declared in its schema.
  std::set<std::string> declared;
  for (const auto& f : source["fields"]) declared.insert(f["field"].get<std::string>());
  for (const auto& [name, value] : v["payload"]["source"].items()) {
    EXPECT_TRUE(declared.contains(name)) << name;
  }
}

// Debezium 2.x's PostgreSQL source: each change's own LSN, "sequence" as the JSON text of
// ["<last commit lsn>","<change lsn>"], "xmin" null, ts_us/ts_ns from the commit time's
// microseconds; the schema declares the fields in Debezium's order.
TEST(RecordEncoderTest, PostgresSourceBlockIsDebeziums) {
  core::EventBatch b;
  core::TxnInfo streamed{1700000000123, false, false, 771, 5000};
  streamed.ts_us = 1700000000123456;
  streamed.last_commit_lsn = 4000;
  uint32_t txn = b.AddTxn(streamed);
  core::TxnInfo snapshot{1700000000000, true, false, 770, 3000};
  uint32_t snap = b.AddTxn(snapshot);
  std::vector<core::ChangeEvent> events;
  for (uint64_t lsn : {4100, 4200}) {
    uint32_t row = b.BeginRow();
    for (auto v : {"1", "12.50", "[1,2]", "2024-01-02", "ok"}) b.AppendValue(v);
    b.EndRow();
    events.push_back({core::Op::kCreate, core::kNoRow, row, txn, Orders(), lsn});
  }
  events.push_back({core::Op::kRead, core::kNoRow, events[0].after, snap, Orders()});
  core::EnvelopeOptions o;
  o.name = "srv";
  RecordEncoder enc(o, true);
  std::vector<json> sources;
  for (const auto& e : events) {
    enc.EncodeValue(b, e, 7);
    json v = json::parse(enc.value());
    sources.push_back(v["payload"]["source"]);
    std::vector<std::string> declared, written;
    for (const auto& f : v["schema"]["fields"][2]["fields"]) declared.push_back(f["field"]);
    EXPECT_EQ(declared, (std::vector<std::string>{"version", "connector", "name", "ts_ms",
                                                  "snapshot", "db", "sequence", "ts_us", "ts_ns",
                                                  "schema", "table", "txId", "lsn", "xmin"}));
    // The payload writes them in the declared order (JsonConverter does).
    std::string text = enc.value();
    size_t at = text.find("\"payload\"");
    for (const auto& name : declared) {
      size_t next = text.find("\"" + name + "\":", at);
      ASSERT_NE(next, std::string::npos) << name;
      at = next;
    }
  }
  EXPECT_EQ(sources[0]["lsn"], 4100);
  EXPECT_EQ(sources[1]["lsn"], 4200);
  EXPECT_EQ(sources[0]["sequence"], "[\"4000\",\"4100\"]");
  EXPECT_EQ(sources[1]["sequence"], "[\"4000\",\"4200\"]");
  EXPECT_EQ(json::parse(sources[1]["sequence"].get<std::string>()), json({"4000", "4200"}));
  EXPECT_TRUE(sources[0].contains("xmin"));
  EXPECT_TRUE(sources[0]["xmin"].is_null());
  EXPECT_EQ(sources[0]["txId"], 771);
  EXPECT_EQ(sources[0]["ts_ms"], 1700000000123);
  EXPECT_EQ(sources[0]["ts_us"], 1700000000123456);
  EXPECT_EQ(sources[0]["ts_ns"], 1700000000123456000);
  // A snapshot record: the snapshot's LSN, no commit before it.
  EXPECT_EQ(sources[2]["lsn"], 3000);
  EXPECT_EQ(sources[2]["sequence"], "[null,\"3000\"]");
  EXPECT_EQ(sources[2]["snapshot"], "true");
  EXPECT_EQ(sources[2]["txId"], 770);
  EXPECT_EQ(sources[2]["ts_us"], 1700000000000000);
  EXPECT_TRUE(sources[2]["xmin"].is_null());
}

TEST(RecordEncoderTest, MysqlSourceBlockDeclaresItsFields) {
  core::EventBatch b;
  uint32_t txn = b.AddTxn({1, false, false, 0, 0, "bin.000001", 154, "0-1-5"});
  uint32_t row = b.BeginRow();
  for (auto v : {"1", "1.00", "[]", "2024-01-02", "ok"}) b.AppendValue(v);
  b.EndRow();
  core::ChangeEvent e{core::Op::kCreate, core::kNoRow, row, txn, Orders()};
  core::EnvelopeOptions o;
  o.name = "srv";
  o.connector = "mysql";
  RecordEncoder enc(o, true);
  enc.EncodeValue(b, e, 7);
  json v = json::parse(enc.value());
  const json& source = v["schema"]["fields"][2];
  EXPECT_EQ(source["name"], "io.debezium.connector.mysql.Source");
  std::set<std::string> declared;
  for (const auto& f : source["fields"]) declared.insert(f["field"].get<std::string>());
  for (const auto& [name, value] : v["payload"]["source"].items()) {
    EXPECT_TRUE(declared.contains(name)) << name;
  }
  EXPECT_EQ(v["payload"]["source"]["file"], "bin.000001");
  EXPECT_EQ(v["payload"]["source"]["pos"], 154);
}

TEST(RecordEncoderTest, TruncateAndKeylessTablesHaveNullKeys) {
  core::EventBatch b;
  uint32_t txn = b.AddTxn({});
  core::ChangeEvent t{core::Op::kTruncate, core::kNoRow, core::kNoRow, txn, Orders()};
  core::EnvelopeOptions o;
  o.name = "srv";
  RecordEncoder enc(o, false);
  EXPECT_FALSE(enc.EncodeKey(b, t));
  enc.EncodeValue(b, t, 1);
  json v = json::parse(enc.value());
  EXPECT_EQ(v["op"], "t");
  EXPECT_TRUE(v["before"].is_null());
  EXPECT_TRUE(v["after"].is_null());

  auto keyless = std::make_shared<core::TableSchema>(*Orders());
  keyless->key.clear();
  uint32_t row = b.BeginRow();
  for (auto val : {"1", "1", "[]", "2024-01-02", "ok"}) b.AppendValue(val);
  b.EndRow();
  core::ChangeEvent c{core::Op::kCreate, core::kNoRow, row, txn, keyless};
  EXPECT_FALSE(enc.EncodeKey(b, c));
}

// The encoder's cached fast path writes exactly what core::AppendEnvelopeJson writes.
TEST(RecordEncoderTest, PayloadIsByteForByteCoreEnvelope) {
  core::EventBatch b;
  uint32_t t1 = b.AddTxn({1700000000000, false, false, 5, 99, "", 0, ""});
  uint32_t t2 = b.AddTxn({1700000000001, true, true, 6, 100, "", 0, ""});
  auto other = std::make_shared<core::TableSchema>(*Orders());
  other->id.table = "other \"quoted\"";
  std::vector<core::ChangeEvent> events;
  for (uint32_t txn : {t1, t1, t2}) {
    for (const auto& schema : {Orders(), core::TableSchemaPtr(other)}) {
      uint32_t before = b.BeginRow();
      for (auto v : {"1", "12.50", "[1,2]", "2024-01-02", "ok"}) b.AppendValue(v);
      b.EndRow();
      uint32_t after = b.BeginRow();
      b.AppendValue("1");
      b.AppendNull();
      b.AppendUnchanged();
      b.AppendValue("2024-01-03");
      b.AppendValue("sad");
      b.EndRow();
      events.push_back({core::Op::kUpdate, before, after, txn, schema, 4096 + events.size()});
      events.push_back({core::Op::kDelete, before, core::kNoRow, txn, schema});
      events.push_back({core::Op::kTruncate, core::kNoRow, core::kNoRow, txn, schema});
    }
  }
  for (const char* connector : {"postgresql", "mysql"}) {
    core::EnvelopeOptions o;
    o.name = "srv";
    o.connector = connector;
    RecordEncoder enc(o, false);
    // The times are rendered once per now_ns (one per Write): a new one must show.
    int64_t now_ns = 1234;
    std::string arena = "earlier records";
    for (size_t i = 0; i < events.size(); ++i) {
      const core::ChangeEvent& e = events[i];
      if (i % 4 == 3) now_ns += 1000000007;
      std::string expected;
      core::AppendEnvelopeJson(expected, b, e, o, now_ns);
      enc.EncodeValue(b, e, now_ns);
      EXPECT_EQ(enc.value(), expected);
      // The sink's path: appended to its arena, after what is there.
      const size_t begin = arena.size();
      enc.AppendValue(arena, b, e, now_ns);
      EXPECT_EQ(arena.substr(begin), expected);
    }
    EXPECT_TRUE(arena.starts_with("earlier records"));
  }
}

// The sink's path renders a batch's events one after the other (BeginBatch, then AppendValue),
// copying the source block of the previous event while nothing it depends on changed: every
// event still gets exactly core::AppendEnvelopeJson's bytes, when the table, transaction, LSN,
// binlog position, row or query changes between neighbours and when they are all the same.
TEST(RecordEncoderTest, ConsecutiveEventsOfABatchGetTheirOwnSourceBlock) {
  core::EventBatch b;
  uint32_t t1 = b.AddTxn({1700000000000, true, false, 5, 99, "bin.1", 4, "0-1-2"});
  uint32_t t2 = b.AddTxn({1700000000000, true, true, 5, 99, "bin.1", 4, "0-1-2"});  // "last"
  uint32_t q1 = b.AddQuery("INSERT INTO t VALUES (1)");
  uint32_t q2 = b.AddQuery("INSERT INTO t VALUES (2)");
  auto other = std::make_shared<core::TableSchema>(*Orders());
  other->id.table = "other";
  uint32_t row = b.BeginRow();
  for (auto v : {"1", "12.50", "[1,2]", "2024-01-02", "ok"}) b.AppendValue(v);
  b.EndRow();
  auto orders = Orders();
  std::vector<core::ChangeEvent> events;
  auto add = [&](uint32_t txn, core::TableSchemaPtr table, uint64_t lsn, uint64_t pos,
                 uint32_t source_row, uint32_t query) {
    core::ChangeEvent e{core::Op::kRead, core::kNoRow, row, txn, std::move(table), lsn};
    e.source_pos = pos;
    e.source_row = source_row;
    e.query = query;
    events.push_back(e);
  };
  add(t1, orders, 0, 0, 0, core::kNoQuery);
  add(t1, orders, 0, 0, 0, core::kNoQuery);  // the same source block
  add(t1, other, 0, 0, 0, core::kNoQuery);   // another table
  add(t1, other, 700, 0, 0, core::kNoQuery);  // another LSN
  add(t1, other, 700, 120, 0, core::kNoQuery);  // another binlog position
  add(t1, other, 700, 120, 1, core::kNoQuery);  // another row of the statement
  add(t1, other, 700, 120, 1, q1);             // a query
  add(t1, other, 700, 120, 1, q2);             // another query
  add(t2, other, 700, 120, 1, q2);             // another transaction (the last snapshot row)
  add(t2, other, 700, 120, 1, q2);
  for (const char* connector : {"postgresql", "mysql"}) {
    core::EnvelopeOptions o;
    o.name = "srv";
    o.connector = connector;
    RecordEncoder enc(o, false);
    std::string arena;
    enc.BeginBatch();
    for (const core::ChangeEvent& e : events) {
      std::string expected;
      core::AppendEnvelopeJson(expected, b, e, o, 42);
      const size_t begin = arena.size();
      enc.AppendValue(arena, b, e, 42);
      EXPECT_EQ(arena.substr(begin), expected) << connector;
    }
  }
}

TEST(KafkaSinkConfigTest, OwnKeysAreNotPassedToLibrdkafka) {
  core::ConnectorConfig config("c1", {{"connector.class", "postgres"},
                                      {"topic.prefix", "srv"},
                                      {"sink.type", "kafka"},
                                      {"sink.kafka.bootstrap.servers", "127.0.0.1:9"},
                                      {"sink.kafka.schemas.enable", "true"},
                                      {"sink.kafka.tombstones.on.delete", "false"},
                                      {"sink.kafka.compression.type", "lz4"}});
  auto o = KafkaSinkOptionsFromConfig(config);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->schemas_enable);
  EXPECT_FALSE(o->tombstones_on_delete);
  EXPECT_EQ(o->librdkafka.size(), 2u);
  EXPECT_EQ(o->librdkafka.at("compression.type"), "lz4");
  EXPECT_EQ(o->offsets_topic, "srv.sluice_offsets");
  EXPECT_EQ(o->envelope.connector, "postgresql");
}

TEST(KafkaSinkConfigTest, DebeziumConverterAndTombstoneKeysAreHonoured) {
  core::ConnectorConfig config("c1", {{"connector.class", "postgres"},
                                      {"sink.type", "kafka"},
                                      {"sink.kafka.bootstrap.servers", "127.0.0.1:9"},
                                      {"sink.kafka.schemas.enable", "false"},  // a filled-in default
                                      {"value.converter.schemas.enable", "true"},
                                      {"tombstones.on.delete", "false"}});
  auto o = KafkaSinkOptionsFromConfig(config);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->schemas_enable);
  EXPECT_FALSE(o->tombstones_on_delete);
  EXPECT_EQ(o->librdkafka.count("tombstones.on.delete"), 0u);
  EXPECT_EQ(o->skipped_ops, "t");  // Debezium's default: truncates are not written
  config.mutable_values()["skipped.operations"] = "none";
  o = KafkaSinkOptionsFromConfig(config);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->skipped_ops, "");
  config.mutable_values()["skipped.operations"] = "t, d";
  o = KafkaSinkOptionsFromConfig(config);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->skipped_ops, "td");
  config.mutable_values()["skipped.operations"] = "truncate";
  o = KafkaSinkOptionsFromConfig(config);
  EXPECT_EQ(o.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(o.status().message().find("skipped.operations"), std::string::npos);
  config.mutable_values().erase("skipped.operations");
  config.mutable_values().erase("value.converter.schemas.enable");
  config.mutable_values()["key.converter.schemas.enable"] = "true";
  o = KafkaSinkOptionsFromConfig(config);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->schemas_enable);
}

TEST(KafkaSinkConfigTest, ValidationTypesOwnKeysAndAcceptsPassThrough) {
  core::ConfigDef def;
  def.AddAll(core::CommonConfigKeys()).AddAll(KafkaSinkConfigKeys());
  core::ConnectorConfig good("c1", {{"connector.class", "postgres"},
                                    {"sink.type", "kafka"},
                                    {"sink.kafka.bootstrap.servers", "127.0.0.1:9"},
                                    {"sink.kafka.linger.ms", "20"}});
  EXPECT_TRUE(def.Validate(good).ok());
  core::ConnectorConfig bad = good;
  bad.mutable_values()["sink.kafka.schemas.enable"] = "yes";
  EXPECT_EQ(def.Validate(bad).code(), core::StatusCode::kInvalidArgument);
  core::ConnectorConfig missing("c1", {{"connector.class", "postgres"}, {"sink.type", "kafka"}});
  EXPECT_FALSE(def.Validate(missing).ok());
}

TEST(KafkaSinkConfigTest, BadLibrdkafkaPropertyIsRejectedWithItsKey) {
  core::ConnectorContext ctx;
  ctx.config = core::ConnectorConfig("c1", {{"connector.class", "postgres"},
                                            {"sink.type", "kafka"},
                                            {"sink.kafka.bootstrap.servers", "127.0.0.1:9"},
                                            {"sink.kafka.no.such.property", "1"}});
  auto sink = MakeKafkaSink(ctx);
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(sink.status().message().find("sink.kafka.no.such.property"), std::string::npos);
}

// Issue 22 item 4: the encoder reports a timestamp beyond int64 microseconds (the sink then
// refuses the event by name) and writes the far-future timestamptz exactly.
TEST(RecordEncoderTest, ReportsValuesWithoutAnExactEncoding) {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {"public", "far"};
  s->columns = {{"id", LogicalType::kInt64}, {"ts", LogicalType::kTimestamp}, {"tz", LogicalType::kTimestampTz}};
  s->key = {0};
  core::EventBatch b;
  uint32_t txn = b.AddTxn({});
  uint32_t ok_row = b.BeginRow();
  for (auto v : {"1", "294247-01-10 04:00:54.775807", "294276-12-31 23:59:59.999999+00"}) b.AppendValue(v);
  b.EndRow();
  uint32_t bad_row = b.BeginRow();
  for (auto v : {"2", "294276-12-31 23:59:59.999999", "2024-01-01 00:00:00+00"}) b.AppendValue(v);
  b.EndRow();
  core::EnvelopeOptions o;
  RecordEncoder enc(o, true);
  core::ChangeEvent good{core::Op::kCreate, core::kNoRow, ok_row, txn, s};
  ASSERT_TRUE(enc.EncodeValue(b, good, 7));
  json v = json::parse(enc.value());
  EXPECT_EQ(v["payload"]["after"]["ts"], INT64_MAX);
  EXPECT_EQ(v["payload"]["after"]["tz"], "+294276-12-31T23:59:59.999999Z");
  core::ChangeEvent bad{core::Op::kCreate, core::kNoRow, bad_row, txn, s};
  EXPECT_FALSE(enc.EncodeValue(b, bad, 7));
  core::Status why = core::EnvelopeValueError(b, bad);
  EXPECT_NE(why.message().find("column ts"), std::string::npos) << why.message();
}

// Debezium's heartbeat records (HeartbeatImpl: ServerNameKey / Heartbeat), as JsonConverter
// writes them with and without schemas.
TEST(KafkaEnvelopeTest, HeartbeatRecordsAreDebeziumsBytes) {
  EXPECT_EQ(HeartbeatKey("shop", false), R"({"serverName":"shop"})");
  EXPECT_EQ(HeartbeatValue(1700000000123, false), R"({"ts_ms":1700000000123})");
  EXPECT_EQ(HeartbeatKey("shop", true),
            R"({"schema":{"type":"struct","fields":[{"type":"string","optional":false,)"
            R"("field":"serverName"}],"optional":false,)"
            R"("name":"io.debezium.connector.common.ServerNameKey"},)"
            R"("payload":{"serverName":"shop"}})");
  EXPECT_EQ(HeartbeatValue(1700000000123, true),
            R"({"schema":{"type":"struct","fields":[{"type":"int64","optional":false,)"
            R"("field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.Heartbeat"},)"
            R"("payload":{"ts_ms":1700000000123}})");
  EXPECT_EQ(HeartbeatKey("a\"b", false), R"({"serverName":"a\"b"})");
}

}  // namespace
}  // namespace sluice::sinks::kafka_sink

namespace sluice::sinks::kafka_sink {
namespace {

// The key the encoder renders (names escaped and kinds decided once per table schema) is
// core::AppendKeyJson's bytes: a composite key in key order (not column order) with a name to
// escape, a decimal and a timestamp key column, null key values, and an update whose new image
// lacks the key (unchanged): the old image's key then; with and without schema blocks.
TEST(RecordEncoderTest, KeyIsByteForByteCoreKey) {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {"public", "k"};
  core::Column name{"na\"me", LogicalType::kString, "text"};
  core::Column amount{"amount", LogicalType::kDecimal, "numeric(12,2)"};
  amount.precision = 12;
  amount.scale = 2;
  core::Column at{"at", LogicalType::kTimestamp, "timestamp"};
  s->columns = {name, amount, at};
  s->key = {2, 0, 1};
  core::EventBatch b;
  uint32_t txn = b.AddTxn({});
  auto row = [&b](std::initializer_list<const char*> values) {
    uint32_t r = b.BeginRow();
    for (const char* v : values) {
      if (v == nullptr) {
        b.AppendNull();
      } else if (std::string_view(v) == "~") {
        b.AppendUnchanged();
      } else {
        b.AppendValue(v);
      }
    }
    b.EndRow();
    return r;
  };
  uint32_t full = row({"a\tb", "-12.50", "2024-01-02 03:04:05.123456"});
  uint32_t nulls = row({"x", nullptr, "2024-01-02 03:04:05"});
  uint32_t unchanged = row({"~", "1.00", "2024-01-03 00:00:00"});
  std::vector<core::ChangeEvent> events = {
      {core::Op::kCreate, core::kNoRow, full, txn, s},
      {core::Op::kCreate, core::kNoRow, nulls, txn, s},
      {core::Op::kUpdate, full, unchanged, txn, s},
      {core::Op::kDelete, nulls, core::kNoRow, txn, s},
  };
  for (bool schemas : {false, true}) {
    core::EnvelopeOptions o;
    o.name = "srv";
    RecordEncoder enc(o, schemas);
    for (const core::ChangeEvent& e : events) {
      std::string expected;
      core::AppendKeyJson(expected, b, e, o.modes);
      ASSERT_TRUE(enc.EncodeKey(b, e));
      if (schemas) {
        json k = json::parse(enc.key());
        EXPECT_EQ(k["payload"], json::parse(expected));
        EXPECT_TRUE(enc.key().ends_with(",\"payload\":" + expected + "}")) << enc.key();
      } else {
        EXPECT_EQ(enc.key(), expected);
      }
    }
  }
}

}  // namespace
}  // namespace sluice::sinks::kafka_sink
