#include "sinks/postgres/postgres_types.h"

#include <bit>
#include <charconv>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "core/text_codec.h"

namespace sluice::sinks::pgsink {

using core::LogicalType;

namespace {

// PostgreSQL's largest varchar length.
constexpr int32_t kMaxVarcharLength = 10485760;

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char a = text[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != prefix[i]) return false;
  }
  return true;
}

// True when `type` can be spliced into DDL as a type expression: no statement separator or
// comment outside double-quoted identifiers. format_type() output always passes.
bool IsSafeTypeExpression(std::string_view type) {
  if (type.empty()) return false;
  bool quoted = false;
  for (size_t i = 0; i < type.size(); ++i) {
    char c = type[i];
    if (c == '"') {
      quoted = !quoted;
      continue;
    }
    if (quoted) continue;
    if (c == ';' || c == '\'' || c == '\\' || c == '$') return false;
    if (c == '-' && i + 1 < type.size() && type[i + 1] == '-') return false;
    if (c == '/' && i + 1 < type.size() && type[i + 1] == '*') return false;
  }
  return !quoted;
}

std::string WithPrecision(const char* base, int32_t precision) {
  if (precision > 0 && precision <= 6) {
    return std::string(base) + "(" + std::to_string(precision) + ")";
  }
  return base;
}

std::string NonPgType(const core::Column& c) {
  switch (c.type) {
    case LogicalType::kBool:
      return "boolean";
    case LogicalType::kInt16:
      return c.is_unsigned ? "integer" : "smallint";
    case LogicalType::kInt32:
      return c.is_unsigned ? "bigint" : "integer";
    case LogicalType::kInt64:
      return c.is_unsigned ? "numeric(20,0)" : "bigint";
    case LogicalType::kFloat32:
      return "real";
    case LogicalType::kFloat64:
      return "double precision";
    case LogicalType::kDecimal:
      if (c.precision > 0 && c.precision <= 1000 && c.scale >= 0 && c.scale <= c.precision) {
        return "numeric(" + std::to_string(c.precision) + "," + std::to_string(c.scale) + ")";
      }
      return "numeric";
    case LogicalType::kString:
      // MariaDB INET4/INET6 text ("::ffff:1.2.3.4", "1::2:3:4:5:6:7"): PostgreSQL's inet
      // reads every such text as the same address.
      if (StartsWithNoCase(c.source_type, "inet6") || StartsWithNoCase(c.source_type, "inet4")) {
        return "inet";
      }
      // MySQL CHAR(n) drops trailing spaces on read: varchar keeps exactly what arrives.
      if (c.length > 0 && c.length <= kMaxVarcharLength &&
          (StartsWithNoCase(c.source_type, "varchar") || StartsWithNoCase(c.source_type, "char") ||
           StartsWithNoCase(c.source_type, "character"))) {
        return "varchar(" + std::to_string(c.length) + ")";
      }
      return "text";
    case LogicalType::kBytes:
      return "bytea";
    case LogicalType::kJson:
      return "jsonb";
    case LogicalType::kUuid:
      return "uuid";
    case LogicalType::kDate:
      return "date";
    case LogicalType::kTime:
      return WithPrecision("time", c.precision);
    case LogicalType::kTimestamp:
      return WithPrecision("timestamp", c.precision);
    case LogicalType::kTimestampTz:
      return WithPrecision("timestamptz", c.precision);
    case LogicalType::kInterval:
      return "interval";
    case LogicalType::kEnum:
      return "text";
    case LogicalType::kArray:
      return "jsonb";
    case LogicalType::kUnknown:
      return "text";
  }
  return "text";
}


// Recursive-descent reader of a JSON array that writes the PostgreSQL array literal.
class ArrayConverter {
 public:
  ArrayConverter(std::string_view in, char delimiter, std::string& out)
      : in_(in), delimiter_(delimiter), out_(out) {}

  bool Run() {
    SkipSpace();
    if (pos_ >= in_.size() || in_[pos_] != '[') return false;
    if (!Array(0)) return false;
    SkipSpace();
    return pos_ == in_.size();
  }

