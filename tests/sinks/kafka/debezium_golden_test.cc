// Field by field: the value and the field schema our envelope writes for each column type,
// against the fragments Debezium 2.x documents for its default modes (tests/sinks/kafka/golden).
// An entry marked `sluice_differs` must differ (README.md lists it), so that implementing the
// encoding makes this test name the entry to update.
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/envelope.h"
#include "core/value_text.h"

namespace sluice::core {
namespace {

using nlohmann::json;

json Load(const std::string& name) {
  const char* testdata = std::getenv("SLUICE_TESTDATA");
  std::ifstream in(std::string(testdata ? testdata : "tests/testdata") + "/../sinks/kafka/golden/" +
                   name);
  EXPECT_TRUE(in.good()) << name;
  return json::parse(in);
}

// Our field schema and value for one golden entry.
std::pair<json, json> Encode(const json& entry, const std::string& connector) {
  Column c;
  c.name = "c";
  c.type = *LogicalTypeFromName(entry["logical"].get<std::string>());
  c.source_type = entry["type"];
  c.precision = entry.value("precision", 0);
  c.scale = entry.value("scale", 0);
  c.length = entry.value("length", 0);
  c.is_unsigned = c.source_type.find("unsigned") != std::string::npos;
  if (entry.contains("enum_values")) c.enum_values = entry["enum_values"];
  // The connector's defaults (MySQL's time.precision.mode is adaptive_time_microseconds), then
  // the entry's modes.
  ConnectorConfig config;
  config.mutable_values()["connector.class"] = connector;
  if (entry.contains("modes")) {
    for (const auto& [k, v] : entry["modes"].items()) config.mutable_values()[k] = v.get<std::string>();
  }
  ValueModes modes;
  auto parsed = ValueModesFromConfig(config);
  EXPECT_TRUE(parsed.ok()) << entry.dump();
  if (parsed.ok()) modes = *parsed;
  // column/datatype.propagate.source.type as the entry's config says (Debezium's default: none).
  auto propagation = SourceTypePropagation::FromConfig(config, connector == "mysql");
  EXPECT_TRUE(propagation.ok()) << entry.dump();
  TableSchema table;
  table.id = {"db", "t"};
  table.columns = {c};
  std::string schema;
  AppendFieldSchemaJson(schema, c, modes,
                        propagation.ok() ? propagation->TypeParameterFor(table, c) : "");
  EventBatch b;
  uint32_t row = b.BeginRow();
  // Bytes that are not UTF-8 (MariaDB's geometry) come as text_base64.
  std::string text = entry.contains("text_base64")
                         ? DecodeBase64(entry["text_base64"].get<std::string>()).value_or("")
                         : entry["text"].get<std::string>();
  b.AppendValue(text);
  b.EndRow();
  std::string value;
  EXPECT_TRUE(AppendEnvelopeValue(value, c, b.row(row), 0, modes)) << entry.dump();
  return {json::parse(schema), json::parse(value)};
}

// The parts of a field schema Debezium documents: type, semantic name, parameters (all of them:
// the __debezium.source.column.* ones only where column/datatype.propagate.source.type asks).
json Documented(const json& schema) {
  json out = {{"type", schema["type"]}};
  if (schema.contains("name")) out["name"] = schema["name"];
  if (schema.contains("parameters")) out["parameters"] = schema["parameters"];
  return out;
}

void CheckGolden(const std::string& file, const std::string& connector) {
  json golden = Load(file);
  ASSERT_TRUE(golden.contains("columns")) << file;
  for (const auto& entry : golden["columns"]) {
    auto [schema, value] = Encode(entry, connector);
    json ours = Documented(schema);
    const json& theirs = entry["debezium"];
    bool same = ours == Documented(theirs["schema"]) && value == theirs["value"];
    if (entry.contains("sluice_differs")) {
      EXPECT_FALSE(same) << file << " " << entry["type"] << " now matches Debezium: drop its "
                         << "sluice_differs and README's note";
      continue;
    }
    EXPECT_EQ(ours, Documented(theirs["schema"])) << file << " " << entry.dump();
    EXPECT_EQ(value, theirs["value"]) << file << " " << entry.dump();
  }
}

TEST(DebeziumGoldenTest, Postgres15ColumnsMatchDebeziumsDocumentedEncodings) {
  CheckGolden("postgres_15.json", "postgres");
}

TEST(DebeziumGoldenTest, MariaDb1011ColumnsMatchDebeziumsDocumentedEncodings) {
  CheckGolden("mariadb_10_11.json", "mysql");
}

}  // namespace
}  // namespace sluice::core
