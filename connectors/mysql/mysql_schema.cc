#include "connectors/mysql/mysql_schema.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <optional>

#include "core/parse_number.h"
#include "core/text_codec.h"

namespace sluice::mysql {
namespace {

bool IsSystemDatabase(const std::string& db) {
  return db == "mysql" || db == "information_schema" || db == "performance_schema" ||
         db == "sys";
}

constexpr const char* kExecutableComment = "\x02/*!";

// Tokenizer for DDL heads: words, `quoted` and "quoted" identifiers, dots; skips comments.
std::vector<std::string> Tokens(std::string_view sql, size_t max_tokens) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < sql.size() && out.size() < max_tokens) {
    char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      // "/*! ... */" and "/*M! ... */" are executable comments: the server runs their text
      // (depending on its version), so they are not comments to skip. The marker token makes
      // ClassifyDdl treat the statement as one it cannot parse.
      if ((i + 2 < sql.size() && sql[i + 2] == '!') ||
          (i + 3 < sql.size() && sql[i + 2] == 'M' && sql[i + 3] == '!')) {
        out.emplace_back(kExecutableComment);
        return out;
      }
      size_t end = sql.find("*/", i + 2);
      i = end == std::string_view::npos ? sql.size() : end + 2;
    } else if ((c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') || c == '#') {
      size_t end = sql.find('\n', i);
      i = end == std::string_view::npos ? sql.size() : end + 1;
    } else if (c == '`' || c == '"') {
      std::string id = "\x01";  // marks a quoted identifier (never a keyword)
      ++i;
      while (i < sql.size()) {
        if (sql[i] == c) {
          if (i + 1 < sql.size() && sql[i + 1] == c) {
            id.push_back(c);
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        id.push_back(sql[i++]);
      }
      out.push_back(std::move(id));
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$') {
      size_t start = i;
      while (i < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[i])) || sql[i] == '_' ||
                                sql[i] == '$')) {
        ++i;
      }
      out.emplace_back(sql.substr(start, i - start));
    } else {
      out.emplace_back(1, c);
      ++i;
    }
  }
  return out;
}

std::string Ident(const std::string& token) {
  return !token.empty() && token[0] == '\x01' ? token.substr(1) : token;
}

// Reads [db.]name at tokens[k]; advances k.
bool ReadTableName(const std::vector<std::string>& t, size_t& k, std::string_view default_db,
                   core::TableId& id) {
  if (k >= t.size()) return false;
  std::string first = Ident(t[k++]);
  if (k + 1 < t.size() && t[k] == ".") {
    id.schema = first;
    id.table = Ident(t[k + 1]);
    k += 2;
  } else {
    id.schema = std::string(default_db);
    id.table = first;
  }
  return !id.table.empty();
}

}  // namespace

core::Result<CaptureFilter> CaptureFilter::FromConfig(const core::ConnectorConfig& config) {
  CaptureFilter f;
  SLUICE_ASSIGN_OR_RETURN(f.db_include_, core::CompileRegexList(config, "database.include.list"));
  SLUICE_ASSIGN_OR_RETURN(f.db_exclude_, core::CompileRegexList(config, "database.exclude.list"));
  SLUICE_ASSIGN_OR_RETURN(f.tables_, core::TableFilter::FromConfig(config));
  return f;
}

bool CaptureFilter::IncludesDatabase(const std::string& db) const {
  if (IsSystemDatabase(db)) return false;
  if (!db_include_.empty() && !core::AnyFullMatch(db_include_, db)) return false;
  return !core::AnyFullMatch(db_exclude_, db);
}

bool CaptureFilter::IncludesTable(const core::TableId& id) const {
  return IncludesDatabase(id.schema) && tables_.IncludesTable(id);
}

core::Result<std::vector<core::TableId>> SchemaLoader::ListTables() {
  SLUICE_ASSIGN_OR_RETURN(auto rows, conn_->Query(
      "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
      "WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME"));
  std::vector<core::TableId> out;
  for (const auto& r : rows) {
    core::TableId id{r[0].value_or(""), r[1].value_or("")};
    if (filter_->IncludesTable(id)) out.push_back(std::move(id));
  }
  return out;
}

