#include "core/config.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/table_filter.h"

namespace sluice::core {
namespace {

ConfigDef Def() {
  ConfigDef def;
  def.AddAll(CommonConfigKeys());
  ConfigKey host{"database.hostname", ConfigType::kString, true};
  def.Add(host);
  ConfigKey pw{"database.password", ConfigType::kPassword};
  def.Add(pw);
  def.Add(MakeConfigKey("slot.max.retained.wal", ConfigType::kBytes, "", "a byte limit"));
  ConfigKey pass{"sink.kafka.", ConfigType::kString};
  pass.is_prefix = true;
  def.Add(pass);
  return def;
}

ConnectorConfig Valid() {
  return ConnectorConfig("c", {{"connector.class", "postgres"}, {"sink.type", "file"},
                               {"database.hostname", "db"}});
}

TEST(ConfigTest, AcceptsAValidConfig) { EXPECT_TRUE(Def().Validate(Valid()).ok()); }

// A byte-size key takes a count with a 1024-based unit, or nothing (unset).
TEST(ConfigTest, ByteSizeKeysAcceptUnitsAndEmpty) {
  for (const char* ok : {"", "0", "1073741824", "512kB", "50GB", "10 GiB", "1.5gb"}) {
    ConnectorConfig c = Valid();
    c.mutable_values()["slot.max.retained.wal"] = ok;
    EXPECT_TRUE(Def().Validate(c).ok()) << "'" << ok << "': " << Def().Validate(c).message();
  }
}

TEST(ConfigTest, UnknownKeyNamesTheClosestKnownKey) {
  ConnectorConfig c = Valid();
  c.mutable_values()["database.hostnme"] = "x";
  Status s = Def().Validate(c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'database.hostnme'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("did you mean 'database.hostname'"), std::string::npos) << s.message();
}

TEST(ConfigTest, MissingRequiredKeyIsNamed) {
  ConnectorConfig c("c", {{"connector.class", "postgres"}, {"sink.type", "file"}});
  Status s = Def().Validate(c);
  EXPECT_NE(s.message().find("database.hostname"), std::string::npos) << s.message();
}

TEST(ConfigTest, BadValuesAreNamed) {
  for (auto [key, value, expect] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"sink.batch.size", "ten", "must be an integer"},
           {"sink.batch.size", "0", "must be in"},
           {"snapshot.mode", "sometimes", "must be one of"},
           {"table.include.list", "public.(", "invalid regular expression"},
           {"column.propagate.source.type", "public.t.(a", "invalid regular expression"},
           {"datatype.propagate.source.type", ".+\\.int4,(?<=x)", "invalid regular expression"},
           {"connector.class", "oracle", "is not known"},
           {"sink.type", "s3", "must be one of"},
           {"slot.max.retained.wal", "50XB", "unknown unit 'XB'"},
           {"slot.max.retained.wal", "-1GB", "is negative"},
           {"slot.max.retained.wal", "lots", "does not start with a number"}}) {
    ConnectorConfig c = Valid();
    c.mutable_values()[key] = value;
    Status s = Def().Validate(c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << key;
    EXPECT_NE(s.message().find(expect), std::string::npos) << key << ": " << s.message();
    EXPECT_NE(s.message().find(key), std::string::npos) << s.message();
  }
}

TEST(ConfigTest, KafkaConnectKeysAreAcceptedWithAWarning) {
  ConnectorConfig c = Valid();
  c.mutable_values()["tasks.max"] = "1";
  c.mutable_values()["plugin.name"] = "pgoutput";
  c.mutable_values()["key.converter"] = "org.apache.kafka.connect.json.JsonConverter";
  EXPECT_TRUE(Def().Validate(c).ok());
  // key.converter=JsonConverter is implemented (core/debezium_catalog.h): no warning.
  EXPECT_EQ(Def().Warnings(c).size(), 2u);
}

TEST(ConfigTest, PrefixKeysPassThrough) {
  ConnectorConfig c = Valid();
  c.mutable_values()["sink.kafka.linger.ms"] = "5";
  EXPECT_TRUE(Def().Validate(c).ok());
  EXPECT_EQ(c.WithPrefix("sink.kafka.").at("linger.ms"), "5");
}

TEST(ConfigTest, DebeziumClassNamesAreAliases) {
  EXPECT_EQ(CanonicalConnectorClass("io.debezium.connector.postgresql.PostgresConnector"), "postgres");
  EXPECT_EQ(CanonicalConnectorClass("io.debezium.connector.mysql.MySqlConnector"), "mysql");
  EXPECT_EQ(CanonicalConnectorClass("mongodb"), std::nullopt);
}

TEST(ConfigTest, ParsesFlatAndConnectBodies) {
  auto flat = ParseConnectorConfig(R"({"name":"a","connector.class":"postgres","database.port":5432,"x.enabled":true})");
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(flat->name(), "a");
  EXPECT_EQ(flat->Get("database.port"), "5432");
  EXPECT_EQ(flat->Get("x.enabled"), "true");
  auto body = ParseConnectorConfig(R"({"name":"b","config":{"connector.class":"mysql"}})");
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->name(), "b");
  EXPECT_EQ(body->connector_class(), "mysql");
}

