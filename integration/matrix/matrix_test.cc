// The type matrix (issue #22): every type of the catalogue (matrix_catalogue.cc) through each
// source -> database sink pair as a one-shot `sluice sync`, compared value by value with the
// servers' own clients. Every cell is `exact` (the target prints the source's text), `mapped`
// (equal after one of the documented lossless mappings below) or `refused` (the sync stopped
// with a message naming the table and the column; the column is then excluded and the sync
// repeated). Anything else fails the suite naming pair, type, value, expected and got.
//
// The README's mapping tables are generated from the outcomes: the suite writes them to
// type_matrix.md in its working directory, and fails when README.md's block between the
// type-matrix markers differs (SLUICE_MATRIX_WRITE_README=1 rewrites the block instead).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "integration/common/itest.h"
#include "integration/matrix/matrix_catalogue.h"

namespace sluice::itest::matrix {
namespace {

using namespace std::chrono_literals;

enum class Dialect { kPg, kMariadb };

std::string TableName(const Family& f) { return f.name == "odd_names" ? "Odd Table" : "t_" + f.name; }
std::string ColumnName(const Family& f, const TypeCase& c) {
  return f.name == "odd_names" ? c.label : "v_" + c.label;
}
std::string Quote(Dialect d, const std::string& name) {
  std::string q = d == Dialect::kPg ? "\"" : "`";
  std::string out = q;
  for (char ch : name) {
    out += ch;
    if (ch == q[0]) out += ch;
  }
  return out + q;
}
std::string RegexEscape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (std::string("\\.^$|()[]{}*+?").find(ch) != std::string::npos) out += '\\';
    out += ch;
  }
  return out;
}

// How each side's client prints a column of a given type so that equal values print alike.
std::string ReadExpr(Dialect d, const std::string& column, const std::string& data_type) {
  if (d == Dialect::kPg) {
    if (data_type == "bytea") return "upper(encode(" + column + ", 'hex'))";
    // inet's text cast always shows the netmask; its output function, as clients print it.
    if (data_type == "inet" || data_type == "cidr") return "NULLIF(format('%s', " + column + "), '')";
    return column + "::text";
  }
  if (data_type.find("binary") != std::string::npos || data_type.find("blob") != std::string::npos)
    return "HEX(" + column + ")";
  if (data_type == "bit") return "BIN(" + column + ")";
  if (data_type == "float") return "CAST(" + column + " AS DOUBLE)";
  if (data_type == "point" || data_type == "geometry" || data_type == "linestring")
    return "ST_AsText(" + column + ")";
  return column;
}

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

// One value computed by the test PostgreSQL (nullopt on an error), the suite's calculator for
// the encodings it checks.
SqlValue PgEval(const std::string& sql) {
  if (sql.find(';') != std::string::npos) return std::nullopt;
  SqlResult r = PgClient("postgres").TryQuery(sql);
  if (!r.ok || r.rows.size() != 1 || r.rows[0].size() != 1) return std::nullopt;
  return r.rows[0][0];
}

std::string StripFraction(std::string v) {
  // "12:00:00.500000" and "12:00:00.5" are the same time.
  size_t dot = v.find('.');
  if (dot == std::string::npos) return v;
  size_t end = dot + 1;
  while (end < v.size() && isdigit(static_cast<unsigned char>(v[end]))) ++end;
  size_t last = end;
  while (last > dot + 1 && v[last - 1] == '0') --last;
  if (last == dot + 1) last = dot;
  return v.substr(0, last) + v.substr(end);
}
bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

bool IsBase64(const std::string& t) {
  return std::all_of(t.begin(), t.end(), [](char c) {
    return isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=';
  });
}

// Whether the base64 big-endian two's complement integer `b64`, scaled by 10^-scale, is the
// decimal `value`: PostgreSQL computes it.
bool PgUnscaledEquals(const std::string& b64, int scale, const std::string& value,
                      const std::string& cast = "::numeric") {
  if (!IsBase64(b64) || b64.empty()) return false;
  std::string unscaled =
      "(SELECT COALESCE(sum(get_byte(b, i)::numeric * 256::numeric ^ (length(b) - 1 - i)), 0) - "
      "CASE WHEN get_byte(b, 0) >= 128 THEN 256::numeric ^ length(b) ELSE 0 END "
      "FROM (SELECT decode('" + b64 + "', 'base64') AS b) q, generate_series(0, length(b) - 1) i "
      "GROUP BY b)";
  return PgEval("SELECT (" + unscaled + " = '" + value + "'" + cast + "::numeric * 10::numeric ^ " +
                std::to_string(scale) + ")::text") == "true";
}

