#include "sinks/mysql/mysql_sql.h"

#include <algorithm>

namespace sluice::sinks::mysql_sink {

const char* IdentifierProblem(std::string_view name) {
  if (name.empty()) return "is empty";
  size_t characters = 0;
  for (unsigned char c : name) {
    if (c == 0) return "contains a NUL character";
    if (c >= 0xF0) return "has characters outside the Basic Multilingual Plane (such as emoji), "
                          "which MySQL and MariaDB identifiers (utf8mb3) cannot hold";
    if ((c & 0xC0) != 0x80) ++characters;  // not a continuation byte: a new character
  }
  if (characters > 64) return "is longer than the 64 characters MySQL allows";
  if (name.back() == ' ') return "ends with a space, which MySQL does not allow";
  return nullptr;
}

std::string QuoteString(std::string_view text, const StringEscaper& escaper) {
  std::string out;
  escaper.AppendQuoted(out, text);
  return out;
}

std::string TargetTableName(std::string_view format, const core::TableId& id) {
  if (format.empty()) return id.table;
  std::string out;
  while (!format.empty()) {
    if (format.substr(0, 9) == "${schema}") {
      out += id.schema;
      format.remove_prefix(9);
    } else if (format.substr(0, 8) == "${table}") {
      out += id.table;
      format.remove_prefix(8);
    } else {
      out += format.front();
      format.remove_prefix(1);
    }
  }
  return out;
}

namespace {

bool IsKey(const core::TableSchema& schema, size_t column) {
  return std::find(schema.key.begin(), schema.key.end(), column) != schema.key.end();
}

}  // namespace

int KeyChars(const core::TableSchema& schema, const TypeOptions& options) {
  int fixed = 0;
  int weight = 0;
  for (uint32_t k : schema.key) {
    if (k >= schema.columns.size()) continue;
    const core::Column& c = schema.columns[k];
    int bytes = FixedKeyBytes(c, options);
    if (bytes > 0) {
      fixed += bytes;
    } else {
      weight += c.type == core::LogicalType::kBytes ? 1 : 4;
    }
  }
  if (weight == 0) return 255;
  return std::max(16, (kMaxKeyBytes - fixed) / weight);
}

std::string ColumnDefinition(const core::TableSchema& schema, size_t column,
                             const TypeOptions& options, bool force_nullable) {
  const core::Column& c = schema.columns[column];
  bool key = IsKey(schema, column);
  std::string out;
  AppendQuotedIdentifier(out, c.name);
  out += ' ';
  out += MysqlColumnType(c, key, KeyChars(schema, options), options);
  out += (c.nullable && !key) || force_nullable ? " NULL" : " NOT NULL";
  return out;
}

std::string CreateTableSql(std::string_view database, std::string_view table,
                           const core::TableSchema& schema, const TypeOptions& options,
                           std::string_view collation) {
  std::string out = "CREATE TABLE IF NOT EXISTS ";
  AppendQuotedIdentifier(out, database);
  out += '.';
  AppendQuotedIdentifier(out, table);
  out += " (";
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    if (i > 0) out += ", ";
    out += ColumnDefinition(schema, i, options);
  }
  if (schema.HasKey()) {
    out += ", PRIMARY KEY (";
    for (size_t i = 0; i < schema.key.size(); ++i) {
      if (i > 0) out += ',';
      AppendQuotedIdentifier(out, schema.columns[schema.key[i]].name);
    }
    out += ')';
  }
  out += ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=";
  out += collation;
  return out;
}

std::string ModifyColumnSql(std::string_view qualified, const core::TableSchema& schema,
                            size_t column, const TypeOptions& options) {
  std::string sql = "ALTER TABLE ";
  sql += qualified;
  return sql + " MODIFY COLUMN " + ColumnDefinition(schema, column, options);
}

