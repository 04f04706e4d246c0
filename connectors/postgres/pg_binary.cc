#include "connectors/postgres/pg_binary.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/value_text.h"

namespace sluice::pg {
namespace {

// PostgreSQL's date/timestamp epoch (2000-01-01) in days since 1970-01-01.
constexpr int64_t kPgEpochDays = 10957;
constexpr int64_t kMicrosPerDay = 86400000000LL;

uint16_t Be16(const char* p) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) << 8 | static_cast<uint8_t>(p[1]));
}
uint32_t Be32(const char* p) {
  return static_cast<uint32_t>(Be16(p)) << 16 | Be16(p + 2);
}
uint64_t Be64(const char* p) { return static_cast<uint64_t>(Be32(p)) << 32 | Be32(p + 4); }

char* Put(char* out, std::string_view s) {
  std::memcpy(out, s.data(), s.size());
  return out + s.size();
}

// "00" … "99", two digits per division.
constexpr auto kDigitPairs = [] {
  std::array<char, 200> t{};
  for (int i = 0; i < 100; ++i) {
    t[2 * i] = static_cast<char>('0' + i / 10);
    t[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

// `v` as exactly `width` digits (v < 10^width, v >= 0).
char* PutFixed(char* out, int64_t v, int width) {
  int i = width;
  for (; i >= 2; i -= 2) {
    std::memcpy(out + i - 2, &kDigitPairs[2 * (v % 100)], 2);
    v /= 100;
  }
  if (i == 1) out[0] = static_cast<char>('0' + v % 10);
  return out + width;
}

// `v` (>= 0) with at least `width` digits.
char* PutPadded(char* out, int64_t v, int width) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), v);
  for (int pad = width - static_cast<int>(end - digits); pad > 0; --pad) *out++ = '0';
  return Put(out, std::string_view(digits, end - digits));
}

// ".ffffff" without trailing zeros; nothing for a whole second.
char* PutFraction(char* out, int64_t micros) {
  if (micros == 0) return out;
  int width = 6;
  while (micros % 10 == 0) {
    micros /= 10;
    --width;
  }
  *out++ = '.';
  return PutFixed(out, micros, width);
}

// "YYYY-MM-DD" of a day counted from 1970-01-01; *bc tells whether " BC" must follow the value.
// Snapshot rows of one table often share a day: the last date is kept per thread.
char* PutDate(char* out, int64_t epoch_days, bool* bc) {
  thread_local int64_t cached_days = std::numeric_limits<int64_t>::min();
  thread_local bool cached_bc = false;
  thread_local char cached[24];
  thread_local int cached_len = 0;
  if (epoch_days != cached_days) {
    int64_t y, m, d;
    core::CivilFromDays(epoch_days, y, m, d);
    cached_bc = y <= 0;
    char* p = PutPadded(cached, cached_bc ? 1 - y : y, 4);
    *p++ = '-';
    p = PutFixed(p, m, 2);
    *p++ = '-';
    cached_len = static_cast<int>(PutFixed(p, d, 2) - cached);
    cached_days = epoch_days;
  }
  *bc = cached_bc;
  std::memcpy(out, cached, static_cast<size_t>(cached_len));
  return out + cached_len;
}

char* PutTime(char* out, int64_t micros) {
  int64_t s = micros / 1000000;
  out = PutFixed(out, s / 3600, 2);
  *out++ = ':';
  out = PutFixed(out, s / 60 % 60, 2);
  *out++ = ':';
  out = PutFixed(out, s % 60, 2);
  return PutFraction(out, micros % 1000000);
}

// timestamp / timestamptz: microseconds since 2000-01-01 00:00 (UTC for timestamptz).
int PutTimestamp(int64_t pg_micros, bool tz, char* out) {
  if (pg_micros == std::numeric_limits<int64_t>::max()) return Put(out, "infinity") - out;
  if (pg_micros == std::numeric_limits<int64_t>::min()) return Put(out, "-infinity") - out;
  int64_t days = pg_micros / kMicrosPerDay;
  int64_t rest = pg_micros % kMicrosPerDay;
  if (rest < 0) {
    rest += kMicrosPerDay;
    --days;
  }
  // Far wider than the valid range (4713 BC .. 294276 AD); keeps the date math in range.
  if (days < -200000000 || days > 200000000) return -1;
  bool bc;
  char* p = PutDate(out, days + kPgEpochDays, &bc);
  *p++ = ' ';
  p = PutTime(p, rest);
  if (tz) p = Put(p, "+00");
  if (bc) p = Put(p, " BC");
  return static_cast<int>(p - out);
}

