#include "connectors/postgres/pg_types.h"

#include <nlohmann/json.hpp>

#include "core/parse_number.h"
#include "core/text_codec.h"
#include "core/value_text.h"

namespace sluice::pg {
namespace {

using core::LogicalType;


bool IsBuiltin(uint32_t oid) { return oid < 10000 && LogicalTypeForOid(oid) != LogicalType::kUnknown; }

// Array literal parser (PostgreSQL documentation, "8.15.6 Array Input and Output Syntax").
class ArrayParser {
 public:
  ArrayParser(std::string_view text, ElementKind kind, char delimiter, std::string& out)
      : s_(text), kind_(kind), delimiter_(delimiter), out_(out) {}

  // "[0:2]={7,8,9}" (PostgreSQL prints the bounds when a lower bound is not 1) becomes
  // {"lower_bounds":[0],"values":[7,8,9]}, one lower bound per dimension, so that no target
  // reads v[0] as NULL: the PostgreSQL sink writes the bounds back, other sinks keep the object.
  bool Parse() {
    bool bounds = !s_.empty() && s_[0] == '[';
    if (bounds) {
      out_ += "{\"lower_bounds\":[";
      for (bool first = true; i_ < s_.size() && s_[i_] == '['; first = false) {
        size_t colon = s_.find(':', i_);
        size_t close = s_.find(']', i_);
        if (colon == std::string_view::npos || close == std::string_view::npos || colon > close) {
          return false;
        }
        std::string_view lower = s_.substr(i_ + 1, colon - i_ - 1);
        if (lower.empty() || !core::IsJsonNumber(lower) ||
            lower.find_first_of(".eE") != std::string_view::npos) {
          return false;
        }
        if (!first) out_ += ',';
        out_ += lower;
        i_ = close + 1;
      }
      if (i_ >= s_.size() || s_[i_] != '=') return false;
      ++i_;
      out_ += "],\"values\":";
    }
    if (!ParseArray()) return false;
    if (bounds) out_ += '}';
    SkipSpace();
    return i_ == s_.size();
  }

 private:
  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n')) ++i_;
  }

  bool ParseArray() {
    SkipSpace();
    if (i_ >= s_.size() || s_[i_] != '{') return false;
    ++i_;
    out_ += '[';
    SkipSpace();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      out_ += ']';
      return true;
    }
    for (bool first = true;; first = false) {
      if (!first) out_ += ',';
      SkipSpace();
      if (i_ >= s_.size()) return false;
      if (s_[i_] == '{') {
        if (!ParseArray()) return false;
      } else if (s_[i_] == '"') {
        if (!ParseQuoted()) return false;
      } else if (!ParseBare()) {
        return false;
      }
      SkipSpace();
      if (i_ >= s_.size()) return false;
      if (s_[i_] == delimiter_) {
        ++i_;
        continue;
      }
      if (s_[i_] == '}') {
        ++i_;
        out_ += ']';
        return true;
      }
      return false;
    }
  }

  bool ParseQuoted() {
    ++i_;
    elem_.clear();
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\') {
        if (++i_ >= s_.size()) return false;
      }
      elem_ += s_[i_++];
    }
    if (i_ >= s_.size()) return false;
    ++i_;
    EmitElement(/*quoted=*/true);
    return true;
  }

  bool ParseBare() {
    elem_.clear();
    while (i_ < s_.size() && s_[i_] != delimiter_ && s_[i_] != '}') {
      if (s_[i_] == '\\') {
        if (++i_ >= s_.size()) return false;
      }
      elem_ += s_[i_++];
    }
    while (!elem_.empty() && elem_.back() == ' ') elem_.pop_back();
    if (elem_.empty()) return false;
    if (elem_.size() == 4 && (elem_ == "NULL" || elem_ == "null" || elem_ == "Null")) {
      out_ += "null";
      return true;
    }
    EmitElement(/*quoted=*/false);
    return true;
  }

  void EmitElement(bool quoted) {
    if (kind_ == ElementKind::kNumber && !quoted && core::IsJsonNumber(elem_)) {
      out_ += elem_;
    } else if (kind_ == ElementKind::kBool && (elem_ == "t" || elem_ == "f")) {
      out_ += elem_ == "t" ? "true" : "false";
    } else {
      core::AppendJsonString(out_, elem_);
    }
  }

  std::string_view s_;
  ElementKind kind_;
  char delimiter_;  // the element type's pg_type.typdelim: ';' for box, ',' for the others
  std::string& out_;
  size_t i_ = 0;
  std::string elem_;
};

}  // namespace

