// Debezium's logical decoding message records with the sluice binary: PostgreSQL 15 -> Kafka
// (sluice_mock_broker), read back with kcat. One transaction emits a transactional message with
// binary (non-UTF-8) content between two inserts, then a non-transactional message and one whose
// prefix message.prefix.include.list leaves out are emitted, then a sentinel row. On
// <prefix>.message: exactly the two captured messages, key {"prefix"}, value {"op":"m", source,
// "message": {"prefix", "content" base64}}; the transactional one carries its transaction's txId
// and an LSN between the two inserts' LSNs; the non-transactional one txId null.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "integration/common/itest.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class DbzMessageTest : public PgSluiceTest {};

TEST_F(DbzMessageTest, MessagesReachTheirTopicInPlaceAndFiltered) {
  db_ = CreateScratchPgDatabase("dmsg");
  PgClient pg(db_);
  pg.Exec("CREATE TABLE a (id int PRIMARY KEY, xid text); INSERT INTO a VALUES (0, 'snapshot')");
  const std::string slot = UniqueName("dmsg_slot");
  const std::string prefix = UniqueName("dm");
  for (const char* t : {".message", ".public.a"}) CreateKafkaTopic(prefix + t, 1);
  json config = {{"name", slot},
                 {"connector.class", "io.debezium.connector.postgresql.PostgresConnector"},
                 {"database.hostname", TestEnv::PgHost()},
                 {"database.port", std::to_string(TestEnv::PgPort())},
                 {"database.user", TestEnv::PgUser()},
                 {"database.dbname", db_},
                 {"slot.name", slot},
                 {"publication.name", "pub_" + slot},
                 {"topic.prefix", prefix},
                 {"message.prefix.include.list", "audit.*"},
                 {"sink.type", "kafka"},
                 {"sink.kafka.bootstrap.servers", TestEnv::KafkaBootstrap()},
                 {"sink.batch.ms", "100"}};
  sluice_.emplace(SluiceProcess::Run(config));
  WaitForMessages(prefix + ".public.a", 1, 60s);  // the snapshot row: streaming has started
  pg.Exec("BEGIN;"
          "INSERT INTO a VALUES (1, txid_current()::text);"
          "SELECT pg_logical_emit_message(true, 'audit', '\\xff00c3'::bytea);"
          "INSERT INTO a VALUES (2, txid_current()::text);"
          "COMMIT");
  pg.Exec("SELECT pg_logical_emit_message(false, 'audit_now', 'plain')");
  pg.Exec("SELECT pg_logical_emit_message(false, 'noise', 'left out')");
  pg.Exec("INSERT INTO a VALUES (3, 'sentinel')");
  auto rows = WaitForMessages(prefix + ".public.a", 4, 60s);
  ASSERT_TRUE(sluice_->IsRunning()) << sluice_->LogTail();
  // The sentinel row committed after every message: what the topic holds now is all of them.
  auto messages = WaitForMessages(prefix + ".message", 2, 30s);
  ASSERT_EQ(messages.size(), 2u) << "the 'noise' prefix must be left out";

  std::vector<json> inserted;
  for (const auto& m : rows) inserted.push_back(json::parse(*m.value));
  ASSERT_EQ(inserted[1]["after"]["id"], 1);
  ASSERT_EQ(inserted[2]["after"]["id"], 2);
  const json& row1 = inserted[1];
  const json& row2 = inserted[2];

  json t = json::parse(*messages[0].value);
  EXPECT_EQ(json::parse(*messages[0].key), json({{"prefix", "audit"}}));
  EXPECT_EQ(t["op"], "m") << t.dump();
  EXPECT_EQ(t["message"], json({{"prefix", "audit"}, {"content", "/wDD"}})) << t.dump();
  EXPECT_EQ(t["source"]["txId"], row1["source"]["txId"]) << t.dump();
  EXPECT_EQ(std::to_string(t["source"]["txId"].get<int64_t>()), row1["after"]["xid"]);
  EXPECT_EQ(t["source"]["db"], db_);
  EXPECT_EQ(t["source"]["schema"], "");
  EXPECT_EQ(t["source"]["table"], "");
  EXPECT_TRUE(t["transaction"].is_null());
  EXPECT_TRUE(t["ts_ms"].is_number());
  // Its place in the transaction: after the first insert, before the second.
  EXPECT_LT(row1["source"]["lsn"].get<uint64_t>(), t["source"]["lsn"].get<uint64_t>()) << t.dump();
  EXPECT_LE(t["source"]["lsn"].get<uint64_t>(), row2["source"]["lsn"].get<uint64_t>()) << t.dump();

  json n = json::parse(*messages[1].value);
  EXPECT_EQ(json::parse(*messages[1].key), json({{"prefix", "audit_now"}}));
  EXPECT_EQ(n["op"], "m");
  EXPECT_EQ(n["message"], json({{"prefix", "audit_now"}, {"content", "cGxhaW4="}})) << n.dump();
  EXPECT_TRUE(n["source"]["txId"].is_null()) << n.dump();
  EXPECT_GT(n["source"]["lsn"].get<uint64_t>(), row2["source"]["lsn"].get<uint64_t>());
}

}  // namespace
}  // namespace sluice::itest
