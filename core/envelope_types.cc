#include "core/envelope_types.h"

#include <charconv>
#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/envelope.h"

namespace sluice::core {

namespace {

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// The number inside the first "(…)" of `type`, or -1.
int ParenNumber(std::string_view type) {
  size_t open = type.find('(');
  if (open == std::string_view::npos) return -1;
  int v = -1;
  auto [p, ec] = std::from_chars(type.data() + open + 1, type.data() + type.size(), v);
  return ec == std::errc() && p < type.data() + type.size() && *p == ')' ? v : -1;
}

bool IsPgBit(const Column& c) {
  return c.type == LogicalType::kString && StartsWithNoCase(c.source_type, "bit") &&
         (c.source_type.size() == 3 || c.source_type[3] == '(' || c.source_type[3] == ' ');
}

bool IsMysqlGeometry(std::string_view t) {
  for (std::string_view g : {"geometry", "point", "linestring", "polygon", "multipoint",
                             "multilinestring", "multipolygon", "geometrycollection", "geomcollection"}) {
    if (t.size() == g.size() && StartsWithNoCase(t, g)) return true;
  }
  return false;
}

template <typename Mode>
Result<Mode> Pick(const ConnectorConfig& config, std::string_view key, Mode fallback,
                  std::initializer_list<std::pair<std::string_view, Mode>> names) {
  std::string v = config.Get(key);
  if (v.empty()) return fallback;
  std::string known;
  for (const auto& [name, mode] : names) {
    if (v == name) return mode;
    known += known.empty() ? "" : ", ";
    known += name;
  }
  return InvalidArgumentError(std::string(key) + " must be one of " + known + ", got '" + v + "'");
}

// PostgreSQL's timetz: "time with time zone", "time(3) with time zone".
bool IsTimetzType(std::string_view t) {
  return StartsWithNoCase(t, "time") && !StartsWithNoCase(t, "timestamp") &&
         t.ends_with(" with time zone");
}

// The hstore extension's type, by name (its OID differs per database): format_type() qualifies
// it when its schema is not on the search_path ("extensions.hstore").
bool IsHstoreType(std::string_view t) { return t == "hstore" || t.ends_with(".hstore"); }

// The element type of PostgreSQL array type text ("hstore[]" -> "hstore"), or "" for another.
std::string_view ArrayElementType(std::string_view t) {
  return t.ends_with("[]") ? t.substr(0, t.size() - 2) : std::string_view();
}

}  // namespace

Result<BinaryMode> BinaryModeFromName(std::string_view text) {
  if (text == "bytes" || text.empty()) return BinaryMode::kBytes;
  if (text == "base64") return BinaryMode::kBase64;
  if (text == "base64-url-safe") return BinaryMode::kBase64UrlSafe;
  if (text == "hex") return BinaryMode::kHex;
  return InvalidArgumentError("binary.handling.mode must be one of bytes, base64, base64-url-safe, hex, got '" +
                              std::string(text) + "'");
}

Result<ValueModes> ValueModesFromConfig(const ConnectorConfig& config) {
  ValueModes m;
  SLUICE_ASSIGN_OR_RETURN(m.decimal, Pick(config, "decimal.handling.mode", DecimalMode::kPrecise,
                                          {{"precise", DecimalMode::kPrecise},
                                           {"double", DecimalMode::kDouble},
                                           {"string", DecimalMode::kString}}));
  SLUICE_ASSIGN_OR_RETURN(
      m.time, Pick(config, "time.precision.mode",
                   // Debezium's MySQL connector defaults to adaptive_time_microseconds (a MySQL
                   // TIME reaches 838 hours), its PostgreSQL connector to adaptive.
                   config.connector_class() == "mysql" ? TimePrecisionMode::kAdaptiveTimeMicroseconds
                                                       : TimePrecisionMode::kAdaptive,
                   {{"adaptive", TimePrecisionMode::kAdaptive},
                    {"adaptive_time_microseconds", TimePrecisionMode::kAdaptiveTimeMicroseconds},
                    {"connect", TimePrecisionMode::kConnect}}));
  SLUICE_ASSIGN_OR_RETURN(m.interval, Pick(config, "interval.handling.mode", IntervalMode::kNumeric,
                                           {{"numeric", IntervalMode::kNumeric},
                                            {"string", IntervalMode::kString}}));
  SLUICE_ASSIGN_OR_RETURN(m.binary, BinaryModeFromName(config.Get("binary.handling.mode")));
  SLUICE_ASSIGN_OR_RETURN(m.bigint_unsigned,
                          Pick(config, "bigint.unsigned.handling.mode", BigintUnsignedMode::kLong,
                               {{"long", BigintUnsignedMode::kLong},
                                {"precise", BigintUnsignedMode::kPrecise}}));
  SLUICE_ASSIGN_OR_RETURN(m.hstore, Pick(config, "hstore.handling.mode", HstoreMode::kJson,
                                         {{"json", HstoreMode::kJson}, {"map", HstoreMode::kMap}}));
  SLUICE_ASSIGN_OR_RETURN(m.schema_comments, config.GetBool("include.schema.comments", false));
  return m;
}

ConfigKey SkippedOperationsConfigKey() {
  return MakeConfigKey("skipped.operations", ConfigType::kList,
                       std::string(kDefaultSkippedOperations),
                       "Debezium's key: operations not written, a comma-separated list of c, u, "
                       "d, t, or none; the default, t, drops truncates as Debezium does");
}

Result<std::string> SkippedOperationsFromConfig(const ConnectorConfig& config) {
  if (!config.Has("skipped.operations")) return std::string(kDefaultSkippedOperations);
  std::string ops;
  for (const std::string& op : config.GetList("skipped.operations")) {
    if (op == "none") continue;
    if (op != "c" && op != "u" && op != "d" && op != "t") {
      return InvalidArgumentError("skipped.operations: '" + op +
                                  "' is not an operation; use c, u, d, t or none");
    }
    if (ops.find(op) == std::string::npos) ops += op;
  }
  return ops;
}

bool SkipsOperation(std::string_view skipped_ops, Op op) {
  return skipped_ops.find(static_cast<char>(op)) != std::string_view::npos;
}

std::string SkippedSnapshotTruncateWarning(const EventBatch& batch, const ChangeEvent& event) {
  if (event.op != Op::kTruncate || !batch.txn(event.txn).snapshot) return "";
  return "skipped.operations (Debezium's default, t) drops the truncate of " +
         event.table->id.schema + "." + event.table->id.table +
         " that the restarted snapshot sends before reading the table again: rows deleted at the "
         "source between the two snapshot attempts stay in the output; set "
         "skipped.operations=none to write it";
}

bool MoneyToDecimal(std::string_view t, std::string& out) {
  out.clear();
  if (!t.empty() && t.front() == '-') {
    out += '-';
    t.remove_prefix(1);
  }
  if (!t.empty() && t.front() == '$') t.remove_prefix(1);
  size_t dot = t.find('.');
  std::string_view whole = t.substr(0, dot);
  if (whole.empty() || whole.front() == ',' || whole.back() == ',') return false;
  for (char c : whole) {
    if (c >= '0' && c <= '9') {
      out += c;
    } else if (c != ',') {
      return false;
    }
  }
  if (dot != std::string_view::npos) {
    std::string_view frac = t.substr(dot + 1);
    if (frac.empty()) return false;
    out += '.';
    for (char c : frac) {
      if (c < '0' || c > '9') return false;
      out += c;
    }
  }
  return true;
}

int FractionalDigits(const Column& c) {
  int p = ParenNumber(c.source_type);
  if (p >= 0) return p;
  if (c.source_type.find("time zone") != std::string::npos) return 6;  // PostgreSQL's default
  if (c.precision > 0 || !c.source_type.empty()) return c.precision;   // MySQL: 0 when unset
  return 6;  // unknown source: keep microseconds
}

int32_t BitsLength(const Column& c) {
  int p = ParenNumber(c.source_type);
  if (p > 0) return p;
  if (c.length > 0) return c.length;
  if (c.precision > 0) return c.precision;
  return c.source_type.find("varying") != std::string::npos ? INT32_MAX : 1;
}

EnvelopeKind EnvelopeKindOf(const Column& c, const ValueModes& m) {
  using K = EnvelopeKind;
  bool adaptive = m.time == TimePrecisionMode::kAdaptive;
  bool connect = m.time == TimePrecisionMode::kConnect;
  switch (c.type) {
    case LogicalType::kBytes:
      if (m.debezium_types && StartsWithNoCase(c.source_type, "bit")) return K::kBitsFromBytes;
      if (m.debezium_types && IsMysqlGeometry(c.source_type)) return K::kGeometry;
      return m.binary == BinaryMode::kBytes ? K::kBytes : K::kBytesText;
    case LogicalType::kDecimal:
      if (m.debezium_types && c.is_unsigned && StartsWithNoCase(c.source_type, "bigint")) {
        return m.bigint_unsigned == BigintUnsignedMode::kLong ? K::kUnsignedLong : K::kUnsignedDecimal;
      }
      if (m.decimal == DecimalMode::kString) return K::kDecimalString;
      if (m.decimal == DecimalMode::kDouble) return K::kDecimalDouble;
      return c.precision > 0 ? K::kDecimal : K::kVariableDecimal;
    case LogicalType::kDate:
      return K::kDate;
    case LogicalType::kTime:
      if (connect || (adaptive && FractionalDigits(c) <= 3)) return K::kTimeMillis;
      return K::kTimeMicros;
    case LogicalType::kTimestamp:
      if (connect || (m.time != TimePrecisionMode::kMicros && FractionalDigits(c) <= 3)) {
        return K::kTimestampMillis;
      }
      return K::kTimestampMicros;
    case LogicalType::kTimestampTz:
      return K::kZonedTimestamp;
    case LogicalType::kInterval:
      return m.interval == IntervalMode::kNumeric ? K::kMicroDuration : K::kIntervalString;
    case LogicalType::kInt16:
    case LogicalType::kInt32:
      return m.debezium_types && StartsWithNoCase(c.source_type, "year") ? K::kYear : K::kAsType;
    case LogicalType::kString:
      if (!m.debezium_types) return K::kAsType;
      if (StartsWithNoCase(c.source_type, "set(")) return K::kEnumSet;
      if (c.source_type == "money") return K::kMoney;
      if (IsTimetzType(c.source_type)) return K::kZonedTime;
      if (IsPgBit(c)) {
        return BitsLength(c) == 1 && c.source_type.find("varying") == std::string::npos
                   ? K::kBitFromText
                   : K::kBitsFromText;
      }
      return K::kAsType;
    case LogicalType::kArray: {
      std::string_view element = ArrayElementType(c.source_type);
      if (!m.debezium_types || element.empty()) return K::kAsType;
      if (IsTimetzType(element)) return K::kZonedTimeArray;
      if (IsHstoreType(element)) {
        return m.hstore == HstoreMode::kJson ? K::kHstoreJsonArray : K::kHstoreMapArray;
      }
      return K::kAsType;
    }
    case LogicalType::kUnknown:
      if (!m.debezium_types) return K::kAsType;
      if (IsHstoreType(c.source_type)) {
        return m.hstore == HstoreMode::kJson ? K::kHstoreJson : K::kHstoreMap;
      }
      return c.source_type == "point" ? K::kPoint : K::kAsType;
    default:
      return K::kAsType;
  }
}

const char* EnvelopeSchemaName(EnvelopeKind kind, const ValueModes& m) {
  bool connect = m.time == TimePrecisionMode::kConnect;
  switch (kind) {
    case EnvelopeKind::kDecimal:
    case EnvelopeKind::kUnsignedDecimal: return "org.apache.kafka.connect.data.Decimal";
    case EnvelopeKind::kVariableDecimal: return "io.debezium.data.VariableScaleDecimal";
    case EnvelopeKind::kDate: return connect ? "org.apache.kafka.connect.data.Date" : "io.debezium.time.Date";
    case EnvelopeKind::kTimeMillis: return connect ? "org.apache.kafka.connect.data.Time" : "io.debezium.time.Time";
    case EnvelopeKind::kTimeMicros: return "io.debezium.time.MicroTime";
    case EnvelopeKind::kTimestampMillis:
      return connect ? "org.apache.kafka.connect.data.Timestamp" : "io.debezium.time.Timestamp";
    case EnvelopeKind::kTimestampMicros: return "io.debezium.time.MicroTimestamp";
    case EnvelopeKind::kZonedTimestamp: return "io.debezium.time.ZonedTimestamp";
    case EnvelopeKind::kMicroDuration: return "io.debezium.time.MicroDuration";
    case EnvelopeKind::kIntervalString: return "io.debezium.time.Interval";
    case EnvelopeKind::kYear: return "io.debezium.time.Year";
    case EnvelopeKind::kEnumSet: return "io.debezium.data.EnumSet";
    case EnvelopeKind::kBitsFromText:
    case EnvelopeKind::kBitsFromBytes: return "io.debezium.data.Bits";
    case EnvelopeKind::kGeometry: return "io.debezium.data.geometry.Geometry";
    case EnvelopeKind::kPoint: return "io.debezium.data.geometry.Point";
    case EnvelopeKind::kMoney:
      return m.decimal == DecimalMode::kPrecise ? "org.apache.kafka.connect.data.Decimal" : nullptr;
    case EnvelopeKind::kZonedTime: return "io.debezium.time.ZonedTime";
    case EnvelopeKind::kHstoreJson: return "io.debezium.data.Json";
    default: return nullptr;
  }
}

const char* EnvelopeSchemaType(EnvelopeKind kind, const Column& c, const ValueModes& m) {
  switch (kind) {
    case EnvelopeKind::kMoney:
      return m.decimal == DecimalMode::kPrecise ? "bytes"
             : m.decimal == DecimalMode::kDouble ? "double"
                                                 : "string";
    case EnvelopeKind::kBytes:
    case EnvelopeKind::kDecimal:
    case EnvelopeKind::kUnsignedDecimal:
    case EnvelopeKind::kBitsFromText:
    case EnvelopeKind::kBitsFromBytes: return "bytes";
    case EnvelopeKind::kDecimalDouble: return "double";
    case EnvelopeKind::kVariableDecimal:
    case EnvelopeKind::kGeometry:
    case EnvelopeKind::kPoint: return "struct";
    case EnvelopeKind::kUnsignedLong:
    case EnvelopeKind::kTimeMicros:
    case EnvelopeKind::kTimestampMillis:
    case EnvelopeKind::kTimestampMicros:
    case EnvelopeKind::kMicroDuration: return "int64";
    case EnvelopeKind::kDate:
    case EnvelopeKind::kTimeMillis:
    case EnvelopeKind::kYear: return "int32";
    case EnvelopeKind::kBitFromText: return "boolean";
    case EnvelopeKind::kHstoreMap: return "map";
    case EnvelopeKind::kZonedTimeArray:
    case EnvelopeKind::kHstoreJsonArray:
    case EnvelopeKind::kHstoreMapArray: return "array";
    case EnvelopeKind::kAsType: break;
    default: return "string";
  }
  switch (c.type) {
    case LogicalType::kBool: return "boolean";
    case LogicalType::kInt16: return "int16";
    case LogicalType::kInt32: return "int32";
    case LogicalType::kInt64: return "int64";
    case LogicalType::kFloat32: return "float";
    case LogicalType::kFloat64: return "double";
    case LogicalType::kArray: return "array";
    default: return "string";
  }
}

}  // namespace sluice::core
