#include "connectors/kafka/kafka_types.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "core/envelope.h"
#include "core/pg_text_types.h"
#include "core/text_codec.h"
#include "core/value_text.h"

namespace sluice::kafka {

namespace {

using core::LogicalType;
using json = nlohmann::ordered_json;

// base64 of the placeholder, as Debezium writes unchanged TOAST values of bytea columns.
constexpr std::string_view kUnavailableBase64 = "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==";

// An integer parameter of a field schema (a number, or a string holding one, as Debezium writes
// them); 0 when absent, malformed or outside int32.
int32_t IntParam(const json& params, const char* name) {
  if (!params.is_object()) return 0;
  auto it = params.find(name);
  if (it == params.end()) return 0;
  int32_t v = 0;
  if (it->is_number_unsigned()) {
    uint64_t u = it->get<uint64_t>();
    return u <= static_cast<uint64_t>(INT32_MAX) ? static_cast<int32_t>(u) : 0;
  }
  if (it->is_number_integer()) {
    int64_t i = it->get<int64_t>();
    return i >= INT32_MIN && i <= INT32_MAX ? static_cast<int32_t>(i) : 0;
  }
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && end == s.data() + s.size() ? v : 0;
  }
  return 0;
}

// `value` as an int64 when it is a JSON integer in int64's range (a JSON unsigned above
// INT64_MAX is not: the cast would change its value).
bool Int64Value(const json& value, int64_t& out) {
  if (value.is_number_unsigned()) {
    uint64_t u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return false;
    out = static_cast<int64_t>(u);
    return true;
  }
  if (value.is_number_integer()) {
    out = value.get<int64_t>();
    return true;
  }
  return false;
}

core::Status Mismatch(const ColumnCodec& codec, const json& value, std::string_view why = "") {
  std::string message = "column " + codec.column.name + ": value " + core::SafeText(value.dump(), 80) +
                        " does not fit its declared type " +
                        std::string(core::LogicalTypeName(codec.column.type));
  if (!why.empty()) message += std::string(" (") + std::string(why) + ")";
  return core::InvalidArgumentError(std::move(message));
}

std::string DecimalLimits(int64_t scale, size_t bytes) {
  return "scale " + std::to_string(scale) + " and " + std::to_string(bytes) +
         " bytes; the limits are a scale within +/-" + std::to_string(kMaxDecimalScale) + " and " +
         std::to_string(kMaxDecimalBytes) + " bytes";
}

}  // namespace

std::optional<std::string> DecimalFromBytes(std::string_view bytes, int32_t scale) {
  if (scale > kMaxDecimalScale || scale < -kMaxDecimalScale || bytes.size() > kMaxDecimalBytes) {
    return std::nullopt;
  }
  bool negative = !bytes.empty() && (static_cast<uint8_t>(bytes[0]) & 0x80);
  // The magnitude as big-endian 32-bit limbs (two's complement undone: invert, add one).
  std::vector<uint8_t> mag(bytes.begin(), bytes.end());
  if (negative) {
    for (auto& b : mag) b = static_cast<uint8_t>(~b);
    for (size_t i = mag.size(); i-- > 0;) {
      if (++mag[i] != 0) break;
    }
  }
  std::vector<uint32_t> limbs((mag.size() + 3) / 4, 0);
  for (size_t i = 0; i < mag.size(); ++i) {
    size_t from_end = mag.size() - 1 - i;
    limbs[limbs.size() - 1 - from_end / 4] |= static_cast<uint32_t>(mag[i]) << (8 * (from_end % 4));
  }
  // Repeated division by 10^9: nine digits per pass over the limbs.
  std::string digits;
  size_t start = 0;
  while (start < limbs.size() && limbs[start] == 0) ++start;
  while (start < limbs.size()) {
    uint64_t rem = 0;
    for (size_t i = start; i < limbs.size(); ++i) {
      uint64_t cur = (rem << 32) | limbs[i];
      limbs[i] = static_cast<uint32_t>(cur / 1000000000u);
      rem = cur % 1000000000u;
    }
    while (start < limbs.size() && limbs[start] == 0) ++start;
    for (int k = 0; k < 9 && (rem != 0 || start < limbs.size()); ++k) {
      digits += static_cast<char>('0' + rem % 10);
      rem /= 10;
    }
  }
  if (digits.empty()) digits = "0";
  std::reverse(digits.begin(), digits.end());
  if (scale < 0) {
    if (digits != "0") digits.append(static_cast<size_t>(-static_cast<int64_t>(scale)), '0');
  } else if (scale > 0) {
    if (digits.size() <= static_cast<size_t>(scale)) {
      digits.insert(0, static_cast<size_t>(scale) - digits.size() + 1, '0');
    }
    digits.insert(digits.size() - static_cast<size_t>(scale), 1, '.');
  }
  return negative && digits.find_first_not_of("0.") != std::string::npos ? "-" + digits : digits;
}

