#include "core/envelope_source_type.h"

#include <cctype>
#include <string_view>
#include <utility>

#include "core/config.h"
#include "core/text_codec.h"

namespace sluice::core {
namespace {

constexpr std::string_view kColumnsKey = "column.propagate.source.type";
constexpr std::string_view kDatatypesKey = "datatype.propagate.source.type";

// `text` without its parenthesised parts (type modifiers, enum labels; quotes respected), blanks
// collapsed to one space and trimmed: "timestamp(3) without time zone" -> "timestamp without
// time zone", "bigint(20) unsigned" -> "bigint unsigned".
std::string WithoutModifiers(std::string_view text) {
  std::string out;
  int depth = 0;
  char quote = 0;
  for (char c : text) {
    if (quote) {
      if (c == quote) quote = 0;
      if (depth == 0) out += c;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      if (depth == 0) out += c;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (depth > 0) --depth;
    } else if (depth == 0) {
      if (std::isspace(static_cast<unsigned char>(c))) {
        if (!out.empty() && out.back() != ' ') out += ' ';
      } else {
        out += c;
      }
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// The last part of a possibly schema-qualified, possibly quoted PostgreSQL type name:
// public.hstore -> hstore, "My Schema"."MyType" -> MyType.
std::string UnqualifiedPgName(std::string_view name) {
  size_t start = 0;
  bool in_quotes = false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '"') in_quotes = !in_quotes;
    if (name[i] == '.' && !in_quotes) start = i + 1;
  }
  std::string_view last = name.substr(start);
  if (last.size() >= 2 && last.front() == '"' && last.back() == '"') {
    std::string out;
    for (size_t i = 1; i + 1 < last.size(); ++i) {
      out += last[i];
      if (last[i] == '"' && i + 2 < last.size() && last[i + 1] == '"') ++i;  // "" -> "
    }
    return out;
  }
  return std::string(last);
}

// format_type()'s SQL-standard spellings -> pg_type.typname, as PostgreSQL's JDBC driver (and so
// Debezium) names them.
std::string_view PgTypname(std::string_view sql_name) {
  static constexpr std::pair<std::string_view, std::string_view> kNames[] = {
      {"smallint", "int2"},
      {"integer", "int4"},
      {"bigint", "int8"},
      {"real", "float4"},
      {"double precision", "float8"},
      {"boolean", "bool"},
      {"character varying", "varchar"},
      {"character", "bpchar"},
      {"timestamp without time zone", "timestamp"},
      {"timestamp with time zone", "timestamptz"},
      {"time without time zone", "time"},
      {"time with time zone", "timetz"},
      {"bit varying", "varbit"},
  };
  for (const auto& [sql, typname] : kNames) {
    if (sql_name == sql) return typname;
  }
  return sql_name;
}

}  // namespace

std::string DebeziumSourceTypeName(const Column& column, bool mysql) {
  if (column.source_type.empty()) return "";
  if (mysql) {
    std::string name = AsciiUpper(WithoutModifiers(column.source_type));
    if (column.is_unsigned && name.find("UNSIGNED") == std::string::npos) name += " UNSIGNED";
    return name;
  }
  std::string_view text = column.source_type;
  bool array = false;
  while (text.ends_with("[]")) {
    text.remove_suffix(2);
    array = true;
  }
  std::string base = WithoutModifiers(text);
  std::string name(PgTypname(base));
  if (name == base) name = UnqualifiedPgName(base);
  return AsciiUpper(array ? "_" + name : name);
}

Result<SourceTypePropagation> SourceTypePropagation::FromLists(std::string_view columns,
                                                               std::string_view datatypes,
                                                               bool mysql) {
  SourceTypePropagation out;
  out.mysql_ = mysql;
  SLUICE_ASSIGN_OR_RETURN(out.columns_,
                          CompileRegexList(kColumnsKey, columns, RegexCase::kInsensitive));
  SLUICE_ASSIGN_OR_RETURN(out.datatypes_,
                          CompileRegexList(kDatatypesKey, datatypes, RegexCase::kInsensitive));
  return out;
}

Result<SourceTypePropagation> SourceTypePropagation::FromConfig(const ConnectorConfig& config,
                                                                bool mysql) {
  return FromLists(config.Get(kColumnsKey), config.Get(kDatatypesKey), mysql);
}

std::string SourceTypePropagation::TypeParameterFor(const TableSchema& schema,
                                                    const Column& column) const {
  if (empty() || column.source_type.empty()) return "";
  std::string type = DebeziumSourceTypeName(column, mysql_);
  const std::string table = schema.id.ToString() + ".";
  if (AnyFullMatch(columns_, table + column.name) || AnyFullMatch(datatypes_, table + type)) {
    return type;
  }
  return "";
}

}  // namespace sluice::core