TEST(ConfigTest, RejectsMalformedAndNestedConfigs) {
  auto bad = ParseConnectorConfig("{\"name\": ");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("malformed JSON"), std::string::npos);
  auto nested = ParseConnectorConfig(R"({"connector.class":{"a":1}})");
  EXPECT_NE(nested.status().message().find("connector.class"), std::string::npos);
  EXPECT_FALSE(ParseConnectorConfig("[1,2]").ok());
}

// Found by fuzzing (tests/fuzz/fuzz_config): a number beyond double made nlohmann throw
// out_of_range, not parse_error, out of ParseConnectorConfig (std::terminate in the fuzzer).
TEST(ConfigTest, NumberOverflowIsMalformedJsonNotAnException) {
  for (const char* body : {"66e466", R"({"sink.batch.size": 1e999})", "[-22337203681477592233e2037]"}) {
    Result<ConnectorConfig> r = ConnectorConfig();
    EXPECT_NO_THROW(r = ParseConnectorConfig(body)) << body;
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << body;
    EXPECT_NE(r.status().message().find("malformed JSON"), std::string::npos) << r.status().message();
  }
}

TEST(ConfigTest, SecretsAreRedacted) {
  ConnectorConfig c("c", {{"database.password", "hunter2"},
                          {"sink.url", "postgresql://u:hunter2@h:5432/db"},
                          {"sink.kafka.sasl.password", "hunter2"},
                          {"database.hostname", "h"}});
  std::string dumped = c.RedactedJson().dump();
  EXPECT_EQ(dumped.find("hunter2"), std::string::npos) << dumped;
  EXPECT_NE(dumped.find("postgresql://u:****@h:5432/db"), std::string::npos) << dumped;
  EXPECT_EQ(RedactUrl("mysql://root@h/db"), "mysql://root@h/db");
  EXPECT_EQ(RedactUrl("host=h password=x dbname=y").find("x dbname"), std::string::npos);
}

TEST(ConfigTest, ListsAndIntsParse) {
  ConnectorConfig c("c", {{"l", " a, b ,,c "}, {"n", "42"}, {"bad", "4x"}, {"b", "maybe"}});
  EXPECT_EQ(c.GetList("l"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(*c.GetInt("n", 0), 42);
  EXPECT_EQ(*c.GetInt("missing", 7), 7);
  EXPECT_FALSE(c.GetInt("bad", 0).ok());
  EXPECT_FALSE(c.GetBool("b", false).ok());
}

TEST(TableFilterTest, IncludeExcludeAndColumns) {
  ConnectorConfig c("c", {{"table.include.list", "public\\.orders.*,inventory\\..*"},
                          {"table.exclude.list", "public\\.orders_archive"},
                          {"column.exclude.list", "public\\.orders\\.secret"}});
  auto f = TableFilter::FromConfig(c);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->IncludesTable({"public", "orders"}));
  EXPECT_TRUE(f->IncludesTable({"public", "orders_2024"}));
  EXPECT_FALSE(f->IncludesTable({"public", "orders_archive"}));
  EXPECT_TRUE(f->IncludesTable({"inventory", "items"}));
  EXPECT_FALSE(f->IncludesTable({"public", "users"}));
  EXPECT_FALSE(f->IncludesColumn({"public", "orders"}, "secret"));
  EXPECT_TRUE(f->IncludesColumn({"public", "orders"}, "id"));
  // Patterns match the whole name, not a substring.
  EXPECT_FALSE(f->IncludesTable({"xpublic", "orders"}));
}

TEST(EditDistanceTest, Basics) {
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
}

}  // namespace
}  // namespace sluice::core

namespace sluice::core {
namespace {

// Debezium's JdbcConnection rule for database.initial.statements.
TEST(SplitSqlStatementsTest, SemicolonsSeparateAndDoubledOnesEscape) {
  EXPECT_EQ(SplitSqlStatements(""), std::vector<std::string>{});
  EXPECT_EQ(SplitSqlStatements(" SET a = 1 ;SET b = 2;"),
            (std::vector<std::string>{"SET a = 1", "SET b = 2"}));
  EXPECT_EQ(SplitSqlStatements("SET t = 'x;;y';; ;SELECT 1"),
            (std::vector<std::string>{"SET t = 'x;y';", "SELECT 1"}));
  EXPECT_EQ(SplitSqlStatements(";;;"), std::vector<std::string>{";"});
  EXPECT_EQ(SplitSqlStatements("; ;\n;"), std::vector<std::string>{});
}

}  // namespace
}  // namespace sluice::core
