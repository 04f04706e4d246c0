// What the SQL engines' verification sides share (connectors/postgres/verify_side.h,
// connectors/mysql/verify_side.h): the tables described so far, the key range's WHERE clause,
// the select list, and the count, key-bounds and digest queries with their results. Each engine
// supplies its identifier quoting, a text query, how it loads a table and its digest's hash sum;
// it reads rows itself (ReadRows), each with its own client library.
//
// Thread-safety: as VerifySide (one thread at a time).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/parse_number.h"
#include "core/verify.h"

namespace sluice::core {

// A text query's result: rows of optional values (nullopt = NULL).
using TextRows = std::vector<std::vector<std::optional<std::string>>>;

// `Table` is an engine's described table, with a `TableSchemaPtr schema` member.
template <class Table>
class SqlVerifySide : public VerifySide {
 public:
  Result<TableSchemaPtr> Describe(const TableId& table) final {
    if (const Table* t = Find(table)) return t->schema;
    SLUICE_ASSIGN_OR_RETURN(Table loaded, Load(table));
    TableSchemaPtr schema = loaded.schema;
    tables_.insert_or_assign(table, std::move(loaded));
    return schema;
  }

  Result<std::optional<std::pair<int64_t, int64_t>>> KeyBounds(const TableId& table,
                                                                uint32_t key) final {
    SLUICE_ASSIGN_OR_RETURN(const Table* t, Described(table));
    const std::string col = Quote(t->schema->columns[key].name);
    SLUICE_ASSIGN_OR_RETURN(TextRows rows, QueryText("SELECT min(" + col + "), max(" + col +
                                                     ") FROM " + Qualified(table)));
    if (rows.empty() || !rows[0][0] || !rows[0][1]) {
      return std::optional<std::pair<int64_t, int64_t>>();
    }
    // An unsigned BIGINT above INT64_MAX cannot be planned as a signed range.
    auto lo = ParseNumber<int64_t>(*rows[0][0], "min(key)");
    auto hi = ParseNumber<int64_t>(*rows[0][1], "max(key)");
    if (!lo.ok() || !hi.ok()) {
      return FailedPreconditionError(engine() + " verify of " + table.ToString() +
                                     ": key values beyond the signed 64-bit range");
    }
    return std::optional<std::pair<int64_t, int64_t>>(std::make_pair(*lo, *hi));
  }

  Result<uint64_t> CountRows(const TableId& table, uint32_t key, const KeyRange& range) final {
    SLUICE_ASSIGN_OR_RETURN(const Table* t, Described(table));
    SLUICE_ASSIGN_OR_RETURN(TextRows rows, QueryText("SELECT count(*) FROM " + Qualified(table) +
                                                     Where(*t, key, range)));
    return ParseNumber<uint64_t>(rows.at(0).at(0).value_or("0"), "count(*)");
  }

  // count(*) and the engine's HashSum over the range, computed by the server.
  Result<std::optional<RangeDigest>> Digest(const TableId& table,
                                            const std::vector<uint32_t>& columns, uint32_t key,
                                            const KeyRange& range) final {
    SLUICE_ASSIGN_OR_RETURN(const Table* t, Described(table));
    SLUICE_ASSIGN_OR_RETURN(TextRows rows,
                            QueryText("SELECT count(*), " + HashSum(*t, columns) + " FROM " +
                                      Qualified(table) + Where(*t, key, range)));
    RangeDigest digest;
    SLUICE_ASSIGN_OR_RETURN(digest.rows,
                            ParseNumber<uint64_t>(rows.at(0).at(0).value_or("0"), "count(*)"));
    digest.hash = rows.at(0).at(1).value_or("");
    return std::optional<RangeDigest>(std::move(digest));
  }

 protected:
  // The engine's quoted identifier.
  virtual std::string Quote(std::string_view name) const = 0;
  // Runs `sql` and returns its rows as text; errors as the engine's client layer classifies them.
  virtual Result<TextRows> QueryText(const std::string& sql) = 0;
  // Describes `table` from the server; kNotFound naming it when it does not exist.
  virtual Result<Table> Load(const TableId& table) = 0;
  // An aggregate over the range's rows of `columns` (NULL told apart from every value) whose
  // result text is equal on both sides when the rows are.
  virtual std::string HashSum(const Table& t, const std::vector<uint32_t>& columns) const = 0;
  // How ReadRows selects column `c` (its quoted name unless the engine converts it).
  virtual std::string ReadColumn(const Column& c) const { return Quote(c.name); }

  const Table* Find(const TableId& table) const {
    auto it = tables_.find(table);
    return it == tables_.end() ? nullptr : &it->second;
  }
  // Find, or kInternal when the table was not described first.
  Result<const Table*> Described(const TableId& table) const {
    const Table* t = Find(table);
    if (t == nullptr) return InternalError("verify: " + table.ToString() + " not described");
    return t;
  }
  std::string Qualified(const TableId& table) const {
    return Quote(table.schema) + "." + Quote(table.table);
  }
  std::string Where(const Table& t, uint32_t key, const KeyRange& range) const {
    if (range.whole) return "";
    return " WHERE " + Quote(t.schema->columns[key].name) + " BETWEEN " +
           std::to_string(range.lo) + " AND " + std::to_string(range.hi);
  }
  // ReadRows' statement: `columns` (ReadColumn each; 1 when none) of the range.
  std::string SelectRows(const TableId& table, const Table& t,
                         const std::vector<uint32_t>& columns, uint32_t key,
                         const KeyRange& range) const {
    std::string select = "SELECT ";
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i > 0) select += ", ";
      select += ReadColumn(t.schema->columns[columns[i]]);
    }
    if (columns.empty()) select += "1";
    return select + " FROM " + Qualified(table) + Where(t, key, range);
  }

 private:
  std::map<TableId, Table> tables_;
};

}  // namespace sluice::core
