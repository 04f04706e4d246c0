// The type matrix's shared pieces: names and quoting per dialect, how each client prints a
// column, the documented lossless mappings (matrix_mappings.cc), and how the file and Kafka
// targets are read back as rows (matrix_sides.cc). The suite itself is matrix_test.cc.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration/common/itest.h"
#include "integration/matrix/matrix_catalogue.h"

namespace sluice::itest::matrix {

enum class Dialect { kPg, kMariadb };

inline std::string TableName(const Family& f) { return f.name == "odd_names" ? "Odd Table" : "t_" + f.name; }
inline std::string ColumnName(const Family& f, const TypeCase& c) {
  return f.name == "odd_names" ? c.label : "v_" + c.label;
}
inline std::string Quote(Dialect d, const std::string& name) {
  std::string q = d == Dialect::kPg ? "\"" : "`";
  std::string out = q;
  for (char ch : name) {
    out += ch;
    if (ch == q[0]) out += ch;
  }
  return out + q;
}
inline std::string RegexEscape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (std::string("\\.^$|()[]{}*+?").find(ch) != std::string::npos) out += '\\';
    out += ch;
  }
  return out;
}

// How each side's client prints a column of a given type so that equal values print alike.
std::string ReadExpr(Dialect d, const std::string& column, const std::string& data_type);

// A documented mapping: its README wording, and whether source text `s` (or `alt`, the source
// value as JSON for PostgreSQL, as hex bytes for MariaDB) and target text `t` are the same value
// under it, given both column types.
struct Texts {
  const std::string& s;
  const std::string& t;
  const SqlValue& alt;
  const std::string& src_type;
  const std::string& tgt_type;
  const std::string& src_full;  // with length/precision/scale: "numeric(12,2)"
};
struct Mapping {
  std::string how;
  std::function<bool(const Texts&)> same;
};

// One side of a pair: a database (and its PostgreSQL schema) read with the test clients.
struct Side {
  Dialect dialect;
  std::string db;       // database
  std::string schema;   // PostgreSQL schema of the tables (target of a MariaDB source: its db)
  SqlRows Query(const std::string& sql) const {
    if (dialect == Dialect::kPg) return PgClient(db).Query(sql);
    return MysqlClient(db).Query(sql);
  }
  std::string Table(const std::string& name) const {
    return dialect == Dialect::kPg ? Quote(dialect, schema) + "." + Quote(dialect, name)
                                   : Quote(dialect, name);
  }
  // column name -> data type (lowercase), of a table.
  std::map<std::string, std::string> Types(const std::string& table, bool full) const;
};

// The source connector configs the suite syncs from, and a leftover slot dropped.
nlohmann::json PgSourceConfig(const std::string& db, const std::string& slot);
nlohmann::json MariadbSourceConfig(const std::string& db);
void DropSlot(const std::string& slot);

// The documented mappings, in the order the README lists them.
const std::vector<Mapping>& Mappings();

// The envelopes of one table of a file or Kafka target, in order.
using EnvelopeSource = std::function<std::vector<std::string>(const std::string& schema,
                                                              const std::string& table)>;

// The JSON lines a file sink wrote for a table (sinks/file's percent-encoded names).
std::vector<std::string> FileLines(const std::string& dir, const std::string& schema,
                                   const std::string& table);
// The values of a table's topic under `prefix`, read with the test's Kafka consumer.
std::vector<std::string> TopicLines(const std::string& prefix, const std::string& schema,
                                    const std::string& table);

// The rows a sink's envelopes leave when replayed by key (the last `after` per id; a delete
// removes it), as text: strings as they are, other JSON values as JSON. Each row is the id
// followed by `columns`.
SqlRows EnvelopeRows(const std::vector<std::string>& lines, const std::vector<std::string>& columns);

// The catalogue row whose values row `id` holds (the stream phase copies and moves rows).
size_t SampleRow(size_t id);

}  // namespace sluice::itest::matrix
