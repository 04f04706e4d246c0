// Debezium's ExtractNewRecordState (transforms=unwrap) with the sluice binary: PostgreSQL ->
// Kafka, read back with kcat. Snapshot, insert, update, delete, a primary-key change and a
// truncate give the flat rows and the configured delete records (rewrite, tombstones kept),
// the truncate none.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "integration/common/itest.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class KafkaUnwrapTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (sluice_) sluice_->Kill();
    sluice_.reset();
    if (!slot_.empty()) {
      PgClient("postgres").TryQuery(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" +
          slot_ + "'");
    }
    if (!db_.empty()) DropPgDatabase(db_);
  }

  std::optional<SluiceProcess> sluice_;
  std::string slot_, db_;
};

TEST_F(KafkaUnwrapTest, PostgresToKafkaWritesFlatRowsAndRewrittenDeletes) {
  db_ = CreateScratchPgDatabase("kuw");
  PgClient pg(db_);
  pg.Exec("CREATE TABLE orders (id int PRIMARY KEY, name text);"
          "INSERT INTO orders VALUES (1, 'snap')");
  slot_ = UniqueName("kuw_slot");
  std::string prefix = UniqueName("ku");
  json config = {{"name", slot_},
                 {"connector.class", "postgres"},
                 {"database.hostname", TestEnv::PgHost()},
                 {"database.port", std::to_string(TestEnv::PgPort())},
                 {"database.user", TestEnv::PgUser()},
                 {"database.dbname", db_},
                 {"slot.name", slot_},
                 {"publication.name", "pub_" + slot_},
                 {"table.include.list", "public\\.orders"},
                 {"topic.prefix", prefix},
                 {"sink.type", "kafka"},
                 {"sink.kafka.bootstrap.servers", TestEnv::KafkaBootstrap()},
                 {"sink.batch.ms", "100"},
                 {"transforms", "unwrap"},
                 {"transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState"},
                 {"transforms.unwrap.drop.tombstones", "false"},
                 {"transforms.unwrap.delete.handling.mode", "rewrite"},
                 {"transforms.unwrap.add.fields", "op,table"}};
  sluice_.emplace(SluiceProcess::Run(config));
  std::string topic = prefix + ".public.orders";
  WaitForMessages(topic, 1, 60s);  // the snapshot row: streaming has started
  pg.Exec("INSERT INTO orders VALUES (2, 'new')");
  pg.Exec("UPDATE orders SET name = 'changed' WHERE id = 2");
  pg.Exec("DELETE FROM orders WHERE id = 1");
  pg.Exec("UPDATE orders SET id = 3 WHERE id = 2");  // a key change: delete + create
  pg.Exec("TRUNCATE orders");                        // dropped, as Debezium's SMT drops it
  pg.Exec("INSERT INTO orders VALUES (9, 'last')");
  ASSERT_TRUE(sluice_->IsRunning()) << sluice_->LogTail();

  // Per key, in offset order (each key stays in one partition).
  auto messages = WaitForMessages(topic, 9, 60s);
  std::map<json, std::vector<std::optional<json>>> by_key;
  for (const auto& m : messages) {
    ASSERT_TRUE(m.key.has_value());
    by_key[json::parse(*m.key)].push_back(m.value ? std::optional<json>(json::parse(*m.value))
                                                  : std::nullopt);
  }
  auto row = [](json id, json name, const char* op, const char* deleted) {
    return std::optional<json>(
        json{{"id", id}, {"name", name}, {"__op", op}, {"__table", "orders"}, {"__deleted", deleted}});
  };
  using Values = std::vector<std::optional<json>>;
  EXPECT_EQ(messages.size(), 9u);
  // REPLICA IDENTITY DEFAULT: a delete's before image holds the key only (name null).
  EXPECT_EQ(by_key[json({{"id", 1}})],
            (Values{row(1, "snap", "r", "false"), row(1, nullptr, "d", "true"), std::nullopt}));
  EXPECT_EQ(by_key[json({{"id", 2}})],
            (Values{row(2, "new", "c", "false"), row(2, "changed", "u", "false"),
                    row(2, nullptr, "d", "true"), std::nullopt}));
  EXPECT_EQ(by_key[json({{"id", 3}})], (Values{row(3, "changed", "c", "false")}));
  EXPECT_EQ(by_key[json({{"id", 9}})], (Values{row(9, "last", "c", "false")}));
  EXPECT_EQ(by_key.size(), 4u);
}

}  // namespace
}  // namespace sluice::itest
