// Debezium's column.propagate.source.type and datatype.propagate.source.type: which columns'
// Kafka Connect schemas carry the source type as the parameters
//   __debezium.source.column.type   the type name, upper case ("VARCHAR", "INT4", "BIGINT UNSIGNED")
//   __debezium.source.column.length its declared length (numeric: precision), when it has one
//   __debezium.source.column.scale  a numeric's scale
// Both keys are comma-separated lists of regular expressions, matched as Debezium's column
// mappers match them (io.debezium.util.Predicates.includes): against the whole name, without
// regard to case.
//   column.propagate.source.type    "<schema>.<table>.<column>" (MySQL "<database>.<table>.<column>")
//   datatype.propagate.source.type  "<schema>.<table>.<type name>" (MySQL "<database>.<table>.<type
//                                   name>"), e.g. ".+\.NUMERIC" or "inventory\.orders\.VARCHAR"
// Type names are Debezium's: PostgreSQL's own names (pg_type.typname: int4, varchar, bpchar,
// timestamptz, _int4 for int4[]; a user type without its schema), MySQL's as its DDL spells them
// (INT, VARCHAR, BIGINT UNSIGNED, DECIMAL). Without either key no column gets the parameters,
// as in Debezium.
//
// The decision is made per column when a sink builds a table's schema block (once per table
// schema), never per row.
//
// Thread-safety: immutable after FromConfig; copies share the compiled patterns.
#pragma once

#include <string>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "core/user_regex.h"

namespace sluice::core {

class ConnectorConfig;

class SourceTypePropagation {
 public:
  SourceTypePropagation() = default;
  // The two keys of `config` (absent: nothing propagated); kInvalidArgument naming the key for a
  // pattern RE2 refuses. `mysql`: the source is MySQL/MariaDB (its type names).
  static Result<SourceTypePropagation> FromConfig(const ConnectorConfig& config, bool mysql);
  // For tests and callers that build one by hand; same errors.
  static Result<SourceTypePropagation> FromLists(std::string_view columns,
                                                 std::string_view datatypes, bool mysql);

  bool empty() const { return columns_.empty() && datatypes_.empty(); }
  // The __debezium.source.column.type value of `column` of `schema` when a pattern matches it,
  // else "" (no parameters).
  std::string TypeParameterFor(const TableSchema& schema, const Column& column) const;

 private:
  bool mysql_ = false;
  std::vector<UserRegex> columns_;
  std::vector<UserRegex> datatypes_;
};

// Debezium's type name of `column` (see above), upper case; "" when the column has no source
// type text.
std::string DebeziumSourceTypeName(const Column& column, bool mysql);

}  // namespace sluice::core
