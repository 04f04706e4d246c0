// KafkaSink against librdkafka's in-process mock cluster (hermetic: loopback sockets inside the
// test process, no external broker).
#include "sinks/kafka/kafka_sink.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/schema_builders.h"

namespace sluice::sinks {
namespace {

using core::LogicalType;
using nlohmann::json;

struct Record {
  int32_t partition;
  int64_t offset;
  std::optional<std::string> key;
  std::optional<std::string> value;
};

class MockCluster {
 public:
  MockCluster() {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    cluster_ = rd_kafka_mock_cluster_new(rk_, 1);
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(rk_);
  }
  const std::string& bootstrap() const { return bootstrap_; }
  void CreateTopic(const std::string& name, int partitions) {
    rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1);
  }

  // Every record of `topic` (all partitions), read without a consumer group: waits until each
  // partition reached its end and at least `expect` records arrived (or 20 s passed).
  std::vector<Record> ReadAll(const std::string& topic, int partitions, size_t expect,
                              const char* isolation = "read_uncommitted") {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", "reader", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err);
    rd_kafka_conf_set(conf, "isolation.level", isolation, err, sizeof err);
    rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    auto* list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p) {
      rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(c, list);
    rd_kafka_topic_partition_list_destroy(list);
    std::vector<Record> out;
    int eof = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while ((eof < partitions || out.size() < expect) && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
      if (!m) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        ++eof;
      } else if (!m->err) {
        Record r{m->partition, m->offset, std::nullopt, std::nullopt};
        if (m->key) r.key = std::string(static_cast<char*>(m->key), m->key_len);
        if (m->payload) r.value = std::string(static_cast<char*>(m->payload), m->len);
        out.push_back(r);
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return out;
  }

 private:
  rd_kafka_t* rk_;
  rd_kafka_mock_cluster_t* cluster_;
  std::string bootstrap_;
};

core::TableSchemaPtr Items() {
  return testing::MakeSchema("public", "items",
                             {testing::Col("id", LogicalType::kInt32),
                              testing::Col("name", LogicalType::kString)},
                             {0}, "shop");
}

KafkaSinkOptions Options(const MockCluster& mock) {
  KafkaSinkOptions o;
  o.connector_name = "c1";
  o.librdkafka = {{"bootstrap.servers", mock.bootstrap()}, {"log_level", "0"}};
  o.envelope.name = "srv";
  o.offsets_topic = "srv.sluice_offsets";
  o.flush_timeout_ms = 10000;
  return o;
}

void AddRow(core::EventBatch& b, core::Op op, const core::TableSchemaPtr& t, const char* id,
            const char* name) {
  uint32_t txn = b.txns().empty() ? b.AddTxn({}) : 0;
  uint32_t row = b.BeginRow();
  b.AppendValue(id);
  if (name) {
    b.AppendValue(name);
  } else {
    b.AppendNull();
  }
  b.EndRow();
  if (op == core::Op::kDelete) {
    b.AddEvent({op, row, core::kNoRow, txn, t});
  } else {
    b.AddEvent({op, core::kNoRow, row, txn, t});
  }
}

TEST(KafkaSinkTest, DeleteIsFollowedByTombstoneAndTruncateHasNullKey) {
  MockCluster mock;
  mock.CreateTopic("srv.public.items", 1);
  KafkaSink sink(Options(mock));
  ASSERT_TRUE(sink.Open().ok());
  auto t = Items();
  core::EventBatch b;
  AddRow(b, core::Op::kRead, t, "1", "a");
  AddRow(b, core::Op::kCreate, t, "2", "b");
  AddRow(b, core::Op::kUpdate, t, "2", "c");
  AddRow(b, core::Op::kDelete, t, "1", nullptr);
  b.AddEvent({core::Op::kTruncate, core::kNoRow, core::kNoRow, 0, t});
  b.set_checkpoint({"pos-1"});
  ASSERT_TRUE(sink.Write(b).ok());
  auto flushed = sink.Flush();
  ASSERT_TRUE(flushed.ok()) << flushed.status().ToString();
  ASSERT_TRUE(flushed->has_value());
  EXPECT_EQ((*flushed)->value, "pos-1");
  auto none = sink.LoadCommittedPosition();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto records = mock.ReadAll("srv.public.items", 1, 6);
  ASSERT_EQ(records.size(), 6u);
  std::vector<std::string> ops;
  for (size_t i = 0; i < 6; ++i) {
    if (i == 4) continue;
    ops.push_back(json::parse(*records[i].value)["op"]);
  }
  EXPECT_EQ(ops, (std::vector<std::string>{"r", "c", "u", "d", "t"}));
  EXPECT_EQ(json::parse(*records[3].key), json({{"id", 1}}));
  EXPECT_EQ(records[4].key, records[3].key);  // tombstone: same key, null value
  EXPECT_FALSE(records[4].value.has_value());
  EXPECT_FALSE(records[5].key.has_value());   // truncate: null key
}

TEST(KafkaSinkTest, SkippedOperationsAreNotWrittenAndDeletesKeepNoTombstone) {
  MockCluster mock;
  mock.CreateTopic("srv.public.items", 1);
  KafkaSinkOptions o = Options(mock);
  o.skipped_ops = "dt";  // skipped.operations=d,t
  KafkaSink sink(o);
  ASSERT_TRUE(sink.Open().ok());
  auto t = Items();
  core::EventBatch b;
  AddRow(b, core::Op::kCreate, t, "1", "a");
  AddRow(b, core::Op::kDelete, t, "1", nullptr);
  b.AddEvent({core::Op::kTruncate, core::kNoRow, core::kNoRow, 0, t});
  AddRow(b, core::Op::kUpdate, t, "2", "b");
  ASSERT_TRUE(sink.Write(b).ok());
  ASSERT_TRUE(sink.Flush().ok());
  auto records = mock.ReadAll("srv.public.items", 1, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(json::parse(*records[0].value)["op"], "c");
  EXPECT_EQ(json::parse(*records[1].value)["op"], "u");
}

KafkaSinkOptions UnwrapOptions(const MockCluster& mock, core::NewRecordStateOptions unwrap) {
  KafkaSinkOptions o = Options(mock);
  o.unwrap = std::move(unwrap);
  return o;
}

// include.schema.changes: a batch's schema changes go to the topic <topic.prefix>, keyed by the
// database, as Debezium's SchemaChangeKey/Value (core/envelope.h renders them), in order with
// the batch's events; a batch holding only a schema change writes it too; with schemas the
// records are {"schema", "payload"}; ExtractNewRecordState passes them through unchanged.
core::SchemaChange DropItems(uint32_t txn, uint32_t event_index) {
  core::SchemaChange change;
  change.event_index = event_index;
  change.txn = txn;
  change.source_pos = 120;
  change.database = "shop";
  change.ddl = "DROP TABLE `items` /* generated by server */";
  core::SchemaChangeTable t;
  t.type = core::SchemaChangeTable::Type::kDrop;
  t.id = {"shop", "items"};
  change.tables.push_back(t);
  return change;
}

TEST(KafkaSinkTest, SchemaChangesGoToThePrefixTopicInEventOrder) {
  MockCluster mock;
  mock.CreateTopic("srv", 1);
  mock.CreateTopic("srv.public.items", 1);
  KafkaSinkOptions o = Options(mock);
  o.envelope.connector = "mysql";
  KafkaSink sink(o);
  ASSERT_TRUE(sink.Open().ok());
  auto t = Items();
  core::EventBatch b;
  AddRow(b, core::Op::kCreate, t, "1", "a");
  b.AddSchemaChange(DropItems(0, 1));  // after the first row, before the second
  AddRow(b, core::Op::kCreate, t, "2", "b");
  ASSERT_TRUE(sink.Write(b).ok());
  core::EventBatch only;  // a DDL alone in its batch
  core::TxnInfo info;
  info.file = "mysql-bin.000001";
  info.pos = 300;
  only.AddSchemaChange(DropItems(only.AddTxn(info), 0));
  only.set_checkpoint({"pos-2"});
  ASSERT_TRUE(sink.Write(only).ok());
  auto flushed = sink.Flush();
  ASSERT_TRUE(flushed.ok()) << flushed.status().ToString();
  ASSERT_TRUE(flushed->has_value());
  EXPECT_EQ((*flushed)->value, "pos-2");

  auto records = mock.ReadAll("srv", 1, 2);
  ASSERT_EQ(records.size(), 2u);
  std::string key;
  core::AppendSchemaChangeKeyJson(key, DropItems(0, 0), false);
  std::string value;
  core::AppendSchemaChangeValueJson(value, b, DropItems(0, 1), o.envelope);
  EXPECT_EQ(records[0].key, key);
  EXPECT_EQ(records[0].key, std::optional<std::string>(R"({"databaseName":"shop"})"));
  EXPECT_EQ(records[0].value, value);
  json v = json::parse(*records[1].value);
  EXPECT_EQ(v["ddl"], "DROP TABLE `items` /* generated by server */");
  EXPECT_EQ(v["source"]["pos"], 120);
  EXPECT_EQ(v["tableChanges"][0]["table"], nullptr);
  EXPECT_EQ(mock.ReadAll("srv.public.items", 1, 2).size(), 2u);
}

TEST(KafkaSinkTest, SchemaChangesWithSchemasAndThroughUnwrap) {
  MockCluster mock;
  mock.CreateTopic("srv", 1);
  KafkaSinkOptions o = UnwrapOptions(mock, core::NewRecordStateOptions{});
  o.envelope.connector = "mysql";
  o.schemas_enable = true;
  KafkaSink sink(o);
  ASSERT_TRUE(sink.Open().ok());
  core::EventBatch b;
  b.AddSchemaChange(DropItems(b.AddTxn({}), 0));
  ASSERT_TRUE(sink.Write(b).ok());
  ASSERT_TRUE(sink.Flush().ok());
  auto records = mock.ReadAll("srv", 1, 1);
  ASSERT_EQ(records.size(), 1u);
  json k = json::parse(*records[0].key);
  EXPECT_EQ(k["schema"]["name"], "io.debezium.connector.mysql.SchemaChangeKey");
  EXPECT_EQ(k["payload"], json({{"databaseName", "shop"}}));
  json v = json::parse(*records[0].value);
  EXPECT_EQ(v["schema"]["name"], "io.debezium.connector.mysql.SchemaChangeValue");
  EXPECT_EQ(v["payload"]["databaseName"], "shop");
  EXPECT_EQ(v["payload"]["tableChanges"][0]["type"], "DROP");
}

// ExtractNewRecordState with Debezium's defaults (delete.handling.mode=drop,
// drop.tombstones=true): flat rows only; a delete, its tombstone, a truncate and the delete half
// of a key change give no record.
TEST(KafkaSinkTest, UnwrapDefaultsWriteOnlyFlatRows) {
  MockCluster mock;
  mock.CreateTopic("srv.public.items", 1);
  KafkaSink sink(UnwrapOptions(mock, core::NewRecordStateOptions{}));
  ASSERT_TRUE(sink.Open().ok());
  auto t = Items();
  core::EventBatch b;
  AddRow(b, core::Op::kCreate, t, "1", "a");
  AddRow(b, core::Op::kDelete, t, "1", nullptr);
  b.AddEvent({core::Op::kTruncate, core::kNoRow, core::kNoRow, 0, t});
  AddRow(b, core::Op::kCreate, t, "2", "b");
  // UPDATE items SET id = 3 WHERE id = 2: a delete under {"id":2} (dropped), a create under 3.
  uint32_t before = b.BeginRow();
  b.AppendValue("2");
  b.AppendValue("b");
  b.EndRow();
  uint32_t after = b.BeginRow();
  b.AppendValue("3");
  b.AppendValue("b");
  b.EndRow();
  b.AddEvent({core::Op::kUpdate, before, after, 0, t});
  ASSERT_TRUE(sink.Write(b).ok());
  ASSERT_TRUE(sink.Flush().ok());
  auto records = mock.ReadAll("srv.public.items", 1, 3);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(*records[0].key, R"({"id":1})");
  EXPECT_EQ(*records[0].value, R"({"id":1,"name":"a"})");
  EXPECT_EQ(*records[1].value, R"({"id":2,"name":"b"})");
  EXPECT_EQ(*records[2].key, R"({"id":3})");
  EXPECT_EQ(*records[2].value, R"({"id":3,"name":"b"})");
}

// delete.handling.mode=none with drop.tombstones=false: the delete is a record whose value is
// JSON null, then the tombstone (no value).
TEST(KafkaSinkTest, UnwrapNoneKeepsDeletesAndTombstones) {
  MockCluster mock;
  mock.CreateTopic("srv.public.items", 1);
  core::NewRecordStateOptions unwrap;
  unwrap.deletes = core::NewRecordStateOptions::Deletes::kNone;
  unwrap.drop_tombstones = false;
  KafkaSink sink(UnwrapOptions(mock, unwrap));
  ASSERT_TRUE(sink.Open().ok());
  auto t = Items();
  core::EventBatch b;
  AddRow(b, core::Op::kDelete, t, "1", nullptr);
  ASSERT_TRUE(sink.Write(b).ok());
  ASSERT_TRUE(sink.Flush().ok());
  auto records = mock.ReadAll("srv.public.items", 1, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(*records[0].key, R"({"id":1})");
  EXPECT_EQ(records[0].value, std::optional<std::string>("null"));
  EXPECT_EQ(records[1].key, records[0].key);
  EXPECT_FALSE(records[1].value.has_value());
}

TEST(KafkaSinkTest, EveryChangeOfOneKeyLandsInOnePartitionInOrder) {
  MockCluster mock;
  mock.CreateTopic("srv.public.items", 4);
  KafkaSink sink(Options(mock));
  ASSERT_TRUE(sink.Open().ok());
  auto t = Items();
  core::EventBatch b;
  for (int i = 0; i < 200; ++i) {
    std::string id = std::to_string(i % 10);
    std::string name = "v" + std::to_string(i);
    AddRow(b, core::Op::kUpdate, t, id.c_str(), name.c_str());
  }
  ASSERT_TRUE(sink.Write(b).ok());
  ASSERT_TRUE(sink.Flush().ok());
  auto records = mock.ReadAll("srv.public.items", 4, 200);
  ASSERT_EQ(records.size(), 200u);
  std::map<std::string, int32_t> partition_of;
  std::map<std::string, std::vector<int>> seq;
  std::set<int32_t> used;
  for (const auto& r : records) {
    json v = json::parse(*r.value);
    std::string id = std::to_string(v["after"]["id"].get<int>());
    auto [it, fresh] = partition_of.emplace(id, r.partition);
    EXPECT_EQ(it->second, r.partition) << "key " << id << " in two partitions";
    used.insert(r.partition);
    seq[id].push_back(std::stoi(v["after"]["name"].get<std::string>().substr(1)));
  }
  EXPECT_GT(used.size(), 1u);
  for (const auto& [id, values] : seq) {
    EXPECT_TRUE(std::is_sorted(values.begin(), values.end())) << "key " << id;
    EXPECT_EQ(values.size(), 20u);
  }
}

// Records go to librdkafka in stages of at most RecordStage::kMaxRecordsPerCall, on the stage
// producer's thread; a producer queue far smaller than a stage makes every call wait for room.
// Nothing may be lost, duplicated or reordered within a key, across stages and batches.
TEST(KafkaSinkTest, ManyStagesThroughASmallProducerQueueKeepEveryRecordInKeyOrder) {
  MockCluster mock;
  mock.CreateTopic("srv.public.items", 4);
  KafkaSinkOptions o = Options(mock);
  o.librdkafka["queue.buffering.max.messages"] = "50";
  o.librdkafka["linger.ms"] = "0";
  KafkaSink sink(o);
  ASSERT_TRUE(sink.Open().ok());
  auto t = Items();
  constexpr int kBatches = 2, kPerBatch = 2500, kKeys = 7;
  for (int n = 0; n < kBatches; ++n) {
    core::EventBatch b;
    for (int i = n * kPerBatch; i < (n + 1) * kPerBatch; ++i) {
      std::string id = std::to_string(i % kKeys);
      std::string name = "v" + std::to_string(i);
      AddRow(b, core::Op::kUpdate, t, id.c_str(), name.c_str());
    }
    ASSERT_TRUE(sink.Write(b).ok());
  }
  ASSERT_TRUE(sink.Flush().ok());
  auto records = mock.ReadAll("srv.public.items", 4, kBatches * kPerBatch);
  ASSERT_EQ(records.size(), static_cast<size_t>(kBatches * kPerBatch));
  std::map<int32_t, std::vector<const Record*>> by_partition;
  for (const auto& r : records) by_partition[r.partition].push_back(&r);
  std::map<int, std::vector<int>> seq;
  for (auto& [p, list] : by_partition) {
    std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (const Record* r : list) {
      json v = json::parse(*r->value);
      seq[v["after"]["id"].get<int>()].push_back(
          std::stoi(v["after"]["name"].get<std::string>().substr(1)));
    }
  }
  ASSERT_EQ(seq.size(), static_cast<size_t>(kKeys));
  for (const auto& [id, values] : seq) {
    std::vector<int> expected;
    for (int i = id; i < kBatches * kPerBatch; i += kKeys) expected.push_back(i);
    EXPECT_EQ(values, expected) << "key " << id;
  }
}

TEST(KafkaSinkTest, RowBeyondMessageMaxBytesFailsNamingTableAndKey) {
  MockCluster mock;
  KafkaSinkOptions o = Options(mock);
  o.librdkafka["message.max.bytes"] = "10000";
  KafkaSink sink(o);
  ASSERT_TRUE(sink.Open().ok());
  auto t = Items();
  core::EventBatch b;
  std::string big(20000, 'x');
  AddRow(b, core::Op::kCreate, t, "42", big.c_str());
  // Write() renders; the stage producer's thread hands records to librdkafka, so the refusal
  // comes from Write() or from the Flush() that follows it.
  core::Status s = sink.Write(b);
  if (s.ok()) s = sink.Flush().status();
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("public.items"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("{\"id\":42}"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("message.max.bytes"), std::string::npos) << s.message();
}

TEST(KafkaSinkTest, TransactionsStoreThePositionWithTheRecords) {
  MockCluster mock;
  mock.CreateTopic("srv.public.items", 1);
  mock.CreateTopic("srv.sluice_offsets", 1);
  KafkaSinkOptions o = Options(mock);
  o.transactional_id = "sluice-c1";
  o.librdkafka["transactional.id"] = "sluice-c1";
  {
    KafkaSink sink(o);
    ASSERT_TRUE(sink.Open().ok());
    auto first = sink.LoadCommittedPosition();
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_FALSE(first->has_value());
    auto t = Items();
    for (int i = 1; i <= 2; ++i) {
      core::EventBatch b;
      AddRow(b, core::Op::kCreate, t, std::to_string(i).c_str(), "x");
      b.set_checkpoint({"pos-" + std::to_string(i)});
      ASSERT_TRUE(sink.Write(b).ok());
      auto f = sink.Flush();
      ASSERT_TRUE(f.ok()) << f.status().ToString();
    }
    // A third batch written but aborted (Reset) is never visible to read_committed consumers.
    core::EventBatch b;
    AddRow(b, core::Op::kCreate, t, "3", "x");
    b.set_checkpoint({"pos-3"});
    ASSERT_TRUE(sink.Write(b).ok());
    ASSERT_TRUE(sink.Reset().ok());
    sink.Close();
  }
  KafkaSink again(o);
  ASSERT_TRUE(again.Open().ok());
  auto pos = again.LoadCommittedPosition();
  ASSERT_TRUE(pos.ok()) << pos.status().ToString();
  ASSERT_TRUE(pos->has_value());
  EXPECT_EQ((*pos)->value, "pos-2");
  auto records = mock.ReadAll("srv.public.items", 1, 2, "read_committed");
  EXPECT_EQ(records.size(), 2u);
}

// heartbeat.interval.ms: a heartbeat record on __debezium-heartbeat.<topic.prefix> while idle
// (Idle) and with the records of a batch (Write), at most once per interval; none when unset.
TEST(KafkaSinkTest, HeartbeatsGoToTheHeartbeatTopicAtMostOncePerInterval) {
  MockCluster mock;
  mock.CreateTopic("srv.public.items", 1);
  mock.CreateTopic("__debezium-heartbeat.srv", 1);
  KafkaSinkOptions o = Options(mock);
  o.heartbeat_interval_ms = 300;
  o.heartbeat_topic = "__debezium-heartbeat.srv";
  KafkaSink sink(o);
  ASSERT_TRUE(sink.Open().ok());
  const int64_t before_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  ASSERT_TRUE(sink.Idle().ok());  // the first is due at once
  ASSERT_TRUE(sink.Idle().ok());  // not again within the interval
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  core::EventBatch b;
  AddRow(b, core::Op::kCreate, Items(), "1", "a");
  b.set_checkpoint({"pos-1"});
  ASSERT_TRUE(sink.Write(b).ok());  // due again: written with the batch
  auto flushed = sink.Flush();
  ASSERT_TRUE(flushed.ok()) << flushed.status().ToString();
  EXPECT_EQ((*flushed)->value, "pos-1");
  ASSERT_TRUE(sink.Idle().ok());

  auto beats = mock.ReadAll("__debezium-heartbeat.srv", 1, 2);
  ASSERT_EQ(beats.size(), 2u);
  for (const auto& r : beats) {
    EXPECT_EQ(*r.key, R"({"serverName":"srv"})");
    json v = json::parse(*r.value);
    EXPECT_EQ(v.size(), 1u) << *r.value;
    EXPECT_GE(v["ts_ms"].get<int64_t>(), before_ms) << *r.value;
  }
  EXPECT_EQ(mock.ReadAll("srv.public.items", 1, 1).size(), 1u);

  KafkaSinkOptions off = Options(mock);
  off.heartbeat_topic = "__debezium-heartbeat.quiet";
  mock.CreateTopic("__debezium-heartbeat.quiet", 1);
  KafkaSink quiet(off);
  ASSERT_TRUE(quiet.Open().ok());
  ASSERT_TRUE(quiet.Idle().ok());
  EXPECT_TRUE(mock.ReadAll("__debezium-heartbeat.quiet", 1, 0).empty());
}

TEST(KafkaSinkTest, HeartbeatConfigFollowsDebeziumsKeys) {
  core::ConnectorConfig c;
  c.mutable_values() = {{"sink.kafka.bootstrap.servers", "x:1"}, {"topic.prefix", "shop"}};
  auto none = KafkaSinkOptionsFromConfig(c);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->heartbeat_interval_ms, 0);
  EXPECT_EQ(none->heartbeat_topic, "__debezium-heartbeat.shop");
  c.mutable_values()["heartbeat.interval.ms"] = "5000";
  c.mutable_values()["topic.heartbeat.prefix"] = "hb";
  auto set = KafkaSinkOptionsFromConfig(c);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->heartbeat_interval_ms, 5000);
  EXPECT_EQ(set->heartbeat_topic, "hb.shop");
}

}  // namespace
}  // namespace sluice::sinks