core::Result<LoadedTable> SchemaLoader::Load(const core::TableId& id, uint64_t version) {
  std::string where = "TABLE_SCHEMA = " + conn_->Quote(id.schema) +
                      " AND TABLE_NAME = " + conn_->Quote(id.table);
  SLUICE_ASSIGN_OR_RETURN(auto cols, conn_->Query(
      "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, CHARACTER_SET_NAME, "
      "CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, "
      "ORDINAL_POSITION, EXTRA, COLUMN_DEFAULT, COLUMN_COMMENT, COLLATION_NAME "
      "FROM information_schema.COLUMNS WHERE " + where + " ORDER BY ORDINAL_POSITION"));
  if (cols.empty()) return core::NotFoundError("table " + id.ToString() + " not found");
  // The table's default character set and comment (schema-change records only; one row).
  SLUICE_ASSIGN_OR_RETURN(auto table_rows, conn_->Query(
      "SELECT c.CHARACTER_SET_NAME, t.TABLE_COMMENT FROM information_schema.TABLES t "
      "LEFT JOIN information_schema.COLLATIONS c ON c.COLLATION_NAME = t.TABLE_COLLATION "
      "WHERE t.TABLE_SCHEMA = " + conn_->Quote(id.schema) +
      " AND t.TABLE_NAME = " + conn_->Quote(id.table)));
  SLUICE_ASSIGN_OR_RETURN(auto keys, conn_->Query(
      "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE " + where +
      " AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX"));
  // MariaDB's JSON is LONGTEXT with a json_valid() check; find those columns.
  std::vector<ResultRow> checks;
  if (conn_->is_mariadb()) {
    auto res = conn_->Query(
        "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = " +
        conn_->Quote(id.schema) + " AND TABLE_NAME = " + conn_->Quote(id.table));
    if (res.ok()) checks = std::move(*res);
  }
  auto to_int = [](const std::optional<std::string>& v) -> int64_t {
    if (!v) return 0;
    auto n = core::ParseNumber<int64_t>(*v, "mysql information_schema number");
    return n.ok() ? *n : 0;
  };
  LoadedTable out;
  auto schema = std::make_shared<core::TableSchema>();
  schema->id = id;
  schema->database = id.schema;
  schema->version = version;
  std::vector<int> emitted_index(cols.size(), -1);
  for (size_t i = 0; i < cols.size(); ++i) {
    const auto& r = cols[i];
    InformationSchemaColumn c;
    c.name = r[0].value_or("");
    c.data_type = r[1].value_or("");
    c.column_type = r[2].value_or("");
    c.nullable = r[3].value_or("YES") == "YES";
    c.charset = r[4].value_or("");
    c.char_max_length = to_int(r[5]);
    c.numeric_precision = to_int(r[6]);
    c.numeric_scale = to_int(r[7]);
    c.datetime_precision = to_int(r[8]);
    c.position = static_cast<int32_t>(to_int(r[9]));
    c.extra = r[10].value_or("");
    c.column_default = r[11];
    c.comment = r[12].value_or("");
    c.collation = r[13].value_or("");
    if (c.data_type == "longtext") {
      for (const auto& chk : checks) {
        if (chk[0] && IsJsonValidCheck(*chk[0], c.name)) c.is_json = true;
      }
    }
    core::Column col = MapColumn(c);
    SchemaColumnInfo info;
    info.charset = CharsetKindFromName(c.charset);
    bool excluded = !filter_->tables().IncludesColumn(id, c.name);
    if (info.charset == CharsetKind::kOther) {
      auto converter = ConverterForCharset(c.charset);
      if (converter.ok()) {
        info.converter = *converter;
      } else if (!excluded) {
        return converter.status().WithContext("column " + id.ToString() + "." + c.name);
      }
    }
    info.is_unsigned = col.is_unsigned;
    info.bit_as_bool = col.type == core::LogicalType::kBool;
    info.text_form = FixedBinaryTextOf(c.data_type);
    info.labels = col.enum_values;
    if (!excluded) {
      emitted_index[i] = static_cast<int>(schema->columns.size());
      schema->columns.push_back(std::move(col));
    }
    out.columns.push_back(std::move(c));
    out.info.push_back(std::move(info));
    out.excluded.push_back(excluded);
  }
  for (const auto& k : keys) {
    const std::string name = k[0].value_or("");
    int idx = schema->FindColumn(name);
    if (idx < 0) {
      // A key column left out by the column filters: a partial key would merge rows.
      return core::InvalidArgumentError(core::ExcludedKeyColumnMessage(
          id, name, filter_->tables().ColumnExcludedBy(id, name)));
    }
    schema->key.push_back(static_cast<uint32_t>(idx));
  }
  out.schema = std::move(schema);
  if (!table_rows.empty()) {
    out.table_charset = table_rows[0][0].value_or("");
    out.table_comment = table_rows[0][1].value_or("");
  }
  return out;
}

