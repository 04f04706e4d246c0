// Debezium's transaction metadata (provide.transaction.metadata=true) with the sluice binary:
// MariaDB 10.11 (GTIDs, as every MariaDB binlog has them) -> Kafka (sluice_mock_broker), read
// back with kcat. Two multi-table transactions (one with a primary-key change, written as delete
// + create) and one on an uncaptured table give one BEGIN and one END each on
// <prefix>.transaction, with Debezium's MariaDB id "<domain>-<server>-<seq>" (the GTID, read from
// the server with @@last_gtid), END's per-table counts, and data records whose "transaction"
// blocks carry that id, total_order 1..n and data_collection_order per table; the snapshot row
// has "transaction": null.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "integration/common/itest.h"
#include "integration/common/mariadb_kafka.h"
#include "integration/dbz_txn/txn_orders.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

using DbzTxnMariadbTest = MariadbToKafkaTest;

TEST_F(DbzTxnMariadbTest, MariadbTransactionsGetGtidIdsBeginEndRecordsAndBlocks) {
  db_ = CreateScratchMysqlDatabase("dtxm");
  MysqlClient my(db_);
  my.Exec("CREATE TABLE a (id int PRIMARY KEY, note varchar(20)) ENGINE=InnoDB;"
          "CREATE TABLE b (id int PRIMARY KEY, note varchar(20)) ENGINE=InnoDB;"
          "CREATE TABLE c (id int PRIMARY KEY) ENGINE=InnoDB;"  // not captured
          "INSERT INTO a VALUES (0, 'snapshot')");
  std::string prefix = UniqueName("dtm");
  const std::string ta = prefix + "." + db_ + ".a", tb = prefix + "." + db_ + ".b";
  // One partition each, so that offsets give the order the sink produced in.
  for (const std::string& t : {prefix + ".transaction", ta, tb}) CreateKafkaTopic(t, 1);
  json config = BaseConfig("dtm_" + db_, prefix);
  config["table.include.list"] = db_ + "\\.(a|b)";
  config["provide.transaction.metadata"] = "true";
  sluice_.emplace(SluiceProcess::Run(config));
  WaitForMessages(ta, 1, 60s);  // the snapshot row: streaming has started

  // T1: a +2, b +1, then a key change of a (delete + create): a 4 records, b 1.
  std::string t1 = my.QueryValue("BEGIN; INSERT INTO a VALUES (1, 'x'), (2, 'x');"
                                 "INSERT INTO b VALUES (1, 'x');"
                                 "UPDATE a SET id = 3 WHERE id = 2; COMMIT;"
                                 "SELECT @@last_gtid");
  // T2: b +2, a +1.
  std::string t2 = my.QueryValue("BEGIN; INSERT INTO b VALUES (2, 'y'), (3, 'y');"
                                 "INSERT INTO a VALUES (4, 'y'); COMMIT;"
                                 "SELECT @@last_gtid");
  // T3: only the uncaptured table: BEGIN and END with no events, as Debezium writes them.
  std::string t3 = my.QueryValue("INSERT INTO c VALUES (1); SELECT @@last_gtid");
  ASSERT_TRUE(sluice_->IsRunning()) << sluice_->LogTail();
  for (const std::string* g : {&t1, &t2, &t3}) {
    ASSERT_EQ(std::count(g->begin(), g->end(), '-'), 2) << "not a MariaDB GTID: " << *g;
  }

  // The binlog is the server's: other suites running at the same time (make test runs them in
  // parallel on one MariaDB) add BEGIN/END records of their own transactions to the topic, as
  // Debezium would. This test's are those of T1, T2 and T3, in order.
  const std::set<std::string> ours = {t1, t2, t3};
  std::vector<KafkaMessage> txns;
  WaitUntil([&] {
    txns.clear();
    for (auto& m : ConsumeTopic(prefix + ".transaction")) {
      if (m.value && ours.count(json::parse(*m.value).value("id", "")) > 0) txns.push_back(m);
    }
    return txns.size() >= 6;
  }, 60s, "the BEGIN and END records of T1, T2 and T3");
  auto a = WaitForMessages(ta, 1 + 4 + 1 + 1, 60s);  // + the delete's tombstone
  auto b = WaitForMessages(tb, 3, 60s);
  ASSERT_EQ(txns.size(), 6u);

  std::map<std::string, std::vector<json>> by_id;  // data records, in production order per topic
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
      ASSERT_TRUE(v["transaction"].is_object()) << *m.value;
      // The envelope's source block names the same GTID.
      EXPECT_EQ(v["source"]["gtid"], v["transaction"]["id"]) << *m.value;
      by_id[v["transaction"]["id"]].push_back(v);
    }
  }
  EXPECT_EQ(snapshot_nulls, 1);
  ASSERT_EQ(by_id.size(), 2u);

  const std::vector<std::string> ids = {t1, t2, t3};
  for (size_t i = 0; i < txns.size(); i += 2) {
    const std::string& id = ids[i / 2];
    json begin = json::parse(*txns[i].value), end = json::parse(*txns[i + 1].value);
    EXPECT_EQ(begin["status"], "BEGIN") << *txns[i].value;
    EXPECT_EQ(end["status"], "END") << *txns[i + 1].value;
    EXPECT_EQ(begin["id"], id);
    EXPECT_EQ(end["id"], id);
    EXPECT_EQ(json::parse(*txns[i].key), json({{"id", id}}));
    EXPECT_EQ(json::parse(*txns[i + 1].key), json({{"id", id}}));
    EXPECT_TRUE(begin["event_count"].is_null());
    EXPECT_TRUE(begin["data_collections"].is_null());
    EXPECT_LE(begin["ts_ms"].get<int64_t>(), end["ts_ms"].get<int64_t>());
    ExpectTransactionOrders(end, by_id[id], "db");
  }
  EXPECT_EQ(by_id[t1].size(), 5u);  // a: 2 inserts + delete + create, b: 1
  EXPECT_EQ(by_id[t2].size(), 3u);
  EXPECT_EQ(by_id[t3].size(), 0u);
  EXPECT_EQ(json::parse(*txns[5].value)["data_collections"], json::array());
  EXPECT_EQ(json::parse(*txns[5].value)["event_count"], 0);
}

}  // namespace
}  // namespace sluice::itest