LogicalType LogicalTypeForOid(uint32_t oid) {
  switch (oid) {
    case 16: return LogicalType::kBool;
    case 17: return LogicalType::kBytes;
    case 18: case 19: case 25: case 1042: case 1043: return LogicalType::kString;
    case 20: case 26: return LogicalType::kInt64;  // oid is unsigned 32-bit
    case 21: return LogicalType::kInt16;
    case 23: return LogicalType::kInt32;
    case 114: case 3802: return LogicalType::kJson;
    case 700: return LogicalType::kFloat32;
    case 701: return LogicalType::kFloat64;
    case 1700: return LogicalType::kDecimal;
    case 2950: return LogicalType::kUuid;
    case 1082: return LogicalType::kDate;
    case 1083: return LogicalType::kTime;
    case 1114: return LogicalType::kTimestamp;
    case 1184: return LogicalType::kTimestampTz;
    case 1186: return LogicalType::kInterval;
    // Kept as text, with the exact type in source_type.
    case 142:   // xml
    case 650:   // cidr
    case 774:   // macaddr8
    case 790:   // money
    case 829:   // macaddr
    case 869:   // inet
    case 1266:  // timetz
    case 1560:  // bit
    case 1562:  // varbit
      return LogicalType::kString;
    default: return LogicalType::kUnknown;
  }
}

core::Result<const PgTypeInfo*> TypeResolver::Get(uint32_t oid) {
  auto it = cache_.find(oid);
  if (it != cache_.end()) return &it->second;
  if (conn_ == nullptr) return core::InternalError("postgres type " + std::to_string(oid) + " unknown");
  SLUICE_ASSIGN_OR_RETURN(
      PgRows rows,
      conn_->Query("SELECT t.typtype, t.typcategory, t.typelem, t.typbasetype, t.typtypmod, "
                   "quote_ident(n.nspname) || '.' || quote_ident(t.typname), "
                   "coalesce((SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e "
                   "WHERE e.enumtypid = t.oid)::text, '[]'), t.typdelim "
                   "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = " +
                   std::to_string(oid)));
  PgTypeInfo info;
  info.oid = oid;
  if (rows.empty()) {
    info.typtype = 'b';
  } else {
    const PgRow& r = rows[0];
    info.typtype = r[0].value_or("b")[0];
    info.category = r[1].value_or("U")[0];
    const std::string what = "postgres pg_type of type " + std::to_string(oid);
    SLUICE_ASSIGN_OR_RETURN(info.element,
                            core::ParseNumber<uint32_t>(r[2].value_or("0"), what + ": typelem"));
    SLUICE_ASSIGN_OR_RETURN(info.base,
                            core::ParseNumber<uint32_t>(r[3].value_or("0"), what + ": typbasetype"));
    SLUICE_ASSIGN_OR_RETURN(info.base_typmod,
                            core::ParseNumber<int32_t>(r[4].value_or("-1"), what + ": typtypmod"));
    info.qualified_name = r[5].value_or("");
    std::string delimiter = r[7].value_or(",");
    info.delimiter = delimiter.size() == 1 ? delimiter[0] : ',';
    try {
      auto labels = nlohmann::json::parse(r[6].value_or("[]"));
      for (const auto& l : labels) info.enum_labels.push_back(l.get<std::string>());
    } catch (const std::exception& e) {
      return core::InternalError("postgres enum labels of type " + std::to_string(oid) + ": " + e.what());
    }
  }
  return &cache_.emplace(oid, std::move(info)).first->second;
}

core::Result<uint32_t> TypeResolver::ResolveDomain(uint32_t oid, int32_t& typmod, std::string& text) {
  for (int depth = 0; depth < 32; ++depth) {
    if (IsBuiltin(oid)) return oid;
    SLUICE_ASSIGN_OR_RETURN(const PgTypeInfo* info, Get(oid));
    if (info->typtype != 'd' || info->base == 0) return oid;
    oid = info->base;
    typmod = info->base_typmod;
    if (conn_) {
      SLUICE_ASSIGN_OR_RETURN(PgRows rows, conn_->Query("SELECT format_type(" + std::to_string(oid) +
                                                        ", " + std::to_string(typmod) + ")"));
      if (!rows.empty() && rows[0][0]) text = *rows[0][0];
    }
  }
  return oid;
}

