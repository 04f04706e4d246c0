// Debezium's MySQL schema-change topic (include.schema.changes, default true) with the sluice
// binary: MariaDB 10.11 -> Kafka (sluice_mock_broker), read back with kcat. While streaming,
// CREATE TABLE, ALTER TABLE ... ADD COLUMN and DROP TABLE on the captured database each give one
// record on the topic <topic.prefix>: key {"databaseName"}, the statement as MariaDB logged it,
// tableChanges with the table after the DDL (null for the DROP); their binlog positions sit
// between those of the row changes around them. A stop and restart does not publish them again;
// a kill right after a DDL loses nothing. The snapshot writes Debezium's records first: the
// server's charset SET, DROP TABLE IF EXISTS per table, DROP DATABASE IF EXISTS, CREATE DATABASE,
// USE, and each table's CREATE TABLE as SHOW CREATE TABLE gives it.
// With schemas on, Debezium's schema blocks; with include.schema.changes=false the topic stays
// empty.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "integration/common/itest.h"
#include "integration/common/mariadb_kafka.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

using DbzSchemaChangesMariadbTest = MariadbToKafkaTest;

// (file, pos) of a record's source block, ordered as the binlog is.
std::pair<std::string, int64_t> BinlogAt(const json& value) {
  return {value["source"]["file"].get<std::string>(), value["source"]["pos"].get<int64_t>()};
}

json Column(const json& table, size_t i) { return table["columns"].at(i); }

// The records of the snapshot (source.snapshot "true"), which come first on the topic.
constexpr size_t kSnapshotRecordsOfOneTable = 6;

bool IsSnapshotRecord(const KafkaMessage& m) {
  return json::parse(*m.value)["source"]["snapshot"] != "false";
}