  // The length of the first array met at each depth: a PostgreSQL array is rectangular, so
  // these are its dimensions.
  const std::vector<size_t>& dimensions() const { return dims_; }

 private:
  static constexpr int kMaxDepth = 64;

  void SkipSpace() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Array(int depth) {
    if (depth > kMaxDepth) return false;
    ++pos_;  // '['
    out_.push_back('{');
    SkipSpace();
    const bool first_at_depth = dims_.size() == static_cast<size_t>(depth);
    if (first_at_depth) dims_.push_back(0);
    if (pos_ < in_.size() && in_[pos_] == ']') {
      ++pos_;
      out_.push_back('}');
      return true;
    }
    size_t count = 0;
    while (true) {
      SkipSpace();
      if (!Element(depth)) return false;
      ++count;
      SkipSpace();
      if (pos_ >= in_.size()) return false;
      if (in_[pos_] == ',') {
        out_.push_back(delimiter_);
        ++pos_;
        continue;
      }
      if (in_[pos_] == ']') {
        ++pos_;
        out_.push_back('}');
        if (first_at_depth) dims_[static_cast<size_t>(depth)] = count;
        return true;
      }
      return false;
    }
  }

  bool Literal(std::string_view word, std::string_view replacement) {
    if (in_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    out_.append(replacement);
    return true;
  }

  bool Element(int depth) {
    if (pos_ >= in_.size()) return false;
    char c = in_[pos_];
    switch (c) {
      case '[':
        return Array(depth + 1);
      case '"':
        out_.push_back('"');
        if (!String()) return false;
        out_.push_back('"');
        return true;
      case '{': {
        size_t start = pos_;
        if (!SkipObject(depth + 1)) return false;
        out_.push_back('"');
        AppendQuotedElement(in_.substr(start, pos_ - start));
        out_.push_back('"');
        return true;
      }
      case 'n':
        return Literal("null", "NULL");
      case 't':
        return Literal("true", "t");
      case 'f':
        return Literal("false", "f");
      default:
        return Number();
    }
  }

  bool Number() {
    size_t start = pos_;
    while (pos_ < in_.size()) {
      char c = in_[pos_];
      if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
        ++pos_;
      } else {
        break;
      }
    }
    if (pos_ == start) return false;
    out_.append(in_.substr(start, pos_ - start));
    return true;
  }

  // Writes c escaped for inside a double-quoted array element.
  void PutEscaped(char c) {
    if (c == '"' || c == '\\') out_.push_back('\\');
    out_.push_back(c);
  }
  void AppendQuotedElement(std::string_view text) {
    for (char c : text) PutEscaped(c);
  }

  // A JSON string at pos_ ('"'), unescaped and re-escaped for the array element.
  bool String() {
    ++pos_;
    while (pos_ < in_.size()) {
      char c = in_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        PutEscaped(c);
        continue;
      }
      if (pos_ >= in_.size()) return false;
      char e = in_[pos_++];
      switch (e) {
        case '"': PutEscaped('"'); break;
        case '\\': PutEscaped('\\'); break;
        case '/': out_.push_back('/'); break;
        case 'b': out_.push_back('\b'); break;
        case 'f': out_.push_back('\f'); break;
        case 'n': out_.push_back('\n'); break;
        case 'r': out_.push_back('\r'); break;
        case 't': out_.push_back('\t'); break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low = 0;
            if (pos_ + 1 >= in_.size() || in_[pos_] != '\\' || in_[pos_ + 1] != 'u') return false;
            pos_ += 2;
            if (!Hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
          }
          if (cp == 0) return false;  // PostgreSQL text cannot hold NUL
          std::string utf8;
          core::AppendUtf8(utf8, cp);
          AppendQuotedElement(utf8);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  bool Hex4(uint32_t& cp) {
    if (pos_ + 4 > in_.size()) return false;
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      int v = core::HexDigitValue(in_[pos_++]);
      if (v < 0) return false;
      cp = cp * 16 + static_cast<uint32_t>(v);
    }
    return true;
  }

  // Skips a balanced JSON object or array at pos_, honouring strings.
  bool SkipObject(int depth) {
    if (depth > kMaxDepth) return false;
    int level = 0;
    bool in_string = false;
    while (pos_ < in_.size()) {
      char c = in_[pos_++];
      if (in_string) {
        if (c == '\\') {
          ++pos_;
        } else if (c == '"') {
          in_string = false;
        }
        continue;
      }
      if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++level;
      } else if (c == '}' || c == ']') {
        if (--level == 0) return true;
      }
    }
    return false;
  }

