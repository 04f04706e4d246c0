// Debezium's snapshot records on the schema-change topic: the statements and their order
// (MySqlSnapshotChangeEventSource.readTableStructure), and the tableChanges of each.
#include "connectors/mysql/snapshot_schema_changes.h"

#include <gtest/gtest.h>

namespace sluice::mysql {
namespace {

LoadedTable Table(std::string db, std::string name) {
  LoadedTable t;
  auto schema = std::make_shared<core::TableSchema>();
  schema->id = {std::move(db), std::move(name)};
  InformationSchemaColumn id;
  id.name = "id";
  id.data_type = "int";
  id.column_type = "int(11)";
  id.nullable = false;
  id.position = 1;
  schema->columns.push_back(MapColumn(id));
  schema->key = {0};
  t.columns.push_back(id);
  t.excluded.push_back(false);
  t.schema = schema;
  t.table_charset = "utf8mb4";
  return t;
}

TEST(SnapshotSchemaChanges, SetStatementSortsNamesAndQuotesListValues) {
  EXPECT_EQ(SetStatementFor({{"collation_server", "utf8mb4_general_ci"},
                             {"character_set_server", "utf8mb4"}}),
            "SET character_set_server=utf8mb4, collation_server=utf8mb4_general_ci;");
  EXPECT_EQ(SetStatementFor({{"a", "x,y"}}), "SET a='x,y';");
}

TEST(SnapshotSchemaChanges, DebeziumsStatementsInDebeziumsOrder) {
  LoadedTable a = Table("shop", "a"), b = Table("shop", "b"), c = Table("hr", "c");
  SnapshotDdlInput in;
  in.server_charset = {{"character_set_server", "latin1"}, {"collation_server", "latin1_swedish_ci"}};
  in.databases = {{"shop", "utf8mb4", "utf8mb4_general_ci"}, {"hr", "", ""}};
  in.tables = {&a, &b, &c};
  in.create_statements = {"CREATE TABLE `a` (x)", "CREATE TABLE `b` (x)", "CREATE TABLE `c` (x)"};
  std::vector<core::SchemaChange> out = SnapshotSchemaChanges(in);
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& change : out) got.emplace_back(change.database, change.ddl);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"", "SET character_set_server=latin1, collation_server=latin1_swedish_ci;"},
      {"shop", "DROP TABLE IF EXISTS `shop`.`a`"},
      {"shop", "DROP TABLE IF EXISTS `shop`.`b`"},
      {"hr", "DROP TABLE IF EXISTS `hr`.`c`"},
      {"shop", "DROP DATABASE IF EXISTS `shop`"},
      {"shop", "CREATE DATABASE `shop` CHARSET utf8mb4 COLLATE utf8mb4_general_ci"},
      {"shop", "USE `shop`"},
      {"shop", "CREATE TABLE `a` (x)"},
      {"shop", "CREATE TABLE `b` (x)"},
      {"hr", "DROP DATABASE IF EXISTS `hr`"},
      {"hr", "CREATE DATABASE `hr`"},
      {"hr", "USE `hr`"},
      {"hr", "CREATE TABLE `c` (x)"}};
  EXPECT_EQ(got, want);
  // Database-level statements change no table; DROP TABLE names its table without a structure;
  // CREATE TABLE carries the table.
  EXPECT_TRUE(out[0].tables.empty());
  EXPECT_TRUE(out[4].tables.empty());
  ASSERT_EQ(out[1].tables.size(), 1u);
  EXPECT_EQ(out[1].tables[0].type, core::SchemaChangeTable::Type::kDrop);
  EXPECT_EQ(out[1].tables[0].id, (core::TableId{"shop", "a"}));
  EXPECT_FALSE(out[1].tables[0].has_table);
  ASSERT_EQ(out[7].tables.size(), 1u);
  EXPECT_EQ(out[7].tables[0].type, core::SchemaChangeTable::Type::kCreate);
  EXPECT_TRUE(out[7].tables[0].has_table);
  EXPECT_EQ(out[7].tables[0].primary_key_column_names, std::vector<std::string>{"id"});
}

}  // namespace
}  // namespace sluice::mysql
