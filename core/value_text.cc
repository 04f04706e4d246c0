#include "core/value_text.h"

#include <array>
#include <charconv>
#include <cstring>
#include <cstdio>

namespace sluice::core {

namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kB64Std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Length of the valid UTF-8 sequence at s[i], or 0 when invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t min;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) { n = 2; min = 0x80; }
  else if ((c & 0xF0) == 0xE0) { n = 3; min = 0x800; }
  else if ((c & 0xF8) == 0xF0) { n = 4; min = 0x10000; }
  else return 0;
  if (i + n > s.size()) return 0;
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// Years accepted in date text: far beyond PostgreSQL's (4713 BC .. 5874897 AD), MySQL's and
// int64 microseconds' (about 292277 years either side of 1970) ranges, and small enough that no
// day or microsecond arithmetic on them can overflow.
constexpr int64_t kMaxYear = 100000000;
constexpr int64_t kMicrosPerDay = 86400000000LL;

// `n` decimal digits at s[pos]; false when absent or not digits. At most 18 digits, so the
// value always fits.
bool ParseDigits(std::string_view s, size_t pos, size_t n, int64_t& out) {
  if (n == 0 || n > 18 || pos > s.size() || n > s.size() - pos) return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm);
// |y| <= kMaxYear.
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t DaysInMonth(int64_t y, int64_t m) {
  static constexpr int8_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Parses "YYYY-MM-DD" at the start of s: four or more year digits, optionally signed as ISO 8601
// writes astronomical years ("+294276", "-0043" = 44 BC); a " BC" anywhere after the date (as
// PostgreSQL appends it after the time and offset) counts years before 1 AD. Returns the chars
// used (0 when malformed); `bc` tells whether a " BC" was seen.
size_t ParseDate(std::string_view s, int64_t& days, bool& bc) {
  size_t start = !s.empty() && (s[0] == '+' || s[0] == '-') ? 1 : 0;
  size_t dash = s.find('-', start);
  if (dash == std::string_view::npos || dash - start < 4 || dash - start > 9) return 0;
  int64_t y, m, d;
  if (!ParseDigits(s, start, dash - start, y) || s.size() < dash + 6 ||
      !ParseDigits(s, dash + 1, 2, m) || s[dash + 3] != '-' || !ParseDigits(s, dash + 4, 2, d)) {
    return 0;
  }
  size_t used = dash + 6;
  bc = s.substr(used).find(" BC") != std::string_view::npos;
  if (y > kMaxYear || (bc && (start == 1 || y == 0))) return 0;
  if (start == 1 && s[0] == '-') y = -y;
  if (bc) y = 1 - y;  // 1 BC is year 0
  if (m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m)) return 0;
  days = DaysFromCivil(y, m, d);
  return used;
}

// Parses "HH:MM:SS[.ffffff]" at s[pos] (two or three hour digits at the caller's choice: pos
// points at the last two); returns chars used or 0. Digits beyond microseconds are dropped.
size_t ParseTime(std::string_view s, size_t pos, int64_t& micros) {
  int64_t h, mi, sec;
  if (!ParseDigits(s, pos, 2, h) || s.size() < pos + 8 || s[pos + 2] != ':' ||
      !ParseDigits(s, pos + 3, 2, mi) || s[pos + 5] != ':' || !ParseDigits(s, pos + 6, 2, sec) ||
      mi > 59 || sec > 59) {
    return 0;
  }
  size_t i = pos + 8;
  int64_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 6) {
        frac = frac * 10 + (s[i] - '0');
        ++digits;
      }
      ++i;
    }
    if (digits == 0) return 0;
    while (digits < 6) {
      frac *= 10;
      ++digits;
    }
  }
  micros = ((h * 60 + mi) * 60 + sec) * 1000000 + frac;
  return i - pos;
}