TEST_F(DbzSchemaChangesMariadbTest, TableDdlWhileStreamingIsPublishedInOrder) {
  db_ = CreateScratchMysqlDatabase("dsch");
  MysqlClient my(db_);
  my.Exec("CREATE TABLE t (id int PRIMARY KEY, note varchar(40)) ENGINE=InnoDB;"
          "INSERT INTO t VALUES (0, 'snapshot')");
  const std::string prefix = UniqueName("ds");
  const std::string t_topic = prefix + "." + db_ + ".t";
  const std::string n_topic = prefix + "." + db_ + ".n";
  // One partition each: offsets give the production order.
  CreateKafkaTopic(prefix, 1);
  CreateKafkaTopic(t_topic, 1);
  CreateKafkaTopic(n_topic, 1);
  json config = BaseConfig("ds_" + db_, prefix);  // include.schema.changes: the default, true
  sluice_.emplace(SluiceProcess::Run(config));
  WaitForMessages(t_topic, 1, 60s);  // the snapshot row: streaming has started

  const std::string create =
      "CREATE TABLE n (id int PRIMARY KEY, label varchar(20) NOT NULL DEFAULT 'x') ENGINE=InnoDB";
  const std::string alter = "ALTER TABLE n ADD COLUMN qty int";
  my.Exec("INSERT INTO t VALUES (1, 'before')");
  my.Exec(create);
  my.Exec("INSERT INTO n VALUES (1, 'a')");
  my.Exec(alter);
  my.Exec("INSERT INTO n VALUES (2, 'b', 5)");
  my.Exec("DROP TABLE n");
  my.Exec("INSERT INTO t VALUES (2, 'after')");
  ASSERT_TRUE(sluice_->IsRunning()) << sluice_->LogTail();

  auto all_changes = WaitForMessages(prefix, kSnapshotRecordsOfOneTable + 3, 60s);
  auto t_rows = WaitForMessages(t_topic, 3, 60s);
  // n: the two inserts (its CREATE's truncate record is skipped: skipped.operations' default, t).
  auto n_rows = WaitForMessages(n_topic, 2, 60s);
  ASSERT_EQ(all_changes.size(), kSnapshotRecordsOfOneTable + 3);
  ASSERT_EQ(t_rows.size(), 3u);

  // The snapshot's records, checked against the server's own statements (an independent client).
  std::vector<json> snap;
  for (size_t i = 0; i < kSnapshotRecordsOfOneTable; ++i) {
    ASSERT_TRUE(all_changes[i].key && all_changes[i].value);
    snap.push_back(json::parse(*all_changes[i].value));
    EXPECT_EQ(snap[i]["source"]["snapshot"], "true") << snap[i].dump();
    EXPECT_EQ(json::parse(*all_changes[i].key), json({{"databaseName", snap[i]["databaseName"]}}));
  }
  const SqlRows charset = my.Query("SELECT @@character_set_server, @@collation_server");
  EXPECT_EQ(snap[0]["ddl"], "SET character_set_server=" + *charset[0][0] +
                                ", collation_server=" + *charset[0][1] + ";");
  EXPECT_EQ(snap[0]["databaseName"], "");
  EXPECT_TRUE(snap[0]["source"]["table"].is_null()) << snap[0].dump();
  EXPECT_EQ(snap[1]["ddl"], "DROP TABLE IF EXISTS `" + db_ + "`.`t`");
  EXPECT_EQ(snap[1]["source"]["table"], "t");
  ASSERT_EQ(snap[1]["tableChanges"].size(), 1u);
  EXPECT_EQ(snap[1]["tableChanges"][0]["type"], "DROP");
  EXPECT_EQ(snap[2]["ddl"], "DROP DATABASE IF EXISTS `" + db_ + "`");
  const SqlRows locale = my.Query(
      "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
      "WHERE SCHEMA_NAME = '" + db_ + "'");
  EXPECT_EQ(snap[3]["ddl"], "CREATE DATABASE `" + db_ + "` CHARSET " + *locale[0][0] +
                                " COLLATE " + *locale[0][1]);
  EXPECT_EQ(snap[4]["ddl"], "USE `" + db_ + "`");
  for (size_t i : {2, 3, 4}) {
    EXPECT_EQ(snap[i]["databaseName"], db_);
    EXPECT_TRUE(snap[i]["source"]["table"].is_null()) << snap[i].dump();
    EXPECT_EQ(snap[i]["tableChanges"], json::array());
  }
  EXPECT_EQ(snap[5]["ddl"], *my.Query("SHOW CREATE TABLE t")[0][1]);
  ASSERT_EQ(snap[5]["tableChanges"].size(), 1u);
  EXPECT_EQ(snap[5]["tableChanges"][0]["type"], "CREATE");
  EXPECT_EQ(snap[5]["tableChanges"][0]["table"]["primaryKeyColumnNames"], json::array({"id"}));
  // At the snapshot's binlog position: before the first streamed change.
  EXPECT_LT(BinlogAt(snap[5]), BinlogAt(json::parse(*t_rows[1].value)));

  std::vector<KafkaMessage> changes(all_changes.begin() + kSnapshotRecordsOfOneTable,
                                    all_changes.end());

  std::vector<json> v;
  for (const auto& m : changes) {
    ASSERT_TRUE(m.key && m.value);
    EXPECT_EQ(json::parse(*m.key), json({{"databaseName", db_}})) << *m.key;
    v.push_back(json::parse(*m.value));
  }
  // Statements as MariaDB logged them (it rewrites DROP TABLE).
  EXPECT_EQ(v[0]["ddl"], create);
  EXPECT_EQ(v[1]["ddl"], alter);
  EXPECT_EQ(v[2]["ddl"], "DROP TABLE `n` /* generated by server */");
  for (const json& c : v) {
    EXPECT_EQ(c["databaseName"], db_);
    EXPECT_TRUE(c["schemaName"].is_null());
    EXPECT_EQ(c["source"]["connector"], "mysql");
    EXPECT_EQ(c["source"]["name"], prefix);
    EXPECT_EQ(c["source"]["db"], db_);
    EXPECT_EQ(c["source"]["table"], "n");
    EXPECT_EQ(c["source"]["snapshot"], "false");
    EXPECT_TRUE(c["ts_ms"].is_number_integer());
    ASSERT_EQ(c["tableChanges"].size(), 1u) << c.dump();
    EXPECT_EQ(c["tableChanges"][0]["id"], "\"" + db_ + "\".\"n\"");
  }
  // CREATE: the new table's columns.
  const json& created = v[0]["tableChanges"][0];
  EXPECT_EQ(created["type"], "CREATE");
  const json& ct = created["table"];
  EXPECT_EQ(ct["primaryKeyColumnNames"], json::array({"id"}));
  EXPECT_EQ(ct["defaultCharsetName"], "utf8mb4") << ct.dump();
  ASSERT_EQ(ct["columns"].size(), 2u) << ct.dump();
  EXPECT_EQ(Column(ct, 0)["name"], "id");
  EXPECT_EQ(Column(ct, 0)["jdbcType"], 4);
  EXPECT_EQ(Column(ct, 0)["typeName"], "INT");
  EXPECT_EQ(Column(ct, 0)["position"], 1);
  EXPECT_EQ(Column(ct, 0)["optional"], false);
  EXPECT_EQ(Column(ct, 0)["hasDefaultValue"], false);
  EXPECT_EQ(Column(ct, 1)["name"], "label");
  EXPECT_EQ(Column(ct, 1)["jdbcType"], 12);
  EXPECT_EQ(Column(ct, 1)["typeName"], "VARCHAR");
  EXPECT_EQ(Column(ct, 1)["length"], 20);
  EXPECT_EQ(Column(ct, 1)["charsetName"], "utf8mb4");
  EXPECT_EQ(Column(ct, 1)["position"], 2);
  EXPECT_EQ(Column(ct, 1)["optional"], false);
  EXPECT_EQ(Column(ct, 1)["hasDefaultValue"], true);
  EXPECT_EQ(Column(ct, 1)["defaultValueExpression"], "x");
  // ALTER: the table after it, the new column last.
  const json& altered = v[1]["tableChanges"][0];
  EXPECT_EQ(altered["type"], "ALTER");
  ASSERT_EQ(altered["table"]["columns"].size(), 3u) << altered.dump();
  const json qty = Column(altered["table"], 2);
  EXPECT_EQ(qty["name"], "qty");
  EXPECT_EQ(qty["jdbcType"], 4);
  EXPECT_EQ(qty["position"], 3);
  EXPECT_EQ(qty["optional"], true);
  // DROP: no table.
  EXPECT_EQ(v[2]["tableChanges"][0]["type"], "DROP");
  EXPECT_TRUE(v[2]["tableChanges"][0]["table"].is_null());

  // Binlog order: t(1) < CREATE < n(1) < ALTER < n(2) < DROP < t(2).
  ASSERT_EQ(n_rows.size(), 2u);
  json n1 = json::parse(*n_rows[0].value);
  json n2 = json::parse(*n_rows[1].value);
  EXPECT_EQ(n1["after"]["id"], 1);
  EXPECT_EQ(n2["after"]["qty"], 5);
  std::vector<std::pair<std::string, int64_t>> order = {
      BinlogAt(json::parse(*t_rows[1].value)), BinlogAt(v[0]), BinlogAt(n1), BinlogAt(v[1]),
      BinlogAt(n2), BinlogAt(v[2]), BinlogAt(json::parse(*t_rows[2].value))};
  for (size_t i = 1; i < order.size(); ++i) {
    EXPECT_LT(order[i - 1], order[i]) << "record " << i << " of t(1) CREATE n(1) ALTER n(2) DROP t(2)";
  }

  // Stopped (what is flushed is committed) and started again: the DDL is not published again.
  sluice_->Stop();
  sluice_->Restart();
  my.Exec("INSERT INTO t VALUES (3, 'restarted')");
  ASSERT_EQ(WaitForMessages(t_topic, 4, 60s).size(), 4u);
  EXPECT_EQ(ConsumeTopic(prefix).size(), kSnapshotRecordsOfOneTable + 3);
}

