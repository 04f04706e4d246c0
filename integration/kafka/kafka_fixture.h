// The fixtures of the Kafka integration tests (the test broker, sluice_mock_broker, checked with
// kcat): KafkaTest drives the Kafka sink through the Sink interface with batches built from rows
// that it also writes into PostgreSQL (the reference), and runs the Kafka source into MariaDB;
// PgToKafkaTest runs the sluice binary from PostgreSQL into Kafka. Used by kafka_test.cc and
// pg_to_kafka_test.cc (one test binary).
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "integration/common/itest.h"
#include "sinks/kafka/kafka_sink.h"


namespace sluice::itest::kafka_test {

using namespace std::chrono_literals;
using core::LogicalType;
using nlohmann::json;

// public.<table> (id bigint PK, name text, amount numeric(12,2), created timestamp)
inline core::TableSchemaPtr OrdersSchema(const std::string& table) {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {"public", table};
  s->database = "shop";
  core::Column id{"id", LogicalType::kInt64, "bigint", false};
  core::Column name{"name", LogicalType::kString, "text"};
  core::Column amount{"amount", LogicalType::kDecimal, "numeric(12,2)"};
  amount.precision = 12;
  amount.scale = 2;
  core::Column created{"created", LogicalType::kTimestamp, "timestamp without time zone"};
  created.precision = 6;
  s->columns = {id, name, amount, created};
  s->key = {0};
  return s;
}

class KafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = UniqueName("k");
    table_ = "orders";
    schema_ = OrdersSchema(table_);
    topic_ = prefix_ + ".public." + table_;
  }

  void TearDown() override {
    if (sluice_) sluice_->Kill();
    sluice_.reset();
    if (!pg_db_.empty()) DropPgDatabase(pg_db_);
    if (!my_db_.empty()) DropMysqlDatabase(my_db_);
  }

  std::unique_ptr<sinks::KafkaSink> OpenSink(bool schemas) {
    sinks::KafkaSinkOptions o;
    o.connector_name = prefix_;
    o.librdkafka = {{"bootstrap.servers", TestEnv::KafkaBootstrap()}};
    o.envelope.name = prefix_;
    o.schemas_enable = schemas;
    o.offsets_topic = prefix_ + ".sluice_offsets";
    auto sink = std::make_unique<sinks::KafkaSink>(o);
    core::Status s = sink->Open();
    if (!s.ok()) throw HarnessError("kafka sink open: " + s.ToString());
    return sink;
  }

  // Appends one change of public.orders to `b`; values in canonical text, nullptr = NULL.
  void Change(core::EventBatch& b, core::Op op, int64_t id, const char* name = nullptr,
              const char* amount = nullptr, const char* created = nullptr) {
    uint32_t txn = b.txns().empty() ? b.AddTxn({1700000000000, op == core::Op::kRead, false,
                                                 ++txid_, 1000 + txid_, "", 0, ""})
                                    : 0;
    auto row = [&](bool key_only) {
      uint32_t r = b.BeginRow();
      b.AppendValue(std::to_string(id));
      for (const char* v : {name, amount, created}) {
        if (v && !key_only) {
          b.AppendValue(v);
        } else {
          b.AppendNull();
        }
      }
      b.EndRow();
      return r;
    };
    if (op == core::Op::kDelete) {
      b.AddEvent({op, row(true), core::kNoRow, txn, schema_});
    } else {
      b.AddEvent({op, core::kNoRow, row(false), txn, schema_});
    }
  }

  void WriteAndFlush(sinks::KafkaSink& sink, core::EventBatch& b) {
    b.set_checkpoint({"pos-" + std::to_string(++txid_)});
    core::Status w = sink.Write(b);
    ASSERT_TRUE(w.ok()) << w.ToString();
    auto f = sink.Flush();
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    b.Clear();
  }

  // The same rows in the PostgreSQL reference and, as change events, in Kafka.
  void ReferenceInsert(sinks::KafkaSink& sink, int from, int to, core::Op op = core::Op::kCreate) {
    pg_.Exec("INSERT INTO orders SELECT i, 'name ' || i || ' é', (i * 1.25)::numeric(12,2),"
             " '2024-01-01 00:00:00'::timestamp + i * interval '1.5 second' FROM generate_series(" +
             std::to_string(from) + ", " + std::to_string(to) + ") i");
    core::EventBatch b;
    // Build the events from one query (canonical text == PostgreSQL's ISO output here).
    SqlRows rows = pg_.Query("SELECT id::text, name, amount::text, created::text FROM orders WHERE id BETWEEN " +
                             std::to_string(from) + " AND " + std::to_string(to) + " ORDER BY id");
    for (const auto& r : rows) {
      Change(b, op, std::stoll(*r[0]), r[1]->c_str(), r[2]->c_str(), r[3]->c_str());
    }
    WriteAndFlush(sink, b);
  }

  void ReferenceUpdateAndDelete(sinks::KafkaSink& sink, int from, int to) {
    pg_.Exec("UPDATE orders SET name = name || ' upd', amount = amount + 1 WHERE id BETWEEN " +
             std::to_string(from) + " AND " + std::to_string(to) + " AND id % 3 = 0;"
             "DELETE FROM orders WHERE id BETWEEN " + std::to_string(from) + " AND " +
             std::to_string(to) + " AND id % 7 = 0");
    core::EventBatch b;
    SqlRows rows = pg_.Query("SELECT id::text, name, amount::text, created::text FROM orders WHERE id BETWEEN " +
                             std::to_string(from) + " AND " + std::to_string(to) + " AND id % 3 = 0 ORDER BY id");
    for (const auto& r : rows) {
      Change(b, core::Op::kUpdate, std::stoll(*r[0]), r[1]->c_str(), r[2]->c_str(), r[3]->c_str());
    }
    for (int i = from; i <= to; ++i) {
      if (i % 7 == 0) Change(b, core::Op::kDelete, i);
    }
    WriteAndFlush(sink, b);
  }

  void CreateReference() {
    pg_db_ = CreateScratchPgDatabase("kref");
    pg_ = PgClient(pg_db_);
    pg_.Exec("CREATE TABLE orders (id bigint PRIMARY KEY, name text, amount numeric(12,2), created timestamp)");
    my_db_ = UniqueName("ktarget");
  }

  json KafkaToMysqlConfig() const {
    return {{"name", prefix_ + "_apply"},
            {"connector.class", "kafka"},
            {"kafka.bootstrap.servers", TestEnv::KafkaBootstrap()},
            {"kafka.topics", topic_},
            {"kafka.group.id", prefix_ + "_group"},
            {"sink.type", "mysql"},
            {"sink.url", MysqlClient(my_db_).Url()},
            {"sink.table.name.format", "${table}"},
            {"kafka.consumer.session.timeout.ms", "6000"},
            {"sink.batch.ms", "100"}};
  }

  ::testing::AssertionResult TargetMatches() const {
    SqlResult target = MysqlClient(my_db_).TryQuery(
        "SELECT id, name, CAST(amount AS CHAR), DATE_FORMAT(created, '%Y-%m-%d %H:%i:%s.%f') FROM orders");
    if (!target.ok) return ::testing::AssertionFailure() << "target not ready: " << target.error;
    return TablesMatch(pg_.Query("SELECT id::text, name, amount::text, "
                                 "to_char(created, 'YYYY-MM-DD HH24:MI:SS.US') FROM orders"),
                       target.rows);
  }

  void WaitForMatch(std::chrono::milliseconds timeout = 90s) {
    WaitUntil(
        [&] {
          if (!sluice_->IsRunning()) throw HarnessError("sluice exited:\n" + sluice_->LogTail());
          return TargetMatches();
        },
        timeout, "MariaDB target equals the PostgreSQL reference", 300ms);
  }

  std::string prefix_, table_, topic_, pg_db_, my_db_;
  core::TableSchemaPtr schema_;
  uint64_t txid_ = 0;
  PgClient pg_;
  std::optional<SluiceProcess> sluice_;
};