int32_t JdbcTypeOf(std::string_view t) {
  // java.sql.Types, as Debezium's MySQL DDL parser maps the types.
  if (t == "bit") return -7;
  if (t == "tinyint" || t == "smallint") return 5;
  if (t == "mediumint" || t == "int" || t == "integer" || t == "year") return 4;
  if (t == "bigint") return -5;
  if (t == "float") return 6;
  if (t == "double" || t == "double precision") return 8;
  if (t == "real") return 7;
  if (t == "decimal") return 3;
  if (t == "numeric") return 2;
  if (t == "bool" || t == "boolean") return 16;
  if (t == "char" || t == "enum" || t == "set") return 1;
  if (t == "varchar" || t == "tinytext" || t == "text" || t == "mediumtext" ||
      t == "longtext") {
    return 12;
  }
  if (t == "binary") return -2;
  if (t == "varbinary") return -3;
  if (t == "tinyblob" || t == "blob" || t == "mediumblob" || t == "longblob") return 2004;
  if (t == "date") return 91;
  if (t == "time") return 92;
  if (t == "datetime") return 93;
  if (t == "timestamp") return 2014;  // TIMESTAMP_WITH_TIMEZONE
  return 1111;                        // OTHER: json, geometry, uuid, inet6, ...
}

namespace {

std::string UpperAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// The default as Debezium's defaultValueExpression holds it: MariaDB quotes string defaults
// ('abc', quotes inside doubled) and shows NULL as the word NULL; MySQL shows the bare value.
void SetDefault(core::SchemaChangeColumn& out, const std::optional<std::string>& shown) {
  if (!shown) return;
  out.has_default_value = true;
  const std::string& d = *shown;
  if (d == "NULL") return;
  if (d.size() >= 2 && d.front() == '\'' && d.back() == '\'') {
    std::string v;
    for (size_t i = 1; i + 1 < d.size(); ++i) {
      v += d[i];
      if (d[i] == '\'' && i + 2 < d.size() && d[i + 1] == '\'') ++i;
    }
    out.default_value_expression = std::move(v);
    return;
  }
  out.default_value_expression = d;
}

}  // namespace

core::SchemaChangeTable TableChangeFromLoaded(const LoadedTable& table,
                                              core::SchemaChangeTable::Type type,
                                              bool include_comments) {
  core::SchemaChangeTable out;
  out.type = type;
  out.id = table.schema->id;
  out.has_table = true;
  if (!table.table_charset.empty()) out.default_charset_name = table.table_charset;
  for (uint32_t k : table.schema->key) {
    out.primary_key_column_names.push_back(table.schema->columns[k].name);
  }
  for (size_t i = 0; i < table.columns.size(); ++i) {
    if (i < table.excluded.size() && table.excluded[i]) continue;
    const InformationSchemaColumn& c = table.columns[i];
    core::SchemaChangeColumn col;
    col.name = c.name;
    std::string_view ct = c.column_type;
    const size_t base_end = std::min(ct.find('('), ct.find(' '));
    std::string base = UpperAscii(ct.substr(0, base_end));
    const bool labels = c.data_type == "enum" || c.data_type == "set";
    size_t rest = base_end == std::string_view::npos ? ct.size() : base_end;
    if (rest < ct.size() && ct[rest] == '(') {
      const size_t close = labels ? ct.rfind(')') : ct.find(')', rest);
      if (!labels && close != std::string_view::npos) {
        std::string_view args = ct.substr(rest + 1, close - rest - 1);
        const size_t comma = args.find(',');
        auto number = [](std::string_view n) -> std::optional<int32_t> {
          int32_t v = 0;
          if (n.empty()) return std::nullopt;
          for (char ch : n) {
            if (ch < '0' || ch > '9' || v > 100000000) return std::nullopt;
            v = v * 10 + (ch - '0');
          }
          return v;
        };
        col.length = number(args.substr(0, comma));
        if (comma != std::string_view::npos) col.scale = number(args.substr(comma + 1));
      }
      rest = close == std::string_view::npos ? ct.size() : close + 1;
    }
    // " unsigned", " zerofill" after the type, as Debezium names them ("INT UNSIGNED").
    std::string_view tail = rest < ct.size() ? ct.substr(rest) : std::string_view{};
    std::string type_name = c.is_json ? std::string("JSON") : base;
    if (!c.is_json) {
      for (std::string_view word : {std::string_view(" unsigned"), std::string_view(" zerofill")}) {
        if (tail.find(word) != std::string_view::npos) type_name += UpperAscii(word);
      }
    }
    col.jdbc_type = c.is_json ? 1111 : JdbcTypeOf(c.data_type);
    col.type_name = type_name;
    col.type_expression = type_name;
    if (!c.charset.empty()) col.charset_name = c.charset;
    if (!col.length && (c.data_type == "char" || c.data_type == "varchar" ||
                        c.data_type == "binary" || c.data_type == "varbinary") &&
        c.char_max_length > 0) {
      col.length = static_cast<int32_t>(std::min<int64_t>(c.char_max_length, INT32_MAX));
    }
    col.position = c.position > 0 ? c.position : static_cast<int32_t>(i + 1);
    col.optional = c.nullable;
    const std::string extra = UpperAscii(c.extra);
    col.auto_incremented = extra.find("AUTO_INCREMENT") != std::string::npos;
    col.generated = col.auto_incremented || extra.find("GENERATED") != std::string::npos;
    if (include_comments && !c.comment.empty()) col.comment = c.comment;
    SetDefault(col, c.column_default);
    if (labels) col.enum_values = ParseEnumLabels(c.column_type);
    out.columns.push_back(std::move(col));
  }
  if (include_comments && !table.table_comment.empty()) out.comment = table.table_comment;
  return out;
}

