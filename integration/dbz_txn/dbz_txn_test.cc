// Debezium's transaction metadata (provide.transaction.metadata=true) with the sluice binary:
// PostgreSQL 15 -> Kafka (sluice_mock_broker), read back with kcat. Two multi-table
// transactions (one with a primary-key change, written as delete + create) and one on an
// uncaptured table (publication all_tables, Debezium's default) give one BEGIN and one END each
// on <prefix>.transaction, END's per-table counts, and data records whose
// "transaction" blocks carry the transaction's xid (stored in the rows by PostgreSQL itself,
// txid_current()), total_order 1..n and data_collection_order per table; the snapshot row has
// "transaction": null.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "integration/common/itest.h"
#include "integration/dbz_txn/txn_orders.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class DbzTxnTest : public PgSluiceTest {};

// "<xid>:<lsn>" -> xid.
std::string XidOf(const std::string& id) { return id.substr(0, id.find(':')); }
// "<xid>:<lsn>" -> lsn (the message's, decimal).
uint64_t LsnOf(const std::string& id) { return std::stoull(id.substr(id.find(':') + 1)); }

TEST_F(DbzTxnTest, PostgresTransactionsGetBeginEndRecordsAndBlocks) {
  db_ = CreateScratchPgDatabase("dtx");
  PgClient pg(db_);
  pg.Exec("CREATE TABLE a (id int PRIMARY KEY, xid text);"
          "CREATE TABLE b (id int PRIMARY KEY, xid text);"
          "CREATE TABLE c (id int PRIMARY KEY);"  // published (all_tables), not captured
          "INSERT INTO a VALUES (0, 'snapshot')");
  const std::string slot = UniqueName("dtx_slot");
  std::string prefix = UniqueName("dt");
  // One partition each, so that offsets give the order the sink produced in.
  for (const char* t : {".transaction", ".public.a", ".public.b"}) CreateKafkaTopic(prefix + t, 1);
  json config = {{"name", slot},
                 {"connector.class", "io.debezium.connector.postgresql.PostgresConnector"},
                 {"database.hostname", TestEnv::PgHost()},
                 {"database.port", std::to_string(TestEnv::PgPort())},
                 {"database.user", TestEnv::PgUser()},
                 {"database.dbname", db_},
                 {"slot.name", slot},
                 {"publication.name", "pub_" + slot},
                 {"table.include.list", "public\\.(a|b)"},
                 {"topic.prefix", prefix},
                 {"publication.autocreate.mode", "all_tables"},
                 {"provide.transaction.metadata", "true"},
                 {"sink.type", "kafka"},
                 {"sink.kafka.bootstrap.servers", TestEnv::KafkaBootstrap()},
                 {"sink.batch.ms", "100"}};
  sluice_.emplace(SluiceProcess::Run(config));
  WaitForMessages(prefix + ".public.a", 1, 60s);  // the snapshot row: streaming has started
  // T1: a +2, b +1, then a key change of a (delete + create): a 4 records, b 1.
  pg.Exec("BEGIN;"
          "INSERT INTO a VALUES (1, txid_current()::text), (2, txid_current()::text);"
          "INSERT INTO b VALUES (1, txid_current()::text);"
          "UPDATE a SET id = 3 WHERE id = 2;"
          "COMMIT");
  // T2: b +2, a +1.
  pg.Exec("BEGIN;"
          "INSERT INTO b VALUES (2, txid_current()::text), (3, txid_current()::text);"
          "INSERT INTO a VALUES (4, txid_current()::text);"
          "COMMIT");
  // T3: only the uncaptured table: BEGIN and END with no events, as Debezium writes them.
  pg.Exec("INSERT INTO c VALUES (1)");
  ASSERT_TRUE(sluice_->IsRunning()) << sluice_->LogTail();

  auto txns = WaitForMessages(prefix + ".transaction", 6, 60s);
  auto a = WaitForMessages(prefix + ".public.a", 1 + 4 + 1 + 1, 60s);  // + the delete's tombstone
  auto b = WaitForMessages(prefix + ".public.b", 3, 60s);
  ASSERT_EQ(txns.size(), 6u);

  // Data records by xid (from the rows, as PostgreSQL wrote them), in production order.
  std::map<std::string, std::vector<json>> by_xid;
  int snapshot_nulls = 0;
  for (const auto* topic : {&a, &b}) {
    for (const auto& m : *topic) {
      if (!m.value) continue;  // tombstone
      json v = json::parse(*m.value);
      if (v["op"] == "r") {
        EXPECT_TRUE(v["transaction"].is_null()) << *m.value;
        ++snapshot_nulls;
        continue;
      }
      const json& row = v["after"].is_null() ? v["before"] : v["after"];
      ASSERT_TRUE(v["transaction"].is_object()) << *m.value;
      std::string xid = XidOf(v["transaction"]["id"]);
      if (!row["xid"].is_null()) {
        EXPECT_EQ(row["xid"], xid) << *m.value;
      }
      by_xid[xid].push_back(v);
    }
  }
  EXPECT_EQ(snapshot_nulls, 1);
  ASSERT_EQ(by_xid.size(), 2u);

  std::vector<std::string> order;
  for (size_t i = 0; i < txns.size(); i += 2) {
    json begin = json::parse(*txns[i].value), end = json::parse(*txns[i + 1].value);
    EXPECT_EQ(begin["status"], "BEGIN") << *txns[i].value;
    EXPECT_EQ(end["status"], "END") << *txns[i + 1].value;
    EXPECT_EQ(json::parse(*txns[i].key), json({{"id", begin["id"]}}));
    EXPECT_EQ(json::parse(*txns[i + 1].key), json({{"id", end["id"]}}));
    EXPECT_TRUE(begin["event_count"].is_null());
    EXPECT_TRUE(begin["data_collections"].is_null());
    std::string xid = XidOf(begin["id"]);
    EXPECT_EQ(XidOf(end["id"]), xid);
    EXPECT_EQ(begin["ts_ms"], end["ts_ms"]);
    order.push_back(xid);
    const auto& records = by_xid[xid];
    for (const json& v : records) {
      // Each record's id carries its own message's LSN: BEGIN's <= the changes' <= COMMIT's.
      EXPECT_LE(LsnOf(begin["id"]), LsnOf(v["transaction"]["id"])) << v.dump();
      EXPECT_LT(LsnOf(v["transaction"]["id"]), LsnOf(end["id"])) << v.dump();
    }
    ExpectTransactionOrders(end, records, "schema");
  }
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(by_xid[order[0]].size(), 5u);  // a: 2 inserts + delete + create, b: 1
  EXPECT_EQ(by_xid[order[1]].size(), 3u);
  EXPECT_EQ(by_xid[order[2]].size(), 0u);
  EXPECT_EQ(json::parse(*txns[5].value)["data_collections"], json::array());
}

}  // namespace
}  // namespace sluice::itest