// Parses "YYYY-MM-DD[ T]HH:MM:SS[.ffffff][Z|+HH[:MM[:SS]]][ BC]" into days since 1970-01-01 and
// microseconds into that day (0 <= micros < one day; UTC when an offset is given). Never
// overflows: the year bound keeps every step small.
bool ParseTimestampParts(std::string_view ts, int64_t& days, int64_t& micros) {
  bool bc = false;
  size_t used = ParseDate(ts, days, bc);
  if (used == 0 || used >= ts.size() || (ts[used] != ' ' && ts[used] != 'T')) return false;
  size_t tused = ParseTime(ts, used + 1, micros);
  if (tused == 0 || micros >= kMicrosPerDay) return false;
  size_t i = used + 1 + tused;
  int64_t offset_s = 0;
  if (i < ts.size() && (ts[i] == '+' || ts[i] == '-')) {
    int64_t sign = ts[i] == '-' ? -1 : 1;
    int64_t oh = 0, om = 0, os = 0;
    if (!ParseDigits(ts, i + 1, 2, oh)) return false;
    i += 3;
    if (i < ts.size() && ts[i] == ':') {
      if (!ParseDigits(ts, i + 1, 2, om) || om > 59) return false;
      i += 3;
      if (i < ts.size() && ts[i] == ':') {
        if (!ParseDigits(ts, i + 1, 2, os) || os > 59) return false;
        i += 3;
      }
    }
    offset_s = sign * (oh * 3600 + om * 60 + os);
  } else if (i < ts.size() && ts[i] == 'Z') {
    ++i;
  }
  if (ts.substr(i) != (bc ? " BC" : "")) return false;
  micros -= offset_s * 1000000;  // |offset| < 100 h: at most a few days either way
  while (micros < 0) {
    micros += kMicrosPerDay;
    --days;
  }
  while (micros >= kMicrosPerDay) {
    micros -= kMicrosPerDay;
    ++days;
  }
  return true;
}

void AppendFraction(std::string& out, uint64_t micros) {
  if (micros == 0) return;
  char buf[7];
  buf[0] = '.';
  for (int i = 6; i >= 1; --i) {
    buf[i] = static_cast<char>('0' + micros % 10);
    micros /= 10;
  }
  size_t n = 7;
  while (buf[n - 1] == '0') --n;
  out.append(buf, n);
}

// Appends `v` zero-padded to at least `width` digits.
void AppendPadded(std::string& out, uint64_t v, int width) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0);
  while (n < width) buf[n++] = '0';
  while (n > 0) out += buf[--n];
}

}  // namespace

void CivilFromDays(int64_t z, int64_t& y, int64_t& m, int64_t& d) {
  // Floor-divide into 400-year eras before moving the epoch to 0000-03-01, so that no step
  // overflows for any int64 `z`.
  int64_t era = z / 146097;
  int64_t r = z % 146097;
  if (r < 0) {
    r += 146097;
    --era;
  }
  r += 719468;
  era += r / 146097;
  const int64_t doe = r % 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp + (mp < 10 ? 3 : -9);
  y += m <= 2;
}

namespace {

// 1 for the bytes a JSON string may hold verbatim without a check: printable ASCII except '"'
// and '\\'. Control characters, quotes, backslashes and UTF-8 bytes take the slow path.
constexpr std::array<uint8_t, 256> kJsonVerbatim = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = 1;
  t['"'] = 0;
  t['\\'] = 0;
  return t;
}();

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
  const char* p = text.data();
  size_t n = text.size();
  size_t i = 0;
  while (i < n && kJsonVerbatim[static_cast<unsigned char>(p[i])]) ++i;
  if (i == n) {
    // The common case: one reservation, three copies.
    size_t old = out.size();
    out.resize(old + n + 2);
    char* w = out.data() + old;
    w[0] = '"';
    std::memcpy(w + 1, p, n);
    w[n + 1] = '"';
    return;
  }
  out += '"';
  out.append(p, i);
  while (i < n) {
    auto c = static_cast<unsigned char>(p[i]);
    if (kJsonVerbatim[c]) {
      size_t j = i + 1;
      while (j < n && kJsonVerbatim[static_cast<unsigned char>(p[j])]) ++j;
      out.append(p + i, j - i);
      i = j;
      continue;
    }
    if (c >= 0x80) {
      size_t len = Utf8SequenceLength(text, i);
      if (len == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(p + i, len);
        i += len;
      }
      continue;
    }
    AppendJsonEscape(out, c, kHex);
    ++i;
  }
  out += '"';
}

void AppendJsonEscape(std::string& out, unsigned char c, const char* hex) {
  switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    default:
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
  }
}

void AppendBase64(std::string& out, std::string_view bytes, bool url_safe) {
  const char* kB64 = url_safe ? kB64Url : kB64Std;
  size_t i = 0;
  auto b = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i + 1 == bytes.size()) {
    uint32_t v = b(i) << 16;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    uint32_t v = (b(i) << 16) | (b(i + 1) << 8);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
}

