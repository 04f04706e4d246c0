// Debezium's transaction metadata in the Kafka sink: the exact bytes of the BEGIN/END records
// and the envelope's "transaction" block (schemas on and off), Java HashMap order of END's
// data_collections (checked against a JVM when these values were written), and the config.
#include "sinks/kafka/kafka_txn.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/config.h"
#include "sinks/kafka/kafka_envelope.h"
#include "sinks/kafka/kafka_sink.h"
#include "tests/common/schema_builders.h"

namespace sluice::sinks::kafka_sink {
namespace {

using core::LogicalType;
using nlohmann::json;

core::TableSchemaPtr Table(const char* name) {
  return testing::MakeSchema("public", name, {testing::Col("id", LogicalType::kInt32)}, {0},
                             "shop");
}

TEST(TxnMetadataTest, RecordsWithoutSchemas) {
  TxnMetadata t(false);
  auto orders = Table("orders");
  auto items = Table("items");
  t.Begin({0, true, 571, 23000000, 1700000000123});
  EXPECT_EQ(t.key(), R"({"id":"571:23000000"})");
  EXPECT_EQ(t.value(),
            R"({"status":"BEGIN","id":"571:23000000","event_count":null,)"
            R"("data_collections":null,"ts_ms":1700000000123})");
  t.Event(*orders, 23000100);
  EXPECT_EQ(t.block(), R"({"id":"571:23000100","total_order":1,"data_collection_order":1})");
  t.Event(*items, 23000200);
  EXPECT_EQ(t.block(), R"({"id":"571:23000200","total_order":2,"data_collection_order":1})");
  t.Event(*orders, 23000300);
  EXPECT_EQ(t.block(), R"({"id":"571:23000300","total_order":3,"data_collection_order":2})");
  t.End({3, false, 571, 23000400, 1700000000123});
  EXPECT_EQ(t.key(), R"({"id":"571:23000400"})");
  // HashMap order: public.items (bucket 0) before public.orders (bucket 5).
  EXPECT_EQ(t.value(),
            R"({"status":"END","id":"571:23000400","event_count":3,"data_collections":[)"
            R"({"data_collection":"public.items","event_count":1},)"
            R"({"data_collection":"public.orders","event_count":2}],"ts_ms":1700000000123})");
  EXPECT_FALSE(t.in_progress());
  // The next transaction starts its counts afresh.
  t.Begin({0, true, 572, 24000000, 1700000000999});
  t.Event(*items, 24000100);
  EXPECT_EQ(t.block(), R"({"id":"572:24000100","total_order":1,"data_collection_order":1})");
}

TEST(TxnMetadataTest, RecordsWithSchemas) {
  TxnMetadata t(true);
  t.Begin({0, true, 7, 100, 5});
  EXPECT_EQ(t.key(),
            R"({"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"}],)"
            R"("optional":false,"name":"io.debezium.connector.common.TransactionMetadataKey","version":1},)"
            R"("payload":{"id":"7:100"}})");
  const std::string value_schema =
      R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"status"},)"
      R"({"type":"string","optional":false,"field":"id"},)"
      R"({"type":"int64","optional":true,"field":"event_count"},)"
      R"({"type":"array","items":{"type":"struct","fields":[)"
      R"({"type":"string","optional":false,"field":"data_collection"},)"
      R"({"type":"int64","optional":false,"field":"event_count"}],)"
      R"("optional":true,"name":"event.collection","version":1},)"
      R"("optional":true,"field":"data_collections"},)"
      R"({"type":"int64","optional":false,"field":"ts_ms"}],)"
      R"("optional":false,"name":"io.debezium.connector.common.TransactionMetadataValue","version":1})";
  EXPECT_EQ(t.value(), R"({"schema":)" + value_schema +
                           R"(,"payload":{"status":"BEGIN","id":"7:100","event_count":null,)"
                           R"("data_collections":null,"ts_ms":5}})");
  t.End({0, false, 7, 200, 5});
  EXPECT_EQ(t.value(), R"({"schema":)" + value_schema +
                           R"(,"payload":{"status":"END","id":"7:200","event_count":0,)"
                           R"("data_collections":[],"ts_ms":5}})");
}

std::vector<std::string> EndCollections(const TxnMetadata& t) {
  std::vector<std::string> out;
  const json value = json::parse(t.value());
  for (const auto& c : value["data_collections"]) out.push_back(c["data_collection"]);
  return out;
}

TEST(TxnMetadataTest, DataCollectionsFollowJavaHashMapOrder) {
  // Orders printed by java.util.HashMap.keySet() for the same insertions.
  TxnMetadata t(false);
  t.Begin({0, true, 1, 1, 1});
  std::vector<core::TableSchemaPtr> keep;
  for (const char* n : {"orders", "items", "c", "b", "a"}) {
    keep.push_back(Table(n));
    t.Event(*keep.back(), 2);
  }
  t.End({0, false, 1, 3, 1});
  EXPECT_EQ(EndCollections(t), (std::vector<std::string>{"public.items", "public.c", "public.orders",
                                                         "public.a", "public.b"}));
  // 14 tables: the map grew to 32 buckets.
  t.Begin({0, true, 2, 1, 1});
  std::vector<std::string> names;
  for (int i = 0; i < 14; ++i) {
    names.push_back("t" + std::to_string(i));
    keep.push_back(Table(names.back().c_str()));
    t.Event(*keep.back(), 2);
  }
  t.End({0, false, 2, 3, 1});
  EXPECT_EQ(EndCollections(t),
            (std::vector<std::string>{"public.t12", "public.t13", "public.t8", "public.t7",
                                      "public.t9", "public.t4", "public.t3", "public.t6",
                                      "public.t5", "public.t0", "public.t10", "public.t11",
                                      "public.t2", "public.t1"}));
}

