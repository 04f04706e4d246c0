// Debezium's include.query=true with the sluice binary: MariaDB 10.11 (binlog_annotate_row_events
// is ON by default; the dump asks for the ANNOTATE_ROWS events) -> Kafka (sluice_mock_broker),
// read back with kcat. Every streamed record's source.query is the SQL statement that made it,
// the last field of the source block; rows of one multi-row statement carry the same text; the
// snapshot row and a connector without include.query have "query": null.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "integration/common/itest.h"
#include "integration/common/mariadb_kafka.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

using DbzQueryMariadbTest = MariadbToKafkaTest;

TEST_F(DbzQueryMariadbTest, StreamedRecordsCarryTheirStatement) {
  db_ = CreateScratchMysqlDatabase("dqry");
  MysqlClient my(db_);
  my.Exec("CREATE TABLE t (id int PRIMARY KEY, note varchar(40)) ENGINE=InnoDB;"
          "INSERT INTO t VALUES (0, 'snapshot')");
  std::string prefix = UniqueName("dq");
  const std::string topic = prefix + "." + db_ + ".t";
  CreateKafkaTopic(topic, 1);  // one partition: offsets give the production order
  json config = BaseConfig("dq_" + db_, prefix);
  config["include.query"] = "true";
  sluice_.emplace(SluiceProcess::Run(config));
  WaitForMessages(topic, 1, 60s);  // the snapshot row: streaming has started

  const std::string insert = "INSERT INTO t VALUES (1, 'a \"quoted\" note'), (2, 'b')";
  const std::string update = "UPDATE t SET note = 'c' WHERE id = 2";
  my.Exec(insert + ";" + update);
  ASSERT_TRUE(sluice_->IsRunning()) << sluice_->LogTail();
  auto records = WaitForMessages(topic, 4, 60s);
  ASSERT_EQ(records.size(), 4u);

  const std::vector<std::string> expected = {"", insert, insert, update};
  for (size_t i = 0; i < records.size(); ++i) {
    ASSERT_TRUE(records[i].value) << i;
    const std::string& text = *records[i].value;
    json source = json::parse(text)["source"];
    if (expected[i].empty()) {
      EXPECT_EQ(json::parse(text)["op"], "r");
      EXPECT_TRUE(source["query"].is_null()) << text;
      continue;
    }
    EXPECT_EQ(source["query"], expected[i]) << text;
    // Debezium's MySQL source block ends with "thread", then "query".
    std::string tail = ",\"query\":" + json(expected[i]).dump() + "},\"op\"";
    EXPECT_NE(text.find(tail), std::string::npos) << text;
    EXPECT_NE(text.find("\"thread\":"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace sluice::itest