core::Status TypeResolver::Describe(uint32_t oid, int32_t typmod, const std::string& format_type,
                                    core::Column& column, ColumnCodec& codec) {
  column.source_type = format_type;
  codec = ColumnCodec{};
  SLUICE_ASSIGN_OR_RETURN(uint32_t base, ResolveDomain(oid, typmod, column.source_type));
  LogicalType type = LogicalTypeForOid(base);
  if (type == LogicalType::kUnknown && !IsBuiltin(base)) {
    SLUICE_ASSIGN_OR_RETURN(const PgTypeInfo* info, Get(base));
    if (info->typtype == 'e') {
      type = LogicalType::kEnum;
      column.enum_values = info->enum_labels;
      column.source_type = info->qualified_name;
    } else if (info->category == 'A' && info->element != 0) {
      type = LogicalType::kArray;
      codec.codec = ValueCodec::kArray;
      int32_t elem_mod = -1;
      std::string elem_text;
      const uint32_t declared = info->element;
      SLUICE_ASSIGN_OR_RETURN(uint32_t elem, ResolveDomain(declared, elem_mod, elem_text));
      if (!IsBuiltin(elem)) {
        SLUICE_ASSIGN_OR_RETURN(const PgTypeInfo* elem_info, Get(elem));
        codec.delimiter = elem_info->delimiter;
        if (elem_info->typtype == 'e') {
          // enum[]: the labels and the schema-qualified element type travel with the column,
          // so that a PostgreSQL target can create the enum before the mood[] column.
          column.enum_values = elem_info->enum_labels;
          column.source_type = elem_info->qualified_name + "[]";
        } else if (elem != declared && !elem_text.empty()) {
          column.source_type = elem_text + "[]";  // domain[]: its base type's array, as domains
        }
      } else if (elem != declared && !elem_text.empty()) {
        column.source_type = elem_text + "[]";  // domain[] over a built-in type
      }
      switch (LogicalTypeForOid(elem)) {
        case LogicalType::kInt16: case LogicalType::kInt32: case LogicalType::kInt64:
        case LogicalType::kFloat32: case LogicalType::kFloat64: case LogicalType::kDecimal:
          codec.element = ElementKind::kNumber;
          break;
        case LogicalType::kBool: codec.element = ElementKind::kBool; break;
        default: codec.element = ElementKind::kString; break;
      }
    }
  }
  column.type = type;
  if (type == LogicalType::kBytes) codec.codec = ValueCodec::kBytea;
  // A domain is sent in its base type's binary format; an enum as its label.
  codec.binary = type == LogicalType::kEnum    ? BinaryKind::kRaw
                 : type == LogicalType::kArray ? BinaryKind::kNone
                                               : BinaryKindForOid(base);
  if (typmod >= 0) {
    switch (base) {
      case 1042: case 1043: case 1560: case 1562:
        column.length = base >= 1560 ? typmod : typmod - 4;
        break;
      case 1700:
        column.precision = ((typmod - 4) >> 16) & 0xffff;
        // PostgreSQL 15 keeps the scale in 11 signed bits (numeric(3,-2), numeric(3,5)).
        column.scale = (((typmod - 4) & 0x7ff) ^ 1024) - 1024;
        break;
      case 1083: case 1114: case 1184: case 1266: case 1186:
        column.precision = typmod & 0xffff;
        break;
      default: break;
    }
  }
  return core::Status::Ok();
}

bool DecodeByteaHex(std::string_view text, std::string& out) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || (text.size() & 1) != 0) return false;
  out.resize((text.size() - 2) / 2);
  for (size_t i = 2, o = 0; i < text.size(); i += 2, ++o) {
    int hi = core::HexDigitValue(text[i]), lo = core::HexDigitValue(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[o] = static_cast<char>(hi << 4 | lo);
  }
  return true;
}

bool PgArrayToJson(std::string_view text, ElementKind element, std::string& out,
                   char delimiter) {
  out.clear();
  return ArrayParser(text, element, delimiter, out).Parse();
}

bool AppendCanonical(core::EventBatch& batch, const ColumnCodec& codec, std::string_view text,
                     std::string& scratch) {
  switch (codec.codec) {
    case ValueCodec::kPlain:
      batch.AppendValue(text);
      return true;
    case ValueCodec::kBytea: {
      if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || (text.size() & 1) != 0) {
        return false;
      }
      uint32_t n = static_cast<uint32_t>((text.size() - 2) / 2);
      char* dst = batch.AppendValueSpace(n);
      for (size_t i = 2, o = 0; i < text.size(); i += 2, ++o) {
        int hi = core::HexDigitValue(text[i]), lo = core::HexDigitValue(text[i + 1]);
        if (hi < 0 || lo < 0) {
          batch.ShrinkLastValue(0);
          return false;
        }
        dst[o] = static_cast<char>(hi << 4 | lo);
      }
      return true;
    }
    case ValueCodec::kArray:
      if (!PgArrayToJson(text, codec.element, scratch, codec.delimiter)) return false;
      batch.AppendValue(scratch);
      return true;
  }
  return false;
}

}  // namespace sluice::pg
