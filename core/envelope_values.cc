// One value in its envelope representation under the value modes (core/envelope_modes.h).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/envelope.h"
#include "core/envelope_types.h"
#include "core/pg_text_types.h"
#include "core/value_text.h"

namespace sluice::core {

namespace {

// A value with no exact form in the envelope: its text is appended as a JSON string, and false
// tells the caller to refuse the event (see AppendEnvelopeValue).
bool AppendUnmapped(std::string& out, std::string_view text) {
  AppendJsonString(out, text);
  return false;
}

// Debezium's bytes: a JSON string of base64.
bool AppendBase64String(std::string& out, std::string_view bytes) {
  out += '"';
  AppendBase64(out, bytes);
  out += '"';
  return true;
}

// A number as JSON when it is one; otherwise (NaN, Infinity, unexpected text) a JSON string.
void AppendNumberOrString(std::string& out, std::string_view text) {
  if (IsJsonNumber(text)) {
    out += text;
  } else {
    AppendJsonString(out, text);
  }
}

bool IsDecimalSpecial(std::string_view t) {
  return t == "NaN" || t == "Infinity" || t == "-Infinity";
}

// The unscaled value of decimal text at `scale` as Java's BigInteger.toByteArray() writes it
// (minimal big-endian two's complement), into `bytes`. scale < 0: the text's own scale, stored
// into *used_scale. False when the text is not a plain decimal or has non-zero digits beyond
// `scale`. Buffers are the caller's (reused): no allocation once warm.
bool UnscaledBytes(std::string_view t, int32_t scale, bool variable, int32_t* used_scale,
                   std::string& digits, std::vector<uint32_t>& limbs, std::string& bytes) {
  bool negative = !t.empty() && t.front() == '-';
  if (negative || (!t.empty() && t.front() == '+')) t.remove_prefix(1);
  size_t dot = t.find('.');
  std::string_view whole = t.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : t.substr(dot + 1);
  if (whole.empty() && frac.empty()) return false;
  for (char c : whole) if (c < '0' || c > '9') return false;
  for (char c : frac) if (c < '0' || c > '9') return false;
  if (variable) scale = static_cast<int32_t>(frac.size());
  if (used_scale) *used_scale = scale;
  if (scale >= 0 && whole.size() + static_cast<size_t>(scale) <= 18) {
    // Below 10^18, an int64: its minimal big-endian two's complement directly, the same bytes
    // as the limb path below writes (a unit test compares both with BigInteger's on many values).
    const size_t keep = std::min(frac.size(), static_cast<size_t>(scale));
    for (size_t i = keep; i < frac.size(); ++i) if (frac[i] != '0') return false;
    int64_t v = 0;
    for (char c : whole) v = v * 10 + (c - '0');
    for (size_t i = 0; i < keep; ++i) v = v * 10 + (frac[i] - '0');
    for (size_t i = keep; i < static_cast<size_t>(scale); ++i) v *= 10;
    if (negative) v = -v;
    size_t n = 1;
    while (n < 8 && (v >> (8 * n - 1)) != 0 && (v >> (8 * n - 1)) != -1) ++n;
    bytes.resize(n);
    for (size_t k = 0; k < n; ++k) {
      bytes[n - 1 - k] = static_cast<char>(static_cast<uint64_t>(v) >> (8 * k));
    }
    return true;
  }
  digits.assign(whole);
  if (scale >= 0) {
    size_t keep = std::min(frac.size(), static_cast<size_t>(scale));
    for (size_t i = keep; i < frac.size(); ++i) if (frac[i] != '0') return false;
    digits.append(frac.substr(0, keep));
    digits.append(static_cast<size_t>(scale) - keep, '0');
  } else {
    for (char c : frac) if (c != '0') return false;
    size_t drop = static_cast<size_t>(-static_cast<int64_t>(scale));
    if (digits.size() < drop) drop = digits.size();
    for (size_t i = digits.size() - drop; i < digits.size(); ++i) if (digits[i] != '0') return false;
    digits.resize(digits.size() - drop);
  }
  // Decimal digits -> little-endian 32-bit limbs, nine digits at a time.
  limbs.clear();
  size_t i = digits.find_first_not_of('0');
  if (i == std::string::npos) i = digits.size();
  while (i < digits.size()) {
    size_t n = std::min<size_t>(9, digits.size() - i);
    uint32_t chunk = 0, mul = 1;
    for (size_t k = 0; k < n; ++k, ++i) {
      chunk = chunk * 10 + static_cast<uint32_t>(digits[i] - '0');
      mul *= 10;
    }
    uint64_t carry = chunk;
    for (uint32_t& l : limbs) {
      uint64_t cur = static_cast<uint64_t>(l) * mul + carry;
      l = static_cast<uint32_t>(cur);
      carry = cur >> 32;
    }
    if (carry) limbs.push_back(static_cast<uint32_t>(carry));
  }
  // Limbs -> minimal big-endian magnitude.
  bytes.clear();
  for (size_t l = limbs.size(); l-- > 0;) {
    for (int s = 24; s >= 0; s -= 8) {
      auto b = static_cast<char>((limbs[l] >> s) & 0xff);
      if (bytes.empty() && b == 0) continue;
      bytes += b;
    }
  }
  if (bytes.empty()) {
    bytes.assign(1, '\0');
    return true;
  }
  if (!negative) {
    if (static_cast<uint8_t>(bytes[0]) & 0x80) bytes.insert(bytes.begin(), '\0');
    return true;
  }
  // Two's complement of the magnitude; one more 0xff byte when its sign bit came out clear.
  bool carry = true;
  for (size_t k = bytes.size(); k-- > 0;) {
    auto b = static_cast<uint8_t>(~static_cast<uint8_t>(bytes[k]));
    if (carry) carry = ++b == 0;
    bytes[k] = static_cast<char>(b);
  }
  if (!(static_cast<uint8_t>(bytes[0]) & 0x80)) bytes.insert(bytes.begin(), '\xff');
  return true;
}

// One signed decimal number at `t` (advanced past it); seconds may have a fraction, returned in
// micros. False when malformed.
bool ParseIsoNumber(std::string_view& t, bool fraction, __int128& whole_micros) {
  bool negative = false;
  if (!t.empty() && (t.front() == '-' || t.front() == '+')) {
    negative = t.front() == '-';
    t.remove_prefix(1);
  }
  __int128 v = 0;
  size_t n = 0;
  while (n < t.size() && t[n] >= '0' && t[n] <= '9') {
    if (n == 18) return false;  // beyond 10^18 units: no int64 microseconds hold it anyway
    v = v * 10 + (t[n++] - '0');
  }
  if (n == 0) return false;
  t.remove_prefix(n);
  __int128 micros = v * 1000000;
  if (fraction && !t.empty() && (t.front() == '.' || t.front() == ',')) {
    t.remove_prefix(1);
    int64_t scale = 100000;
    size_t k = 0;
    for (; k < t.size() && t[k] >= '0' && t[k] <= '9'; ++k) {
      if (scale == 0 && t[k] != '0') return false;  // below a microsecond
      micros += (t[k] - '0') * scale;
      scale /= 10;
    }
    t.remove_prefix(k);
  }
  whole_micros = negative ? -micros : micros;
  return true;
}

// timetz as ZonedTime, hstore as its json (a string) or map (an object) form: `text` as the
// JSON value of `kind`; false (with `out` partly written) when `text` does not parse.
bool AppendPgTextValue(std::string& out, EnvelopeKind kind, std::string_view text) {
  thread_local std::string scratch;
  thread_local std::vector<HstorePair> pairs;
  scratch.clear();
  if (kind == EnvelopeKind::kZonedTime) {
    if (!TimetzToZonedTime(text, scratch)) return false;
    AppendJsonString(out, scratch);
    return true;
  }
  if (!ParseHstore(text, pairs)) return false;
  OrderAsDebezium(pairs);  // java.util.HashMap's order
  if (kind == EnvelopeKind::kHstoreJson) {
    AppendHstoreJson(scratch, pairs);
    AppendJsonString(out, scratch);
    return true;
  }
  AppendHstoreJson(out, pairs, false);  // map: the object itself, escaped as the envelope is
  return true;
}

// A (nested) JSON array of element texts, each element as AppendPgTextValue writes it.
bool AppendPgTextArray(std::string& out, EnvelopeKind element, const nlohmann::json& array) {
  out += '[';
  for (size_t i = 0; i < array.size(); ++i) {
    if (i) out += ',';
    const nlohmann::json& e = array[i];
    if (e.is_null()) {
      out += "null";
    } else if (e.is_array()) {
      if (!AppendPgTextArray(out, element, e)) return false;
    } else if (!e.is_string() ||
               !AppendPgTextValue(out, element, e.get_ref<const std::string&>())) {
      return false;
    }
  }
  out += ']';
  return true;
}

}  // namespace

// ISO 8601 duration (PostgreSQL's iso_8601 style, a sign per field) -> microseconds, a month
// being 365.25 / 12 days (Debezium's MicroDuration). False when malformed or beyond int64.
bool IsoDurationToMicros(std::string_view t, int64_t& out) {
  constexpr __int128 kDay = 86400LL * 1000000;
  constexpr __int128 kMonth = 2629800LL * 1000000;  // 30.4375 days
  if (t.empty() || t.front() != 'P') return false;
  t.remove_prefix(1);
  bool time = false;
  __int128 total = 0;
  while (!t.empty()) {
    if (t.front() == 'T') {
      time = true;
      t.remove_prefix(1);
      continue;
    }
    __int128 v = 0;
    if (!ParseIsoNumber(t, true, v) || t.empty()) return false;
    char unit = t.front();
    t.remove_prefix(1);
    __int128 factor = 0;
    if (!time && unit == 'Y') factor = 12 * kMonth;
    else if (!time && unit == 'M') factor = kMonth;
    else if (!time && unit == 'W') factor = 7 * kDay;
    else if (!time && unit == 'D') factor = kDay;
    else if (time && unit == 'H') factor = 3600LL * 1000000;
    else if (time && unit == 'M') factor = 60LL * 1000000;
    else if (time && unit == 'S') factor = 1;
    else return false;
    if (factor != 1 && v % 1000000 != 0) return false;  // a fraction only on seconds
    total += (factor == 1 ? v : v / 1000000 * factor);
    if (total > INT64_MAX || total < INT64_MIN) return false;
  }
  out = static_cast<int64_t>(total);
  return true;
}

bool AppendEnvelopeValue(std::string& out, const Column& column, const RowView& row, uint32_t i,
                         const ValueModes& modes) {
  return AppendEnvelopeValueAs(out, column, EnvelopeKindOf(column, modes), row, i, modes);
}

bool AppendEnvelopeValueAs(std::string& out, const Column& column, EnvelopeKind kind,
                           const RowView& row, uint32_t i, const ValueModes& modes) {
  if (i >= row.size() || row.is_null(i)) {
    out += "null";
    return true;
  }
  if (row.is_unchanged(i)) {
    AppendJsonString(out, kUnavailableValuePlaceholder);
    return true;
  }
  return AppendEnvelopeTextAs(out, column, kind, row.text(i), modes);
}

bool AppendEnvelopeText(std::string& out, const Column& column, std::string_view t,
                        const ValueModes& modes) {
  return AppendEnvelopeTextAs(out, column, EnvelopeKindOf(column, modes), t, modes);
}

bool AppendEnvelopeTextAs(std::string& out, const Column& column, EnvelopeKind kind,
                          std::string_view t, const ValueModes& modes) {
  thread_local std::string digits, bytes, plain;
  thread_local std::vector<uint32_t> limbs;
  bool out_of_range = false;
  switch (kind) {
    case EnvelopeKind::kBytes:
      out += '"';
      AppendBase64(out, t);
      out += '"';
      return true;
    case EnvelopeKind::kBytesText:
      AppendBinaryJson(out, t, modes.binary);
      return true;
    case EnvelopeKind::kDecimalString:
      AppendJsonString(out, t);
      return true;
    case EnvelopeKind::kDecimalDouble: {
      if (IsDecimalSpecial(t)) {
        AppendJsonString(out, t);
        return true;
      }
      double d = 0;
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
      if (ec != std::errc() || end != t.data() + t.size() || !std::isfinite(d)) {
        return AppendUnmapped(out, t);
      }
      char buf[32];
      char* p = std::to_chars(buf, buf + sizeof buf, d).ptr;
      out.append(buf, p);
      return true;
    }
    case EnvelopeKind::kDecimal:
    case EnvelopeKind::kUnsignedDecimal: {
      int32_t scale = kind == EnvelopeKind::kDecimal ? column.scale : 0;
      if (IsDecimalSpecial(t) || !UnscaledBytes(t, scale, false, nullptr, digits, limbs, bytes)) {
        return AppendUnmapped(out, t);
      }
      return AppendBase64String(out, bytes);
    }
    case EnvelopeKind::kVariableDecimal: {
      int32_t scale = 0;
      if (IsDecimalSpecial(t) || !UnscaledBytes(t, 0, true, &scale, digits, limbs, bytes)) {
        return AppendUnmapped(out, t);
      }
      out += "{\"scale\":";
      AppendInt(out, scale);
      out += ",\"value\":\"";
      AppendBase64(out, bytes);
      out += "\"}";
      return true;
    }
    case EnvelopeKind::kUnsignedLong: {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (ec != std::errc() || p != t.data() + t.size()) {
        AppendJsonString(out, t);
        return false;  // above 2^63-1: no long holds it
      }
      AppendInt(out, v);
      return true;
    }
    case EnvelopeKind::kDate: {
      // io.debezium.time.Date is an int32.
      auto d = DateToEpochDays(t, &out_of_range);
      if (d && *d >= INT32_MIN && *d <= INT32_MAX) {
        AppendInt(out, *d);
        return true;
      }
      // Text that is not a date keeps its string form; a date without an int32 day number (after
      // 5881580-07-10, beyond PostgreSQL's 5874897-12-31; a Kafka source can carry one) is refused.
      AppendJsonString(out, t);
      return !d && !out_of_range;
    }
    case EnvelopeKind::kTimeMillis:
    case EnvelopeKind::kTimeMicros: {
      auto m = TimeToMicros(t);
      if (!m) {
        AppendJsonString(out, t);
        return true;
      }
      if (kind == EnvelopeKind::kTimeMicros) {
        AppendInt(out, *m);
        return true;
      }
      // int32 milliseconds: exact only without sub-millisecond digits and within ±596 hours.
      AppendInt(out, *m / 1000);
      return *m % 1000 == 0 && *m / 1000 >= INT32_MIN && *m / 1000 <= INT32_MAX;
    }
    case EnvelopeKind::kTimestampMillis:
    case EnvelopeKind::kTimestampMicros: {
      auto m = TimestampToEpochMicros(t, &out_of_range);
      if (!m) {
        AppendJsonString(out, t);
        return !out_of_range;
      }
      if (kind == EnvelopeKind::kTimestampMicros) {
        AppendInt(out, *m);
        return true;
      }
      AppendInt(out, *m / 1000);
      return *m % 1000 == 0;
    }
    case EnvelopeKind::kZonedTimestamp:
      AppendTimestampTzIsoJson(out, t);
      return true;
    case EnvelopeKind::kMicroDuration: {
      int64_t m = 0;
      if (!IsoDurationToMicros(t, m)) {
        return AppendUnmapped(out, t);
      }
      AppendInt(out, m);
      return true;
    }
    case EnvelopeKind::kBitFromText:
      out += t == "1" ? "true" : "false";
      return t == "1" || t == "0";
    case EnvelopeKind::kBitsFromText: {
      // "0101" (most significant bit first) -> little-endian bytes, ceil(n/8) of them.
      bytes.assign((t.size() + 7) / 8, '\0');
      for (size_t j = 0; j < t.size(); ++j) {
        char c = t[t.size() - 1 - j];
        if (c != '0' && c != '1') {
          return AppendUnmapped(out, t);
        }
        if (c == '1') bytes[j / 8] = static_cast<char>(bytes[j / 8] | (1 << (j % 8)));
      }
      return AppendBase64String(out, bytes);
    }
    case EnvelopeKind::kBitsFromBytes: {
      // MySQL's big-endian bytes -> little-endian, sized to the column's bit count.
      size_t size = std::min((static_cast<size_t>(BitsLength(column)) + 7) / 8, t.size() + 8);
      bytes.assign(size, '\0');
      for (size_t j = 0; j < t.size(); ++j) {
        char c = t[t.size() - 1 - j];
        if (j < size) {
          bytes[j] = c;
        } else if (c != '\0') {
          return AppendUnmapped(out, t);
        }
      }
      return AppendBase64String(out, bytes);
    }
    case EnvelopeKind::kMoney: {
      if (!MoneyToDecimal(t, plain)) {
        return AppendUnmapped(out, t);
      }
      if (modes.decimal == DecimalMode::kString) {
        AppendJsonString(out, plain);
        return true;
      }
      if (modes.decimal == DecimalMode::kDouble) {
        double d = 0;
        std::from_chars(plain.data(), plain.data() + plain.size(), d);
        char buf[32];
        out.append(buf, std::to_chars(buf, buf + sizeof buf, d).ptr);
        return true;
      }
      if (!UnscaledBytes(plain, 2, false, nullptr, digits, limbs, bytes)) {
        return AppendUnmapped(out, t);
      }
      return AppendBase64String(out, bytes);
    }
    case EnvelopeKind::kGeometry: {
      // MariaDB's value: the SRID (4 bytes, little-endian), then the WKB.
      if (t.size() < 5) {
        return AppendUnmapped(out, t);
      }
      uint32_t srid = 0;
      for (int k = 3; k >= 0; --k) srid = srid << 8 | static_cast<uint8_t>(t[static_cast<size_t>(k)]);
      out += "{\"wkb\":\"";
      AppendBase64(out, t.substr(4));
      out += "\",\"srid\":";
      AppendInt(out, static_cast<int32_t>(srid));
      out += '}';
      return true;
    }
    case EnvelopeKind::kPoint: {
      // "(x,y)" -> {"x","y","wkb": little-endian WKB point, "srid": null}, as Debezium's Point.
      double xy[2];
      std::string_view rest = t;
      bool ok = rest.size() >= 5 && rest.front() == '(' && rest.back() == ')';
      if (ok) rest = rest.substr(1, rest.size() - 2);
      size_t comma = rest.find(',');
      ok = ok && comma != std::string_view::npos;
      for (int k = 0; ok && k < 2; ++k) {
        std::string_view part = k == 0 ? rest.substr(0, comma) : rest.substr(comma + 1);
        auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), xy[k]);
        ok = ec == std::errc() && end == part.data() + part.size() && std::isfinite(xy[k]);
      }
      if (!ok) {
        return AppendUnmapped(out, t);
      }
      bytes.assign("\x01\x01\x00\x00\x00", 5);
      for (double v : xy) {
        uint64_t u;
        std::memcpy(&u, &v, sizeof u);
        for (int k = 0; k < 8; ++k) bytes += static_cast<char>(u >> (8 * k));
      }
      char buf[32];
      out += "{\"x\":";
      out.append(buf, std::to_chars(buf, buf + sizeof buf, xy[0]).ptr);
      out += ",\"y\":";
      out.append(buf, std::to_chars(buf, buf + sizeof buf, xy[1]).ptr);
      out += ",\"wkb\":\"";
      AppendBase64(out, bytes);
      out += "\",\"srid\":null}";
      return true;
    }
    case EnvelopeKind::kZonedTime:
    case EnvelopeKind::kHstoreJson:
    case EnvelopeKind::kHstoreMap:
      if (!AppendPgTextValue(out, kind, t)) {
        return AppendUnmapped(out, t);
      }
      return true;
    case EnvelopeKind::kZonedTimeArray:
    case EnvelopeKind::kHstoreJsonArray:
    case EnvelopeKind::kHstoreMapArray: {
      // Canonical array text: a JSON array of the elements' text (nested per dimension), or
      // {"lower_bounds", "values"}, which Debezium has no form for and stays a string.
      if (t.empty() || t.front() != '[') {
        AppendJsonString(out, t);
        return true;
      }
      nlohmann::json array = nlohmann::json::parse(t, nullptr, false);
      const EnvelopeKind element = kind == EnvelopeKind::kZonedTimeArray  ? EnvelopeKind::kZonedTime
                                   : kind == EnvelopeKind::kHstoreJsonArray ? EnvelopeKind::kHstoreJson
                                                                            : EnvelopeKind::kHstoreMap;
      const size_t start = out.size();
      if (array.is_discarded() || !AppendPgTextArray(out, element, array)) {
        out.resize(start);
        return AppendUnmapped(out, t);
      }
      return true;
    }
    case EnvelopeKind::kIntervalString:
    case EnvelopeKind::kEnumSet:
      AppendJsonString(out, t);
      return true;
    case EnvelopeKind::kYear:
    case EnvelopeKind::kAsType:
      break;
  }
  switch (column.type) {
    case LogicalType::kBool:
      out += (t == "t" || t == "true" || t == "1") ? "true" : "false";
      return true;
    case LogicalType::kInt16:
    case LogicalType::kInt32:
    case LogicalType::kInt64:
    case LogicalType::kFloat32:
    case LogicalType::kFloat64:
      AppendNumberOrString(out, t);
      return true;
    case LogicalType::kArray:
      // Canonical array text is already JSON.
      if (!t.empty() && t.front() == '[') {
        out += t;
      } else {
        AppendJsonString(out, t);
      }
      return true;
    default:
      AppendJsonString(out, t);
      return true;
  }
}

