#include "connectors/mysql/mysql_schema.h"

#include <algorithm>
#include <cctype>

#include "core/parse_number.h"

namespace sluice::mysql {
namespace {

bool IsSystemDatabase(const std::string& db) {
  return db == "mysql" || db == "information_schema" || db == "performance_schema" ||
         db == "sys";
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
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
      "CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION "
      "FROM information_schema.COLUMNS WHERE " + where + " ORDER BY ORDINAL_POSITION"));
  if (cols.empty()) return core::NotFoundError("table " + id.ToString() + " not found");
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
  return out;
}

bool IsJsonValidCheck(std::string_view check_clause, std::string_view column) {
  auto t = Tokens(check_clause, 4096);
  for (size_t i = 0; i + 3 < t.size(); ++i) {
    if (t[i][0] == '\x01' || Upper(t[i]) != "JSON_VALID" || t[i + 1] != "(") continue;
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
  std::string head = Upper(t[0]);
  if (head == "BEGIN" || head == "COMMIT" || head == "XA" || head == "SAVEPOINT" ||
      head == "ROLLBACK" || head == "INSERT" || head == "UPDATE" || head == "DELETE" ||
      head == "REPLACE" || head == "SET") {
    return info;
  }
  size_t k = 1;
  auto skip_words = [&](std::initializer_list<const char*> words) {
    while (k < t.size()) {
      std::string w = Upper(t[k]);
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
    if (k < t.size() && Upper(t[k]) == "TABLE") {
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
          if (t[j][0] == '\x01' || Upper(t[j]) != "RENAME") continue;
          size_t m = j + 1;
          std::string what = Upper(t[m]);
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
      if (k < t.size() && Upper(t[k]) == "TO") {
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
