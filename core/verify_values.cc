#include "core/verify_values.h"

#include <cmath>
#include <cstdlib>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/value_text.h"

namespace sluice::core {

namespace {

bool IsNumeric(LogicalType t) {
  return t == LogicalType::kInt16 || t == LogicalType::kInt32 || t == LogicalType::kInt64 ||
         t == LogicalType::kDecimal;
}
bool IsFloat(LogicalType t) { return t == LogicalType::kFloat32 || t == LogicalType::kFloat64; }
bool IsTemporal(LogicalType t) {
  return t == LogicalType::kDate || t == LogicalType::kTimestamp || t == LogicalType::kTimestampTz;
}
bool IsDuration(LogicalType t) { return t == LogicalType::kTime || t == LogicalType::kInterval; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::optional<bool> BoolValue(std::string_view v) {
  if (v == "t" || v == "1" || v == "true") return true;
  if (v == "f" || v == "0" || v == "false") return false;
  return std::nullopt;
}

// Digits after the decimal point of a plain decimal text.
size_t FractionDigits(std::string_view v) {
  size_t dot = v.find('.');
  return dot == std::string_view::npos ? 0 : v.size() - dot - 1;
}

// Rounds a plain decimal text half away from zero to `scale` fractional digits; nullopt when the
// text is not a plain decimal.
std::optional<std::string> RoundDecimal(std::string_view v, size_t scale) {
  bool negative = !v.empty() && v[0] == '-';
  std::string_view digits = negative ? v.substr(1) : v;
  size_t dot = digits.find('.');
  std::string whole(digits.substr(0, dot));
  std::string frac = dot == std::string_view::npos ? "" : std::string(digits.substr(dot + 1));
  for (char c : whole + frac) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  if (frac.size() <= scale) return std::string(v);
  bool up = frac[scale] >= '5';
  std::string kept = whole + frac.substr(0, scale);
  if (up) {
    size_t i = kept.size();
    while (i > 0) {
      --i;
      if (kept[i] == '9') {
        kept[i] = '0';
      } else {
        ++kept[i];
        break;
      }
      if (i == 0) kept.insert(kept.begin(), '1');
    }
  }
  size_t whole_len = kept.size() - scale;
  std::string out = negative ? "-" : "";
  out += kept.substr(0, whole_len);
  if (scale > 0) out += "." + kept.substr(whole_len);
  return out;
}

// An ISO 8601 duration without years or months ("PT838H59M59.5S", "P1DT2H", "-PT1S") in
// microseconds; nullopt otherwise.
std::optional<int64_t> DayTimeDurationMicros(std::string_view v) {
  bool negative = false;
  if (!v.empty() && v[0] == '-') {
    negative = true;
    v.remove_prefix(1);
  }
  if (v.empty() || v[0] != 'P') return std::nullopt;
  v.remove_prefix(1);
  bool in_time = false;
  long double total = 0;
  while (!v.empty()) {
    if (v[0] == 'T') {
      in_time = true;
      v.remove_prefix(1);
      continue;
    }
    size_t n = 0;
    while (n < v.size() && (std::isdigit(static_cast<unsigned char>(v[n])) || v[n] == '.' ||
                            v[n] == '-' || v[n] == '+')) {
      ++n;
    }
    if (n == 0 || n >= v.size()) return std::nullopt;
    long double x = std::strtold(std::string(v.substr(0, n)).c_str(), nullptr);
    char unit = v[n];
    v.remove_prefix(n + 1);
    if (!in_time && unit == 'D') {
      total += x * 86400e6L;
    } else if (!in_time && unit == 'W') {
      total += x * 7 * 86400e6L;
    } else if (in_time && unit == 'H') {
      total += x * 3600e6L;
    } else if (in_time && unit == 'M') {
      total += x * 60e6L;
    } else if (in_time && unit == 'S') {
      total += x * 1e6L;
    } else {
      return std::nullopt;  // years or months: no fixed length
    }
  }
  long double r = std::roundl(negative ? -total : total);
  if (!(std::fabs(r) < 9.2e18L)) return std::nullopt;
  return static_cast<int64_t>(r);
}

std::optional<int64_t> DurationMicros(LogicalType t, std::string_view v) {
  if (t == LogicalType::kTime) return TimeToMicros(v);
  return DayTimeDurationMicros(v);
}

std::optional<int64_t> TemporalMicros(LogicalType t, std::string_view v) {
  if (t == LogicalType::kDate) {
    auto days = DateToEpochDays(v);
    if (!days) return std::nullopt;
    return *days * 86400000000LL;
  }
  return TimestampToEpochMicros(v);
}

bool SameFloat(LogicalType a_type, std::string_view a, LogicalType b_type, std::string_view b) {
  std::string as(a), bs(b);
  char* end_a = nullptr;
  char* end_b = nullptr;
  double x = std::strtod(as.c_str(), &end_a);
  double y = std::strtod(bs.c_str(), &end_b);
  if (end_a == as.c_str() || end_b == bs.c_str()) return false;
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
  if (a_type == LogicalType::kFloat32 || b_type == LogicalType::kFloat32) {
    return static_cast<float>(x) == static_cast<float>(y) && std::signbit(x) == std::signbit(y);
  }
  return x == y && std::signbit(x) == std::signbit(y);
}

bool SameJson(std::string_view a, std::string_view b) {
  auto x = nlohmann::json::parse(a, nullptr, false);
  auto y = nlohmann::json::parse(b, nullptr, false);
  if (x.is_discarded() || y.is_discarded()) return false;
  return x == y;
}

}  // namespace

std::string NormalizeDecimal(std::string_view text) {
  std::string_view v = text;
  bool negative = !v.empty() && v[0] == '-';
  if (negative || (!v.empty() && v[0] == '+')) v.remove_prefix(1);
  size_t dot = v.find('.');
  std::string_view whole = v.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : v.substr(dot + 1);
  if (whole.empty() && frac.empty()) return std::string(text);
  for (char c : whole) {
    if (c < '0' || c > '9') return std::string(text);
  }
  for (char c : frac) {
    if (c < '0' || c > '9') return std::string(text);
  }
  while (whole.size() > 1 && whole[0] == '0') whole.remove_prefix(1);
  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  std::string out;
  if (whole.empty()) whole = "0";
  out.append(whole);
  if (!frac.empty()) {
    out += '.';
    out.append(frac);
  }
  if (negative && out != "0") out.insert(out.begin(), '-');
  return out;
}

CellMatch CompareCells(const Column& sc, CellState ss, std::string_view a, const Column& tc,
                       CellState ts, std::string_view b) {
  if (ss != CellState::kPresent || ts != CellState::kPresent) {
    return ss == ts ? CellMatch::kEqual : CellMatch::kDifferent;
  }
  if (a == b) return CellMatch::kEqual;
  const LogicalType s = sc.type, t = tc.type;
  if (IsNumeric(s) && IsNumeric(t)) {
    if (NormalizeDecimal(a) == NormalizeDecimal(b)) return CellMatch::kEqual;
    // A target type with a smaller declared scale keeps the value rounded (documented, lossy).
    if (t == LogicalType::kDecimal && tc.scale >= 0 && tc.precision > 0 &&
        FractionDigits(a) > static_cast<size_t>(tc.scale)) {
      auto rounded = RoundDecimal(a, static_cast<size_t>(tc.scale));
      if (rounded && NormalizeDecimal(*rounded) == NormalizeDecimal(b)) return CellMatch::kDocumented;
    }
    return CellMatch::kDifferent;
  }
  if ((s == LogicalType::kBool || t == LogicalType::kBool) &&
      (s == LogicalType::kBool || IsNumeric(s)) && (t == LogicalType::kBool || IsNumeric(t))) {
    auto x = BoolValue(a), y = BoolValue(b);
    return x && y && *x == *y ? CellMatch::kEqual : CellMatch::kDifferent;
  }
  if (IsFloat(s) && (IsFloat(t) || IsNumeric(t))) {
    return SameFloat(s, a, t, b) ? CellMatch::kEqual : CellMatch::kDifferent;
  }
  if (IsTemporal(s) && IsTemporal(t)) {
    auto x = TemporalMicros(s, a), y = TemporalMicros(t, b);
    return x && y && *x == *y ? CellMatch::kEqual : CellMatch::kDifferent;
  }
  if (IsDuration(s) && IsDuration(t)) {
    auto x = DurationMicros(s, a), y = DurationMicros(t, b);
    return x && y && *x == *y ? CellMatch::kEqual : CellMatch::kDifferent;
  }
  if (s == LogicalType::kJson || t == LogicalType::kJson) {
    return SameJson(a, b) ? CellMatch::kEqual : CellMatch::kDifferent;
  }
  if (s == LogicalType::kUuid || t == LogicalType::kUuid) {
    return EqualsIgnoreCase(a, b) ? CellMatch::kEqual : CellMatch::kDifferent;
  }
  return CellMatch::kDifferent;
}

void AppendKeyForm(std::string& out, const Column& column, CellState state, std::string_view text) {
  if (state != CellState::kPresent) {
    out += '\x01';  // NULL: a byte no canonical text of a key starts with
    return;
  }
  switch (column.type) {
    case LogicalType::kInt16:
    case LogicalType::kInt32:
    case LogicalType::kInt64:
    case LogicalType::kDecimal:
      out += NormalizeDecimal(text);
      return;
    case LogicalType::kBool: {
      auto b = BoolValue(text);
      out += b ? (*b ? "t" : "f") : std::string(text);
      return;
    }
    case LogicalType::kDate:
    case LogicalType::kTimestamp:
    case LogicalType::kTimestampTz: {
      auto micros = TemporalMicros(column.type, text);
      out += micros ? std::to_string(*micros) : std::string(text);
      return;
    }
    case LogicalType::kUuid:
      for (char c : text) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      return;
    default:
      out.append(text);
  }
}

std::string Truncated(std::string_view text, size_t max_chars) {
  std::string out;
  size_t n = text.size();
  bool cut = false;
  if (n > max_chars) {
    n = max_chars;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
    cut = true;
  }
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (cut) out += "…";
  return out;
}

std::string DescribeKey(const TableSchema& schema, const RowView& row, size_t max_value_chars) {
  std::string out;
  for (uint32_t k : schema.key) {
    if (!out.empty()) out += ", ";
    out += schema.columns[k].name + "=";
    out += row.is_present(k) ? Truncated(row.text(k), max_value_chars) : "NULL";
  }
  return out;
}

}  // namespace sluice::core
