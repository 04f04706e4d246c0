#include "core/debezium_catalog.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "core/config.h"
#include "core/envelope_modes.h"

namespace sluice::core {
namespace {

ConfigDef Def() {
  ConfigDef def;
  def.AddAll(CommonConfigKeys());
  return def;
}

ConnectorConfig Valid() {
  return ConnectorConfig("c", {{"connector.class", "postgres"}, {"sink.type", "file"}});
}

std::vector<std::string> Cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  for (size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
      cell += '|';
      ++i;
    } else if (line[i] == '|') {
      size_t b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
      cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  return cells;
}

// README.md's "Debezium properties" table: property -> {connector, classification, values}.
std::map<std::string, std::vector<std::string>> ReadmeTable() {
  const char* testdata = std::getenv("SLUICE_TESTDATA");
  std::ifstream in(std::string(testdata ? testdata : "tests/testdata") + "/../../README.md");
  EXPECT_TRUE(in.good()) << "README.md not found";
  std::map<std::string, std::vector<std::string>> rows;
  std::string line;
  bool in_section = false, in_table = false;
  while (std::getline(in, line)) {
    if (line.starts_with("### Debezium properties")) {
      in_section = true;
      continue;
    }
    if (!in_section) continue;
    if (line.starts_with("| property |")) {
      in_table = true;
      continue;
    }
    if (in_table && !line.starts_with("|")) break;
    if (!in_table || line.starts_with("| ---")) continue;
    auto cells = Cells(line);
    if (cells.size() < 4 || cells[0].size() < 2) {
      ADD_FAILURE() << "malformed row: " << line;
      continue;
    }
    std::string name = cells[0].substr(1, cells[0].size() - 2);  // strip backticks
    std::string values;
    for (size_t i = 0; i < cells[3].size(); ++i) {
      if (cells[3][i] == '`') continue;
      values += cells[3][i] == ' ' ? ',' : cells[3][i];
    }
    EXPECT_FALSE(rows.contains(name)) << name << " listed twice";
    rows[name] = {cells[1], cells[2], values};
  }
  return rows;
}

TEST(DebeziumCatalogTest, ReadmeTableAgreesWithTheCatalogue) {
  auto rows = ReadmeTable();
  EXPECT_EQ(rows.size(), DebeziumProperties().size());
  for (const auto& p : DebeziumProperties()) {
    std::string name(p.name);
    if (p.is_prefix) name += '*';
    auto it = rows.find(name);
    if (it == rows.end()) {
      ADD_FAILURE() << name << " is missing from README.md's Debezium properties table";
      continue;
    }
    EXPECT_EQ(it->second[0], p.connectors) << name;
    EXPECT_EQ(it->second[1], DebeziumSupportName(p.support)) << name;
    EXPECT_EQ(it->second[2], p.values) << name;
  }
}

TEST(DebeziumCatalogTest, NamesAreUniqueAndPrefixesEndWithADot) {
  std::map<std::string_view, int> seen;
  for (const auto& p : DebeziumProperties()) {
    EXPECT_EQ(++seen[p.name], 1) << p.name;
    EXPECT_EQ(p.is_prefix, p.name.ends_with('.')) << p.name;
    if (p.support == DebeziumSupport::kRefused) {
      EXPECT_FALSE(p.note.empty()) << p.name;
    }
  }
}

TEST(DebeziumCatalogTest, OutputChangingKeysAreRefusedNamingTheKey) {
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"time.precision.mode", "nano"},
           {"decimal.handling.mode", "exact"},
           {"binary.handling.mode", "base32"},
           {"interval.handling.mode", "text"},
           {"bigint.unsigned.handling.mode", "string"},
           {"provide.transaction.metadata", "true"},
           {"transforms", "unwrap"},
           {"transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState"},
           {"key.converter", "io.confluent.connect.avro.AvroConverter"},
           {"value.converter", "org.apache.kafka.connect.storage.StringConverter"},
           {"plugin.name", "decoderbufs"},
           {"schema.include.list", "public"},
           {"hstore.handling.mode", "text"},
           {"database.server.name", "old"}}) {
    ConnectorConfig c = Valid();
    c.mutable_values()[key] = value;
    Status s = Def().Validate(c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << key << "=" << value;
    EXPECT_NE(s.message().find(key), std::string::npos) << s.message();
  }
  ConnectorConfig c = Valid();
  c.mutable_values()["value.converter"] = "org.apache.kafka.connect.storage.StringConverter";
  EXPECT_NE(Def().Validate(c).message().find("StringConverter"), std::string::npos);
}

// The value encodings shape the Kafka sink's envelopes: accepted with it (and with database
// sinks, whose rows they do not touch), refused with the file sink, which would ignore them.
TEST(DebeziumCatalogTest, ValueEncodingKeysAreRefusedWithTheFileSink) {
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"time.precision.mode", "connect"},
           {"decimal.handling.mode", "double"},
           {"binary.handling.mode", "base64-url-safe"},
           {"interval.handling.mode", "numeric"},
           {"bigint.unsigned.handling.mode", "precise"},
           {"hstore.handling.mode", "map"},
           {"hstore.handling.mode", "json"}}) {
    ConnectorConfig c = Valid();
    c.mutable_values()[key] = value;
    Status s = Def().Validate(c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << key;
    EXPECT_NE(s.message().find(key), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("file sink"), std::string::npos) << s.message();
    c.mutable_values()["sink.type"] = "postgres";
    EXPECT_TRUE(Def().Validate(c).ok()) << key << ": " << Def().Validate(c).message();
  }
}