const std::vector<Mapping>& Mappings() {
  static const std::vector<Mapping> mappings = {
      {"fraction digits padded", [](const Texts& x) {
         return StripFraction(x.s) == StripFraction(x.t);
       }},
      {"boolean as 1/0", [](const Texts& x) {
         return ((x.s == "true" || x.s == "t") && x.t == "1") ||
                ((x.s == "false" || x.s == "f") && x.t == "0");
       }},
      {"BIT(1) as boolean", [](const Texts& x) {
         return x.src_type == "bit" && ((x.s == "1" && x.t == "true") || (x.s == "0" && x.t == "false"));
       }},
      {"BIT(n) as big-endian bytes", [](const Texts& x) {
         if (x.src_type != "bit" || x.tgt_type != "bytea") return false;
         unsigned long long v = std::stoull(x.s, nullptr, 2);
         char hex[17];
         std::snprintf(hex, sizeof hex, "%016llX", v);
         return std::string(hex).substr(16 - x.t.size()) == x.t;
       }},
      {"exponent spelled e+NN", [](const Texts& x) {
         auto norm = [](std::string v) {
           size_t e = v.find("e+");
           if (e != std::string::npos) v.erase(e + 1, 1);
           return v;
         };
         return norm(x.s) == norm(x.t);
       }},
      {"the same float32", [](const Texts& x) {
         if (!(Contains(x.src_type, "real") || Contains(x.src_type, "float") ||
               Contains(x.tgt_type, "real") || Contains(x.tgt_type, "float")))
           return false;
         return std::strtof(x.s.c_str(), nullptr) == std::strtof(x.t.c_str(), nullptr) &&
                std::signbit(std::strtof(x.s.c_str(), nullptr)) == std::signbit(std::strtof(x.t.c_str(), nullptr));
       }},
      {"the same double", [](const Texts& x) {
         if (!Contains(x.src_type, "double")) return false;
         double a = std::strtod(x.s.c_str(), nullptr), b = std::strtod(x.t.c_str(), nullptr);
         return a == b && std::signbit(a) == std::signbit(b);
       }},
      {"-0 stored as 0 (MariaDB has no -0)", [](const Texts& x) {
         return x.s == "-0" && x.t == "0" && (x.tgt_type == "float" || x.tgt_type == "double");
       }},
      {"char(n) padding kept", [](const Texts& x) {
         std::string t = x.t;
         while (!t.empty() && t.back() == ' ') t.pop_back();
         return x.src_type == "character" && t == x.s;
       }},
      {"UTC instant, offset dropped", [](const Texts& x) {
         return Contains(x.src_type, "with time zone") && x.s.size() > 3 &&
                x.s.substr(x.s.size() - 3) == "+00" &&
                StripFraction(x.s.substr(0, x.s.size() - 3)) == StripFraction(x.t);
       }},
      {"UTC instant as timestamptz", [](const Texts& x) {
         return x.src_type == "timestamp" && Contains(x.tgt_type, "with time zone") &&
                StripFraction(x.s) + "+00" == StripFraction(x.t);
       }},
      {"YEAR as smallint", [](const Texts& x) {
         return x.src_type == "year" && std::stoi(x.s) == std::stoi(x.t);
       }},
      {"ISO-8601 duration", [](const Texts& x) {
         if (x.src_type != "interval" || x.t.empty() || x.t[0] != 'P') return false;
         SqlResult r = PgClient("postgres").TryQuery("SELECT '" + x.t + "'::interval::text");
         return r.ok && r.rows.size() == 1 && r.rows[0][0] == x.s;
       }},
      {"array as JSON", [](const Texts& x) {
         return Contains(x.src_type, "[]") && x.alt &&
                nlohmann::json::parse(*x.alt)[0] == nlohmann::json::parse(x.t, nullptr, false);
       }},
      {"array as JSON of the elements' text", [](const Texts& x) {
         return Contains(x.src_type, "[]") && x.alt &&
                nlohmann::json::parse(*x.alt)[1] == nlohmann::json::parse(x.t, nullptr, false);
       }},
      {"array with lower bounds as {lower_bounds, values}", [](const Texts& x) {
         if (!Contains(x.src_type, "[]") || !x.alt) return false;
         auto t = nlohmann::json::parse(x.t, nullptr, false);
         return t.is_object() && t.contains("lower_bounds") && t.contains("values") &&
                t["values"] == nlohmann::json::parse(*x.alt)[0];
       }},
      // The file and Kafka sinks' envelope encodings (core/envelope.h), checked with PostgreSQL
      // as the calculator.
      {"JSON value", [](const Texts& x) {
         if (!x.alt || x.alt->empty() || ((*x.alt)[0] == '[' && !Contains(x.src_type, "[]"))) return false;
         auto a = nlohmann::json::parse(*x.alt, nullptr, false);
         if (a.is_array() && Contains(x.src_type, "[]")) a = a[0];
         return !a.is_discarded() && a == nlohmann::json::parse(x.t, nullptr, false);
       }},
      {"days since 1970-01-01", [](const Texts& x) {
         return x.src_type == "date" && PgEval("SELECT ('" + x.s + "'::date - DATE '1970-01-01')::text") == x.t;
       }},
      {"microseconds since the epoch", [](const Texts& x) {
         return (x.src_type == "timestamp without time zone" || x.src_type == "datetime") &&
                PgEval("SELECT (extract(epoch FROM '" + x.s + "'::timestamp) * 1000000)::numeric(40,0)::text") == x.t;
       }},
      {"microseconds of the day / duration", [](const Texts& x) {
         return (Contains(x.src_type, "time") && !Contains(x.src_type, "stamp") &&
                 !Contains(x.src_type, "with time zone")) &&
                PgEval("SELECT (extract(epoch FROM '" + x.s + "'::interval) * 1000000)::numeric(40,0)::text") == x.t;
       }},
      {"ISO-8601 instant in UTC", [](const Texts& x) {
         return (Contains(x.src_type, "with time zone") || x.src_type == "timestamp") && !x.t.empty() &&
                PgEval("SELECT '" + x.t + "'::timestamptz = '" + x.s +
                       (x.src_type == "timestamp" ? "+00" : "") + "'::timestamptz") == "t";
       }},
      {"infinity as Debezium's sentinel (days/µs ±2147483647/±9223372036825200000)", [](const Texts& x) {
         bool days = x.src_type == "date";
         if (x.s == "infinity") return x.t == (days ? "2147483647" : "9223372036825200000");
         if (x.s == "-infinity") return x.t == (days ? "-2147483647" : "-9223372036825200000");
         return false;
       }},
      // Debezium's value encodings (core/envelope_modes.h), defaults.
      {"Decimal: base64 unscaled two's complement, the column's scale", [](const Texts& x) {
         std::smatch m;
         static const std::regex scaled("\\((\\d+), *(-?\\d+)\\)");
         int scale = 0;
         if (std::regex_search(x.src_full, m, scaled)) {
           scale = std::stoi(m[2]);
         } else if (!Contains(x.src_full, "bigint") || !Contains(x.src_full, "unsigned")) {
           return false;
         }
         return PgUnscaledEquals(x.t, scale, x.s);
       }},
      {"money as Decimal, scale 2", [](const Texts& x) {
         return x.src_type == "money" && PgUnscaledEquals(x.t, 2, x.s, "::money");
       }},
      {"VariableScaleDecimal {scale, value}", [](const Texts& x) {
         auto j = nlohmann::json::parse(x.t, nullptr, false);
         if (!j.is_object() || !j.contains("scale") || !j.contains("value")) return false;
         return PgUnscaledEquals(j["value"].get<std::string>(), j["scale"].get<int>(), x.s);
       }},
      {"MicroDuration: µs, a month = 30.4375 days", [](const Texts& x) {
         if (x.src_type != "interval" || x.t.empty() || x.t[0] == 'P') return false;
         return PgEval("SELECT (((extract(year FROM i) * 12 + extract(month FROM i)) * 2629800 + "
                       "extract(day FROM i) * 86400 + extract(hour FROM i) * 3600 + "
                       "extract(minute FROM i) * 60 + extract(second FROM i)) * 1000000)"
                       "::numeric(40,0)::text FROM (SELECT '" + x.s + "'::interval AS i) q") == x.t;
       }},
      {"Bits: little-endian bytes, base64", [](const Texts& x) {
         if (x.src_type != "bit" && x.src_type != "bit varying") return false;
         if (!IsBase64(x.t)) return false;
         SqlValue hex = PgEval("SELECT encode(decode('" + x.t + "', 'base64'), 'hex')");
         if (!hex) return false;
         std::string bits;  // most significant first
         for (size_t i = hex->size(); i >= 2; i -= 2) {
           int byte = std::stoi(hex->substr(i - 2, 2), nullptr, 16);
           for (int b = 7; b >= 0; --b) bits += (byte >> b) & 1 ? '1' : '0';
         }
         auto strip = [](std::string v) {
           v.erase(0, std::min(v.find_first_not_of('0'), v.size()));
           return v.empty() ? std::string("0") : v;
         };
         return strip(bits) == strip(x.s);
       }},
      {"Point {x, y, wkb: little-endian WKB, srid: null}", [](const Texts& x) {
         if (x.src_type != "point") return false;
         auto j = nlohmann::json::parse(x.t, nullptr, false);
         if (!j.is_object() || !j.contains("x") || !j.contains("y") || !j.contains("wkb") ||
             !j["x"].is_number() || !j["y"].is_number() || !j["srid"].is_null()) {
           return false;
         }
         std::string px = nlohmann::json(j["x"]).dump(), py = nlohmann::json(j["y"]).dump();
         // PostgreSQL: the same point, and the WKB's doubles (float8send is big-endian).
         SqlValue r = PgEval("SELECT (point(" + px + ", " + py + ") ~= '" + x.s + "'::point)::text || ' ' || "
                             "encode(float8send(" + px + "), 'hex') || encode(float8send(" + py +
                             "), 'hex') || ' ' || encode(decode('" + j["wkb"].get<std::string>() +
                             "', 'base64'), 'hex')");
         if (!r || r->rfind("true ", 0) != 0) return false;
         std::string be = r->substr(5, 32), wkb = r->substr(38);
         auto le = [](const std::string& h) {
           std::string out;
           for (size_t i = h.size(); i >= 2; i -= 2) out += h.substr(i - 2, 2);
           return out;
         };
         return wkb == "0101000000" + le(be.substr(0, 16)) + le(be.substr(16, 16));
       }},
      {"Geometry {wkb, srid}", [](const Texts& x) {
         if (!x.alt) return false;
         auto j = nlohmann::json::parse(x.t, nullptr, false);
         if (!j.is_object() || !j.contains("wkb") || !j.contains("srid") || !j["srid"].is_number()) return false;
         // MariaDB's value is the SRID (4 bytes, little-endian), then the WKB.
         SqlValue hex = PgEval("SELECT upper(encode(int4send(" + std::to_string(j["srid"].get<int64_t>()) +
                               "), 'hex') || encode(decode('" + j["wkb"].get<std::string>() +
                               "', 'base64'), 'hex'))");
         if (!hex || hex->size() < 8) return false;
         std::string le = hex->substr(6, 2) + hex->substr(4, 2) + hex->substr(2, 2) + hex->substr(0, 2);
         return le + hex->substr(8) == *x.alt;
       }},
      {"BIT(n) as big-endian bytes, base64 (file sink)", [](const Texts& x) {
         if (x.src_type != "bit") return false;
         SqlValue hex = PgEval("SELECT upper(encode(decode('" + x.t + "', 'base64'), 'hex'))");
         if (!hex || hex->empty() || hex->size() > 16) return false;
         char want[17];
         std::snprintf(want, sizeof want, "%016llX", std::stoull(x.s, nullptr, 2));
         return std::string(want).substr(16 - hex->size()) == *hex;
       }},
      {"bytes as base64", [](const Texts& x) {
         return PgEval("SELECT upper(encode(decode('" + x.t + "', 'base64'), 'hex'))") == x.s ||
                (x.alt && PgEval("SELECT upper(encode(decode('" + x.t + "', 'base64'), 'hex'))") == *x.alt);
       }},
      {"geometry as MariaDB's bytes (SRID + WKB)", [](const Texts& x) {
         return (x.src_type == "point" || x.src_type == "geometry") && x.alt && *x.alt == x.t;
       }},
  };
  return mappings;
}