std::optional<std::string> DecodeBase64(std::string_view text) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = val(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::optional<int64_t> DateToEpochDays(std::string_view date, bool* out_of_range) {
  if (date == "infinity") return kInfinityDays;
  if (date == "-infinity") return -static_cast<int64_t>(kInfinityDays);
  int64_t days;
  bool bc = false;
  size_t used = ParseDate(date, days, bc);
  if (used == 0 || date.substr(used) != (bc ? " BC" : "")) return std::nullopt;
  if (days == kInfinityDays || days == -static_cast<int64_t>(kInfinityDays)) {
    // A real date that would read back as +/-infinity.
    if (out_of_range != nullptr) *out_of_range = true;
    return std::nullopt;
  }
  return days;
}

std::optional<int64_t> TimeToMicros(std::string_view time) {
  // A time of day (PostgreSQL, 00:00:00..24:00:00) or a MySQL TIME, which is a signed duration
  // of up to three hour digits (-838:59:59.999999..838:59:59.999999): Debezium's MicroTime is
  // negative for the latter's negative values.
  bool negative = !time.empty() && time[0] == '-';
  size_t pos = negative ? 1 : 0;
  int64_t hundreds = 0;
  if (time.size() > pos + 3 && time[pos + 3] == ':') {
    if (!ParseDigits(time, pos, 1, hundreds)) return std::nullopt;
    ++pos;
  }
  int64_t micros;
  size_t used = ParseTime(time, pos, micros);
  if (used == 0 || pos + used != time.size()) return std::nullopt;
  micros += hundreds * 100 * 3600 * 1000000LL;
  return negative ? -micros : micros;
}

std::optional<int64_t> TimestampToEpochMicros(std::string_view ts, bool* out_of_range) {
  if (ts == "infinity") return kInfinityMicros;
  if (ts == "-infinity") return -kInfinityMicros;
  int64_t days, micros;
  if (!ParseTimestampParts(ts, days, micros)) return std::nullopt;
  // days * D + micros without an intermediate overflow: for days < 0 the product of days + 1
  // stays in range where the sum does (the last partial day before INT64_MIN).
  if (days < 0) {
    ++days;
    micros -= kMicrosPerDay;
  }
  int64_t result;
  if (__builtin_mul_overflow(days, kMicrosPerDay, &result) ||
      __builtin_add_overflow(result, micros, &result) || result == kInfinityMicros ||
      result == -kInfinityMicros) {
    // Beyond int64 microseconds (after 294247-01-10 04:00:54.775807 or before 290308-12-21 BC),
    // or a real timestamp that would read back as +/-infinity.
    if (out_of_range != nullptr) *out_of_range = true;
    return std::nullopt;
  }
  return result;
}

namespace {

// "YYYY-MM-DD" without the era (y <= 0 is written as 1 - y; the caller appends " BC").
void AppendDateFields(std::string& out, int64_t y, int64_t m, int64_t d) {
  AppendPadded(out, static_cast<uint64_t>(y <= 0 ? 1 - y : y), 4);
  out += '-';
  AppendPadded(out, static_cast<uint64_t>(m), 2);
  out += '-';
  AppendPadded(out, static_cast<uint64_t>(d), 2);
}

// Microseconds -> HH:MM:SS[.ffffff] (hours unbounded).
void AppendUnsignedTime(std::string& out, uint64_t micros) {
  uint64_t s = micros / 1000000;
  AppendPadded(out, s / 3600, 2);
  out += ':';
  AppendPadded(out, s / 60 % 60, 2);
  out += ':';
  AppendPadded(out, s % 60, 2);
  AppendFraction(out, micros % 1000000);
}

}  // namespace

void AppendEpochDaysAsDate(std::string& out, int64_t days) {
  int64_t y, m, d;
  CivilFromDays(days, y, m, d);
  AppendDateFields(out, y, m, d);
  if (y <= 0) out += " BC";
}

void AppendMicrosAsTime(std::string& out, int64_t micros) {
  if (micros < 0) {  // a MySQL TIME below zero: -HH:MM:SS[.ffffff]
    out += '-';
    // Two's complement negation in unsigned arithmetic: exact for INT64_MIN too.
    AppendUnsignedTime(out, 0 - static_cast<uint64_t>(micros));
  } else {
    AppendUnsignedTime(out, static_cast<uint64_t>(micros));
  }
}

void AppendEpochMicrosAsTimestamp(std::string& out, int64_t micros) {
  int64_t days = micros / kMicrosPerDay;
  int64_t rest = micros % kMicrosPerDay;
  if (rest < 0) {
    rest += kMicrosPerDay;
    --days;
  }
  int64_t y, m, d;
  CivilFromDays(days, y, m, d);
  AppendDateFields(out, y, m, d);
  out += ' ';
  AppendUnsignedTime(out, static_cast<uint64_t>(rest));
  if (y <= 0) out += " BC";  // PostgreSQL's place for the era: after the time
}

std::string EpochDaysToDate(int64_t days) {
  std::string out;
  AppendEpochDaysAsDate(out, days);
  return out;
}

std::string MicrosToTime(int64_t micros) {
  std::string out;
  AppendMicrosAsTime(out, micros);
  return out;
}

std::string EpochMicrosToTimestamp(int64_t micros) {
  std::string out;
  AppendEpochMicrosAsTimestamp(out, micros);
  return out;
}

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The canonical UTC form "YYYY-MM-DD HH:MM:SS[.f{1,6}]+00" (AD years of four digits), which
// converts to ISO by two character substitutions.
bool IsCanonicalUtcTimestamp(std::string_view t) {
  if (t.size() < 22 || t.size() > 29) return false;
  static constexpr std::string_view kShape = "dddd-dd-dd dd:dd:dd";
  for (size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd' ? !IsDigit(t[i]) : t[i] != kShape[i]) return false;
  }
  if (t.substr(t.size() - 3) != "+00") return false;
  size_t end = t.size() - 3;
  if (end == 19) return true;
  if (t[19] != '.' || end == 20) return false;
  for (size_t i = 20; i < end; ++i) {
    if (!IsDigit(t[i])) return false;
  }
  return t[end - 1] != '0';  // canonical fractions carry no trailing zero
}

}  // namespace