// With the JsonConverter's schemas on, key and value carry Debezium's schema blocks. With
// include.schema.comments=true, the column comments are in tableChanges and each row's field
// schema has its column's as "doc".
TEST_F(DbzSchemaChangesMariadbTest, WithSchemasTheRecordsNameDebeziumsSchemas) {
  db_ = CreateScratchMysqlDatabase("dscs");
  MysqlClient my(db_);
  my.Exec("CREATE TABLE t (id int PRIMARY KEY COMMENT 'the key') ENGINE=InnoDB COMMENT 'tee';"
          "INSERT INTO t VALUES (0)");
  const std::string prefix = UniqueName("dss");
  const std::string t_topic = prefix + "." + db_ + ".t";
  CreateKafkaTopic(prefix, 1);
  CreateKafkaTopic(t_topic, 1);
  json config = BaseConfig("dss_" + db_, prefix);
  config["key.converter.schemas.enable"] = "true";
  config["value.converter.schemas.enable"] = "true";
  config["include.schema.comments"] = "true";
  sluice_.emplace(SluiceProcess::Run(config));
  WaitForMessages(t_topic, 1, 60s);
  const std::string alter = "ALTER TABLE t ADD COLUMN note varchar(10) DEFAULT 'n' COMMENT 'a note'";
  my.Exec(alter);
  auto all_changes = WaitForMessages(prefix, kSnapshotRecordsOfOneTable + 1, 60s);
  ASSERT_EQ(all_changes.size(), kSnapshotRecordsOfOneTable + 1);
  std::vector<KafkaMessage> changes(all_changes.end() - 1, all_changes.end());
  ASSERT_TRUE(changes[0].key && changes[0].value);
  json k = json::parse(*changes[0].key);
  EXPECT_EQ(k["schema"]["name"], "io.debezium.connector.mysql.SchemaChangeKey");
  EXPECT_EQ(k["payload"], json({{"databaseName", db_}}));
  json v = json::parse(*changes[0].value);
  EXPECT_EQ(v["schema"]["name"], "io.debezium.connector.mysql.SchemaChangeValue");
  EXPECT_EQ(v["schema"]["fields"][0]["name"], "io.debezium.connector.mysql.Source");
  EXPECT_EQ(v["payload"]["ddl"], alter);
  const json& table = v["payload"]["tableChanges"][0]["table"];
  ASSERT_EQ(table["columns"].size(), 2u) << table.dump();
  EXPECT_EQ(table["columns"][1]["name"], "note");
  EXPECT_EQ(table["columns"][1]["defaultValueExpression"], "n");
  // Comments as information_schema has them (an independent read).
  EXPECT_EQ(table["columns"][0]["comment"],
            my.QueryValue("SELECT COLUMN_COMMENT FROM information_schema.COLUMNS WHERE "
                          "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't' AND COLUMN_NAME = 'id'"));
  EXPECT_EQ(table["columns"][1]["comment"], "a note");
  EXPECT_EQ(table["comment"], "tee");
  json snapshot_create = json::parse(*all_changes[kSnapshotRecordsOfOneTable - 1].value);
  EXPECT_EQ(snapshot_create["payload"]["tableChanges"][0]["table"]["columns"][0]["comment"],
            "the key");
  // The row after the ALTER: each field's doc is its column's comment.
  my.Exec("INSERT INTO t VALUES (1, 'x')");
  auto rows = WaitForMessages(t_topic, 2, 60s);
  ASSERT_EQ(rows.size(), 2u);
  json after = json::parse(*rows[1].value)["schema"]["fields"][1]["fields"];
  ASSERT_EQ(after.size(), 2u) << after.dump();
  EXPECT_EQ(after[0]["doc"], "the key");
  EXPECT_EQ(after[1]["doc"], "a note");
  json key_fields = json::parse(*rows[1].key)["schema"]["fields"];
  EXPECT_EQ(key_fields[0]["doc"], "the key") << key_fields.dump();
}