// Shortest round-trip float text as PostgreSQL prints it with extra_float_digits > 0
// (src/common/d2s.c, f2s.c): the shortest digits, fixed notation when the decimal exponent is
// in [-4, 15) for double and [-4, 6) for real, else "d.ddde+XX".
template <typename Float>
int PutFloat(Float v, int fixed_limit, char* out) {
  if (std::isnan(v)) return Put(out, "NaN") - out;
  if (std::isinf(v)) return Put(out, v > 0 ? "Infinity" : "-Infinity") - out;
  char sci[48];
  auto [end, ec] = std::to_chars(sci, sci + sizeof(sci), v, std::chars_format::scientific);
  if (ec != std::errc()) return -1;
  std::string_view s(sci, end - sci);
  size_t e = s.find('e');
  if (e == std::string_view::npos) return -1;
  int exp = 0;
  std::from_chars(s.data() + e + (s[e + 1] == '+' ? 2 : 1), s.data() + s.size(), exp);
  if (exp < -4 || exp >= fixed_limit) return Put(out, s) - out;  // scientific as PostgreSQL
  char* p = out;
  size_t i = 0;
  if (s[0] == '-') {
    *p++ = '-';
    i = 1;
  }
  char digits[24];
  int n = 0;
  for (; i < e; ++i) {
    if (s[i] != '.') digits[n++] = s[i];
  }
  if (exp < 0) {
    p = Put(p, "0.");
    for (int z = -exp - 1; z > 0; --z) *p++ = '0';
    p = Put(p, std::string_view(digits, n));
  } else if (exp >= n - 1) {
    p = Put(p, std::string_view(digits, n));
    for (int z = exp - (n - 1); z > 0; --z) *p++ = '0';
  } else {
    p = Put(p, std::string_view(digits, exp + 1));
    *p++ = '.';
    p = Put(p, std::string_view(digits + exp + 1, n - exp - 1));
  }
  return static_cast<int>(p - out);
}

}  // namespace

BinaryKind BinaryKindForOid(uint32_t oid) {
  switch (oid) {
    case 16: return BinaryKind::kBool;
    case 17: return BinaryKind::kBytea;
    case 19: case 25: case 114: case 142: case 1042: case 1043: return BinaryKind::kRaw;
    case 20: return BinaryKind::kInt8;
    case 21: return BinaryKind::kInt2;
    case 23: return BinaryKind::kInt4;
    case 26: return BinaryKind::kOid;
    case 700: return BinaryKind::kFloat4;
    case 701: return BinaryKind::kFloat8;
    case 1082: return BinaryKind::kDate;
    case 1083: return BinaryKind::kTime;
    case 1114: return BinaryKind::kTimestamp;
    case 1184: return BinaryKind::kTimestampTz;
    case 1700: return BinaryKind::kNumeric;
    case 2950: return BinaryKind::kUuid;
    case 3802: return BinaryKind::kJsonb;
    default: return BinaryKind::kNone;
  }
}

int FormatBinaryFixed(BinaryKind kind, std::string_view b, char* out) {
  const char* p = b.data();
  auto integer = [&](int64_t v) {
    return static_cast<int>(std::to_chars(out, out + kMaxBinaryText, v).ptr - out);
  };
  switch (kind) {
    case BinaryKind::kBool:
      if (b.size() != 1) return -1;
      out[0] = p[0] ? 't' : 'f';
      return 1;
    case BinaryKind::kInt2:
      if (b.size() != 2) return -1;
      return integer(static_cast<int16_t>(Be16(p)));
    case BinaryKind::kInt4:
      if (b.size() != 4) return -1;
      return integer(static_cast<int32_t>(Be32(p)));
    case BinaryKind::kInt8:
      if (b.size() != 8) return -1;
      return integer(static_cast<int64_t>(Be64(p)));
    case BinaryKind::kOid:
      if (b.size() != 4) return -1;
      return integer(Be32(p));
    case BinaryKind::kFloat4: {
      if (b.size() != 4) return -1;
      uint32_t bits = Be32(p);
      float v;
      std::memcpy(&v, &bits, sizeof(v));
      return PutFloat(v, 6, out);
    }
    case BinaryKind::kFloat8: {
      if (b.size() != 8) return -1;
      uint64_t bits = Be64(p);
      double v;
      std::memcpy(&v, &bits, sizeof(v));
      return PutFloat(v, 15, out);
    }
    case BinaryKind::kDate: {
      if (b.size() != 4) return -1;
      int32_t days = static_cast<int32_t>(Be32(p));
      if (days == std::numeric_limits<int32_t>::max()) return Put(out, "infinity") - out;
      if (days == std::numeric_limits<int32_t>::min()) return Put(out, "-infinity") - out;
      bool bc;
      char* e = PutDate(out, int64_t{days} + kPgEpochDays, &bc);
      if (bc) e = Put(e, " BC");
      return static_cast<int>(e - out);
    }
    case BinaryKind::kTime: {
      if (b.size() != 8) return -1;
      int64_t micros = static_cast<int64_t>(Be64(p));
      if (micros < 0 || micros > kMicrosPerDay) return -1;
      return static_cast<int>(PutTime(out, micros) - out);
    }
    case BinaryKind::kTimestamp:
    case BinaryKind::kTimestampTz:
      if (b.size() != 8) return -1;
      return PutTimestamp(static_cast<int64_t>(Be64(p)), kind == BinaryKind::kTimestampTz, out);
    case BinaryKind::kUuid: {
      if (b.size() != 16) return -1;
      static constexpr char kHex[] = "0123456789abcdef";
      char* o = out;
      for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *o++ = '-';
        uint8_t c = static_cast<uint8_t>(p[i]);
        *o++ = kHex[c >> 4];
        *o++ = kHex[c & 15];
      }
      return 36;
    }
    default:
      return -1;
  }
}

