#include "sinks/postgres/postgres_sql.h"

#include "sinks/postgres/pg_connection.h"

namespace sluice::sinks::pgsink {

namespace {

std::string Q(std::string_view name) { return sluice::pg::QuoteIdent(name); }

void AppendParam(std::string& out, size_t n) {
  out += '$';
  out += std::to_string(n);
}

bool IsKey(const core::TableSchema& schema, uint32_t column) {
  for (uint32_t k : schema.key) {
    if (k == column) return true;
  }
  return false;
}

// "a = $n AND b = $n+1" over the key columns, numbering from `first`.
void AppendKeyMatch(std::string& out, const core::TableSchema& schema, size_t first) {
  for (size_t i = 0; i < schema.key.size(); ++i) {
    if (i > 0) out += " AND ";
    out += Q(schema.columns[schema.key[i]].name);
    out += " = ";
    AppendParam(out, first + i);
  }
}

// Equality that also matches NULLs; json has no equality operator, compare it as jsonb.
// Columns of the logical types that hold types without an equality operator (point, box,
// polygon, xml, arrays of them: kString, kUnknown, kArray) compare their text instead, the
// parameter read as the column's type and printed again, so both sides are the same type's
// output in the same session: `"p"::text IS NOT DISTINCT FROM ($1::point)::text`.
void AppendRowMatch(std::string& out, const core::TableSchema& schema,
                    const std::vector<uint32_t>& columns, size_t first,
                    const std::vector<std::string>& types) {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out += " AND ";
    const core::Column& c = schema.columns[columns[i]];
    bool json = c.type == core::LogicalType::kJson;
    bool as_text = !json && columns[i] < types.size() && !types[columns[i]].empty() &&
                   (c.type == core::LogicalType::kString || c.type == core::LogicalType::kUnknown ||
                    c.type == core::LogicalType::kArray);
    out += Q(c.name);
    if (json) out += "::jsonb";
    if (as_text) out += "::text";
    out += " IS NOT DISTINCT FROM ";
    if (as_text) out += "(";
    AppendParam(out, first + i);
    if (json) out += "::jsonb";
    if (as_text) out += "::" + types[columns[i]] + ")::text";
  }
}

void AppendUpdateSet(std::string& out, const core::TableSchema& schema,
                     const std::vector<uint32_t>& columns) {
  bool first = true;
  for (uint32_t c : columns) {
    if (IsKey(schema, c)) continue;
    if (!first) out += ", ";
    first = false;
    out += Q(schema.columns[c].name);
    out += " = EXCLUDED.";
    out += Q(schema.columns[c].name);
  }
}

bool HasNonKey(const core::TableSchema& schema, const std::vector<uint32_t>& columns) {
  for (uint32_t c : columns) {
    if (!IsKey(schema, c)) return true;
  }
  return false;
}

// The upsert tail shared by the row upsert and the staging upsert: with a key,
// ON CONFLICT (key) DO UPDATE SET every non-key column of `columns` (DO NOTHING when only key
// columns are listed); nothing for a keyless table.
void AppendOnConflict(std::string& sql, const core::TableSchema& schema,
                      const std::vector<uint32_t>& columns) {
  if (!schema.HasKey()) return;
  sql += " ON CONFLICT (" + KeyColumns(schema) + ") DO ";
  if (!HasNonKey(schema, columns)) {
    sql += "NOTHING";
    return;
  }
  sql += "UPDATE SET ";
  AppendUpdateSet(sql, schema, columns);
}


std::string Replace(std::string text, std::string_view from, std::string_view to) {
  size_t at = 0;
  while ((at = text.find(from, at)) != std::string::npos) {
    text.replace(at, from.size(), to);
    at += to.size();
  }
  return text;
}

}  // namespace

std::string TargetName::Qualified() const { return Q(schema) + "." + Q(table); }

TargetName ResolveTargetName(std::string_view format, const core::TableId& id) {
  if (format.empty()) return {id.schema, id.table};
  // Split the format (not the substituted text) so that a dot inside a source name never
  // changes the target schema.
  std::string f(format);
  size_t dot = f.find('.');
  if (dot == std::string::npos) {
    return {id.schema, Replace(Replace(f, "${schema}", id.schema), "${table}", id.table)};
  }
  std::string schema_part = f.substr(0, dot);
  std::string table_part = f.substr(dot + 1);
  return {Replace(Replace(schema_part, "${schema}", id.schema), "${table}", id.table),
          Replace(Replace(table_part, "${schema}", id.schema), "${table}", id.table)};
}

std::string ColumnList(const core::TableSchema& schema, const std::vector<uint32_t>& columns) {
  std::string out;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out += ", ";
    out += Q(schema.columns[columns[i]].name);
  }
  return out;
}

std::string KeyColumns(const core::TableSchema& schema) {
  return ColumnList(schema, std::vector<uint32_t>(schema.key.begin(), schema.key.end()));
}

std::string CreateTableSql(const TargetName& target, const core::TableSchema& schema,
                           const std::vector<std::string>& types, bool with_key) {
  std::string sql = "CREATE TABLE IF NOT EXISTS " + target.Qualified() + " (";
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += Q(schema.columns[i].name);
    sql += ' ';
    sql += types[i];
    if (!schema.columns[i].nullable) sql += " NOT NULL";
  }
  for (const core::GeneratedColumn& g : schema.generated) {
    sql += ", " + GeneratedColumnDefinition(g);
  }
  if (schema.HasKey() && with_key) {
    sql += ", PRIMARY KEY (" + KeyColumns(schema) + ")";
  }
  sql += ")";
  return sql;
}

std::string GeneratedColumnDefinition(const core::GeneratedColumn& column) {
  return Q(column.name) + " " + column.source_type + " GENERATED ALWAYS AS (" + column.expression +
         ") STORED";
}