TEST(DebeziumCatalogTest, FileSinkAcceptsTheModesItWrites) {
  ConnectorConfig c = Valid();
  c.mutable_values()["decimal.handling.mode"] = "string";
  c.mutable_values()["interval.handling.mode"] = "string";
  c.mutable_values()["binary.handling.mode"] = "bytes";
  EXPECT_TRUE(Def().Validate(c).ok()) << Def().Validate(c).message();
}

TEST(DebeziumCatalogTest, KeysThatChangeNothingOrAreImplementedAreAccepted) {
  ConnectorConfig c = Valid();
  c.mutable_values()["sink.type"] = "postgres";
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"tasks.max", "1"},
           {"plugin.name", "pgoutput"},
           {"decimal.handling.mode", "string"},
           {"binary.handling.mode", "bytes"},
           {"key.converter", "org.apache.kafka.connect.json.JsonConverter"},
           {"value.converter", "org.apache.kafka.connect.json.JsonConverter"},
           {"key.converter.schemas.enable", "true"},
           {"value.converter.schemas.enable", "true"},
           {"tombstones.on.delete", "false"},
           {"provide.transaction.metadata", "false"},
           {"schema.history.internal.kafka.topic", "history"}}) {
    c.mutable_values()[key] = value;
  }
  EXPECT_TRUE(Def().Validate(c).ok()) << Def().Validate(c).message();
  // Warnings only for the keys that change nothing: tasks.max, plugin.name,
  // schema.history.internal.* (provide.transaction.metadata is implemented: no warning).
  EXPECT_EQ(Def().Warnings(c).size(), 3u);
}

TEST(DebeziumCatalogTest, DisagreeingConverterSchemaSettingsAreRefused) {
  ConnectorConfig c = Valid();
  c.mutable_values()["key.converter.schemas.enable"] = "false";
  c.mutable_values()["value.converter.schemas.enable"] = "true";
  Status s = Def().Validate(c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("key.converter.schemas.enable"), std::string::npos) << s.message();
  c.mutable_values()["key.converter.schemas.enable"] = "true";
  c.mutable_values()["sink.kafka.schemas.enable"] = "false";
  s = Def().Validate(c);
  EXPECT_NE(s.message().find("sink.kafka.schemas.enable"), std::string::npos) << s.message();
}

// ExtractNewRecordState is the Kafka sink's (which declares transforms.*, see
// tests/sinks/kafka/kafka_unwrap_test.cc); every other sink refuses the keys, naming them.
TEST(DebeziumCatalogTest, TransformsAreRefusedOutsideTheKafkaSink) {
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"transforms", "unwrap"},
           {"transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState"},
           {"transforms.unwrap.delete.handling.mode", "rewrite"}}) {
    ConnectorConfig c = Valid();
    c.mutable_values()[key] = value;
    Status s = Def().Validate(c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << key;
    EXPECT_NE(s.message().find("'" + key + "'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("Kafka sink only"), std::string::npos) << s.message();
  }
}

// skipped.operations: Debezium's default (t, truncates dropped) in the envelope sinks, which
// declare the key; database sinks apply truncates and take only none.
TEST(DebeziumCatalogTest, SkippedOperationsDefaultsToDebeziumsTruncatesDropped) {
  ConnectorConfig c = Valid();
  auto ops = SkippedOperationsFromConfig(c);
  ASSERT_TRUE(ops.ok());
  EXPECT_EQ(*ops, "t");
  c.mutable_values()["skipped.operations"] = "none";
  EXPECT_EQ(*SkippedOperationsFromConfig(c), "");
  c.mutable_values()["skipped.operations"] = "c, t,c";
  EXPECT_EQ(*SkippedOperationsFromConfig(c), "ct");

  ConfigDef envelope_sink = Def();
  envelope_sink.Add(SkippedOperationsConfigKey());  // as the Kafka and file sinks declare it
  EXPECT_TRUE(envelope_sink.Validate(c).ok()) << envelope_sink.Validate(c).message();
  c.mutable_values()["skipped.operations"] = "truncate";
  Status s = envelope_sink.Validate(c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("skipped.operations: 'truncate'"), std::string::npos) << s.message();

  c.mutable_values()["sink.type"] = "postgres";
  c.mutable_values()["skipped.operations"] = "t";
  s = Def().Validate(c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("skipped.operations must be 'none'"), std::string::npos) << s.message();
  c.mutable_values()["skipped.operations"] = "none";
  EXPECT_TRUE(Def().Validate(c).ok()) << Def().Validate(c).message();
}

TEST(DebeziumCatalogTest, KeysOfAnotherConnectorAreUnknown) {
  ConnectorConfig c = Valid();
  c.mutable_values()["database.server.id"] = "5400";  // MySQL's, not in this ConfigDef
  Status s = Def().Validate(c);
  EXPECT_NE(s.message().find("unknown configuration key 'database.server.id'"), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace sluice::core
