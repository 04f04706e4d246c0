#include "connectors/mysql/json_binary.h"

#include <charconv>
#include <cstdint>
#include <cstring>

#include "connectors/mysql/mysql_types.h"
#include "core/value_text.h"

namespace sluice::mysql {
namespace {

enum JsonType : uint8_t {
  kSmallObject = 0x00,
  kLargeObject = 0x01,
  kSmallArray = 0x02,
  kLargeArray = 0x03,
  kLiteral = 0x04,
  kInt16 = 0x05,
  kUint16 = 0x06,
  kInt32 = 0x07,
  kUint32 = 0x08,
  kInt64 = 0x09,
  kUint64 = 0x0A,
  kDouble = 0x0B,
  kString = 0x0C,
  kOpaque = 0x0F,
};

constexpr int kMaxDepth = 100;

uint64_t Le(const char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

// Variable-length integer: 7 bits per byte, low groups first, high bit = more bytes follow.
bool VarLen(std::string_view in, size_t& pos, uint64_t& v) {
  v = 0;
  for (int i = 0; i < 5; ++i) {
    if (pos >= in.size()) return false;
    auto b = static_cast<uint8_t>(in[pos++]);
    v |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

bool Value(uint8_t type, std::string_view data, std::string& out, int depth);

// A scalar stored inline in a value entry (literal, int16/uint16, and in large containers
// int32/uint32).
bool Inlined(uint8_t type, bool large) {
  switch (type) {
    case kLiteral: case kInt16: case kUint16: return true;
    case kInt32: case kUint32: return large;
    default: return false;
  }
}

bool Container(std::string_view d, bool object, bool large, std::string& out, int depth) {
  if (depth > kMaxDepth) return false;
  size_t w = large ? 4 : 2;
  if (d.size() < 2 * w) return false;
  uint64_t count = Le(d.data(), w), size = Le(d.data() + w, w);
  if (size > d.size()) return false;
  d = d.substr(0, size);
  size_t key_entries = 2 * w, key_entry_size = w + 2, value_entry_size = 1 + w;
  size_t value_entries = key_entries + (object ? count * key_entry_size : 0);
  if (count > d.size() || value_entries + count * value_entry_size > d.size()) return false;
  out.push_back(object ? '{' : '[');
  for (uint64_t i = 0; i < count; ++i) {
    if (i > 0) out.append(", ");
    if (object) {
      const char* ke = d.data() + key_entries + i * key_entry_size;
      uint64_t koff = Le(ke, w), klen = Le(ke + w, 2);
      if (koff > d.size() || klen > d.size() - koff) return false;
      core::AppendJsonString(out, d.substr(koff, klen));
      out.append(": ");
    }
    const char* ve = d.data() + value_entries + i * value_entry_size;
    auto type = static_cast<uint8_t>(ve[0]);
    if (Inlined(type, large)) {
      if (!Value(type, std::string_view(ve + 1, w), out, depth + 1)) return false;
    } else {
      uint64_t off = Le(ve + 1, w);
      if (off >= d.size()) return false;
      if (!Value(type, d.substr(off), out, depth + 1)) return false;
    }
  }
  out.push_back(object ? '}' : ']');
  return true;
}

template <typename T>
void Number(std::string& out, T v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

bool Opaque(std::string_view d, std::string& out) {
  if (d.empty()) return false;
  auto field_type = static_cast<uint8_t>(d[0]);
  size_t pos = 1;
  uint64_t len;
  if (!VarLen(d, pos, len) || len > d.size() - pos) return false;
  std::string_view data = d.substr(pos, len);
  if (field_type == kTypeNewDecimal && data.size() >= 2) {
    size_t used = 0;
    return DecodeDecimal(data.substr(2), static_cast<uint8_t>(data[0]),
                         static_cast<uint8_t>(data[1]), out, used);
  }
  if ((field_type == kTypeDate || field_type == kTypeDateTime || field_type == kTypeTimestamp ||
       field_type == kTypeTime) && data.size() >= 8) {
    // Packed temporal (my_time.h TIME_to_longlong_*_packed): int part << 24 | microseconds.
    uint64_t raw = Le(data.data(), 8);
    bool neg = static_cast<int64_t>(raw) < 0;
    uint64_t p = neg ? 0 - raw : raw;  // the magnitude, exact for INT64_MIN too
    uint64_t micros = p % (1u << 24), intpart = p >> 24;
    std::string t;
    if (field_type == kTypeTime) {
      AppendTime(t, neg, static_cast<int64_t>((intpart >> 12) % (1 << 10)),
                 static_cast<int>((intpart >> 6) % 64), static_cast<int>(intpart % 64),
                 static_cast<int64_t>(micros), micros ? 6 : 0);
    } else {
      uint64_t ymd = intpart >> 17, hms = intpart % (1 << 17), ym = ymd >> 5;
      AppendDate(t, static_cast<int>(ym / 13), static_cast<int>(ym % 13), static_cast<int>(ymd % 32));
      if (field_type != kTypeDate) {
        t.push_back(' ');
        AppendTime(t, false, static_cast<int64_t>(hms >> 12), static_cast<int>((hms >> 6) % 64),
                   static_cast<int>(hms % 64), static_cast<int64_t>(micros), micros ? 6 : 0);
      }
    }
    core::AppendJsonString(out, t);
    return true;
  }
  // Other opaque values: as MySQL prints them, "base64:type<N>:<base64>".
  std::string s = "base64:type" + std::to_string(field_type) + ":";
  core::AppendBase64(s, data);
  core::AppendJsonString(out, s);
  return true;
}

bool Value(uint8_t type, std::string_view d, std::string& out, int depth) {
  switch (type) {
    case kSmallObject: return Container(d, true, false, out, depth);
    case kLargeObject: return Container(d, true, true, out, depth);
    case kSmallArray: return Container(d, false, false, out, depth);
    case kLargeArray: return Container(d, false, true, out, depth);
    case kLiteral:
      if (d.empty()) return false;
      switch (static_cast<uint8_t>(d[0])) {
        case 0: out.append("null"); return true;
        case 1: out.append("true"); return true;
        case 2: out.append("false"); return true;
        default: return false;
      }
    case kInt16: if (d.size() < 2) return false; Number(out, static_cast<int16_t>(Le(d.data(), 2))); return true;
    case kUint16: if (d.size() < 2) return false; Number(out, static_cast<uint16_t>(Le(d.data(), 2))); return true;
    case kInt32: if (d.size() < 4) return false; Number(out, static_cast<int32_t>(Le(d.data(), 4))); return true;
    case kUint32: if (d.size() < 4) return false; Number(out, static_cast<uint32_t>(Le(d.data(), 4))); return true;
    case kInt64: if (d.size() < 8) return false; Number(out, static_cast<int64_t>(Le(d.data(), 8))); return true;
    case kUint64: if (d.size() < 8) return false; Number(out, Le(d.data(), 8)); return true;
    case kDouble: {
      if (d.size() < 8) return false;
      uint64_t bits = Le(d.data(), 8);
      double v;
      std::memcpy(&v, &bits, 8);
      if (v != v || v - v != 0) return false;  // NaN/Infinity cannot occur in JSON
      Number(out, v);
      return true;
    }
    case kString: {
      size_t pos = 0;
      uint64_t len;
      if (!VarLen(d, pos, len) || len > d.size() - pos) return false;
      core::AppendJsonString(out, d.substr(pos, len));
      return true;
    }
    case kOpaque:
      return Opaque(d, out);
    default:
      return false;
  }
}

}  // namespace

bool AppendJsonFromBinary(std::string_view in, std::string& out) {
  if (in.empty()) {
    out.append("null");
    return true;
  }
  return Value(static_cast<uint8_t>(in[0]), in.substr(1), out, 0);
}

}  // namespace sluice::mysql