std::string ReplacePrimaryKeySql(std::string_view qualified, const core::TableSchema& schema,
                                 const TypeOptions& options, bool had_key) {
  // The key's columns are redefined as key columns (NOT NULL; unbounded text gets the key's
  // character length) in the same statement.
  std::string sql = "ALTER TABLE ";
  sql += qualified;
  if (had_key) sql += " DROP PRIMARY KEY,";
  for (uint32_t k : schema.key) sql += " MODIFY COLUMN " + ColumnDefinition(schema, k, options) + ",";
  sql += " ADD PRIMARY KEY (";
  for (size_t i = 0; i < schema.key.size(); ++i) {
    if (i > 0) sql += ", ";
    AppendQuotedIdentifier(sql, schema.columns[schema.key[i]].name);
  }
  return sql + ")";
}

TablePlan BuildTablePlan(core::TableSchemaPtr schema, std::string_view database,
                         std::string_view table, const TypeOptions& options) {
  TablePlan plan;
  AppendQuotedIdentifier(plan.qualified, database);
  plan.qualified += '.';
  AppendQuotedIdentifier(plan.qualified, table);
  plan.insert_prefix = "INSERT INTO " + plan.qualified + " (";
  for (size_t i = 0; i < schema->columns.size(); ++i) {
    const core::Column& c = schema->columns[i];
    plan.kinds.push_back(LiteralKindFor(c, options));
    plan.quoted.push_back(QuoteIdentifier(c.name));
    if (i > 0) plan.insert_prefix += ',';
    plan.insert_prefix += plan.quoted.back();
  }
  plan.insert_prefix += ") VALUES ";
  if (schema->HasKey()) {
    plan.upsert_suffix = " ON DUPLICATE KEY UPDATE ";
    bool any = false;
    for (size_t i = 0; i < schema->columns.size(); ++i) {
      if (IsKey(*schema, i)) continue;
      if (any) plan.upsert_suffix += ',';
      plan.upsert_suffix += plan.quoted[i] + "=VALUES(" + plan.quoted[i] + ")";
      any = true;
    }
    if (!any) {  // every column is in the key: a duplicate changes nothing
      const std::string& k = plan.quoted[schema->key[0]];
      plan.upsert_suffix += k + "=" + k;
    }
  }
  // Session sql_mode has NO_BACKSLASH_ESCAPES: '\' is one backslash, and the terminators are
  // the TAB and LF bytes themselves.
  std::string columns;
  std::string sets;
  bool exact = true;
  for (size_t i = 0; i < schema->columns.size(); ++i) {
    exact = exact && LoadDataStoresExactly(schema->columns[i], plan.kinds[i]);
    if (i > 0) columns += ',';
    if (plan.kinds[i] == LiteralKind::kBytes) {
      std::string var = "@c" + std::to_string(i);
      columns += var;
      sets += (sets.empty() ? " SET " : ",") + plan.quoted[i] + "=UNHEX(" + var + ")";
    } else {
      columns += plan.quoted[i];
    }
  }
  if (exact) {
    plan.load_statement = "LOAD DATA LOCAL INFILE '" + std::string(kLoadDataFile) +
                          "' INTO TABLE " + plan.qualified +
                          " CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\t' ESCAPED BY '\\' "
                          "LINES TERMINATED BY '\n' (" + columns + ")" + sets;
  }
  plan.schema = std::move(schema);
  return plan;
}

namespace {

ValueError AppendCell(std::string& out, const TablePlan& plan, const core::RowView& row,
                      uint32_t i, const StringEscaper& escaper) {
  if (!row.is_present(i)) {
    out += "NULL";
    return {};
  }
  return {i, AppendLiteral(out, plan.kinds[i], row.text(i), escaper)};
}

}  // namespace

ValueError AppendRowValues(std::string& out, const TablePlan& plan, const core::RowView& row,
                           const StringEscaper& escaper) {
  out += '(';
  uint32_t n = std::min<uint32_t>(row.size(), static_cast<uint32_t>(plan.kinds.size()));
  for (uint32_t i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    ValueError e = AppendCell(out, plan, row, i, escaper);
    if (!e.ok()) return e;
  }
  // A row shorter than the schema (should not happen): the rest is NULL.
  for (uint32_t i = n; i < plan.kinds.size(); ++i) out += ",NULL";
  out += ')';
  return {};
}