void AppendTimestampTzIsoJson(std::string& out, std::string_view ts) {
  if (IsCanonicalUtcTimestamp(ts)) {
    out += '"';
    out.append(ts.data(), 10);
    out += 'T';
    out.append(ts.data() + 11, ts.size() - 14);
    out += "Z\"";
    return;
  }
  int64_t days, micros;
  if (!ParseTimestampParts(ts, days, micros)) {
    AppendJsonString(out, ts);
    return;
  }
  // ISO 8601 with astronomical years, as java.time prints them: 1 BC is "0000", 44 BC "-0043",
  // and years beyond 9999 carry a '+'. Exact for every year PostgreSQL has (no int64 epoch
  // microseconds in between, which end in 294247).
  int64_t y, m, d;
  CivilFromDays(days, y, m, d);
  out += '"';
  if (y < 0) out += '-';
  if (y > 9999) out += '+';
  AppendPadded(out, static_cast<uint64_t>(y < 0 ? -y : y), 4);
  out += '-';
  AppendPadded(out, static_cast<uint64_t>(m), 2);
  out += '-';
  AppendPadded(out, static_cast<uint64_t>(d), 2);
  out += 'T';
  AppendUnsignedTime(out, static_cast<uint64_t>(micros));
  out += "Z\"";
}

std::optional<std::string> TimestampTzToCanonicalUtc(std::string_view ts) {
  if (ts == "infinity" || ts == "-infinity") return std::string(ts);
  int64_t days, micros;
  if (!ParseTimestampParts(ts, days, micros)) return std::nullopt;
  int64_t y, m, d;
  CivilFromDays(days, y, m, d);
  std::string out;
  AppendDateFields(out, y, m, d);
  out += ' ';
  AppendUnsignedTime(out, static_cast<uint64_t>(micros));
  out += "+00";
  if (y <= 0) out += " BC";
  return out;
}

std::string TimestampTzToIso(std::string_view ts) {
  std::string out;
  AppendTimestampTzIsoJson(out, ts);
  if (out.size() >= 2 && out.front() == '"' && out.back() == '"' && out.find('\\') == std::string::npos) {
    return out.substr(1, out.size() - 2);
  }
  return std::string(ts);
}

bool IsJsonNumber(std::string_view t) {
  if (t.empty()) return false;
  size_t i = 0;
  if (t[i] == '-') ++i;
  if (i >= t.size()) return false;
  if (t[i] == '0') {
    ++i;
  } else if (t[i] >= '1' && t[i] <= '9') {
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
  } else {
    return false;
  }
  if (i < t.size() && t[i] == '.') {
    ++i;
    size_t start = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    size_t start = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    if (i == start) return false;
  }
  return i == t.size();
}

}  // namespace sluice::core