bool IsJsonValidCheck(std::string_view check_clause, std::string_view column) {
  auto t = Tokens(check_clause, 4096);
  for (size_t i = 0; i + 3 < t.size(); ++i) {
    if (t[i][0] == '\x01' || core::AsciiUpper(t[i]) != "JSON_VALID" || t[i + 1] != "(") continue;
    if (Ident(t[i + 2]) == column && t[i + 3] == ")") return true;
  }
  return false;
}

DdlInfo ClassifyDdl(std::string_view sql, std::string_view default_db) {
  DdlInfo info;
  // Enough tokens for a long ALTER TABLE whose RENAME TO comes last; DDL is rare.
  auto t = Tokens(sql, 4096);
  if (t.empty()) return info;
  if (std::find(t.begin(), t.end(), kExecutableComment) != t.end()) {
    info.kind = DdlInfo::Kind::kOther;
    return info;
  }
  std::string head = core::AsciiUpper(t[0]);
  if (head == "BEGIN" || head == "COMMIT" || head == "XA" || head == "SAVEPOINT" ||
      head == "ROLLBACK" || head == "INSERT" || head == "UPDATE" || head == "DELETE" ||
      head == "REPLACE" || head == "SET") {
    return info;
  }
  size_t k = 1;
  auto skip_words = [&](std::initializer_list<const char*> words) {
    while (k < t.size()) {
      std::string w = core::AsciiUpper(t[k]);
      bool hit = false;
      for (const char* x : words) hit = hit || w == x;
      if (!hit) break;
      ++k;
    }
  };
  core::TableId id;
  if (head == "TRUNCATE") {
    skip_words({"TABLE"});
    if (ReadTableName(t, k, default_db, id)) {
      info.kind = DdlInfo::Kind::kTruncate;
      info.tables.push_back(id);
      return info;
    }
  } else if (head == "ALTER" || head == "CREATE" || head == "DROP") {
    skip_words({"ONLINE", "OFFLINE", "IGNORE", "OR", "REPLACE", "TEMPORARY"});
    if (k < t.size() && core::AsciiUpper(t[k]) == "TABLE") {
      ++k;
      const size_t before_if = k;
      skip_words({"IF", "NOT", "EXISTS"});
      info.if_not_exists = head == "CREATE" && k > before_if;
      info.kind = head == "ALTER" ? DdlInfo::Kind::kAlter
                  : head == "CREATE" ? DdlInfo::Kind::kCreate
                                     : DdlInfo::Kind::kDrop;
      while (ReadTableName(t, k, default_db, id)) {
        info.tables.push_back(id);
        if (head != "DROP" || k >= t.size() || t[k] != ",") break;
        ++k;
      }
      if (head == "ALTER") {
        // ALTER TABLE a RENAME [TO|AS] b: the new name is affected as well. RENAME COLUMN,
        // RENAME INDEX and RENAME KEY rename something inside the table, not the table.
        for (size_t j = k; j + 1 < t.size(); ++j) {
          if (t[j][0] == '\x01' || core::AsciiUpper(t[j]) != "RENAME") continue;
          size_t m = j + 1;
          std::string what = core::AsciiUpper(t[m]);
          if (what == "COLUMN" || what == "INDEX" || what == "KEY") continue;
          if (what == "TO" || what == "AS") ++m;
          if (ReadTableName(t, m, default_db, id)) info.tables.push_back(id);
          break;
        }
      }
      if (!info.tables.empty()) return info;
    }
  } else if (head == "RENAME") {
    skip_words({"TABLE"});
    info.kind = DdlInfo::Kind::kRename;
    while (ReadTableName(t, k, default_db, id)) {
      info.tables.push_back(id);
      if (k < t.size() && core::AsciiUpper(t[k]) == "TO") {
        ++k;
        continue;
      }
      if (k < t.size() && t[k] == ",") {
        ++k;
        continue;
      }
      break;
    }
    if (!info.tables.empty()) return info;
  }
  info.kind = DdlInfo::Kind::kOther;
  info.tables.clear();
  return info;
}

}  // namespace sluice::mysql
