// The type matrix's documented lossless mappings: each one's README wording and the check that
// a source text and a target text are the same value under it. Checks that need arithmetic ask
// the test PostgreSQL to compute.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>
#include <string>
#include <vector>

#include "integration/matrix/matrix_support.h"

namespace sluice::itest::matrix {
namespace {

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

}  // namespace

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
      {"ZonedTime: the instant of day in UTC", [](const Texts& x) {
         if (x.src_type.rfind("time", 0) != 0 || !Contains(x.src_type, "with time zone") ||
             Contains(x.src_type, "stamp") || x.t.empty() || x.t.back() != 'Z') {
           return false;
         }
         return PgEval("SELECT ('" + x.s + "'::timetz AT TIME ZONE 'UTC')::text") ==
                x.t.substr(0, x.t.size() - 1) + "+00";
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

}  // namespace sluice::itest::matrix