  std::string_view in_;
  char delimiter_;
  std::string& out_;
  size_t pos_ = 0;
  std::vector<size_t> dims_;
};

// {"lower_bounds":[l1,…],"values":[…]} (the PostgreSQL source's form of an array whose lower
// bounds are not all 1) -> "[l1:u1]…={…}". Exactly the form the source writes; anything else
// is refused rather than guessed at.
bool BoundedArrayToPgArray(std::string_view json, char delimiter, std::string& out) {
  constexpr std::string_view kHead = "{\"lower_bounds\":[";
  constexpr std::string_view kValues = "],\"values\":";
  if (json.substr(0, kHead.size()) != kHead || json.back() != '}') return false;
  size_t values_at = json.find(kValues);
  if (values_at == std::string_view::npos) return false;
  std::vector<int64_t> lower;
  std::string_view list = json.substr(kHead.size(), values_at - kHead.size());
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    int64_t v;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || end != item.data() + item.size()) return false;
    lower.push_back(v);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  std::string_view values = json.substr(values_at + kValues.size());
  values.remove_suffix(1);  // the object's '}'
  std::string literal;
  ArrayConverter converter(values, delimiter, literal);
  if (!converter.Run() || converter.dimensions().size() != lower.size()) return false;
  for (size_t d = 0; d < lower.size(); ++d) {
    const auto n = static_cast<int64_t>(converter.dimensions()[d]);
    if (n == 0) return false;  // an empty array has no bounds
    out += '[' + std::to_string(lower[d]) + ':' + std::to_string(lower[d] + n - 1) + ']';
  }
  out += '=';
  out += literal;
  return true;
}

}  // namespace

std::optional<std::string> TargetType(const core::Column& column, bool pg_source) {
  if (pg_source && !column.source_type.empty()) {
    if (!IsSafeTypeExpression(column.source_type)) return std::nullopt;
    return column.source_type;
  }
  // Only PostgreSQL's own time is known to stay within a day. MySQL/MariaDB TIME is a duration
  // from -838:59:59 to 838:59:59 (Debezium's MicroTime carries the same range), which `time`
  // rejects; `interval` takes the canonical text as it is and keeps every value exactly.
  if (!pg_source && column.type == LogicalType::kTime) {
    return WithPrecision("interval", column.precision);
  }
  return NonPgType(column);
}

ValueKind KindOf(const core::Column& column, bool pg_source) {
  switch (column.type) {
    case LogicalType::kBytes:
      return ValueKind::kBytes;
    case LogicalType::kArray:
      // A PostgreSQL array column takes array literals; elsewhere arrays become jsonb.
      return pg_source && !column.source_type.empty() ? ValueKind::kArray : ValueKind::kPlain;
    default:
      return ValueKind::kPlain;
  }
}

bool AppendPgText(ValueKind kind, std::string_view canonical, std::string& out, char delimiter) {
  switch (kind) {
    case ValueKind::kPlain:
      out.append(canonical);
      return true;
    case ValueKind::kBytes: {
      static constexpr char kHex[] = "0123456789abcdef";
      size_t at = out.size();
      out.resize(at + 2 + canonical.size() * 2);
      char* p = out.data() + at;
      *p++ = '\\';
      *p++ = 'x';
      for (unsigned char c : canonical) {
        *p++ = kHex[c >> 4];
        *p++ = kHex[c & 15];
      }
      return true;
    }
    case ValueKind::kArray:
      return JsonArrayToPgArray(canonical, out, delimiter);
  }
  return false;
}

bool JsonArrayToPgArray(std::string_view json, std::string& out, char delimiter) {
  size_t at = out.size();
  if (!json.empty() && json[0] == '{') {
    if (BoundedArrayToPgArray(json, delimiter, out)) return true;
    out.resize(at);
    return false;
  }
  ArrayConverter converter(json, delimiter, out);
  if (!converter.Run()) {
    out.resize(at);
    return false;
  }
  return true;
}