ValueError AppendLoadRow(std::string& out, const TablePlan& plan, const core::RowView& row) {
  uint32_t n = std::min<uint32_t>(row.size(), static_cast<uint32_t>(plan.kinds.size()));
  for (uint32_t i = 0; i < plan.kinds.size(); ++i) {
    if (i > 0) out += '\t';
    if (i >= n || !row.is_present(i)) {
      out += "\\N";
      continue;
    }
    if (const char* why = AppendLoadField(out, plan.kinds[i], row.text(i))) return {i, why};
  }
  out += '\n';
  return {};
}

ValueError AppendKeyPredicate(std::string& out, const TablePlan& plan, const core::RowView& row,
                              const StringEscaper& escaper) {
  const core::TableSchema& schema = *plan.schema;
  bool first = true;
  auto add = [&](uint32_t i) -> ValueError {
    if (i >= row.size() || row.is_unchanged(i)) return {};
    if (!first) out += " AND ";
    first = false;
    out += plan.quoted[i];
    out += "<=>";
    return AppendCell(out, plan, row, i, escaper);
  };
  if (schema.HasKey()) {
    for (uint32_t k : schema.key) {
      ValueError e = add(k);
      if (!e.ok()) return e;
    }
  } else {
    for (uint32_t i = 0; i < plan.kinds.size(); ++i) {
      // Floating-point and LOB columns make poor equality keys but a full image is all we have.
      ValueError e = add(i);
      if (!e.ok()) return e;
    }
  }
  if (first) out += "FALSE";
  return {};
}

ValueError BuildUpdateStatement(std::string& out, const TablePlan& plan, const core::RowView& row,
                                const core::RowView& key_row, bool set_key,
                                const StringEscaper& escaper) {
  out.clear();
  out = "UPDATE " + plan.qualified + " SET ";
  bool any = false;
  for (uint32_t i = 0; i < row.size() && i < plan.kinds.size(); ++i) {
    if (row.is_unchanged(i)) continue;
    if (!set_key && plan.schema->HasKey() && IsKey(*plan.schema, i)) continue;
    if (any) out += ',';
    any = true;
    out += plan.quoted[i];
    out += '=';
    ValueError e = AppendCell(out, plan, row, i, escaper);
    if (!e.ok()) return e;
  }
  if (!any) {
    out.clear();
    return {};
  }
  out += " WHERE ";
  ValueError e = AppendKeyPredicate(out, plan, key_row, escaper);
  if (!e.ok()) return e;
  if (!plan.schema->HasKey()) out += " LIMIT 1";
  return {};
}

std::string DescribeKey(const core::TableSchema& schema, const core::RowView& row) {
  std::string out;
  auto describe = [&](uint32_t i) {
    if (i >= row.size() || i >= schema.columns.size()) return;
    if (!out.empty()) out += ", ";
    out += schema.columns[i].name;
    out += '=';
    if (row.is_null(i)) {
      out += "NULL";
    } else if (row.is_unchanged(i)) {
      out += "(unchanged)";
    } else {
      std::string_view v = row.text(i);
      if (schema.columns[i].type == core::LogicalType::kBytes) {
        out += "(" + std::to_string(v.size()) + " bytes)";
      } else {
        // A message, not SQL: quoted for reading.
        out += '\'';
        out.append(v.substr(0, 64));
        out += '\'';
        if (v.size() > 64) out += "...";
      }
    }
  };
  if (schema.HasKey()) {
    for (uint32_t k : schema.key) describe(k);
  } else {
    for (uint32_t i = 0; i < schema.columns.size() && i < 4; ++i) describe(i);
  }
  return out;
}

}  // namespace sluice::sinks::mysql_sink