// Killed (SIGKILL) right after a DDL ran, wherever the pipeline was: restarted from the last
// committed position, the DDL is published at least once (a duplicate is allowed, a gap never),
// before the row that follows it.
TEST_F(DbzSchemaChangesMariadbTest, KilledRightAfterTheDdlLosesNothing) {
  db_ = CreateScratchMysqlDatabase("dsck");
  MysqlClient my(db_);
  my.Exec("CREATE TABLE t (id int PRIMARY KEY) ENGINE=InnoDB; INSERT INTO t VALUES (0)");
  const std::string prefix = UniqueName("dsk");
  const std::string t_topic = prefix + "." + db_ + ".t";
  CreateKafkaTopic(prefix, 1);
  CreateKafkaTopic(t_topic, 1);
  sluice_.emplace(SluiceProcess::Run(BaseConfig("dsk_" + db_, prefix)));
  WaitForMessages(t_topic, 1, 60s);
  const std::string alter = "ALTER TABLE t ADD COLUMN note varchar(10)";
  my.Exec(alter);
  sluice_->Kill();
  sluice_->Restart();
  my.Exec("INSERT INTO t VALUES (1, 'after')");
  auto rows = WaitForMessages(t_topic, 2, 60s);
  json last = json::parse(*rows.back().value);
  EXPECT_EQ(last["after"]["note"], "after");
  auto changes = WaitForMessages(prefix, kSnapshotRecordsOfOneTable + 1, 60s);
  std::erase_if(changes, IsSnapshotRecord);  // a restarted snapshot writes them again
  ASSERT_GE(changes.size(), 1u);
  for (const auto& m : changes) {
    json v = json::parse(*m.value);
    EXPECT_EQ(v["ddl"], alter);
    EXPECT_LT(BinlogAt(v), BinlogAt(last));
    EXPECT_EQ(*m.value, *changes[0].value) << "a replay writes the same record";
  }
}

TEST_F(DbzSchemaChangesMariadbTest, OffPublishesNoSchemaChange) {
  db_ = CreateScratchMysqlDatabase("dsco");
  MysqlClient my(db_);
  my.Exec("CREATE TABLE t (id int PRIMARY KEY) ENGINE=InnoDB; INSERT INTO t VALUES (0)");
  const std::string prefix = UniqueName("dso");
  const std::string t_topic = prefix + "." + db_ + ".t";
  CreateKafkaTopic(prefix, 1);
  CreateKafkaTopic(t_topic, 1);
  json config = BaseConfig("dso_" + db_, prefix);
  config["include.schema.changes"] = "false";
  sluice_.emplace(SluiceProcess::Run(config));
  WaitForMessages(t_topic, 1, 60s);
  my.Exec("ALTER TABLE t ADD COLUMN note varchar(10)");
  my.Exec("INSERT INTO t VALUES (1, 'after')");
  auto rows = WaitForMessages(t_topic, 2, 60s);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(json::parse(*rows[1].value)["after"]["note"], "after");
  // The row after the ALTER is out, so a record of the ALTER would be too.
  EXPECT_TRUE(ConsumeTopic(prefix).empty());
}

}  // namespace
}  // namespace sluice::itest
