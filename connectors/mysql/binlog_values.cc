#include "connectors/mysql/binlog_values.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "connectors/mysql/json_binary.h"

namespace sluice::mysql {
namespace {

uint64_t BigEndian(const char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}
void AppendUint(std::string& out, uint64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

template <typename F>
void AppendFloat(std::string& out, F v) {
  if (std::isnan(v)) {
    out.append("NaN");
    return;
  }
  if (std::isinf(v)) {
    out.append(v > 0 ? "Infinity" : "-Infinity");
    return;
  }
  char buf[40];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

// Character data in the column's character set -> UTF-8; false for bytes invalid in that set.
bool AppendText(std::string& out, std::string_view bytes, const ColumnPlan& c) {
  if (c.charset != CharsetKind::kOther) {
    AppendUtf8(out, bytes, c.charset);
    return true;
  }
  return c.converter != nullptr && c.converter->Append(out, bytes);
}

// The zero TIMESTAMP as the server prints it: "0000-00-00 00:00:00[.000…]" (`fsp` digits).
ValueResult ZeroTimestamp(std::string& out, int fsp) {
  AppendDate(out, 0, 0, 0);
  out.push_back(' ');
  AppendTime(out, false, 0, 0, 0, 0, fsp);
  return ValueResult::kZeroDate;
}

}  // namespace

core::Status MalformedEvent(const BinlogLocation& at, std::string_view what) {
  return core::DataLossError("malformed binlog event at " + at.ToString() + ": " +
                             std::string(what) +
                             "; the binlog may be corrupt or use an unsupported format");
}

// Decodes one value of column `c` from `r` into `out` (MySQL docs, "Rows_event" value formats;
// sql-common/my_time.cc TIME_from_longlong_*_packed and my_*_packed_from_binary).
ValueResult DecodeValue(BinlogReader& r, const ColumnPlan& c, std::string& out) {
  uint64_t u;
  std::string_view s;
  switch (c.type) {
    case kTypeTiny:
      if (!r.Fixed(1, u)) return ValueResult::kBad;
      c.is_unsigned ? AppendUint(out, u) : AppendInt(out, static_cast<int8_t>(u));
      return ValueResult::kOk;
    case kTypeShort:
      if (!r.Fixed(2, u)) return ValueResult::kBad;
      c.is_unsigned ? AppendUint(out, u) : AppendInt(out, static_cast<int16_t>(u));
      return ValueResult::kOk;
    case kTypeInt24:
      if (!r.Fixed(3, u)) return ValueResult::kBad;
      if (c.is_unsigned) {
        AppendUint(out, u);
      } else {
        AppendInt(out, (u & 0x800000) ? static_cast<int64_t>(u) - 0x1000000 : static_cast<int64_t>(u));
      }
      return ValueResult::kOk;
    case kTypeLong:
      if (!r.Fixed(4, u)) return ValueResult::kBad;
      c.is_unsigned ? AppendUint(out, u) : AppendInt(out, static_cast<int32_t>(u));
      return ValueResult::kOk;
    case kTypeLongLong:
      if (!r.Fixed(8, u)) return ValueResult::kBad;
      c.is_unsigned ? AppendUint(out, u) : AppendInt(out, static_cast<int64_t>(u));
      return ValueResult::kOk;
    case kTypeFloat: {
      if (!r.Fixed(4, u)) return ValueResult::kBad;
      float f;
      auto bits = static_cast<uint32_t>(u);
      std::memcpy(&f, &bits, 4);
      AppendFloat(out, f);
      return ValueResult::kOk;
    }
    case kTypeDouble: {
      if (!r.Fixed(8, u)) return ValueResult::kBad;
      double d;
      std::memcpy(&d, &u, 8);
      AppendFloat(out, d);
      return ValueResult::kOk;
    }
    case kTypeNewDecimal: {
      size_t used = 0;
      if (!DecodeDecimal(r.rest(), c.meta >> 8, c.meta & 0xFF, out, used)) return ValueResult::kBad;
      r.Skip(used);
      return ValueResult::kOk;
    }
    case kTypeYear:
      if (!r.Fixed(1, u)) return ValueResult::kBad;
      AppendUint(out, u == 0 ? 0 : 1900 + u);
      return ValueResult::kOk;
    case kTypeDate:
    case kTypeNewDate: {
      if (!r.Fixed(3, u)) return ValueResult::kBad;
      int day = static_cast<int>(u & 31), month = static_cast<int>((u >> 5) & 15);
      int year = static_cast<int>(u >> 9);
      AppendDate(out, year, month, day);
      return month == 0 || day == 0 ? ValueResult::kZeroDate : ValueResult::kOk;
    }
    case kTypeTime: {  // pre-5.6 TIME: 3-byte signed HHMMSS
      if (!r.Fixed(3, u)) return ValueResult::kBad;
      int64_t v = (u & 0x800000) ? static_cast<int64_t>(u) - 0x1000000 : static_cast<int64_t>(u);
      bool neg = v < 0;
      if (neg) v = -v;
      AppendTime(out, neg, v / 10000, static_cast<int>(v / 100 % 100), static_cast<int>(v % 100), 0, 0);
      return ValueResult::kOk;
    }
    case kTypeTime2: {
      int fsp = c.meta;
      size_t n = 3 + FractionBytes(fsp);
      if (!r.Bytes(n, s)) return ValueResult::kBad;
      int64_t packed;  // (intpart << 24) + fraction, as MY_PACKED_TIME_MAKE
      int64_t intpart = static_cast<int64_t>(BigEndian(s.data(), 3)) - 0x800000;
      int64_t frac = 0;
      if (fsp >= 5) {
        packed = static_cast<int64_t>(BigEndian(s.data(), 6)) - 0x800000000000LL;
      } else {
        if (fsp >= 3) {
          frac = static_cast<int64_t>(BigEndian(s.data() + 3, 2));
          if (intpart < 0 && frac) {
            ++intpart;
            frac -= 0x10000;
          }
          frac *= 100;
        } else if (fsp >= 1) {
          frac = static_cast<uint8_t>(s[3]);
          if (intpart < 0 && frac) {
            ++intpart;
            frac -= 0x100;
          }
          frac *= 10000;
        }
        packed = intpart * (int64_t{1} << 24) + frac;
      }
      bool neg = packed < 0;
      if (neg) packed = -packed;
      int64_t hms = packed >> 24;
      int64_t micros = packed % (int64_t{1} << 24);
      AppendTime(out, neg, (hms >> 12) % (1 << 10), static_cast<int>((hms >> 6) % 64),
                 static_cast<int>(hms % 64), micros, fsp);
      return ValueResult::kOk;
    }
    case kTypeDateTime: {  // pre-5.6 DATETIME: 8-byte YYYYMMDDhhmmss
      if (!r.Fixed(8, u)) return ValueResult::kBad;
      uint64_t date = u / 1000000, time = u % 1000000;
      AppendDate(out, static_cast<int>(date / 10000), static_cast<int>(date / 100 % 100),
                 static_cast<int>(date % 100));
      out.push_back(' ');
      AppendTime(out, false, static_cast<int64_t>(time / 10000), static_cast<int>(time / 100 % 100),
                 static_cast<int>(time % 100), 0, 0);
      return date / 100 % 100 == 0 || date % 100 == 0 ? ValueResult::kZeroDate : ValueResult::kOk;
    }
    case kTypeDateTime2: {
      int fsp = c.meta;
      size_t fb = FractionBytes(fsp);
      if (!r.Bytes(5 + fb, s)) return ValueResult::kBad;
      int64_t intpart = static_cast<int64_t>(BigEndian(s.data(), 5)) - 0x8000000000LL;
      int64_t frac = static_cast<int64_t>(BigEndian(s.data() + 5, fb));
      if (fb == 1) frac *= 10000;
      if (fb == 2) frac *= 100;
      if (intpart < 0) return ValueResult::kBad;
      int64_t ymd = intpart >> 17, hms = intpart % (1 << 17);
      int64_t ym = ymd >> 5;
      int day = static_cast<int>(ymd % 32), month = static_cast<int>(ym % 13);
      int year = static_cast<int>(ym / 13);
      AppendDate(out, year, month, day);
      out.push_back(' ');
      AppendTime(out, false, hms >> 12, static_cast<int>((hms >> 6) % 64),
                 static_cast<int>(hms % 64), frac, fsp);
      return month == 0 || day == 0 ? ValueResult::kZeroDate : ValueResult::kOk;
    }
    case kTypeTimestamp: {
      if (!r.Fixed(4, u)) return ValueResult::kBad;
      if (u == 0) return ZeroTimestamp(out, 0);
      AppendUtcTimestamp(out, static_cast<int64_t>(u), 0, 0);
      return ValueResult::kOk;
    }
    case kTypeTimestamp2: {
      int fsp = c.meta;
      size_t fb = FractionBytes(fsp);
      if (!r.Bytes(4 + fb, s)) return ValueResult::kBad;
      auto secs = static_cast<int64_t>(BigEndian(s.data(), 4));
      int64_t frac = static_cast<int64_t>(BigEndian(s.data() + 4, fb));
      if (fb == 1) frac *= 10000;
      if (fb == 2) frac *= 100;
      if (secs == 0 && frac == 0) return ZeroTimestamp(out, fsp);
      AppendUtcTimestamp(out, secs, frac, fsp);
      return ValueResult::kOk;
    }
    case kTypeBit: {
      size_t nbytes = (c.meta >> 8) + ((c.meta & 0xFF) ? 1 : 0);
      if (!r.Bytes(nbytes, s)) return ValueResult::kBad;
      if (c.as_bool) {
        out.push_back(BigEndian(s.data(), std::min<size_t>(s.size(), 8)) ? 't' : 'f');
      } else {
        out.append(s);
      }
      return ValueResult::kOk;
    }
    case kTypeVarchar:
    case kTypeVarString: {
      if (!r.Fixed(c.meta < 256 ? 1 : 2, u) || !r.Bytes(u, s)) return ValueResult::kBad;
      return AppendText(out, s, c) ? ValueResult::kOk : ValueResult::kBadText;
    }
    case kTypeString: {
      if (!r.Fixed(c.meta < 256 ? 1 : 2, u) || !r.Bytes(u, s)) return ValueResult::kBad;
      if (c.charset == CharsetKind::kBinary) {
        if (c.text_form != FixedBinaryText::kNone) {
          // MariaDB INET4/INET6/UUID: the bytes (pad stripped as for BINARY(n)) -> the text
          // the server prints, which the snapshot reads.
          char bytes[16] = {};
          const size_t size = FixedBinarySize(c.text_form);
          if (s.size() > size) return ValueResult::kBad;
          if (!s.empty()) std::memcpy(bytes, s.data(), s.size());
          return AppendFixedBinaryText(out, std::string_view(bytes, size), c.text_form)
                     ? ValueResult::kOk
                     : ValueResult::kBad;
        }
        // BINARY(n): the server logs the value without its trailing 0x00 pad bytes
        // (Field_string::pack strips the charset's pad character), but stores and reads it
        // right-padded to n bytes, as the snapshot sees it.
        out.append(s);
        if (s.size() < c.meta) out.append(c.meta - s.size(), '\0');
        return ValueResult::kOk;
      }
      return AppendText(out, s, c) ? ValueResult::kOk : ValueResult::kBadText;
    }
    case kTypeEnum: {
      if (!r.Fixed(c.meta, u)) return ValueResult::kBad;
      if (u == 0) return ValueResult::kOk;  // the '' error value
      if (c.labels == nullptr || u > c.labels->size()) {
        AppendUint(out, u);  // labels unknown: the index, as the server would show it
      } else {
        out.append((*c.labels)[u - 1]);
      }
      return ValueResult::kOk;
    }
    case kTypeSet: {
      if (!r.Fixed(c.meta, u)) return ValueResult::kBad;
      bool first = true;
      for (size_t bit = 0; bit < 64 && (u >> bit) != 0; ++bit) {
        if (!((u >> bit) & 1)) continue;
        if (!first) out.push_back(',');
        first = false;
        if (c.labels != nullptr && bit < c.labels->size()) {
          out.append((*c.labels)[bit]);
        } else {
          AppendUint(out, bit + 1);
        }
      }
      return ValueResult::kOk;
    }
    case kTypeBlob: case kTypeTinyBlob: case kTypeMediumBlob: case kTypeLongBlob:
    case kTypeGeometry: {
      if (c.meta < 1 || c.meta > 4 || !r.Fixed(c.meta, u) || !r.Bytes(u, s)) return ValueResult::kBad;
      if (c.type == kTypeGeometry) return out.append(s), ValueResult::kOk;
      return AppendText(out, s, c) ? ValueResult::kOk : ValueResult::kBadText;
    }
    case kTypeJson: {  // MySQL 8 binary JSON, decoded to text (json_binary.h)
      if (c.meta < 1 || c.meta > 4 || !r.Fixed(c.meta, u) || !r.Bytes(u, s)) return ValueResult::kBad;
      return AppendJsonFromBinary(s, out) ? ValueResult::kOk : ValueResult::kBad;
    }
    default:
      return ValueResult::kBad;
  }
}

}  // namespace sluice::mysql