std::optional<std::string> ZonedToCanonical(std::string_view iso) {
  if (iso == "infinity" || iso == "-infinity") return std::string(iso);
  std::string s(iso);
  size_t t = s.find_first_of("Tt");
  if (t != std::string::npos) s[t] = ' ';
  if (!s.empty() && (s.back() == 'Z' || s.back() == 'z')) {
    s.pop_back();
    s += "+00";
  }
  // Not through int64 microseconds: PostgreSQL's timestamptz reaches 294276 AD, past their end.
  return core::TimestampTzToCanonicalUtc(s);
}

std::string MicrosToIsoDuration(int64_t micros) {
  std::string out = "PT";
  // The magnitude in unsigned arithmetic: exact for INT64_MIN too.
  uint64_t magnitude = static_cast<uint64_t>(micros);
  if (micros < 0) {
    out += '-';
    magnitude = 0 - magnitude;
  }
  out += std::to_string(magnitude / 1000000);
  if (uint64_t frac = magnitude % 1000000) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%06llu", static_cast<unsigned long long>(frac));
    std::string f(buf);
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += '.' + f;
  }
  out += 'S';
  return out;
}

namespace {

bool IsBinarySourceType(std::string_view t) {
  return t == "BYTEA" || t == "BLOB" || t == "TINYBLOB" || t == "MEDIUMBLOB" || t == "LONGBLOB" ||
         t == "BINARY" || t == "VARBINARY";
}

std::vector<std::string> SplitAllowed(const json& params) {
  std::vector<std::string> out;
  if (!params.is_object() || !params.contains("allowed") || !params["allowed"].is_string()) return out;
  std::string allowed = params["allowed"].get<std::string>();
  size_t start = 0;
  while (start <= allowed.size()) {
    size_t comma = allowed.find(',', start);
    if (comma == std::string::npos) comma = allowed.size();
    out.push_back(allowed.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace

ColumnCodec CodecFromFieldSchema(const json& field, const DecodeHints& hints) {
  ColumnCodec c;
  c.column.name = field.value("field", "");
  c.column.nullable = field.value("optional", true);
  std::string type = field.value("type", "string");
  std::string name = field.contains("name") && field["name"].is_string() ? field["name"].get<std::string>() : "";
  const json params = field.contains("parameters") ? field["parameters"] : json();
  c.column.length = IntParam(params, "__debezium.source.column.length");
  // column.propagate.source.type's type name ("NUMERIC", "BIGINT UNSIGNED", "BYTEA").
  const std::string source_type =
      params.is_object() && params.contains("__debezium.source.column.type") &&
              params["__debezium.source.column.type"].is_string()
          ? params["__debezium.source.column.type"].get<std::string>()
          : "";
  auto set = [&](LogicalType t, Encoding e) {
    c.column.type = t;
    c.encoding = e;
  };
  if (name == "io.debezium.time.Date" || name == "org.apache.kafka.connect.data.Date") {
    set(LogicalType::kDate, Encoding::kDays);
  } else if (name == "io.debezium.time.Time" || name == "org.apache.kafka.connect.data.Time") {
    set(LogicalType::kTime, Encoding::kMillisOfDay);
  } else if (name == "io.debezium.time.MicroTime") {
    set(LogicalType::kTime, Encoding::kMicrosOfDay);
  } else if (name == "io.debezium.time.NanoTime") {
    set(LogicalType::kTime, Encoding::kNanosOfDay);
  } else if (name == "io.debezium.time.Timestamp" ||
             name == "org.apache.kafka.connect.data.Timestamp") {
    set(LogicalType::kTimestamp, Encoding::kEpochMillis);
  } else if (name == "io.debezium.time.MicroTimestamp") {
    set(LogicalType::kTimestamp, Encoding::kEpochMicros);
  } else if (name == "io.debezium.time.NanoTimestamp") {
    set(LogicalType::kTimestamp, Encoding::kEpochNanos);
  } else if (name == "io.debezium.time.ZonedTimestamp") {
    set(LogicalType::kTimestampTz, Encoding::kZoned);
  } else if (name == "io.debezium.time.ZonedTime") {
    set(LogicalType::kString, Encoding::kZonedTime);
  } else if ((source_type == "HSTORE" || source_type.ends_with(".HSTORE")) &&
             (name == "io.debezium.data.Json" || type == "map")) {
    set(LogicalType::kString, Encoding::kHstore);
  } else if (name == "io.debezium.time.Interval") {
    set(LogicalType::kInterval, Encoding::kAsIs);
  } else if (name == "io.debezium.time.MicroDuration") {
    set(LogicalType::kInterval, Encoding::kMicroDuration);
  } else if (name == "io.debezium.time.Year") {
    set(LogicalType::kInt32, Encoding::kAsIs);
  } else if (name == "org.apache.kafka.connect.data.Decimal") {
    set(LogicalType::kDecimal, Encoding::kDecimalBytes);
    c.scale = IntParam(params, "scale");
    c.column.scale = c.scale;
    c.column.precision = IntParam(params, "connect.decimal.precision");
    if (source_type == "BIGINT UNSIGNED") {  // bigint.unsigned.handling.mode=precise
      c.column.precision = 20;
      c.column.is_unsigned = true;
    }
  } else if (name == "io.debezium.data.VariableScaleDecimal") {
    set(LogicalType::kDecimal, Encoding::kVariableDecimal);
  } else if (name == "io.debezium.data.Json") {
    set(LogicalType::kJson, Encoding::kAsIs);
  } else if (name == "io.debezium.data.Uuid") {
    set(LogicalType::kUuid, Encoding::kAsIs);
  } else if (name == "io.debezium.data.Enum") {
    set(LogicalType::kEnum, Encoding::kAsIs);
    c.column.enum_values = SplitAllowed(params);
  } else if (name == "io.debezium.data.EnumSet") {
    set(LogicalType::kString, Encoding::kAsIs);
    c.column.enum_values = SplitAllowed(params);
  } else if (name == "io.debezium.data.geometry.Geometry") {
    set(LogicalType::kBytes, Encoding::kGeometry);
  } else if (name == "io.debezium.data.geometry.Point") {
    set(LogicalType::kString, Encoding::kPoint);
  } else if (name == "io.debezium.data.Bits") {
    c.bits = IntParam(params, "length");
    if (hints.mysql) {
      set(LogicalType::kBytes, Encoding::kBitsToBytes);
    } else {
      set(LogicalType::kString, Encoding::kBitsToText);
    }
    c.column.length = c.bits;
  } else if (type == "boolean") {
    set(LogicalType::kBool, Encoding::kBool);
  } else if (type == "int8" || type == "int16") {
    set(LogicalType::kInt16, Encoding::kAsIs);
  } else if (type == "int32") {
    set(LogicalType::kInt32, Encoding::kAsIs);
  } else if (type == "int64") {
    set(LogicalType::kInt64, Encoding::kAsIs);
    if (source_type == "BIGINT UNSIGNED") {  // bigint.unsigned.handling.mode=long
      c.column.type = LogicalType::kDecimal;
      c.column.precision = 20;
      c.column.is_unsigned = true;
    }
  } else if (type == "float") {
    set(LogicalType::kFloat32, Encoding::kAsIs);
  } else if (type == "double") {
    set(LogicalType::kFloat64, Encoding::kAsIs);
    if (source_type == "NUMERIC" || source_type == "DECIMAL" || source_type == "MONEY") {  // double mode
      c.column.type = LogicalType::kDecimal;
      c.column.precision = c.column.length;
      c.column.length = 0;
      c.column.scale = IntParam(params, "__debezium.source.column.scale");
    }
  } else if (type == "bytes") {
    set(LogicalType::kBytes, Encoding::kBase64);
  } else if (type == "string" && IsBinarySourceType(source_type) &&
             hints.binary != core::BinaryMode::kBytes) {
    set(LogicalType::kBytes, hints.binary == core::BinaryMode::kHex ? Encoding::kHex : Encoding::kBase64);
  } else if (type == "array") {
    set(LogicalType::kArray, Encoding::kAsIs);
  } else if (type == "string") {
    set(LogicalType::kString, Encoding::kAsIs);
    // Our own sink (and Debezium with column.propagate.source.type) says when a string holds a
    // decimal (decimal.handling.mode=string): keep it exact as kDecimal.
    if (source_type == "NUMERIC" || source_type == "DECIMAL" || source_type == "MONEY") {
      c.column.type = LogicalType::kDecimal;
      c.column.precision = c.column.length;
      c.column.length = 0;
      c.column.scale = IntParam(params, "__debezium.source.column.scale");
    }
  } else {
    set(LogicalType::kJson, Encoding::kAsIs);  // struct, map: the JSON text
  }
  return c;
}

ColumnCodec CodecFromValue(const std::string& name, const json& value) {
  ColumnCodec c;
  c.column.name = name;
  switch (value.type()) {
    case json::value_t::boolean: c.column.type = LogicalType::kBool; c.encoding = Encoding::kBool; break;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: c.column.type = LogicalType::kInt64; break;
    case json::value_t::number_float: c.column.type = LogicalType::kFloat64; break;
    case json::value_t::array: c.column.type = LogicalType::kArray; break;
    case json::value_t::object: c.column.type = LogicalType::kJson; break;
    default: c.column.type = LogicalType::kString; break;
  }
  return c;
}

core::Status AppendCanonical(core::EventBatch& batch, const ColumnCodec& codec, const json& value) {
  if (value.is_null()) {
    batch.AppendNull();
    return core::Status::Ok();
  }
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (s == core::kUnavailableValuePlaceholder ||
        (codec.encoding == Encoding::kBase64 && s == kUnavailableBase64)) {
      batch.AppendUnchanged();
      return core::Status::Ok();
    }
  }
  auto integer = [&](int64_t& out) { return Int64Value(value, out); };
  int64_t n = 0;
  switch (codec.encoding) {
    case Encoding::kAsIs:
      if (value.is_string()) {
        batch.AppendValue(value.get_ref<const std::string&>());
      } else if (value.is_boolean()) {
        batch.AppendValue(value.get<bool>() ? "t" : "f");
      } else {
        batch.AppendValue(value.dump());
      }
      return core::Status::Ok();
    case Encoding::kBool:
      if (value.is_boolean()) {
        batch.AppendValue(value.get<bool>() ? "t" : "f");
      } else if (value.is_number_integer()) {
        batch.AppendValue(value.get<int64_t>() != 0 ? "t" : "f");
      } else {
        return Mismatch(codec, value);
      }
      return core::Status::Ok();
    case Encoding::kHex: {
      if (!value.is_string()) return Mismatch(codec, value);
      const std::string& hex = value.get_ref<const std::string&>();
      if (hex.size() % 2 != 0) return Mismatch(codec, value, "odd number of hex digits");
      std::string raw(hex.size() / 2, '\0');
      for (size_t i = 0; i < raw.size(); ++i) {
        int hi = core::HexDigitValue(hex[2 * i]), lo = core::HexDigitValue(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return Mismatch(codec, value, "not hex");
        raw[i] = static_cast<char>(hi << 4 | lo);
      }
      batch.AppendValue(raw);
      return core::Status::Ok();
    }
    case Encoding::kGeometry: {
      if (!value.is_object() || !value.contains("wkb") || !value["wkb"].is_string()) {
        return Mismatch(codec, value);
      }
      auto wkb = core::DecodeBase64(value["wkb"].get_ref<const std::string&>());
      int64_t srid = 0;
      if (!wkb || (value.contains("srid") && !value["srid"].is_null() && !Int64Value(value["srid"], srid)) ||
          srid < INT32_MIN || srid > UINT32_MAX) {
        return Mismatch(codec, value);
      }
      std::string out;
      for (int k = 0; k < 4; ++k) out += static_cast<char>(static_cast<uint64_t>(srid) >> (8 * k));
      out += *wkb;
      batch.AppendValue(out);
      return core::Status::Ok();
    }
    case Encoding::kPoint: {
      if (!value.is_object() || !value.contains("x") || !value.contains("y") ||
          !value["x"].is_number() || !value["y"].is_number()) {
        return Mismatch(codec, value);
      }
      char buf[32];
      std::string out = "(";
      out.append(buf, std::to_chars(buf, buf + sizeof buf, value["x"].get<double>()).ptr);
      out += ',';
      out.append(buf, std::to_chars(buf, buf + sizeof buf, value["y"].get<double>()).ptr);
      out += ')';
      batch.AppendValue(out);
      return core::Status::Ok();
    }
    case Encoding::kBitsToText:
    case Encoding::kBitsToBytes: {
      if (!value.is_string()) return Mismatch(codec, value);
      auto raw = core::DecodeBase64(value.get_ref<const std::string&>());
      if (!raw) return Mismatch(codec, value);
      // Little-endian bytes; the bit count is the length parameter (varbit without one: the
      // bytes' bits).
      size_t bits = codec.bits > 0 && static_cast<size_t>(codec.bits) <= raw->size() * 8
                        ? static_cast<size_t>(codec.bits)
                        : raw->size() * 8;
      std::string out;
      if (codec.encoding == Encoding::kBitsToBytes) {
        out.assign(raw->rbegin(), raw->rend());
      } else {
        out.resize(bits);
        for (size_t j = 0; j < bits; ++j) {
          bool set = (static_cast<uint8_t>((*raw)[j / 8]) >> (j % 8)) & 1;
          out[bits - 1 - j] = set ? '1' : '0';
        }
      }
      batch.AppendValue(out);
      return core::Status::Ok();
    }
    case Encoding::kBase64: {
      if (!value.is_string()) return Mismatch(codec, value);
      auto raw = core::DecodeBase64(value.get_ref<const std::string&>());
      if (!raw) return Mismatch(codec, value);
      batch.AppendValue(*raw);
      return core::Status::Ok();
    }
    case Encoding::kDecimalBytes: {
      if (value.is_number()) {
        batch.AppendValue(value.dump());
        return core::Status::Ok();
      }
      if (!value.is_string()) return Mismatch(codec, value);
      auto raw = core::DecodeBase64(value.get_ref<const std::string&>());
      if (!raw) return Mismatch(codec, value);
      auto text = DecimalFromBytes(*raw, codec.scale);
      if (!text) return Mismatch(codec, value, DecimalLimits(codec.scale, raw->size()));
      batch.AppendValue(*text);
      return core::Status::Ok();
    }
    case Encoding::kVariableDecimal: {
      if (!value.is_object() || !value.contains("value") || !value["value"].is_string()) {
        return Mismatch(codec, value);
      }
      auto raw = core::DecodeBase64(value["value"].get_ref<const std::string&>());
      if (!raw) return Mismatch(codec, value);
      int64_t scale = 0;
      if (value.contains("scale") && !Int64Value(value["scale"], scale)) {
        return Mismatch(codec, value, "the scale is not an integer");
      }
      std::optional<std::string> text;
      if (scale >= -kMaxDecimalScale && scale <= kMaxDecimalScale) {
        text = DecimalFromBytes(*raw, static_cast<int32_t>(scale));
      }
      if (!text) return Mismatch(codec, value, DecimalLimits(scale, raw->size()));
      batch.AppendValue(*text);
      return core::Status::Ok();
    }
    case Encoding::kDays:
      if (!integer(n)) break;
      if (n == core::kInfinityDays) {
        batch.AppendValue("infinity");
      } else if (n == -static_cast<int64_t>(core::kInfinityDays)) {
        batch.AppendValue("-infinity");
      } else {
        batch.AppendValue(core::EpochDaysToDate(n));
      }
      return core::Status::Ok();
    case Encoding::kMillisOfDay:
    case Encoding::kMicrosOfDay:
    case Encoding::kNanosOfDay:
      if (!integer(n)) break;
      if (codec.encoding == Encoding::kMillisOfDay && __builtin_mul_overflow(n, 1000, &n)) {
        return Mismatch(codec, value, "milliseconds beyond int64 microseconds");
      }
      if (codec.encoding == Encoding::kNanosOfDay) n /= 1000;
      batch.AppendValue(core::MicrosToTime(n));
      return core::Status::Ok();
    case Encoding::kEpochMillis:
    case Encoding::kEpochMicros:
    case Encoding::kEpochNanos:
      if (!integer(n)) break;
      if (n == core::kInfinityMicros || n == -core::kInfinityMicros ||
          (codec.encoding == Encoding::kEpochMillis &&
           (n == core::kInfinityMicros / 1000 || n == -core::kInfinityMicros / 1000))) {
        batch.AppendValue(n > 0 ? "infinity" : "-infinity");
        return core::Status::Ok();
      }
      if (codec.encoding == Encoding::kEpochMillis && __builtin_mul_overflow(n, 1000, &n)) {
        return Mismatch(codec, value, "milliseconds beyond int64 microseconds");
      }
      if (codec.encoding == Encoding::kEpochNanos) n /= 1000;
      batch.AppendValue(core::EpochMicrosToTimestamp(n));
      return core::Status::Ok();
    case Encoding::kZoned: {
      if (!value.is_string()) return Mismatch(codec, value);
      auto text = ZonedToCanonical(value.get_ref<const std::string&>());
      if (!text) return Mismatch(codec, value);
      batch.AppendValue(*text);
      return core::Status::Ok();
    }
    case Encoding::kZonedTime: {
      if (!value.is_string()) return Mismatch(codec, value);
      auto text = core::ZonedTimeToTimetz(value.get_ref<const std::string&>());
      if (!text) return Mismatch(codec, value, "not an ISO-8601 time with an offset within a microsecond");
      batch.AppendValue(*text);
      return core::Status::Ok();
    }
    case Encoding::kHstore: {
      // json mode: a string holding the object; map mode: the object.
      json parsed;
      const json* object = &value;
      if (value.is_string()) {
        parsed = json::parse(value.get_ref<const std::string&>(), nullptr, false);
        object = &parsed;
      }
      if (!object->is_object()) return Mismatch(codec, value, "an hstore is a JSON object of strings");
      std::vector<core::HstorePair> pairs;
      for (const auto& [k, v] : object->items()) {
        if (!v.is_string() && !v.is_null()) {
          return Mismatch(codec, value, "an hstore value is a string or null");
        }
        pairs.push_back({k, v.is_null() ? std::nullopt : std::optional<std::string>(v.get<std::string>())});
      }
      batch.AppendValue(core::HstoreText(std::move(pairs)));
      return core::Status::Ok();
    }
    case Encoding::kMicroDuration:
      if (!integer(n)) break;
      batch.AppendValue(MicrosToIsoDuration(n));
      return core::Status::Ok();
  }
  // Temporal encodings: a string is taken as the canonical text already (e.g. "infinity").
  if (value.is_string()) {
    std::string s = value.get<std::string>();
    if (s.size() > 10 && s[10] == 'T') s[10] = ' ';
    batch.AppendValue(s);
    return core::Status::Ok();
  }
  return Mismatch(codec, value);
}

}  // namespace sluice::kafka
