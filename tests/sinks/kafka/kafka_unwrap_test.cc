// ExtractNewRecordState in the Kafka sink's encoder: the flat values byte for byte, for each
// operation and delete handling mode, with add.fields, schemas on and off; and the config
// parsing (core/debezium_transforms.h).
#include <gtest/gtest.h>

#include "core/config.h"
#include "core/debezium_transforms.h"
#include "sinks/kafka/kafka_envelope.h"
#include "sinks/kafka/kafka_sink.h"

namespace sluice::sinks::kafka_sink {
namespace {

using core::LogicalType;
using Deletes = core::NewRecordStateOptions::Deletes;

// The table of Debezium's event-flattening example: pk and cola.
core::TableSchemaPtr Table() {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {"public", "t"};
  s->database = "db";
  s->columns = {core::Column{"pk", LogicalType::kInt32, "integer", false},
                core::Column{"cola", LogicalType::kString, "text"}};
  s->key = {0};
  return s;
}

struct Events {
  core::EventBatch batch;
  uint32_t txn;
  uint32_t row1, row2, key_only;
  Events() {
    txn = batch.AddTxn({1700000000123, false, false, 7, 4242, "", 0, ""});
    row1 = batch.BeginRow();
    batch.AppendValue("2");
    batch.AppendValue("x");
    batch.EndRow();
    row2 = batch.BeginRow();
    batch.AppendValue("2");
    batch.AppendValue("y");
    batch.EndRow();
    // A delete's before image under REPLICA IDENTITY DEFAULT: the key only.
    key_only = batch.BeginRow();
    batch.AppendValue("2");
    batch.AppendUnchanged();
    batch.EndRow();
  }
  core::ChangeEvent Event(core::Op op) {
    switch (op) {
      case core::Op::kUpdate: return {op, row1, row2, txn, table};
      case core::Op::kDelete: return {op, key_only, core::kNoRow, txn, table};
      case core::Op::kTruncate: return {op, core::kNoRow, core::kNoRow, txn, table};
      default: return {op, core::kNoRow, row1, txn, table};
    }
  }
  core::TableSchemaPtr table = Table();
};

core::NewRecordStateOptions Unwrap(Deletes deletes, std::vector<std::string> fields = {}) {
  core::NewRecordStateOptions o;
  o.deletes = deletes;
  for (auto& f : fields) {
    std::string name = "__" + f;
    std::replace(name.begin(), name.end(), '.', '_');
    o.add_field_names.push_back(name);
    o.add_fields.push_back(f);
  }
  return o;
}

std::string Value(RecordEncoder& enc, Events& ev, core::Op op) {
  core::ChangeEvent e = ev.Event(op);
  EXPECT_TRUE(enc.EncodeValue(ev.batch, e, 1700000000999000000));
  return enc.value();
}

core::EnvelopeOptions Options() {
  core::EnvelopeOptions o;
  o.name = "srv";
  return o;
}

TEST(UnwrapTest, FlatRowsWithoutSchemas) {
  Events ev;
  RecordEncoder enc(Options(), false, Unwrap(Deletes::kDrop));
  EXPECT_EQ(Value(enc, ev, core::Op::kCreate), R"({"pk":2,"cola":"x"})");
  EXPECT_EQ(Value(enc, ev, core::Op::kRead), R"({"pk":2,"cola":"x"})");
  EXPECT_EQ(Value(enc, ev, core::Op::kUpdate), R"({"pk":2,"cola":"y"})");
  EXPECT_FALSE(enc.DropsValue(ev.Event(core::Op::kCreate)));
  EXPECT_FALSE(enc.DropsValue(ev.Event(core::Op::kUpdate)));
  EXPECT_TRUE(enc.DropsValue(ev.Event(core::Op::kDelete)));    // delete.handling.mode=drop
  EXPECT_TRUE(enc.DropsValue(ev.Event(core::Op::kTruncate)));  // as Debezium drops truncates
  EXPECT_TRUE(enc.DropsTombstones());                          // drop.tombstones=true
  // The key is unchanged.
  ASSERT_TRUE(enc.EncodeKey(ev.batch, ev.Event(core::Op::kUpdate)));
  EXPECT_EQ(enc.key(), R"({"pk":2})");
}

TEST(UnwrapTest, RewriteMatchesDebeziumsDocumentedDelete) {
  // Debezium's documentation of delete.handling.mode=rewrite:
  //   "value": { "pk": 2, "cola": null, "__deleted": "true" }
  Events ev;
  RecordEncoder enc(Options(), false, Unwrap(Deletes::kRewrite));
  EXPECT_FALSE(enc.DropsValue(ev.Event(core::Op::kDelete)));
  EXPECT_TRUE(enc.DropsValue(ev.Event(core::Op::kTruncate)));
  EXPECT_EQ(Value(enc, ev, core::Op::kDelete), R"({"pk":2,"cola":null,"__deleted":"true"})");
  EXPECT_EQ(Value(enc, ev, core::Op::kCreate), R"({"pk":2,"cola":"x","__deleted":"false"})");
  EXPECT_EQ(Value(enc, ev, core::Op::kUpdate), R"({"pk":2,"cola":"y","__deleted":"false"})");
}

TEST(UnwrapTest, NoneKeepsDeletesAsNullValues) {
  Events ev;
  core::NewRecordStateOptions o = Unwrap(Deletes::kNone);
  o.drop_tombstones = false;
  RecordEncoder enc(Options(), false, o);
  EXPECT_FALSE(enc.DropsValue(ev.Event(core::Op::kDelete)));
  EXPECT_FALSE(enc.DropsTombstones());
  EXPECT_EQ(Value(enc, ev, core::Op::kDelete), "null");
  EXPECT_EQ(Value(enc, ev, core::Op::kCreate), R"({"pk":2,"cola":"x"})");
}

TEST(UnwrapTest, AddFieldsFromTheEnvelopeAndTheSource) {
  Events ev;
  RecordEncoder enc(Options(), false,
                    Unwrap(Deletes::kRewrite, {"op", "table", "lsn", "source.ts_ms", "ts_ms"}));
  EXPECT_EQ(Value(enc, ev, core::Op::kCreate),
            R"({"pk":2,"cola":"x","__op":"c","__table":"t","__lsn":4242,)"
            R"("__source_ts_ms":1700000000123,"__ts_ms":1700000000999,"__deleted":"false"})");
  EXPECT_EQ(Value(enc, ev, core::Op::kDelete),
            R"({"pk":2,"cola":null,"__op":"d","__table":"t","__lsn":4242,)"
            R"("__source_ts_ms":1700000000123,"__ts_ms":1700000000999,"__deleted":"true"})");
}

// column.propagate.source.type marks the flat row's fields as it marks the envelope's.
TEST(UnwrapTest, FlatSchemaCarriesTheSourceTypesAsked) {
  Events ev;
  core::EnvelopeOptions o = Options();
  o.source_types = *core::SourceTypePropagation::FromLists("public\\.t\\.pk", "", false);
  RecordEncoder enc(o, true, Unwrap(Deletes::kNone));
  EXPECT_EQ(Value(enc, ev, core::Op::kCreate),
            R"({"schema":{"type":"struct","fields":[)"
            R"({"type":"int32","optional":false,)"
            R"("parameters":{"__debezium.source.column.type":"INT4"},"field":"pk"},)"
            R"({"type":"string","optional":true,"field":"cola"}],)"
            R"("optional":true,"name":"srv.public.t.Value"},"payload":{"pk":2,"cola":"x"}})");
}

TEST(UnwrapTest, SchemasAreTheAfterStructPlusAddedFields) {
  Events ev;
  RecordEncoder plain(Options(), true, Unwrap(Deletes::kNone));
  const std::string row_fields =
      R"({"type":"int32","optional":false,"field":"pk"},)"
      R"({"type":"string","optional":true,"field":"cola"})";
  EXPECT_EQ(Value(plain, ev, core::Op::kCreate),
            R"({"schema":{"type":"struct","fields":[)" + row_fields +
                R"(],"optional":true,"name":"srv.public.t.Value"},"payload":{"pk":2,"cola":"x"}})");
  EXPECT_EQ(Value(plain, ev, core::Op::kDelete),
            R"({"schema":{"type":"struct","fields":[)" + row_fields +
                R"(],"optional":true,"name":"srv.public.t.Value"},"payload":null})");

  RecordEncoder added(Options(), true, Unwrap(Deletes::kRewrite, {"op", "lsn"}));
  const std::string schema =
      R"({"schema":{"type":"struct","fields":[)" + row_fields +
      R"(,{"type":"string","optional":false,"field":"__op"})"
      R"(,{"type":"int64","optional":true,"field":"__lsn"})"
      R"(,{"type":"string","optional":true,"field":"__deleted"})"
      R"(],"optional":false,"name":"srv.public.t.Value"},"payload":)";
  EXPECT_EQ(Value(added, ev, core::Op::kUpdate),
            schema + R"({"pk":2,"cola":"y","__op":"u","__lsn":4242,"__deleted":"false"}})");
  EXPECT_EQ(Value(added, ev, core::Op::kDelete),
            schema + R"({"pk":2,"cola":null,"__op":"d","__lsn":4242,"__deleted":"true"}})");
}

TEST(UnwrapTest, EncodingAllocatesNothingOnceWarm) {
  Events ev;
  RecordEncoder enc(Options(), true, Unwrap(Deletes::kRewrite, {"op", "table", "lsn"}));
  Value(enc, ev, core::Op::kCreate);
  const char* data = enc.value().data();
  size_t capacity = enc.value().capacity();
  Value(enc, ev, core::Op::kDelete);
  Value(enc, ev, core::Op::kUpdate);
  EXPECT_EQ(enc.value().data(), data);
  EXPECT_EQ(enc.value().capacity(), capacity);
}

core::ConnectorConfig Config(std::map<std::string, std::string> extra) {
  core::ConnectorConfig c;
  c.mutable_values() = {{"connector.class", "postgres"},
                        {"sink.type", "kafka"},
                        {"transforms", "unwrap"},
                        {"transforms.unwrap.type", std::string(core::kExtractNewRecordState)}};
  for (auto& [k, v] : extra) c.mutable_values()[k] = v;
  return c;
}

TEST(UnwrapConfigTest, DefaultsAndOptions) {
  std::optional<core::ConfigIssue> issue;
  auto o = core::NewRecordStateFromConfig(Config({}), issue);
  ASSERT_TRUE(o.has_value()) << issue->message;
  EXPECT_TRUE(o->drop_tombstones);
  EXPECT_EQ(o->deletes, Deletes::kDrop);
  EXPECT_TRUE(o->add_fields.empty());

  o = core::NewRecordStateFromConfig(
      Config({{"transforms.unwrap.drop.tombstones", "false"},
              {"transforms.unwrap.delete.handling.mode", "rewrite"},
              {"transforms.unwrap.add.fields", "op, table,source.ts_ms"},
              {"transforms.unwrap.add.fields.prefix", "m_"}}),
      issue);
  ASSERT_TRUE(o.has_value()) << issue->message;
  EXPECT_FALSE(o->drop_tombstones);
  EXPECT_EQ(o->deletes, Deletes::kRewrite);
  EXPECT_EQ(o->add_field_names, (std::vector<std::string>{"m_op", "m_table", "m_source_ts_ms"}));

  core::ConnectorConfig none;
  EXPECT_FALSE(core::NewRecordStateFromConfig(none, issue).has_value());
  EXPECT_FALSE(issue.has_value());
}

TEST(UnwrapConfigTest, RefusalsNameTheKey) {
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"transforms", "unwrap,route"},
           {"transforms.unwrap.type", "io.debezium.transforms.ByLogicalTableRouter"},
           {"transforms.unwrap.delete.handling.mode", "tombstone"},
           {"transforms.unwrap.delete.tombstone.handling.mode", "rewrite"},
           {"transforms.unwrap.add.headers", "op"},
           {"transforms.unwrap.route.by.field", "x"},
           {"transforms.unwrap.drop.tombstones", "yes"},
           {"transforms.unwrap.add.fields", "op,before"},
           {"transforms.route.type", "org.apache.kafka.connect.transforms.RegexRouter"}}) {
    std::optional<core::ConfigIssue> issue;
    EXPECT_FALSE(core::NewRecordStateFromConfig(Config({{key, value}}), issue).has_value()) << key;
    ASSERT_TRUE(issue.has_value()) << key;
    EXPECT_EQ(issue->key, key);
    EXPECT_NE(issue->message.find(key), std::string::npos) << issue->message;
  }
  // A type is required.
  core::ConnectorConfig c = Config({});
  c.mutable_values().erase("transforms.unwrap.type");
  std::optional<core::ConfigIssue> issue;
  EXPECT_FALSE(core::NewRecordStateFromConfig(c, issue).has_value());
  ASSERT_TRUE(issue.has_value());
  EXPECT_EQ(issue->key, "transforms.unwrap.type");
  // The Kafka sink refuses them at construction too.
  core::ConnectorConfig k = Config({{"sink.kafka.bootstrap.servers", "localhost:1"},
                                    {"transforms.unwrap.add.headers", "op"}});
  auto sink = KafkaSinkOptionsFromConfig(k);
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.status().message().find("transforms.unwrap.add.headers"), std::string::npos);
}

// The refusal path of create, PUT and validate: the Kafka sink's ConfigDef with the catalogue.
TEST(UnwrapConfigTest, KafkaSinkConfigDefValidatesTheChain) {
  core::ConfigDef def;
  def.AddAll(core::CommonConfigKeys());
  def.AddAll(KafkaSinkConfigKeys());
  core::ConnectorConfig c = Config({{"sink.kafka.bootstrap.servers", "localhost:1"},
                                    {"transforms.unwrap.delete.handling.mode", "rewrite"},
                                    {"transforms.unwrap.add.fields", "op,lsn"}});
  c = core::ConnectorConfig("c", c.values());
  EXPECT_TRUE(def.Validate(c).ok()) << def.Validate(c).message();
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"transforms.unwrap.add.headers", "op"},
           {"transforms.unwrap.type", "org.apache.kafka.connect.transforms.ReplaceField$Value"},
           {"transforms", "unwrap,other"}}) {
    core::ConnectorConfig bad = c;
    bad.mutable_values()[key] = value;
    core::Status s = def.Validate(bad);
    EXPECT_EQ(s.code(), core::StatusCode::kInvalidArgument) << key;
    EXPECT_NE(s.message().find(key), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace sluice::sinks::kafka_sink
