#include "connectors/kafka/kafka_types.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "core/envelope.h"
#include "core/value_text.h"

namespace sluice::kafka {

namespace {

using core::LogicalType;
using json = nlohmann::ordered_json;

// base64 of the placeholder, as Debezium writes unchanged TOAST values of bytea columns.
constexpr std::string_view kUnavailableBase64 = "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==";

int32_t IntParam(const json& params, const char* name) {
  if (!params.is_object()) return 0;
  auto it = params.find(name);
  if (it == params.end()) return 0;
  if (it->is_number_integer()) return it->get<int32_t>();
  if (it->is_string()) {
    int32_t v = 0;
    const std::string& s = it->get_ref<const std::string&>();
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
  }
  return 0;
}

core::Status Mismatch(const ColumnCodec& codec, const json& value) {
  std::string text = value.dump();
  if (text.size() > 80) text = text.substr(0, 80) + "…";
  return core::InvalidArgumentError("column " + codec.column.name + ": value " + text +
                                    " does not fit its declared type " +
                                    std::string(core::LogicalTypeName(codec.column.type)));
}

}  // namespace

std::string DecimalFromBytes(std::string_view bytes, int32_t scale) {
  std::vector<uint8_t> mag(bytes.begin(), bytes.end());
  bool negative = !mag.empty() && (mag[0] & 0x80);
  if (negative) {  // two's complement: invert and add one
    for (auto& b : mag) b = static_cast<uint8_t>(~b);
    for (size_t i = mag.size(); i-- > 0;) {
      if (++mag[i] != 0) break;
    }
  }
  std::string digits;
  size_t start = 0;
  while (start < mag.size() && mag[start] == 0) ++start;
  while (start < mag.size()) {
    unsigned rem = 0;
    for (size_t i = start; i < mag.size(); ++i) {
      unsigned cur = rem * 256 + mag[i];
      mag[i] = static_cast<uint8_t>(cur / 10);
      rem = cur % 10;
    }
    digits += static_cast<char>('0' + rem);
    while (start < mag.size() && mag[start] == 0) ++start;
  }
  if (digits.empty()) digits = "0";
  std::reverse(digits.begin(), digits.end());
  if (scale < 0) {
    if (digits != "0") digits.append(static_cast<size_t>(-scale), '0');
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
  if (s.size() > 10 && (s[10] == 'T' || s[10] == 't')) s[10] = ' ';
  if (!s.empty() && (s.back() == 'Z' || s.back() == 'z')) {
    s.pop_back();
    s += "+00";
  }
  auto micros = core::TimestampToEpochMicros(s);
  if (!micros) return std::nullopt;
  return core::EpochMicrosToTimestamp(*micros) + "+00";
}

std::string MicrosToIsoDuration(int64_t micros) {
  std::string out = "PT";
  if (micros < 0) {
    out += '-';
    micros = -micros;
  }
  out += std::to_string(micros / 1000000);
  if (int64_t frac = micros % 1000000) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%06lld", static_cast<long long>(frac));
    std::string f(buf);
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += '.' + f;
  }
  out += 'S';
  return out;
}

ColumnCodec CodecFromFieldSchema(const json& field) {
  ColumnCodec c;
  c.column.name = field.value("field", "");
  c.column.nullable = field.value("optional", true);
  std::string type = field.value("type", "string");
  std::string name = field.contains("name") && field["name"].is_string() ? field["name"].get<std::string>() : "";
  const json params = field.contains("parameters") ? field["parameters"] : json();
  c.column.length = IntParam(params, "__debezium.source.column.length");
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
  } else if (name == "io.debezium.data.VariableScaleDecimal") {
    set(LogicalType::kDecimal, Encoding::kVariableDecimal);
  } else if (name == "io.debezium.data.Json") {
    set(LogicalType::kJson, Encoding::kAsIs);
  } else if (name == "io.debezium.data.Uuid") {
    set(LogicalType::kUuid, Encoding::kAsIs);
  } else if (name == "io.debezium.data.Enum") {
    set(LogicalType::kEnum, Encoding::kAsIs);
    if (params.is_object() && params.contains("allowed") && params["allowed"].is_string()) {
      std::string allowed = params["allowed"].get<std::string>();
      size_t start = 0;
      while (start <= allowed.size()) {
        size_t comma = allowed.find(',', start);
        if (comma == std::string::npos) comma = allowed.size();
        c.column.enum_values.push_back(allowed.substr(start, comma - start));
        start = comma + 1;
      }
    }
  } else if (type == "boolean") {
    set(LogicalType::kBool, Encoding::kBool);
  } else if (type == "int8" || type == "int16") {
    set(LogicalType::kInt16, Encoding::kAsIs);
  } else if (type == "int32") {
    set(LogicalType::kInt32, Encoding::kAsIs);
  } else if (type == "int64") {
    set(LogicalType::kInt64, Encoding::kAsIs);
  } else if (type == "float") {
    set(LogicalType::kFloat32, Encoding::kAsIs);
  } else if (type == "double") {
    set(LogicalType::kFloat64, Encoding::kAsIs);
  } else if (type == "bytes") {
    set(LogicalType::kBytes, Encoding::kBase64);
  } else if (type == "array") {
    set(LogicalType::kArray, Encoding::kAsIs);
  } else if (type == "string") {
    set(LogicalType::kString, Encoding::kAsIs);
    // Our own sink (and Debezium with column.propagate.source.type) says when a string holds a
    // decimal (decimal.handling.mode=string): keep it exact as kDecimal.
    std::string source_type = params.is_object() ? params.value("__debezium.source.column.type", "") : "";
    if (source_type == "NUMERIC" || source_type == "DECIMAL") {
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
  auto integer = [&](int64_t& out) {
    if (value.is_number_integer()) {
      out = value.get<int64_t>();
      return true;
    }
    return false;
  };
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
        batch.AppendValue(value.get<int64_t>() ? "t" : "f");
      } else {
        return Mismatch(codec, value);
      }
      return core::Status::Ok();
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
      batch.AppendValue(DecimalFromBytes(*raw, codec.scale));
      return core::Status::Ok();
    }
    case Encoding::kVariableDecimal: {
      if (!value.is_object() || !value.contains("value") || !value["value"].is_string()) {
        return Mismatch(codec, value);
      }
      auto raw = core::DecodeBase64(value["value"].get_ref<const std::string&>());
      if (!raw) return Mismatch(codec, value);
      int32_t scale = value.contains("scale") && value["scale"].is_number_integer()
                          ? value["scale"].get<int32_t>()
                          : 0;
      batch.AppendValue(DecimalFromBytes(*raw, scale));
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
      if (codec.encoding == Encoding::kMillisOfDay) n *= 1000;
      if (codec.encoding == Encoding::kNanosOfDay) n /= 1000;
      batch.AppendValue(core::MicrosToTime(n));
      return core::Status::Ok();
    case Encoding::kEpochMillis:
    case Encoding::kEpochMicros:
    case Encoding::kEpochNanos:
      if (!integer(n)) break;
      if (n == core::kInfinityMicros || n == -core::kInfinityMicros) {
        batch.AppendValue(n > 0 ? "infinity" : "-infinity");
        return core::Status::Ok();
      }
      if (codec.encoding == Encoding::kEpochMillis) n *= 1000;
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
