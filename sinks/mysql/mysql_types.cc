#include "sinks/mysql/mysql_types.h"
#include "core/text_codec.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <optional>

namespace sluice::sinks::mysql_sink {

namespace {

using core::LogicalType;

// A MySQL source type that cannot be a primary key column without a prefix length.
bool IsLobType(std::string_view lower) {
  return lower.find("text") != std::string_view::npos ||
         lower.find("blob") != std::string_view::npos || lower == "json" ||
         lower == "longtext";
}

// The DECIMAL(p,s) that holds every value of a bounded source decimal exactly, if MySQL has
// one (p <= 65, 0 <= s <= 30, s <= p). PostgreSQL 15 also allows a scale above the precision
// (numeric(3,5): |v| <= 0.00999, five fraction digits -> DECIMAL(5,5)) and a negative scale
// (numeric(3,-2): integers rounded to hundreds, up to five digits -> DECIMAL(5,0)).
struct DecimalShape {
  int precision = 0;
  int scale = 0;
};
std::optional<DecimalShape> MysqlDecimal(const core::Column& c) {
  if (c.precision <= 0) return std::nullopt;  // unbounded
  DecimalShape d{c.precision, c.scale};
  if (c.scale < 0) {
    d = {c.precision - c.scale, 0};
  } else if (c.scale > c.precision) {
    d = {c.scale, c.scale};
  }
  if (d.precision > 65 || d.scale > 30) return std::nullopt;
  return d;
}

bool DecimalFits(const core::Column& c) { return MysqlDecimal(c).has_value(); }

// Non-key strings longer than this become LONGTEXT: a wide table of VARCHAR(n) columns would
// pass InnoDB's 65,535-byte row size limit (4 bytes per utf8mb4 character).
constexpr int kMaxInlineVarchar = 255;

}  // namespace

int FixedKeyBytes(const core::Column& c, const TypeOptions& options) {
  switch (c.type) {
    case LogicalType::kBool: return 1;
    case LogicalType::kInt16: return 2;
    case LogicalType::kInt32: return 4;
    case LogicalType::kInt64: return 8;
    case LogicalType::kFloat32: return 4;
    case LogicalType::kFloat64: return 8;
    case LogicalType::kDecimal:
      if (DecimalFits(c) || options.unbounded_numeric == UnboundedNumeric::kDecimal) return 30;
      return 0;
    case LogicalType::kUuid: return 36 * 4;
    case LogicalType::kDate: return 3;
    case LogicalType::kTime: return 6;
    case LogicalType::kTimestamp:
    case LogicalType::kTimestampTz: return 8;
    case LogicalType::kString:
      if (c.length > 0 && c.length <= kMaxKeyBytes / 4 / 2) return c.length * 4;
      return 0;
    case LogicalType::kEnum:
    case LogicalType::kInterval: return 255 * 4;
    default: return 0;
  }
}

// A MySQL source type text that is a complete column type (a binlog-only schema may say just
// "varchar" or "datetime", without the length or fractional digits).
bool IsCompleteMysqlType(std::string_view lower) {
  if (lower.empty() || lower == "unknown") return false;
  bool has_args = lower.find('(') != std::string_view::npos;
  for (std::string_view needs_args : {"varchar", "varbinary", "char", "binary", "enum", "set",
                                      "bit", "decimal", "numeric", "datetime", "timestamp",
                                      "time"}) {
    if (lower.substr(0, needs_args.size()) == needs_args && !has_args) return false;
  }
  return true;
}

std::string MysqlColumnType(const core::Column& c, bool is_key, int key_chars,
                            const TypeOptions& options) {
  if (options.reuse_source_type && !c.source_type.empty()) {
    std::string lower = core::AsciiLower(c.source_type);
    if (IsCompleteMysqlType(lower) && (!is_key || !IsLobType(lower))) {
      bool numeric = lower.find("int") != std::string::npos || lower.starts_with("decimal") ||
                     lower.starts_with("float") || lower.starts_with("double");
      if (c.is_unsigned && numeric && lower.find("unsigned") == std::string::npos) {
        return c.source_type + " unsigned";
      }
      return c.source_type;
    }
  }
  const std::string key_len = std::to_string(std::max(1, key_chars));
  switch (c.type) {
    case LogicalType::kBool: return "BOOLEAN";
    case LogicalType::kInt16: return c.is_unsigned ? "SMALLINT UNSIGNED" : "SMALLINT";
    case LogicalType::kInt32: return c.is_unsigned ? "INT UNSIGNED" : "INT";
    case LogicalType::kInt64: return c.is_unsigned ? "BIGINT UNSIGNED" : "BIGINT";
    case LogicalType::kFloat32: return "FLOAT";
    case LogicalType::kFloat64: return "DOUBLE";
    case LogicalType::kDecimal:
      if (std::optional<DecimalShape> d = MysqlDecimal(c)) {
        return "DECIMAL(" + std::to_string(d->precision) + "," + std::to_string(d->scale) + ")";
      }
      if (options.unbounded_numeric == UnboundedNumeric::kDecimal) return "DECIMAL(65,30)";
      return is_key ? "VARCHAR(" + key_len + ")" : "LONGTEXT";
    case LogicalType::kString: {
      if (c.length > 0 && c.length <= (is_key ? kMaxKeyBytes / 4 / 2 : kMaxInlineVarchar)) {
        return "VARCHAR(" + std::to_string(c.length) + ")";
      }
      return is_key ? "VARCHAR(" + key_len + ")" : "LONGTEXT";
    }
    case LogicalType::kBytes:
      if (is_key) return "VARBINARY(" + key_len + ")";
      return "LONGBLOB";
    case LogicalType::kJson:
    case LogicalType::kArray:
      return is_key ? "VARCHAR(" + key_len + ")" : "JSON";
    case LogicalType::kUuid: return "CHAR(36)";
    case LogicalType::kDate: return "DATE";
    case LogicalType::kTime: return "TIME(6)";
    case LogicalType::kTimestamp:
    case LogicalType::kTimestampTz: return "DATETIME(6)";
    case LogicalType::kInterval:
    case LogicalType::kEnum: return "VARCHAR(255)";
    case LogicalType::kUnknown: return is_key ? "VARCHAR(" + key_len + ")" : "LONGTEXT";
  }
  return "LONGTEXT";
}

LiteralKind LiteralKindFor(const core::Column& c, const TypeOptions& options) {
  switch (c.type) {
    case LogicalType::kBool: return LiteralKind::kBool;
    case LogicalType::kInt16:
    case LogicalType::kInt32:
    case LogicalType::kInt64: return LiteralKind::kNumber;
    case LogicalType::kFloat32: return LiteralKind::kFloat32;
    case LogicalType::kFloat64: return LiteralKind::kFloat;
    case LogicalType::kDecimal:
      if (options.reuse_source_type && !c.source_type.empty()) return LiteralKind::kDecimal;
      if (DecimalFits(c)) return LiteralKind::kDecimal;
      return options.unbounded_numeric == UnboundedNumeric::kDecimal ? LiteralKind::kDecimalWide
                                                                   : LiteralKind::kDecimalText;
    case LogicalType::kBytes: return LiteralKind::kBytes;
    case LogicalType::kDate: return LiteralKind::kDate;
    case LogicalType::kTimestamp: return LiteralKind::kDateTime;
    case LogicalType::kTimestampTz: return LiteralKind::kDateTimeTz;
    default: return LiteralKind::kString;
  }
}

namespace {

bool IsNonFinite(std::string_view t) {
  return t == "NaN" || t == "Infinity" || t == "-Infinity" || t == "inf" || t == "-inf" ||
         t == "nan";
}

// Digits with an optional sign, fraction and exponent; nothing else can reach the SQL text bare.
bool IsPlainNumber(std::string_view t, bool allow_fraction) {
  if (t.empty()) return false;
  size_t i = 0;
  if (t[0] == '-' || t[0] == '+') i = 1;
  bool digit = false;
  for (; i < t.size(); ++i) {
    char c = t[i];
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (allow_fraction && (c == '.' || c == 'e' || c == 'E' ||
                                  ((c == '-' || c == '+') && (t[i - 1] == 'e' || t[i - 1] == 'E')))) {
    } else {
      return false;
    }
  }
  return digit;
}

// A date or timestamp MySQL can hold: 4-digit year, not BC, not infinity.
const char* CheckDate(std::string_view t) {
  if (t == "infinity" || t == "-infinity") return "infinity has no MySQL date/time equivalent";
  if (t.size() < 10 || t[4] != '-' || !std::isdigit(static_cast<unsigned char>(t[0]))) {
    return "not a date MySQL can hold (years 0000-9999 only)";
  }
  if (t.size() >= 3 && t.substr(t.size() - 3) == " BC") return "BC dates have no MySQL equivalent";
  return nullptr;
}

// Checks a date/time value and leaves in `t` the text the target column takes: canonical
// timestamptz text is UTC with a "+00" suffix, and the target column holds the UTC wall clock.
const char* DateTimeText(LiteralKind kind, std::string_view& t) {
  if (const char* why = CheckDate(t)) return why;
  if (kind != LiteralKind::kDateTimeTz) return nullptr;
  size_t zone = t.find_first_of("+-", 19);
  if (zone != std::string_view::npos) {
    std::string_view offset = t.substr(zone);
    if (offset != "+00" && offset != "+00:00" && offset != "-00") {
      return "timestamp with time zone not in UTC";
    }
    t = t.substr(0, zone);
  } else if (!t.empty() && t.back() == 'Z') {
    t.remove_suffix(1);
  }
  return nullptr;
}

// LOAD DATA's escapes (ESCAPED BY '\\'): the escape character, the field and line terminators,
// and NUL (so that a field is never read as \N, NULL).
void AppendLoadEscaped(std::string& out, std::string_view t) {
  size_t start = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    const char* escape = c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n"
                       : c == '\0' ? "\\0" : nullptr;
    if (escape == nullptr) continue;
    out.append(t.data() + start, i - start);
    out += escape;
    start = i + 1;
  }
  out.append(t.data() + start, t.size() - start);
}

}  // namespace