void AppendCopyEscaped(std::string_view text, std::string& out) {
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    const char* esc = nullptr;
    switch (c) {
      case '\\': esc = "\\\\"; break;
      case '\t': esc = "\\t"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      default: continue;
    }
    out.append(text.data() + run, i - run);
    out.append(esc);
    run = i + 1;
  }
  out.append(text.data() + run, text.size() - run);
}

namespace {

// Writes the low `bytes` bytes of `v` in network order at `at`.
void PutBigEndian(uint64_t v, int bytes, char* at) {
  for (int i = bytes - 1; i >= 0; --i) {
    at[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

void AppendBigEndian(uint64_t v, int bytes, std::string& out) {
  char buf[8];
  PutBigEndian(v, bytes, buf);
  out.append(buf, static_cast<size_t>(bytes));
}

// One field of the fixed-size type T (int16/32/64, float, double) from the whole of `text`:
// from_chars range-checks integers by their type and rounds floats correctly (as the server's
// strtod-based input does; out of range fails, and the text path then has the server's error).
// The length and the value go out in one append (the snapshot load's hottest loop).
template <typename T>
bool AppendNumberField(std::string_view text, std::string& out) {
  T v;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) return false;
  using Bits = std::conditional_t<sizeof(T) == 2, uint16_t,
                                  std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>;
  char buf[4 + sizeof(T)];
  PutBigEndian(sizeof(T), 4, buf);
  PutBigEndian(std::bit_cast<Bits>(v), sizeof(T), buf + 4);
  out.append(buf, sizeof(buf));
  return true;
}

}  // namespace

BinaryKind BinaryKindOfOid(uint32_t type_oid) {
  switch (type_oid) {
    case 16: return BinaryKind::kBool;
    case 21: return BinaryKind::kInt2;
    case 23: return BinaryKind::kInt4;
    case 20: return BinaryKind::kInt8;
    case 700: return BinaryKind::kFloat4;
    case 701: return BinaryKind::kFloat8;
    case 25:    // text
    case 1043:  // varchar
    case 1042:  // bpchar
      return BinaryKind::kText;
    default: return BinaryKind::kNone;
  }
}

void AppendCopyBinaryHeader(std::string& out) {
  static constexpr char kSignature[] = "PGCOPY\n\377\r\n";  // 11 bytes with the NUL
  out.append(kSignature, 11);
  AppendBigEndian(0, 4, out);  // flags: no OIDs
  AppendBigEndian(0, 4, out);  // header extension length
}

void AppendCopyBinaryTrailer(std::string& out) { AppendBigEndian(0xffff, 2, out); }

void AppendCopyBinaryFieldCount(uint16_t fields, std::string& out) {
  AppendBigEndian(fields, 2, out);
}

void AppendCopyBinaryNull(std::string& out) { AppendBigEndian(0xffffffffu, 4, out); }

bool AppendCopyBinaryField(BinaryKind kind, std::string_view text, std::string& out) {
  switch (kind) {
    case BinaryKind::kBool: {
      // Canonical booleans are t/f; true/false and 1/0 come from other sources.
      bool v;
      if (text == "t" || text == "true" || text == "1") {
        v = true;
      } else if (text == "f" || text == "false" || text == "0") {
        v = false;
      } else {
        return false;
      }
      AppendBigEndian(1, 4, out);
      out.push_back(v ? 1 : 0);
      return true;
    }
    case BinaryKind::kInt2: return AppendNumberField<int16_t>(text, out);
    case BinaryKind::kInt4: return AppendNumberField<int32_t>(text, out);
    case BinaryKind::kInt8: return AppendNumberField<int64_t>(text, out);
    case BinaryKind::kFloat4: return AppendNumberField<float>(text, out);
    case BinaryKind::kFloat8: return AppendNumberField<double>(text, out);
    case BinaryKind::kText:
      if (text.size() > 0x3fffffffu) return false;
      AppendBigEndian(text.size(), 4, out);
      out.append(text);
      return true;
    case BinaryKind::kNone:
      return false;
  }
  return false;
}

}  // namespace sluice::sinks::pgsink
