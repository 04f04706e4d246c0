#include "connectors/mysql/mysql_types.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "core/text_codec.h"

namespace sluice::mysql {
namespace {

// cp1252 code points for bytes 0x80..0x9F (MySQL's latin1 is cp1252; the five bytes cp1252
// leaves undefined map to the C1 control of the same value, as MySQL does).
constexpr uint16_t kCp1252High[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};


void AppendDigits(std::string& out, int64_t value, int width) {
  char buf[24];
  int n = 0;
  uint64_t v = static_cast<uint64_t>(value < 0 ? -value : value);
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n < width) buf[n++] = '0';
  while (n > 0) out.push_back(buf[--n]);
}

void AppendFraction(std::string& out, int64_t micros, int fsp) {
  if (fsp <= 0) return;
  char digits[6];
  int64_t v = micros;
  for (int i = 5; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out.push_back('.');
  out.append(digits, static_cast<size_t>(std::min(fsp, 6)));
}

uint32_t ReadBigEndian(const unsigned char* p, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

constexpr int kDigitsPerGroup = 9;
constexpr int kDigToBytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};

}  // namespace

CharsetKind CharsetKindFromName(std::string_view name) {
  std::string n = core::AsciiLower(name);
  if (n.empty() || n == "binary") return CharsetKind::kBinary;
  if (n == "utf8" || n == "utf8mb3" || n == "utf8mb4" || n == "ascii") return CharsetKind::kUtf8;
  if (n == "latin1") return CharsetKind::kLatin1;
  return CharsetKind::kOther;
}

CharsetKind CharsetKindFromCollationId(uint32_t id) {
  // MariaDB "nopad" collations are the base id + 1024.
  if (id >= 1024 && id < 2048) id -= 1024;
  switch (id) {
    case 63:
      return CharsetKind::kBinary;
    case 5: case 8: case 15: case 31: case 47: case 48: case 49: case 94:
      return CharsetKind::kLatin1;
    case 11: case 65: case 33: case 83: case 45: case 46: case 223:
      return CharsetKind::kUtf8;
    default:
      break;
  }
  if ((id >= 192 && id <= 215) || (id >= 224 && id <= 247) || (id >= 255 && id <= 323) ||
      (id >= 576 && id <= 672)) {
    return CharsetKind::kUtf8;  // utf8mb3/utf8mb4 unicode and 0900 collations
  }
  if (id >= 2048) return CharsetKind::kUtf8;  // MariaDB 10.10+ uca1400 utf8mb3/utf8mb4 collations
  return CharsetKind::kOther;
}

std::vector<std::string> ParseEnumLabels(std::string_view t) {
  std::vector<std::string> labels;
  size_t open = t.find('(');
  if (open == std::string_view::npos) return labels;
  size_t i = open + 1;
  while (i < t.size()) {
    if (t[i] != '\'') break;
    ++i;
    std::string label;
    while (i < t.size()) {
      if (t[i] == '\'') {
        if (i + 1 < t.size() && t[i + 1] == '\'') {
          label.push_back('\'');
          i += 2;
          continue;
        }
        ++i;
        break;
      }
      if (t[i] == '\\' && i + 1 < t.size()) {
        label.push_back(t[i + 1]);
        i += 2;
        continue;
      }
      label.push_back(t[i++]);
    }
    labels.push_back(std::move(label));
    if (i < t.size() && t[i] == ',') ++i;
  }
  return labels;
}

core::Column MapColumn(const InformationSchemaColumn& c) {
  using core::LogicalType;
  core::Column col;
  col.name = c.name;
  col.source_type = c.column_type;
  col.nullable = c.nullable;
  col.comment = c.comment;
  std::string dt = core::AsciiLower(c.data_type);
  std::string ct = core::AsciiLower(c.column_type);
  col.is_unsigned = ct.find("unsigned") != std::string::npos;
  col.precision = static_cast<int32_t>(c.numeric_precision);
  col.scale = static_cast<int32_t>(c.numeric_scale);
  col.length = static_cast<int32_t>(std::min<int64_t>(c.char_max_length, INT32_MAX));
  if (dt == "tinyint") {
    col.type = LogicalType::kInt16;
  } else if (dt == "smallint") {
    col.type = col.is_unsigned ? LogicalType::kInt32 : LogicalType::kInt16;
  } else if (dt == "mediumint") {
    col.type = LogicalType::kInt32;
  } else if (dt == "int" || dt == "integer") {
    col.type = col.is_unsigned ? LogicalType::kInt64 : LogicalType::kInt32;
  } else if (dt == "bigint") {
    if (col.is_unsigned) {
      col.type = LogicalType::kDecimal;
      col.precision = 20;
      col.scale = 0;
    } else {
      col.type = LogicalType::kInt64;
    }
  } else if (dt == "decimal" || dt == "numeric") {
    col.type = LogicalType::kDecimal;
  } else if (dt == "float") {
    col.type = LogicalType::kFloat32;
  } else if (dt == "double" || dt == "real") {
    col.type = LogicalType::kFloat64;
  } else if (dt == "bit") {
    col.type = c.numeric_precision == 1 ? LogicalType::kBool : LogicalType::kBytes;
  } else if (dt == "year") {
    col.type = LogicalType::kInt16;
  } else if (dt == "date") {
    col.type = LogicalType::kDate;
  } else if (dt == "time") {
    col.type = LogicalType::kTime;
    col.precision = static_cast<int32_t>(c.datetime_precision);
  } else if (dt == "datetime") {
    col.type = LogicalType::kTimestamp;
    col.precision = static_cast<int32_t>(c.datetime_precision);
  } else if (dt == "timestamp") {
    col.type = LogicalType::kTimestampTz;
    col.precision = static_cast<int32_t>(c.datetime_precision);
  } else if (dt == "json" || c.is_json) {
    col.type = LogicalType::kJson;
  } else if (dt == "char" || dt == "varchar" || dt == "tinytext" || dt == "text" ||
             dt == "mediumtext" || dt == "longtext") {
    col.type = CharsetKindFromName(c.charset) == CharsetKind::kBinary ? LogicalType::kBytes
                                                                      : LogicalType::kString;
  } else if (dt == "binary" || dt == "varbinary" || dt == "tinyblob" || dt == "blob" ||
             dt == "mediumblob" || dt == "longblob") {
    col.type = LogicalType::kBytes;
  } else if (dt == "enum") {
    col.type = LogicalType::kEnum;
    col.enum_values = ParseEnumLabels(c.column_type);
  } else if (dt == "set") {
    col.type = LogicalType::kString;
    col.enum_values = ParseEnumLabels(c.column_type);
  } else if (dt == "uuid") {
    col.type = LogicalType::kUuid;
  } else if (dt == "inet6" || dt == "inet4") {
    // Text ("2001:db8::1", "1.2.3.4"), as the server prints it; a PostgreSQL target makes the
    // column inet (sinks/postgres chooses by source_type).
    col.type = LogicalType::kString;
  } else if (dt == "geometry" || dt == "point" || dt == "linestring" || dt == "polygon" ||
             dt == "multipoint" || dt == "multilinestring" || dt == "multipolygon" ||
             dt == "geometrycollection" || dt == "geomcollection") {
    col.type = LogicalType::kBytes;
  } else {
    col.type = LogicalType::kUnknown;
  }
  return col;
}

FixedBinaryText FixedBinaryTextOf(std::string_view data_type) {
  std::string dt = core::AsciiLower(data_type);
  if (dt == "inet4") return FixedBinaryText::kInet4;
  if (dt == "inet6") return FixedBinaryText::kInet6;
  if (dt == "uuid") return FixedBinaryText::kUuid;
  return FixedBinaryText::kNone;
}

size_t FixedBinarySize(FixedBinaryText kind) {
  switch (kind) {
    case FixedBinaryText::kInet4: return 4;
    case FixedBinaryText::kInet6: return 16;
    case FixedBinaryText::kUuid: return 16;
    case FixedBinaryText::kNone: return 0;
  }
  return 0;
}

namespace {

constexpr char kLowerHex[] = "0123456789abcdef";

void AppendDottedQuad(std::string& out, const unsigned char* p) {
  for (int i = 0; i < 4; ++i) {
    if (i > 0) out.push_back('.');
    AppendDigits(out, p[i], 1);
  }
}

void AppendHexGroup(std::string& out, uint32_t v) {
  char buf[4];
  int n = 0;
  do {
    buf[n++] = kLowerHex[v & 0xF];
    v >>= 4;
  } while (v != 0);
  while (n > 0) out.push_back(buf[--n]);
}

// sql/sql_type_inet.cc Inet6::to_string: the first longest run of zero groups (any length,
// one included) becomes "::"; a run at the start of 6 groups, or of 5 followed by ffff, prints
// the last 32 bits as a dotted quad.
void AppendInet6(std::string& out, const unsigned char* p) {
  uint32_t w[8];
  for (int i = 0; i < 8; ++i) w[i] = static_cast<uint32_t>(p[2 * i] << 8 | p[2 * i + 1]);
  int gap_pos = -1, gap_len = 0;
  for (int i = 0; i < 8;) {
    if (w[i] != 0) {
      ++i;
      continue;
    }
    int start = i;
    while (i < 8 && w[i] == 0) ++i;
    if (i - start > gap_len) {
      gap_pos = start;
      gap_len = i - start;
    }
  }
  for (int i = 0; i < 8; ++i) {
    if (i == gap_pos) {
      if (i == 0) out.push_back(':');
      out.push_back(':');
      i += gap_len - 1;
    } else if (i == 6 && gap_pos == 0 && (gap_len == 6 || (gap_len == 5 && w[5] == 0xFFFF))) {
      AppendDottedQuad(out, p + 12);
      return;
    } else {
      AppendHexGroup(out, w[i]);
      if (i != 7) out.push_back(':');
    }
  }
}

}  // namespace

bool AppendFixedBinaryText(std::string& out, std::string_view bytes, FixedBinaryText kind) {
  if (kind == FixedBinaryText::kNone || bytes.size() != FixedBinarySize(kind)) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  switch (kind) {
    case FixedBinaryText::kInet4:
      AppendDottedQuad(out, p);
      return true;
    case FixedBinaryText::kInet6:
      AppendInet6(out, p);
      return true;
    case FixedBinaryText::kUuid:
      for (size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
        out.push_back(kLowerHex[p[i] >> 4]);
        out.push_back(kLowerHex[p[i] & 0xF]);
      }
      return true;
    case FixedBinaryText::kNone:
      return false;
  }
  return false;
}

void AppendUtf8(std::string& out, std::string_view bytes, CharsetKind charset) {
  if (charset != CharsetKind::kLatin1) {
    out.append(bytes);
    return;
  }
  for (char ch : bytes) {
    auto b = static_cast<unsigned char>(ch);
    if (b < 0x80) {
      out.push_back(ch);
    } else if (b < 0xA0) {
      core::AppendUtf8(out, kCp1252High[b - 0x80]);
    } else {
      core::AppendUtf8(out, b);
    }
  }
}

size_t DecimalBinarySize(int precision, int scale) {
  if (precision < 0 || scale < 0 || scale > precision) return 0;
  int intg = precision - scale;
  return static_cast<size_t>((intg / kDigitsPerGroup) * 4 + kDigToBytes[intg % kDigitsPerGroup] +
                             (scale / kDigitsPerGroup) * 4 + kDigToBytes[scale % kDigitsPerGroup]);
}

// Packed decimal, strings/decimal.c decimal2bin(): digits in groups of nine stored as 4-byte
// big-endian integers, leading/trailing partial groups in fewer bytes; the first byte's top bit
// is flipped (set = non-negative) and a negative value has every byte inverted.
bool DecodeDecimal(std::string_view in, int precision, int scale, std::string& out,
                   size_t& used) {
  if (precision <= 0 || precision > 81 || scale < 0 || scale > precision) return false;
  size_t size = DecimalBinarySize(precision, scale);
  if (size == 0 || in.size() < size) return false;
  unsigned char buf[48];
  std::copy_n(reinterpret_cast<const unsigned char*>(in.data()), size, buf);
  bool negative = (buf[0] & 0x80) == 0;
  buf[0] ^= 0x80;
  if (negative) {
    for (size_t i = 0; i < size; ++i) buf[i] = static_cast<unsigned char>(~buf[i]);
  }
  int intg = precision - scale;
  int intg0 = intg / kDigitsPerGroup, intg0x = intg % kDigitsPerGroup;
  int frac0 = scale / kDigitsPerGroup, frac0x = scale % kDigitsPerGroup;
  const unsigned char* p = buf;
  std::string digits;  // integer digits, may have leading zeros
  digits.reserve(static_cast<size_t>(intg) + 1);
  auto append_group = [&](uint32_t v, int width) -> bool {
    uint32_t limit = 1;
    for (int i = 0; i < width; ++i) limit *= 10;
    if (v >= limit) return false;
    char tmp[9];
    for (int i = width - 1; i >= 0; --i) {
      tmp[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    digits.append(tmp, static_cast<size_t>(width));
    return true;
  };
  if (intg0x > 0) {
    size_t n = static_cast<size_t>(kDigToBytes[intg0x]);
    if (!append_group(ReadBigEndian(p, n), intg0x)) return false;
    p += n;
  }
  for (int i = 0; i < intg0; ++i, p += 4) {
    if (!append_group(ReadBigEndian(p, 4), kDigitsPerGroup)) return false;
  }
  size_t int_len = digits.size();
  for (int i = 0; i < frac0; ++i, p += 4) {
    if (!append_group(ReadBigEndian(p, 4), kDigitsPerGroup)) return false;
  }
  if (frac0x > 0) {
    size_t n = static_cast<size_t>(kDigToBytes[frac0x]);
    if (!append_group(ReadBigEndian(p, n), frac0x)) return false;
    p += n;
  }
  size_t first = 0;
  while (first < int_len && digits[first] == '0') ++first;
  bool all_zero = std::all_of(digits.begin(), digits.end(), [](char c) { return c == '0'; });
  if (negative && !all_zero) out.push_back('-');
  if (first == int_len) {
    out.push_back('0');
  } else {
    out.append(digits, first, int_len - first);
  }
  if (scale > 0) {
    out.push_back('.');
    out.append(digits, int_len, std::string::npos);
  }
  used = size;
  return true;
}

size_t FractionBytes(int fsp) { return static_cast<size_t>((std::clamp(fsp, 0, 6) + 1) / 2); }

void AppendDate(std::string& out, int year, int month, int day) {
  AppendDigits(out, year, 4);
  out.push_back('-');
  AppendDigits(out, month, 2);
  out.push_back('-');
  AppendDigits(out, day, 2);
}

void AppendTime(std::string& out, bool negative, int64_t hours, int minutes, int seconds,
                int64_t micros, int fsp) {
  if (negative) out.push_back('-');
  AppendDigits(out, hours, 2);
  out.push_back(':');
  AppendDigits(out, minutes, 2);
  out.push_back(':');
  AppendDigits(out, seconds, 2);
  AppendFraction(out, micros, fsp);
}

void AppendUtcTimestamp(std::string& out, int64_t seconds, int64_t micros, int fsp) {
  int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
  int64_t rest = seconds - days * 86400;
  // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  AppendDate(out, static_cast<int>(y), static_cast<int>(m), static_cast<int>(d));
  out.push_back(' ');
  AppendTime(out, false, rest / 3600, static_cast<int>(rest / 60 % 60),
             static_cast<int>(rest % 60), micros, fsp);
  out.append("+00");
}

bool AppendFloat32FromDoubleText(std::string& out, std::string_view double_text) {
  double d;
  const char* end = double_text.data() + double_text.size();
  auto [p, ec] = std::from_chars(double_text.data(), end, d);
  if (double_text.empty() || ec != std::errc() || p != end || !std::isfinite(d)) return false;
  const auto f = static_cast<float>(d);
  // Every FLOAT value is exactly a double: anything else did not come from a FLOAT column.
  if (static_cast<double>(f) != d) return false;
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, f);
  out.append(buf, res.ptr);
  return true;
}

bool IsZeroDateText(std::string_view text) {
  // "YYYY-MM-DD...": a zero month or day (sql_mode without NO_ZERO_IN_DATE lets the server
  // store '2024-00-15') is no calendar date either; no target type can hold one.
  return text.size() >= 10 && text[4] == '-' && text[7] == '-' &&
         (text.substr(5, 2) == "00" || text.substr(8, 2) == "00");
}

// Text of a key value for an error message: printable ASCII as is, other bytes as \xNN.
std::string Printable(std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : v.substr(0, 64)) {
    auto b = static_cast<unsigned char>(ch);
    if (b >= 0x20 && b < 0x7F) {
      out.push_back(ch);
    } else {
      out += "\\x";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xF]);
    }
  }
  return out;
}

core::Result<ZeroDateMode> ParseZeroDateMode(std::string_view text) {
  if (text == "fail") return ZeroDateMode::kFail;
  if (text == "null") return ZeroDateMode::kNull;
  return core::InvalidArgumentError(std::string(kZeroDateModeKey) +
                                    " must be one of fail, null, got '" + std::string(text) + "'");
}

std::string ZeroDateRefusal(std::string_view value) {
  return "holds the date '" + std::string(value) +
         "', whose month or day is zero: no target type holds it exactly; set " +
         kZeroDateModeKey +
         "=null to emit such dates as NULL (Debezium's behaviour), or exclude the column with "
         "column.exclude.list, or fix the data";
}

}  // namespace sluice::mysql