std::string_view EnvelopeValueProblem(const Column& column, std::string_view text,
                                      const ValueModes& modes) {
  switch (EnvelopeKindOf(column, modes)) {
    case EnvelopeKind::kDate: return "a date is an int32 day count since 1970 (io.debezium.time.Date)";
    case EnvelopeKind::kTimestampMicros:
      return "a timestamp is int64 microseconds since 1970 (io.debezium.time.MicroTimestamp)";
    case EnvelopeKind::kTimestampMillis:
      return "this timestamp is int64 milliseconds since 1970 (Timestamp under time.precision.mode), "
             "without sub-millisecond digits; time.precision.mode=adaptive keeps microseconds for "
             "precision 4 to 6";
    case EnvelopeKind::kTimeMillis:
      return "this time is int32 milliseconds (Time under time.precision.mode), without "
             "sub-millisecond digits; time.precision.mode=adaptive_time_microseconds keeps them";
    case EnvelopeKind::kDecimal:
    case EnvelopeKind::kVariableDecimal:
    case EnvelopeKind::kUnsignedDecimal:
      return IsDecimalSpecial(text)
                 ? "decimal.handling.mode=precise has no NaN or Infinity (as Debezium documents); "
                   "use decimal.handling.mode=string or double"
                 : "the decimal does not fit the column's scale";
    case EnvelopeKind::kDecimalDouble: return "the decimal is beyond a double's range";
    case EnvelopeKind::kUnsignedLong:
      return "bigint.unsigned.handling.mode=long has no value above 9223372036854775807 (Debezium "
             "would wrap it to a negative long); use bigint.unsigned.handling.mode=precise";
    case EnvelopeKind::kMicroDuration:
      return "interval.handling.mode=numeric writes int64 microseconds; use "
             "interval.handling.mode=string";
    case EnvelopeKind::kBitFromText:
    case EnvelopeKind::kBitsFromText:
    case EnvelopeKind::kBitsFromBytes: return "the bit string does not fit the column's length";
    case EnvelopeKind::kGeometry: return "a geometry is MariaDB's SRID and WKB";
    case EnvelopeKind::kPoint: return "a point's coordinates are finite doubles";
    case EnvelopeKind::kZonedTime:
      return "a timetz is read as PostgreSQL writes it (HH:MM:SS[.ffffff]+HH[:MM[:SS]]) and "
             "written as io.debezium.time.ZonedTime in UTC";
    case EnvelopeKind::kZonedTimeArray:
      return "each element of a timetz[] is read as PostgreSQL writes a timetz and written as "
             "io.debezium.time.ZonedTime in UTC";
    case EnvelopeKind::kHstoreJsonArray:
    case EnvelopeKind::kHstoreMapArray:
      return "each element of an hstore[] is read in hstore's text syntax; one does not parse";
    case EnvelopeKind::kHstoreJson:
    case EnvelopeKind::kHstoreMap:
      return "an hstore is read in hstore's text syntax (\"key\"=>\"value\", \"key\"=>NULL, "
             "separated by commas); this value does not parse as one";
    case EnvelopeKind::kMoney:
      return "money is read in PostgreSQL's C / en_US format (-$1,234.56) with 2 fraction digits; "
             "set lc_monetary=C on the server, or use column.exclude.list";
    default: return "the value has no representation in the envelope";
  }
}

void AppendBinaryJson(std::string& out, std::string_view bytes, BinaryMode mode) {
  out += '"';
  if (mode == BinaryMode::kHex) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : bytes) {
      out += kHex[static_cast<uint8_t>(c) >> 4];
      out += kHex[static_cast<uint8_t>(c) & 15];
    }
  } else {
    AppendBase64(out, bytes, mode == BinaryMode::kBase64UrlSafe);
  }
  out += '"';
}

}  // namespace sluice::core