TEST(TxnMetadataTest, RestoreReturnsToTheLastSave) {
  TxnMetadata t(false);
  auto a = Table("a");
  t.Begin({0, true, 9, 1, 1});
  t.Event(*a, 2);
  t.Save();
  t.Event(*a, 3);
  t.Restore();
  t.Event(*a, 3);
  EXPECT_EQ(t.block(), R"({"id":"9:3","total_order":2,"data_collection_order":2})");
}

TEST(RecordEncoderTxnTest, EnvelopeCarriesTheBlockOrNull) {
  core::EventBatch b;
  uint32_t txn = b.AddTxn({1700000000000, false, false, 5, 99, "", 0, ""});
  uint32_t row = b.BeginRow();
  b.AppendValue("1");
  b.EndRow();
  core::ChangeEvent e{core::Op::kCreate, core::kNoRow, row, txn, Table("a")};
  core::EnvelopeOptions o;
  o.name = "srv";
  RecordEncoder enc(o, false);
  enc.EncodeValue(b, e, 7);
  EXPECT_TRUE(enc.value().ends_with(R"(,"transaction":null})")) << enc.value();
  std::string block = R"({"id":"5:99","total_order":1,"data_collection_order":1})";
  enc.set_transaction_block(&block);
  enc.EncodeValue(b, e, 7);
  EXPECT_TRUE(enc.value().ends_with(R"(,"transaction":)" + block + "}")) << enc.value();
}

TEST(TxnConfigTest, PublicationModeForPostgresAndTopicName) {
  core::ConnectorConfig c;
  c.mutable_values() = {{"sink.kafka.bootstrap.servers", "x:1"}, {"topic.prefix", "shop"}};
  auto off = KafkaSinkOptionsFromConfig(c);
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_FALSE(off->transaction_metadata);
  c.mutable_values()["provide.transaction.metadata"] = "true";
  auto implicit = KafkaSinkOptionsFromConfig(c);  // which transactions arrive is not said
  ASSERT_FALSE(implicit.ok());
  EXPECT_NE(implicit.status().message().find("publication.autocreate.mode"), std::string::npos);
  c.mutable_values()["publication.autocreate.mode"] = "all_tables";
  auto on = KafkaSinkOptionsFromConfig(c);
  ASSERT_TRUE(on.ok()) << on.status().ToString();
  EXPECT_TRUE(on->transaction_metadata);
  EXPECT_EQ(on->transaction_topic, "shop.transaction");
  c.mutable_values()["topic.transaction"] = "tx";
  EXPECT_EQ(KafkaSinkOptionsFromConfig(c)->transaction_topic, "shop.tx");
  // MySQL/MariaDB: every transaction of the binlog reaches the reader, so no publication
  // setting is needed (and none applies).
  c.mutable_values().erase("publication.autocreate.mode");
  c.mutable_values()["connector.class"] = "mysql";
  auto mysql = KafkaSinkOptionsFromConfig(c);
  ASSERT_TRUE(mysql.ok()) << mysql.status().ToString();
  EXPECT_TRUE(mysql->transaction_metadata);
}

TEST(BinlogTransactionIdTest, GtidElseFileAndBeginPosition) {
  EXPECT_EQ(core::BinlogTransactionId("0-1-42", "mysql-bin.000003", 4), "0-1-42");
  EXPECT_EQ(core::BinlogTransactionId("3e11fa47-71ca-11e1-9e33-c80aa9429562:23", "b.1", 9),
            "3e11fa47-71ca-11e1-9e33-c80aa9429562:23");
  EXPECT_EQ(core::BinlogTransactionId("", "mysql-bin.000003", 1234), "file=mysql-bin.000003,pos=1234");
}

TEST(TxnMetadataTest, SourceIdIsCarriedUnchangedByEveryRecord) {
  TxnMetadata t(false);
  auto orders = Table("orders");
  core::TxnBoundary begin{0, true, 0, 0, 1700000000000, "0-1-42"};
  t.Begin(begin);
  EXPECT_EQ(t.key(), R"({"id":"0-1-42"})");
  EXPECT_EQ(t.value(), R"({"status":"BEGIN","id":"0-1-42","event_count":null,)"
                       R"("data_collections":null,"ts_ms":1700000000000})");
  t.Event(*orders, 0);
  EXPECT_EQ(t.block(), R"({"id":"0-1-42","total_order":1,"data_collection_order":1})");
  t.End({3, false, 0, 0, 1700000001000, "0-1-42"});
  EXPECT_EQ(t.key(), R"({"id":"0-1-42"})");
  EXPECT_EQ(t.value(), R"({"status":"END","id":"0-1-42","event_count":1,"data_collections":)"
                       R"([{"data_collection":"public.orders","event_count":1}],)"
                       R"("ts_ms":1700000001000})");
  // The next transaction without an id of its own (PostgreSQL) is "<txid>:<lsn>" again.
  t.Begin({0, true, 7, 100, 5});
  EXPECT_EQ(t.key(), R"({"id":"7:100"})");
}

}  // namespace
}  // namespace sluice::sinks::kafka_sink