// PostgreSQL -> Kafka with the sluice binary (PostgreSQL source, Kafka sink).
class PgToKafkaTest : public KafkaTest {
 protected:
  void SetUp() override {
    KafkaTest::SetUp();
    CreateReference();
    slot_ = prefix_ + "_slot";
  }
  void TearDown() override {
    if (pg_sluice_) pg_sluice_->Kill();
    pg_sluice_.reset();
    PgClient("postgres").TryQuery(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" +
        slot_ + "'");
    KafkaTest::TearDown();
  }
  json PgToKafkaConfig(bool schemas) const {
    return {{"name", slot_},
            {"connector.class", "postgres"},
            {"database.hostname", TestEnv::PgHost()},
            {"database.port", std::to_string(TestEnv::PgPort())},
            {"database.user", TestEnv::PgUser()},
            {"database.dbname", pg_db_},
            {"slot.name", slot_},
            {"publication.name", "pub_" + slot_},
            {"table.include.list", "public\\..*"},
            {"topic.prefix", prefix_},
            {"sink.type", "kafka"},
            {"sink.kafka.bootstrap.servers", TestEnv::KafkaBootstrap()},
            // Kafka Connect's JsonConverter keys, as a Debezium config has them.
            {"key.converter", "org.apache.kafka.connect.json.JsonConverter"},
            {"value.converter", "org.apache.kafka.connect.json.JsonConverter"},
            {"key.converter.schemas.enable", schemas ? "true" : "false"},
            {"value.converter.schemas.enable", schemas ? "true" : "false"},
            {"sink.batch.ms", "100"}};
  }
  // PostgreSQL -> Kafka (with Debezium's `modes` keys) -> MariaDB equals the source.
  void RunPgToKafkaToMariaDb(const std::map<std::string, std::string>& modes);
  // timetz and hstore in the records, under hstore.handling.mode `mode` ("": the default).
  void CheckTimetzAndHstore(const std::string& mode);
  std::string slot_;
  std::optional<SluiceProcess> pg_sluice_;
};

}  // namespace sluice::itest::kafka_test
