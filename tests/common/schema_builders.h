// Builders of core::Column and core::TableSchema for tests, shared by every test folder (unit
// tests, integration suites, benchmarks) instead of each keeping its own copy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/event.h"

namespace sluice::testing {

// A column with its source type text and, when they matter, its length, precision, scale and
// nullability.
inline core::Column Col(std::string name, core::LogicalType type, std::string source_type = "",
                        int32_t length = 0, int32_t precision = 0, int32_t scale = 0,
                        bool nullable = true) {
  core::Column c;
  c.name = std::move(name);
  c.type = type;
  c.source_type = std::move(source_type);
  c.length = length;
  c.precision = precision;
  c.scale = scale;
  c.nullable = nullable;
  return c;
}

// A table `schema`.`table` of source database `database`, keyed on the columns at `key`.
inline core::TableSchemaPtr MakeSchema(std::string schema, std::string table,
                                       std::vector<core::Column> columns,
                                       std::vector<uint32_t> key = {0},
                                       std::string database = "db") {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {std::move(schema), std::move(table)};
  s->database = std::move(database);
  s->columns = std::move(columns);
  s->key = std::move(key);
  return s;
}

}  // namespace sluice::testing