const char* AppendLoadField(std::string& out, LiteralKind kind, std::string_view t) {
  switch (kind) {
    case LiteralKind::kDecimalText:
    case LiteralKind::kString:
      AppendLoadEscaped(out, t);
      return nullptr;
    case LiteralKind::kBytes:
      core::AppendHexUpper(out, t);
      return nullptr;
    case LiteralKind::kDate:
    case LiteralKind::kDateTime:
    case LiteralKind::kDateTimeTz:
      if (const char* why = DateTimeText(kind, t)) return why;
      AppendLoadEscaped(out, t);
      return nullptr;
    default:
      return AppendLiteral(out, kind, t, StringEscaper(nullptr));  // bare: never escapes
  }
}

bool LoadDataStoresExactly(const core::Column& column, LiteralKind kind) {
  if (kind != LiteralKind::kBytes || column.source_type.empty()) return true;
  std::string type = core::AsciiLower(column.source_type);
  return type == "bytea" || type.find("blob") != std::string::npos ||
         type.find("binary") != std::string::npos;
}

const char* AppendLiteral(std::string& out, LiteralKind kind, std::string_view t,
                          const StringEscaper& escaper) {
  switch (kind) {
    case LiteralKind::kNumber:
      if (!IsPlainNumber(t, false)) return "not an integer";
      out.append(t);
      return nullptr;
    case LiteralKind::kBool:
      if (t == "t" || t == "true" || t == "1") {
        out += '1';
      } else if (t == "f" || t == "false" || t == "0") {
        out += '0';
      } else {
        return "not a boolean";
      }
      return nullptr;
    case LiteralKind::kFloat:
      if (IsNonFinite(t)) return "NaN and infinity have no MySQL floating-point equivalent";
      if (!IsPlainNumber(t, true)) return "not a number";
      out.append(t);
      return nullptr;
    case LiteralKind::kFloat32: {
      if (IsNonFinite(t)) return "NaN and infinity have no MySQL floating-point equivalent";
      if (!IsPlainNumber(t, true)) return "not a number";
      float f;
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), f);
      if (ec == std::errc::result_out_of_range) {
        // Above FLT_MAX, or so small it would lose every digit: no FLOAT holds it.
        return "outside the range of a 4-byte FLOAT";
      }
      if (ec != std::errc() || end != t.data() + t.size()) return "not a number";
      char buf[32];
      auto res = std::to_chars(buf, buf + sizeof buf, static_cast<double>(f));
      out.append(buf, res.ptr);
      return nullptr;
    }
    case LiteralKind::kDecimal:
    case LiteralKind::kDecimalWide: {
      if (IsNonFinite(t)) return "NaN and infinity have no MySQL DECIMAL equivalent "
                                 "(set sink.mysql.numeric.unbounded=text to keep them as text)";
      if (!IsPlainNumber(t, true)) return "not a decimal number";
      if (kind == LiteralKind::kDecimalWide) {
        size_t dot = t.find('.');
        size_t int_digits = (dot == std::string_view::npos ? t.size() : dot) -
                            ((t[0] == '-' || t[0] == '+') ? 1 : 0);
        size_t frac_digits = dot == std::string_view::npos ? 0 : t.size() - dot - 1;
        if (t.find_first_of("eE") != std::string_view::npos || int_digits > 35 ||
            frac_digits > 30) {
          return "more digits than DECIMAL(65,30) holds (set sink.mysql.numeric.unbounded=text "
                 "to keep unbounded numerics as text)";
        }
      }
      out.append(t);
      return nullptr;
    }
    case LiteralKind::kDecimalText:
    case LiteralKind::kString:
      escaper.AppendQuoted(out, t);
      return nullptr;
    case LiteralKind::kBytes:
      out += "X'";
      core::AppendHexUpper(out, t);
      out += '\'';
      return nullptr;
    case LiteralKind::kDate:
    case LiteralKind::kDateTime:
    case LiteralKind::kDateTimeTz:
      if (const char* why = DateTimeText(kind, t)) return why;
      escaper.AppendQuoted(out, t);
      return nullptr;
  }
  return "unsupported type";
}

}  // namespace sluice::sinks::mysql_sink