std::string AlterColumnTypeSql(const TargetName& target, const std::string& column,
                               const std::string& type) {
  return "ALTER TABLE " + target.Qualified() + " ALTER COLUMN " + Q(column) + " TYPE " + type +
         " USING " + Q(column) + "::" + type;
}

std::string ReplacePrimaryKeySql(const TargetName& target, const core::TableSchema& schema,
                                 const std::string& old_constraint) {
  std::string sql = "ALTER TABLE " + target.Qualified();
  if (!old_constraint.empty()) sql += " DROP CONSTRAINT " + Q(old_constraint) + ",";
  return sql + " ADD PRIMARY KEY (" + KeyColumns(schema) + ")";
}

std::string UpsertSql(const TargetName& target, const core::TableSchema& schema,
                      const std::vector<uint32_t>& columns, size_t rows) {
  std::string sql = "INSERT INTO " + target.Qualified() + " (" + ColumnList(schema, columns) +
                    ") VALUES ";
  for (size_t r = 0; r < rows; ++r) {
    sql += r > 0 ? ", (" : "(";
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i > 0) sql += ", ";
      AppendParam(sql, r * columns.size() + i + 1);
    }
    sql += ")";
  }
  AppendOnConflict(sql, schema, columns);
  return sql;
}

std::string UpdateByKeySql(const TargetName& target, const core::TableSchema& schema,
                           const std::vector<uint32_t>& set_columns) {
  std::string sql = "UPDATE " + target.Qualified() + " SET ";
  for (size_t i = 0; i < set_columns.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += Q(schema.columns[set_columns[i]].name);
    sql += " = ";
    AppendParam(sql, i + 1);
  }
  sql += " WHERE ";
  AppendKeyMatch(sql, schema, set_columns.size() + 1);
  return sql;
}

std::string DeleteByKeySql(const TargetName& target, const core::TableSchema& schema,
                           size_t rows) {
  std::string sql = "DELETE FROM " + target.Qualified() + " WHERE ";
  if (rows <= 1) {
    AppendKeyMatch(sql, schema, 1);
    return sql;
  }
  size_t n = schema.key.size();
  sql += n == 1 ? "" : "(";
  sql += KeyColumns(schema);
  sql += n == 1 ? " IN (" : ") IN (";
  for (size_t r = 0; r < rows; ++r) {
    if (r > 0) sql += ", ";
    if (n > 1) sql += "(";
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) sql += ", ";
      AppendParam(sql, r * n + i + 1);
    }
    if (n > 1) sql += ")";
  }
  sql += ")";
  return sql;
}

std::string DeleteOneRowSql(const TargetName& target, const core::TableSchema& schema,
                            const std::vector<uint32_t>& match_columns,
                            const std::vector<std::string>& types) {
  std::string q = target.Qualified();
  std::string sql = "DELETE FROM " + q + " WHERE ctid = (SELECT ctid FROM " + q + " WHERE ";
  AppendRowMatch(sql, schema, match_columns, 1, types);
  sql += " LIMIT 1)";
  return sql;
}

std::string UpdateOneRowSql(const TargetName& target, const core::TableSchema& schema,
                            const std::vector<uint32_t>& match_columns,
                            const std::vector<uint32_t>& set_columns,
                            const std::vector<std::string>& types) {
  std::string q = target.Qualified();
  std::string sql = "UPDATE " + q + " SET ";
  for (size_t i = 0; i < set_columns.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += Q(schema.columns[set_columns[i]].name);
    sql += " = ";
    AppendParam(sql, match_columns.size() + i + 1);
  }
  sql += " WHERE ctid = (SELECT ctid FROM " + q + " WHERE ";
  AppendRowMatch(sql, schema, match_columns, 1, types);
  sql += " LIMIT 1)";
  return sql;
}

std::string CopySql(const std::string& qualified_table, const core::TableSchema& schema,
                    const std::vector<uint32_t>& columns) {
  return "COPY " + qualified_table + " (" + ColumnList(schema, columns) + ") FROM STDIN";
}

std::string CreateStageSql(const std::string& stage, const TargetName& target,
                           const core::TableSchema& schema, const std::vector<uint32_t>& columns) {
  return "CREATE TEMPORARY TABLE " + Q(stage) + " ON COMMIT DROP AS SELECT " +
         ColumnList(schema, columns) + " FROM " + target.Qualified() + " WITH NO DATA";
}

std::string UpsertFromStageSql(const std::string& stage, const TargetName& target,
                               const core::TableSchema& schema,
                               const std::vector<uint32_t>& columns) {
  std::string cols = ColumnList(schema, columns);
  std::string sql = "INSERT INTO " + target.Qualified() + " (" + cols + ") SELECT " + cols +
                    " FROM " + Q(stage);
  AppendOnConflict(sql, schema, columns);
  return sql;
}

std::string CreateOffsetsTableSql(const TargetName& offsets) {
  return "CREATE TABLE IF NOT EXISTS " + offsets.Qualified() +
         " (connector text PRIMARY KEY, position text NOT NULL, "
         "updated_at timestamptz NOT NULL DEFAULT now())";
}

std::string SaveOffsetSql(const TargetName& offsets) {
  return "INSERT INTO " + offsets.Qualified() +
         " (connector, position, updated_at) VALUES ($1, $2, now()) ON CONFLICT (connector) DO "
         "UPDATE SET position = EXCLUDED.position, updated_at = EXCLUDED.updated_at";
}

std::string LoadOffsetSql(const TargetName& offsets) {
  return "SELECT position FROM " + offsets.Qualified() + " WHERE connector = $1";
}

}  // namespace sluice::sinks::pgsink