namespace {

// numeric_send: int16 ndigits, int16 weight (of the first base-10000 digit), uint16 sign,
// int16 dscale (digits after the decimal point), then ndigits int16 base-10000 digits.
// Printed like numeric_out: the integer groups (the first without leading zeros), then exactly
// dscale fractional digits. Returns an upper bound of the text's length, -1 when malformed.
int64_t NumericTextBound(std::string_view b) {
  if (b.size() < 8) return -1;
  const char* p = b.data();
  int ndigits = static_cast<int16_t>(Be16(p));
  int weight = static_cast<int16_t>(Be16(p + 2));
  uint16_t sign = Be16(p + 4);
  int dscale = static_cast<int16_t>(Be16(p + 6));
  if (sign == 0xC000 || sign == 0xD000 || sign == 0xF000) return 9;
  if ((sign != 0 && sign != 0x4000) || ndigits < 0 || dscale < 0 ||
      b.size() != 8 + 2 * static_cast<size_t>(ndigits)) {
    return -1;
  }
  for (int i = 0; i < ndigits; ++i) {
    if (Be16(p + 8 + 2 * i) > 9999) return -1;
  }
  return 2 + 4 * int64_t{std::max(weight + 1, 1)} + dscale + 4;
}

// Writes a numeric validated by NumericTextBound; returns the end.
char* PutNumeric(std::string_view b, char* o) {
  const char* p = b.data();
  int ndigits = static_cast<int16_t>(Be16(p));
  int weight = static_cast<int16_t>(Be16(p + 2));
  uint16_t sign = Be16(p + 4);
  int dscale = static_cast<int16_t>(Be16(p + 6));
  if (sign == 0xC000) return Put(o, "NaN");
  if (sign == 0xD000) return Put(o, "Infinity");
  if (sign == 0xF000) return Put(o, "-Infinity");
  auto digit = [&](int i) -> int { return i >= 0 && i < ndigits ? Be16(p + 8 + 2 * i) : 0; };
  if (sign == 0x4000) *o++ = '-';
  if (weight < 0) {
    *o++ = '0';
  } else {
    o = std::to_chars(o, o + 4, digit(0)).ptr;
    for (int i = 1; i <= weight; ++i) o = PutFixed(o, digit(i), 4);
  }
  if (dscale > 0) {
    *o++ = '.';
    char* frac_end = o + dscale;
    for (int i = weight + 1; o < frac_end; ++i) o = PutFixed(o, digit(i), 4);
    o = frac_end;  // the last group may print past dscale; those digits are cut off
  }
  return o;
}

}  // namespace

bool FormatBinaryNumeric(std::string_view b, std::string& out) {
  int64_t bound = NumericTextBound(b);
  if (bound < 0) return false;
  size_t start = out.size();
  out.resize(start + static_cast<size_t>(bound));
  out.resize(PutNumeric(b, out.data() + start) - out.data());
  return true;
}

bool AppendBinaryValue(core::EventBatch& batch, BinaryKind kind, std::string_view bytes) {
  switch (kind) {
    case BinaryKind::kRaw:
    case BinaryKind::kBytea:
      batch.AppendValue(bytes);
      return true;
    case BinaryKind::kJsonb:
      if (bytes.empty() || bytes[0] != 1) return false;
      batch.AppendValue(bytes.substr(1));
      return true;
    case BinaryKind::kNumeric: {
      int64_t bound = NumericTextBound(bytes);
      if (bound < 0) return false;
      char* dst = batch.AppendValueSpace(static_cast<uint32_t>(bound));
      batch.ShrinkLastValue(static_cast<uint32_t>(PutNumeric(bytes, dst) - dst));
      return true;
    }
    case BinaryKind::kNone:
      return false;
    default: {
      char* dst = batch.AppendValueSpace(kMaxBinaryText);
      int n = FormatBinaryFixed(kind, bytes, dst);
      if (n < 0) {
        batch.ShrinkLastValue(0);
        return false;
      }
      batch.ShrinkLastValue(static_cast<uint32_t>(n));
      return true;
    }
  }
}

int64_t CopyBinaryHeaderLength(std::string_view data) {
  if (data.size() < kCopyBinarySignature.size() + 8) return 0;
  if (data.substr(0, kCopyBinarySignature.size()) != kCopyBinarySignature) return -1;
  uint32_t flags = Be32(data.data() + 11);
  if (flags & 0xffff0000u) return -1;  // critical flags we do not know (documentation, "Flags field")
  uint32_t extension = Be32(data.data() + 15);
  if (extension > (1u << 20)) return -1;
  size_t total = 19 + static_cast<size_t>(extension);
  return data.size() < total ? 0 : static_cast<int64_t>(total);
}

}  // namespace sluice::pg