struct Cell {
  std::string pair, phase, source_type, sample, target_type, outcome;  // outcome: exact|mapped: ..|refused: ..
};

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
  std::map<std::string, std::string> Types(const std::string& table, bool full) const {
    std::map<std::string, std::string> out;
    std::string sql =
        dialect == Dialect::kPg
            ? "SELECT a.attname, " +
                  std::string(full ? "format_type(a.atttypid, a.atttypmod)"
                                   : "CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, NULL) ELSE "
                                     "format_type(a.atttypid, NULL) END") +
                  " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = '" +
                  Table(table) + "'::regclass AND a.attnum > 0 AND NOT a.attisdropped"
            : "SELECT COLUMN_NAME, " + std::string(full ? "COLUMN_TYPE" : "DATA_TYPE") +
                  " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '" +
                  table + "'";
    for (const SqlRow& r : Query(sql)) out[*r[0]] = *r[1];
    return out;
  }
};

// The file sink's name for a schema or table (sinks/file: percent-encoded).
std::string SafeName(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '_' || c == '-' || (c == '.' && !out.empty())) {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

std::vector<std::string> FileLines(const std::string& dir, const std::string& schema,
                                   const std::string& table) {
  std::string path = dir + "/" + SafeName(schema) + "." + SafeName(table) + ".jsonl";
  std::ifstream in(path);
  if (!in) throw HarnessError("no file " + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The Kafka sink's topic of a table: other characters than [a-zA-Z0-9._-] become '_'.
std::vector<std::string> TopicLines(const std::string& prefix, const std::string& schema,
                                    const std::string& table) {
  std::string topic = prefix + "." + schema + "." + table;
  for (char& c : topic) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  }
  std::vector<std::string> lines;
  for (const KafkaMessage& m : ConsumeTopic(topic)) {
    if (m.value) lines.push_back(*m.value);
  }
  return lines;
}

// The rows a file sink's JSON lines leave when replayed by key (the last `after` per id; a
// delete removes it), as text: strings as they are, other JSON values as JSON.
// `lines`: the envelopes of one table in order (per key).
using EnvelopeSource = std::function<std::vector<std::string>(const std::string& schema,
                                                              const std::string& table)>;

SqlRows EnvelopeRows(const std::vector<std::string>& lines, const std::vector<std::string>& columns) {
  const std::string path = "envelopes";
  std::map<long long, nlohmann::json> rows;
  for (std::string line : lines) {
    if (line.empty()) continue;
    // nlohmann reads the number -0 as the integer 0: keep it as the text it is.
    line = std::regex_replace(line, std::regex(":-0([,}])"), ":\"-0\"$1");
    auto e = nlohmann::json::parse(line);
    if (e.contains("payload")) e = e["payload"];
    if (!e["after"].is_null()) {
      nlohmann::json after = e["after"];
      long long id = after["id"].get<long long>();
      long long old_id = e["before"].is_null() ? id : e["before"]["id"].get<long long>();
      // A column the source did not send (unchanged TOAST) keeps the value it had.
      auto previous = rows.find(old_id);
      for (auto& [name, value] : after.items()) {
        if (value == "__debezium_unavailable_value" && previous != rows.end())
          value = previous->second[name];
      }
      if (old_id != id) rows.erase(old_id);
      rows[id] = after;
    } else if (!e["before"].is_null()) {
      rows.erase(e["before"]["id"].get<long long>());
    }
  }
  SqlRows out;
  for (const auto& [id, after] : rows) {
    SqlRow row{std::to_string(id)};
    for (const std::string& c : columns) {
      if (!after.contains(c)) throw HarnessError(path + ": no column " + c);
      const auto& v = after[c];
      if (v.is_null()) row.push_back(std::nullopt);
      else if (v.is_string()) row.push_back(v.get<std::string>());
      else row.push_back(v.dump());
    }
    out.push_back(row);
  }
  return out;
}

// The catalogue row whose values row `id` holds (StreamPhase copies and moves rows).
size_t SampleRow(size_t id) {
  if (id == 6001 || id == 1001) return 2;  // 1001 took row 2's values, then its key changed
  if (id == 1002) return 1;
  if (id >= 1000 && id < 2000) return id - 1000;
  if (id == 9999) return 0;  // the marker: NULLs
  return id;
}

class TypeMatrixTest : public ::testing::Test {
 public:
  // One pair: the sync (refusals excluded one by one), its comparison, then the stream phase
  // on a fresh target. `reset` re-creates the target and returns its sink.url ("" to keep the
  // config's); `target` is the database target as it is now (unused for envelope targets).
  static void RunPair(const std::string& pair, const std::vector<Family>& families,
                      const Side& src, const nlohmann::json& config,
                      const std::string& source_schema, const std::function<std::string()>& reset,
                      const std::function<Side()>& target, const EnvelopeSource& envelopes = nullptr,
                      bool key_change = true) {
    std::string excluded;
    auto refused = SyncWithRefusals(families, config, source_schema, reset, &excluded);
    Compare(pair, "sync", families, src, target(), refused, envelopes);
    std::string url = reset();
    StreamPhase(pair, families, src, config, excluded, url, target(), refused, envelopes,
                key_change);
  }

 protected:
  static std::vector<Cell>& Cells() {
    static std::vector<Cell> cells;
    return cells;
  }
  static std::set<std::string>& StreamPairs() {
    static std::set<std::string> pairs;
    return pairs;
  }
  static int& StreamCells() {
    static int n = 0;
    return n;
  }

  // Snapshot + stream: `sluice run` copies the family tables, then the source changes them:
  // every row inserted again (id + 1000), a whole-row update, single-column updates of rows
  // holding large (TOASTed) values, a key change and a delete. The target is compared with the
  // source once a marker row arrived; every value must get the outcome the sync gave it.
  static void StreamPhase(const std::string& pair, const std::vector<Family>& families,
                          const Side& src, nlohmann::json config, const std::string& excluded,
                          const std::string& url, const Side& tgt,
                          const std::map<std::pair<std::string, std::string>, std::string>& refused,
                          const EnvelopeSource& envelopes = nullptr, bool key_change = true) {
    if (!url.empty()) config["sink.url"] = url;
    if (!excluded.empty()) config["column.exclude.list"] = excluded;
    SluiceProcess sluice = SluiceProcess::Run(config);
    auto count = [](const Side& side, const std::string& table) {
      return side.Query("SELECT count(*) FROM " + side.Table(table))[0][0].value_or("");
    };
    std::string schema = src.dialect == Dialect::kPg ? "public" : src.db;
    auto target_rows = [&](const std::string& table) {
      if (envelopes) return EnvelopeRows(envelopes(schema, table), {});
      return tgt.Query("SELECT id FROM " + tgt.Table(table) + " ORDER BY id");
    };
    for (const Family& f : families) {
      std::string want = count(src, TableName(f));
      WaitUntil(
          [&] {
            if (!sluice.IsRunning()) throw HarnessError("sluice exited:\n" + sluice.LogTail());
            try {
              return std::to_string(target_rows(TableName(f)).size()) == want;
            } catch (const HarnessError&) {
              return false;  // table not created yet
            }
          },
          90s, pair + ": snapshot of " + TableName(f), 100ms);
    }
    for (const Family& f : families) {
      std::string t = src.Table(TableName(f));
      std::vector<std::string> cols;
      for (const TypeCase& c : f.cases) {
        if (!refused.count({TableName(f), ColumnName(f, c)}))
          cols.push_back(Quote(src.dialect, ColumnName(f, c)));
      }
      std::string list, from_b;
      for (const std::string& c : cols) {
        list += ", " + c;
        from_b += std::string(from_b.empty() ? "" : ", ") + "a." + c + " = b." + c;
      }
      std::string sql = "INSERT INTO " + t + " (id" + list + ") SELECT id + 1000" + list +
                        " FROM " + t + " WHERE id < 1000;";
      // Whole row: 1001 takes row 2's values (and 1002 row 1's).
      for (auto [to, from] : {std::pair{1001, 2}, std::pair{1002, 1}}) {
        if (src.dialect == Dialect::kPg) {
          std::string set, sel;
          for (const std::string& c : cols) {
            set += std::string(set.empty() ? "" : ", ") + c;
            sel += std::string(sel.empty() ? "" : ", ") + "b." + c;
          }
          sql += "UPDATE " + t + " a SET (" + set + ") = (SELECT " + sel + " FROM " + t +
                 " b WHERE b.id = " + std::to_string(from) + ") WHERE a.id = " +
                 std::to_string(to) + ";";
        } else {
          sql += "UPDATE " + t + " a JOIN " + t + " b ON b.id = " + std::to_string(from) +
                 " SET " + from_b + " WHERE a.id = " + std::to_string(to) + ";";
        }
      }
      if (key_change) sql += "UPDATE " + t + " SET id = id + 5000 WHERE id = 1001;";
      sql += "UPDATE " + t + " SET " + cols[0] + " = " + cols[0] + " WHERE id >= 1003;";  // one column
      sql += "DELETE FROM " + t + " WHERE id = 1000;";
      src.Query(sql);
    }
    std::string last = src.Table(TableName(families.back()));
    src.Query("INSERT INTO " + last + " (id) VALUES (9999)");
    WaitUntil(
        [&] {
          if (!sluice.IsRunning()) throw HarnessError("sluice exited:\n" + sluice.LogTail());
          try {
            SqlRows rows = target_rows(TableName(families.back()));
            return !rows.empty() && rows.back()[0] == "9999";
          } catch (const HarnessError&) {
            return false;
          }
        },
        90s, pair + ": the stream's marker row", 100ms);
    sluice.Stop();
    Compare(pair, "stream", families, src, tgt, refused, envelopes);
  }

  // Creates the family tables of `families` in the source, one row per sample (and a row of
  // NULLs, id 0).
  static void CreateSource(const Side& src, const std::vector<Family>& families) {
    for (const Family& f : families) {
      std::string sql = f.setup;
      std::string cols = "id integer PRIMARY KEY";
      size_t rows = 0;
      for (const TypeCase& c : f.cases) {
        cols += ", " + Quote(src.dialect, ColumnName(f, c)) + " " + c.type;
        rows = std::max(rows, c.values.size());
      }
      sql += "CREATE TABLE " + Quote(src.dialect, TableName(f)) + " (" + cols + ");";
      sql += "INSERT INTO " + Quote(src.dialect, TableName(f)) + " (id) VALUES (0);";
      for (size_t r = 0; r < rows; ++r) {
        std::string names = "id", values = std::to_string(r + 1);
        for (const TypeCase& c : f.cases) {
          if (r >= c.values.size()) continue;
          names += ", " + Quote(src.dialect, ColumnName(f, c));
          values += ", " + c.values[r];
        }
        sql += "INSERT INTO " + Quote(src.dialect, TableName(f)) + " (" + names + ") VALUES (" +
               values + ");";
      }
      src.Query(sql);
    }
  }

  // Runs `sluice sync` until it succeeds, each refusal recorded and its column excluded.
  // `reset_target` re-creates the target for each attempt and returns its sink.url. Returns the refused (table, column) -> message.
  static std::map<std::pair<std::string, std::string>, std::string> SyncWithRefusals(
      const std::vector<Family>& families, const nlohmann::json& base,
      const std::string& source_schema, const std::function<std::string()>& reset_target,
      std::string* excluded_out) {
    std::map<std::pair<std::string, std::string>, std::string> refused;
    std::string& excluded = *excluded_out;
    for (int attempt = 0; attempt < 40; ++attempt) {
      std::string url = reset_target();  // may change `base` too (a Kafka pair's topic prefix)
      nlohmann::json config = base;
      if (!url.empty()) config["sink.url"] = url;
      if (!excluded.empty()) config["column.exclude.list"] = excluded;
      CommandResult r = SluiceProcess::RunToCompletion("sync", config, 120s);
      if (r.Success()) return refused;
      std::string text = r.out + "\n" + r.err;
      // The refusal must name the table and the column.
      const Family* family = nullptr;
      const TypeCase* which = nullptr;
      size_t best = 0;
      for (const Family& f : families) {
        if (text.find(TableName(f)) == std::string::npos) continue;
        for (const TypeCase& c : f.cases) {
          std::string col = ColumnName(f, c);
          if (refused.count({TableName(f), col})) continue;
          size_t at = text.find(col);
          // The longest name found, and not as a prefix of a longer name.
          while (at != std::string::npos && at + col.size() < text.size() &&
                 (isalnum(static_cast<unsigned char>(text[at + col.size()])) || text[at + col.size()] == '_'))
            at = text.find(col, at + 1);
          if (at != std::string::npos && col.size() > best) {
            best = col.size();
            family = &f;
            which = &c;
          }
        }
      }
      if (family == nullptr) {
        ADD_FAILURE() << "sync failed without naming a table and column of the matrix:\n" << text;
        return refused;
      }
      std::string col = ColumnName(*family, *which);
      std::istringstream lines(text);
      std::string line, message;
      while (std::getline(lines, line)) {
        if (line.find(col) != std::string::npos) message = line;
      }
      // The scratch databases' names vary from run to run.
      message = std::regex_replace(message, std::regex("mx_[a-z_]+_[0-9]+_[0-9]+_[0-9]+"), "DB");
      size_t from = message.find("sink: ");
      if (from != std::string::npos) message = message.substr(from);
      refused[{TableName(*family), col}] = message;
      if (!excluded.empty()) excluded += ",";
      excluded += RegexEscape(source_schema) + "\\." + RegexEscape(TableName(*family)) + "\\." +
                  RegexEscape(col);
    }
    ADD_FAILURE() << "too many refusals";
    return refused;
  }

  // Compares every cell of every family table, source against target.
  static void Compare(const std::string& pair, const std::string& phase,
                      const std::vector<Family>& families, const Side& src, const Side& tgt,
                      const std::map<std::pair<std::string, std::string>, std::string>& refused,
                      const EnvelopeSource& envelopes = nullptr) {
    for (const Family& f : families) {
      std::string table = TableName(f);
      auto src_types = src.Types(table, false), src_full = src.Types(table, true);
      std::map<std::string, std::string> tgt_types, tgt_full;
      if (!envelopes) {
        tgt_types = tgt.Types(table, false);
        tgt_full = tgt.Types(table, true);
      } else {
        for (const TypeCase& c : f.cases) tgt_types[ColumnName(f, c)] = tgt_full[ColumnName(f, c)] = "JSON";
      }
      std::string src_sql = "SELECT id", tgt_sql = "SELECT id", alt_sql = "SELECT id";
      std::vector<const TypeCase*> compared;
      for (const TypeCase& c : f.cases) {
        std::string col = ColumnName(f, c);
        auto ref = refused.find({table, col});
        if (ref != refused.end()) {
          if (phase == "sync") {
            for (const std::string& v : c.values)
              Cells().push_back({pair, phase, c.type, v, "-", "refused: " + ref->second});
          }
          continue;
        }
        if (!tgt_types.count(col)) {
          ADD_FAILURE() << pair << ": column " << table << "." << col << " missing in the target";
          continue;
        }
        compared.push_back(&c);
        src_sql += ", " + ReadExpr(src.dialect, Quote(src.dialect, col), src_types[col]);
        // The source value as JSON (PostgreSQL; arrays also as the JSON of their elements' text)
        // or as hex bytes (MariaDB), for the mappings.
        std::string q = Quote(src.dialect, col);
        if (src.dialect == Dialect::kMariadb) {
          alt_sql += ", HEX(" + q + ")";
        } else if (src_types[col].find("[]") != std::string::npos) {
          alt_sql += ", jsonb_build_array(to_jsonb(" + q + "), to_jsonb(" + q + "::text[]))::text";
        } else {
          alt_sql += ", to_jsonb(" + q + ")::text";
        }
        tgt_sql += ", " + ReadExpr(tgt.dialect, Quote(tgt.dialect, col), tgt_types[col]);
      }
      SqlRows s = src.Query(src_sql + " FROM " + src.Table(table) + " ORDER BY id");
      SqlRows a = src.Query(alt_sql + " FROM " + src.Table(table) + " ORDER BY id");
      SqlRows t;
      if (!envelopes) {
        t = tgt.Query(tgt_sql + " FROM " + tgt.Table(table) + " ORDER BY id");
      } else {
        std::vector<std::string> names;
        for (const TypeCase* c : compared) names.push_back(ColumnName(f, *c));
        t = EnvelopeRows(envelopes(src.dialect == Dialect::kPg ? "public" : src.db, table), names);
      }
      ASSERT_EQ(s.size(), t.size()) << pair << ": rows of " << table;
      for (size_t r = 0; r < s.size(); ++r) {
        ASSERT_EQ(s[r][0], t[r][0]) << pair << ": ids of " << table;
        for (size_t i = 0; i < compared.size(); ++i) {
          const TypeCase& c = *compared[i];
          std::string col = ColumnName(f, c);
          const SqlValue& sv = s[r][i + 1];
          const SqlValue& tv = t[r][i + 1];
          size_t row = SampleRow(std::stoul(*s[r][0]));
          bool listed = row >= 1 && row <= c.values.size();
          std::string sample = listed ? c.values[row - 1] : "NULL";
          std::string outcome;
          if (sv == tv) {
            outcome = "exact";
          } else if (sv) {
            std::string got = tv.value_or("");
            for (const Mapping& m : Mappings()) {
              if (tv && m.same(Texts{*sv, got, a[r][i + 1], src_types[col], tgt_types[col],
                                     src_full[col]})) {
                outcome = "mapped: " + m.how;
                break;
              }
            }
          }
          if (outcome.empty()) {
            ADD_FAILURE() << "silent difference: " << pair << " (" << phase << ") " << table << "."
                          << col << " type " << src_full[col] << " value " << sample
                          << ": expected " << sv.value_or("NULL") << ", got "
                          << tv.value_or("NULL") << " (target type " << tgt_full[col] << ")";
            outcome = "DIFFERENT";
          }
          if (!listed) continue;  // NULLs are checked, not listed
          Cell cell{pair, phase, src_full[col], sample, tgt_full[col], outcome};
          if (phase == "sync") {
            Cells().push_back(cell);
            continue;
          }
          // The stream phase must give each value the outcome the sync gave it.
          ++StreamCells();
          StreamPairs().insert(pair);
          auto same = std::find_if(Cells().begin(), Cells().end(), [&](const Cell& c) {
            return c.pair == pair && c.source_type == cell.source_type && c.sample == sample &&
                   c.outcome == outcome && c.target_type == cell.target_type;
          });
          EXPECT_NE(same, Cells().end()) << pair << " (" << phase << ") " << table << "." << col
                                         << " value " << sample << ": " << outcome
                                         << ", not the sync's outcome";
        }
      }
    }
  }
};

nlohmann::json PgSourceConfig(const std::string& db, const std::string& slot) {
  return {{"name", slot},
          {"connector.class", "postgres"},
          {"database.hostname", TestEnv::PgHost()},
          {"database.port", std::to_string(TestEnv::PgPort())},
          {"database.user", TestEnv::PgUser()},
          {"database.dbname", db},
          {"slot.name", slot},
          {"publication.name", "pub_" + slot},
          {"table.include.list", "public\\..*"},
          {"sink.batch.ms", "100"}};
}

nlohmann::json MariadbSourceConfig(const std::string& db) {
  return {{"name", "matrix_" + db},
          {"connector.class", "mysql"},
          {"database.hostname", TestEnv::MysqlHost()},
          {"database.port", std::to_string(TestEnv::MysqlPort())},
          {"database.user", kPasswordUser},
          {"database.password", kTestPassword},
          {"database.server.id", std::to_string(100000 + std::rand() % 1000000)},
          {"database.include.list", db},
          {"sink.batch.ms", "100"}};
}

void DropSlot(const std::string& slot) {
  PgClient("postgres").TryQuery(
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" +
      slot + "'");
}

std::string AllSetup(const std::vector<Family>& families) {
  std::string sql;
  for (const Family& f : families) sql += f.setup;
  return sql;
}

TEST_F(TypeMatrixTest, PostgresToPostgres) {
  std::string src_db = CreateScratchPgDatabase("mx_pp");
  std::string slot = UniqueName("slot_mx_pp");
  Side src{Dialect::kPg, src_db, "public"};
  CreateSource(src, PgFamilies());
  std::string tgt_db;
  nlohmann::json config = PgSourceConfig(src_db, slot);
  config["sink.type"] = "postgres";
  auto reset = [&] {
    DropSlot(slot);
    if (!tgt_db.empty()) PgClient("postgres").TryQuery("DROP DATABASE " + tgt_db + " WITH (FORCE)");
    tgt_db = CreateScratchPgDatabase("mx_pp_t");
    // A PostgreSQL target needs the source's user-defined types (else it refuses the column).
    PgClient(tgt_db).Exec(AllSetup(PgFamilies()));
    return PgClient(tgt_db).Url();
  };
  RunPair("PostgreSQL → PostgreSQL", PgFamilies(), src, config, "public", reset,
          [&] { return Side{Dialect::kPg, tgt_db, "public"}; });
  DropSlot(slot);
  PgClient("postgres").TryQuery("DROP DATABASE " + tgt_db + " WITH (FORCE)");
  PgClient("postgres").TryQuery("DROP DATABASE " + src_db + " WITH (FORCE)");
}

TEST_F(TypeMatrixTest, PostgresToMariadb) {
  std::string src_db = CreateScratchPgDatabase("mx_pm");
  std::string slot = UniqueName("slot_mx_pm");
  Side src{Dialect::kPg, src_db, "public"};
  CreateSource(src, PgFamilies());
  std::string tgt_db;
  nlohmann::json config = PgSourceConfig(src_db, slot);
  config["sink.type"] = "mysql";
  auto reset = [&] {
    DropSlot(slot);
    if (!tgt_db.empty()) MysqlClient().TryQuery("DROP DATABASE `" + tgt_db + "`");
    tgt_db = CreateScratchMysqlDatabase("mx_pm_t");
    return MysqlClient(tgt_db).Url();
  };
  RunPair("PostgreSQL → MariaDB", PgFamilies(), src, config, "public", reset,
          [&] { return Side{Dialect::kMariadb, tgt_db, ""}; });
  DropSlot(slot);
  MysqlClient().TryQuery("DROP DATABASE `" + tgt_db + "`");
  PgClient("postgres").TryQuery("DROP DATABASE " + src_db + " WITH (FORCE)");
}

TEST_F(TypeMatrixTest, MariadbToPostgres) {
  std::string src_db = CreateScratchMysqlDatabase("mx_mp");
  Side src{Dialect::kMariadb, src_db, ""};
  CreateSource(src, MariadbFamilies());
  std::string tgt_db;
  nlohmann::json config = MariadbSourceConfig(src_db);
  config["sink.type"] = "postgres";
  auto reset = [&] {
    if (!tgt_db.empty()) PgClient("postgres").TryQuery("DROP DATABASE " + tgt_db + " WITH (FORCE)");
    tgt_db = CreateScratchPgDatabase("mx_mp_t");
    return PgClient(tgt_db).Url();
  };
  RunPair("MariaDB → PostgreSQL", MariadbFamilies(), src, config, src_db, reset,
          [&] { return Side{Dialect::kPg, tgt_db, src_db}; });
  PgClient("postgres").TryQuery("DROP DATABASE " + tgt_db + " WITH (FORCE)");
  MysqlClient().TryQuery("DROP DATABASE `" + src_db + "`");
}

TEST_F(TypeMatrixTest, PostgresToFile) {
  std::string src_db = CreateScratchPgDatabase("mx_pf");
  std::string slot = UniqueName("slot_mx_pf");
  Side src{Dialect::kPg, src_db, "public"};
  CreateSource(src, PgFamilies());
  std::optional<TempDir> dir;
  nlohmann::json config = PgSourceConfig(src_db, slot);
  config["sink.type"] = "file";
  config["sink.file.fsync"] = "false";
  auto reset = [&] {
    DropSlot(slot);
    dir.emplace("mx_pf");
    return dir->path().string();
  };
  RunPair("PostgreSQL → file", PgFamilies(), src, config, "public", reset, [&] { return src; },
          [&](const std::string& schema, const std::string& table) {
            return FileLines(dir->path().string(), schema, table);
          });
  DropSlot(slot);
  PgClient("postgres").TryQuery("DROP DATABASE " + src_db + " WITH (FORCE)");
}

TEST_F(TypeMatrixTest, MariadbToFile) {
  std::string src_db = CreateScratchMysqlDatabase("mx_mf");
  Side src{Dialect::kMariadb, src_db, ""};
  CreateSource(src, MariadbFamilies());
  std::optional<TempDir> dir;
  nlohmann::json config = MariadbSourceConfig(src_db);
  config["sink.type"] = "file";
  config["sink.file.fsync"] = "false";
  auto reset = [&] {
    dir.emplace("mx_mf");
    return dir->path().string();
  };
  RunPair("MariaDB → file", MariadbFamilies(), src, config, src_db, reset, [&] { return src; },
          [&](const std::string& schema, const std::string& table) {
            return FileLines(dir->path().string(), schema, table);
          });
  MysqlClient().TryQuery("DROP DATABASE `" + src_db + "`");
}

// Kafka: the topics of a fresh topic.prefix, read with kcat.
void KafkaPair(const std::string& pair, const std::vector<Family>& families, const Side& src,
               nlohmann::json config, const std::string& source_schema) {
  std::string prefix;
  config["sink.type"] = "kafka";
  config["sink.kafka.bootstrap.servers"] = TestEnv::KafkaBootstrap();
  auto topics = [&](const std::string& schema, const std::string& table) {
    return TopicLines(prefix, schema, table);
  };
  // Each attempt and phase under its own prefix: its topics start empty.
  auto fresh = [&] {
    if (config["connector.class"] == "postgres") DropSlot(config["slot.name"]);
    config["topic.prefix"] = prefix = UniqueName("mx");
    return std::string();
  };
  TypeMatrixTest::RunPair(pair, families, src, config, source_schema, fresh, [&] { return src; },
                          topics);
}

TEST_F(TypeMatrixTest, PostgresToKafka) {
  std::string src_db = CreateScratchPgDatabase("mx_pk");
  std::string slot = UniqueName("slot_mx_pk");
  Side src{Dialect::kPg, src_db, "public"};
  CreateSource(src, PgFamilies());
  KafkaPair("PostgreSQL → Kafka", PgFamilies(), src, PgSourceConfig(src_db, slot), "public");
  DropSlot(slot);
  PgClient("postgres").TryQuery("DROP DATABASE " + src_db + " WITH (FORCE)");
}

TEST_F(TypeMatrixTest, MariadbToKafka) {
  std::string src_db = CreateScratchMysqlDatabase("mx_mk");
  Side src{Dialect::kMariadb, src_db, ""};
  CreateSource(src, MariadbFamilies());
  KafkaPair("MariaDB → Kafka", MariadbFamilies(), src, MariadbSourceConfig(src_db), src_db);
  MysqlClient().TryQuery("DROP DATABASE `" + src_db + "`");
}

// Runs last: the README block from the outcomes above.
TEST_F(TypeMatrixTest, ReadmeTablesMatchTheRun) {
  ASSERT_FALSE(Cells().empty());
  // Collapse: one row per (pair, source type, target type, outcome), samples joined.
  std::map<std::string, std::vector<std::string>> order;  // pair -> row keys in first-seen order
  std::map<std::string, std::vector<std::string>> samples;
  std::map<std::string, std::string> row_text;
  std::map<std::string, std::map<std::string, int>> counts;
  for (const Cell& c : Cells()) {
    std::string outcome_kind = c.outcome.substr(0, c.outcome.find(':'));
    counts[c.pair][outcome_kind]++;
    std::string key = c.pair + "\x1f" + c.source_type + "\x1f" + c.target_type + "\x1f" + c.outcome;
    if (!samples.count(key)) {
      order[c.pair].push_back(key);
      row_text[key] = c.source_type + "\x1f" + c.target_type + "\x1f" + c.outcome;
    }
    auto& list = samples[key];
    if (std::find(list.begin(), list.end(), c.sample) == list.end()) list.push_back(c.sample);
  }
  auto cell = [](std::string s) {
    std::string out;
    for (char ch : s) {
      if (ch == '|') out += "\\|";
      else if (ch == '\n' || ch == '\t') out += ' ';
      else out += ch;
    }
    if (out.size() > 300) out = out.substr(0, 297) + "...";
    return out;
  };
  std::string md;
  for (const auto& [pair, keys] : order) {
    md += "\n**" + pair + "** (`sluice sync`" +
          (StreamPairs().count(pair) ? ", and the same in `sluice run`'s snapshot + stream" : "") +
          "): ";
    bool first = true;
    for (const auto& [kind, n] : counts[pair]) {
      md += (first ? "" : ", ") + std::to_string(n) + " " + kind;
      first = false;
    }
    md += "\n\n| source type | samples | target type | outcome |\n| --- | --- | --- | --- |\n";
    for (const std::string& key : keys) {
      std::vector<std::string> parts;
      std::string rest = row_text[key];
      for (size_t at; (at = rest.find('\x1f')) != std::string::npos; rest = rest.substr(at + 1))
        parts.push_back(rest.substr(0, at));
      parts.push_back(rest);
      std::string joined;
      for (const std::string& s : samples[key]) joined += (joined.empty() ? "" : ", ") + s;
      md += "| " + cell(parts[0]) + " | `" + cell(joined) + "` | " + cell(parts[1]) + " | " +
            cell(parts[2]) + " |\n";
    }
  }
  std::ofstream("type_matrix.md") << md;
  std::printf("type matrix: %zu sync cells, %d stream cells (each with the sync's outcome)\n",
              Cells().size(), StreamCells());
  const char* src_dir = std::getenv("SLUICE_SOURCE_DIR");
  ASSERT_NE(src_dir, nullptr);
  std::string readme_path = std::string(src_dir) + "/README.md";
  std::ifstream in(readme_path);
  std::string readme((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string begin = "<!-- type-matrix:begin -->", end = "<!-- type-matrix:end -->";
  size_t b = readme.find(begin), e = readme.find(end);
  ASSERT_TRUE(b != std::string::npos && e != std::string::npos && b < e)
      << "README.md has no " << begin << " ... " << end << " block";
  std::string current = readme.substr(b + begin.size(), e - b - begin.size());
  std::string wanted = md + "\n";
  if (const char* w = std::getenv("SLUICE_MATRIX_WRITE_README"); w && std::string(w) == "1") {
    readme.replace(b + begin.size(), e - b - begin.size(), wanted);
    std::ofstream(readme_path) << readme;
    return;
  }
  EXPECT_EQ(current, wanted) << "README.md's type-matrix block differs from this run's outcomes "
                                "(rerun with SLUICE_MATRIX_WRITE_README=1 and review the diff)";
}

}  // namespace
}  // namespace sluice::itest::matrix
