#include "core/pg_text_types.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/java_hash.h"
#include "core/value_text.h"

namespace sluice::core {

namespace {

constexpr int64_t kMicrosPerDay = 86400LL * 1000000;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Exactly `n` digits at t[at…] -> *v.
bool Digits(std::string_view t, size_t at, size_t n, int* v) {
  if (at + n > t.size()) return false;
  int r = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (!IsDigit(t[i])) return false;
    r = r * 10 + (t[i] - '0');
  }
  *v = r;
  return true;
}

// "HH:MM[:SS[.f…]]" at the start of `t` (advanced past it) -> microseconds since midnight; up to
// `max_digits` fraction digits, those beyond the sixth must be zeros. Hour 24 only as 24:00:00.
bool ParseClock(std::string_view& t, bool seconds_required, size_t max_digits, int64_t* micros) {
  int h = 0, m = 0, s = 0;
  if (!Digits(t, 0, 2, &h) || t.size() < 5 || t[2] != ':' || !Digits(t, 3, 2, &m)) return false;
  size_t at = 5;
  int64_t frac = 0;
  if (at < t.size() && t[at] == ':') {
    if (!Digits(t, at + 1, 2, &s)) return false;
    at += 3;
    if (at < t.size() && t[at] == '.') {
      ++at;
      size_t start = at;
      int64_t scale = 100000;
      while (at < t.size() && IsDigit(t[at])) {
        if (at - start >= max_digits) return false;
        if (scale == 0) {
          if (t[at] != '0') return false;  // finer than a microsecond
        } else {
          frac += (t[at] - '0') * scale;
          scale /= 10;
        }
        ++at;
      }
      if (at == start) return false;
    }
  } else if (seconds_required) {
    return false;
  }
  if (m > 59 || s > 59 || h > 24 || (h == 24 && (m != 0 || s != 0 || frac != 0))) return false;
  *micros = ((h * 60LL + m) * 60 + s) * 1000000 + frac;
  t.remove_prefix(at);
  return true;
}

// "+HH[:MM[:SS]]" or "+HHMM" (java.time) at the whole of `t` -> seconds east of UTC.
bool ParseOffset(std::string_view t, int* seconds) {
  if (t.empty() || (t[0] != '+' && t[0] != '-')) return false;
  int sign = t[0] == '-' ? -1 : 1;
  int h = 0, m = 0, s = 0;
  if (!Digits(t, 1, 2, &h)) return false;
  size_t at = 3;
  if (at < t.size() && t[at] == ':') {
    if (!Digits(t, at + 1, 2, &m)) return false;
    at += 3;
    if (at < t.size() && t[at] == ':') {
      if (!Digits(t, at + 1, 2, &s)) return false;
      at += 3;
    }
  } else if (at < t.size()) {
    if (!Digits(t, at, 2, &m)) return false;  // +HHMM
    at += 2;
  }
  if (at != t.size() || h > 18 || m > 59 || s > 59) return false;
  *seconds = sign * (h * 3600 + m * 60 + s);
  return true;
}

int64_t WrapDay(int64_t micros) {
  micros %= kMicrosPerDay;
  return micros < 0 ? micros + kMicrosPerDay : micros;
}

// One hstore token at `t` (advanced past it): quoted with backslash escapes, or unquoted up to
// whitespace or ',' (a key also up to '='), with backslash escapes too; a '"' inside is its own. *quoted says which.
bool HstoreToken(std::string_view& t, bool key, std::string& out, bool* quoted) {
  out.clear();
  if (t.empty()) return false;
  *quoted = t.front() == '"';
  size_t i = *quoted ? 1 : 0;
  for (; i < t.size(); ++i) {
    char c = t[i];
    if (c == '\\') {
      if (++i == t.size()) return false;
      out += t[i];
    } else if (*quoted && c == '"') {
      t.remove_prefix(i + 1);
      return true;
    } else if (!*quoted && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || (key && c == '=') ||
                            c == ',')) {
      break;
    } else {
      out += c;
    }
  }
  if (*quoted || i == 0) return false;  // an unterminated quote, or no token
  t.remove_prefix(i);
  return true;
}

void SkipSpace(std::string_view& t) {
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t' || t.front() == '\n' || t.front() == '\r')) {
    t.remove_prefix(1);
  }
}

// A JSON string as Jackson writes it: '"' and '\\' escaped, \b \t \n \f \r short, other
// control characters \u00XX in upper case, everything else (UTF-8 included) as it is.
void AppendJacksonString(std::string& out, std::string_view s) {
  static constexpr char kHexUpper[] = "0123456789ABCDEF";
  out += '"';
  for (char ch : s) {
    auto c = static_cast<uint8_t>(ch);
    if (c < 0x20 || c == '"' || c == '\\') {
      AppendJsonEscape(out, c, kHexUpper);
    } else {
      out += ch;
    }
  }
  out += '"';
}

}  // namespace

bool TimetzToZonedTime(std::string_view text, std::string& out) {
  std::string_view t = text;
  int64_t micros = 0;
  int offset = 0;
  if (!ParseClock(t, true, 6, &micros) || !ParseOffset(t, &offset)) return false;
  AppendMicrosAsTime(out, WrapDay(micros - offset * 1000000LL));
  out += 'Z';
  return true;
}

std::optional<std::string> ZonedTimeToTimetz(std::string_view iso) {
  std::string_view t = iso;
  int64_t micros = 0;
  int offset = 0;
  if (!ParseClock(t, false, 9, &micros) || micros == kMicrosPerDay) return std::nullopt;
  if (t == "Z" || t == "z") {
    offset = 0;
  } else if (!ParseOffset(t, &offset)) {
    return std::nullopt;
  }
  std::string out = MicrosToTime(WrapDay(micros - offset * 1000000LL));
  out += "+00";
  return out;
}

bool ParseHstore(std::string_view t, std::vector<HstorePair>& out) {
  out.clear();
  std::string key, value;
  bool quoted = false;
  SkipSpace(t);
  while (!t.empty()) {
    if (!HstoreToken(t, true, key, &quoted)) return false;
    SkipSpace(t);
    if (t.substr(0, 2) != "=>") return false;
    t.remove_prefix(2);
    SkipSpace(t);
    if (!HstoreToken(t, false, value, &quoted)) return false;
    bool null = !quoted && value.size() == 4 && (value[0] | 0x20) == 'n' && (value[1] | 0x20) == 'u' &&
                (value[2] | 0x20) == 'l' && (value[3] | 0x20) == 'l';
    out.push_back({key, null ? std::nullopt : std::optional<std::string>(value)});
    SkipSpace(t);
    if (t.empty()) break;
    if (t.front() != ',') return false;
    t.remove_prefix(1);
    SkipSpace(t);
    if (t.empty()) return false;  // a trailing comma
  }
  return true;
}

void OrderAsDebezium(std::vector<HstorePair>& pairs) {
  std::vector<std::string_view> keys;
  keys.reserve(pairs.size());
  for (const auto& p : pairs) keys.push_back(p.key);
  std::vector<HstorePair> ordered;
  ordered.reserve(pairs.size());
  for (size_t i : JavaHashMapOrder(keys)) ordered.push_back(std::move(pairs[i]));
  pairs = std::move(ordered);
}

void AppendHstoreJson(std::string& out, const std::vector<HstorePair>& pairs, bool jackson) {
  auto string = jackson ? AppendJacksonString : AppendJsonString;
  out += '{';
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i) out += ',';
    string(out, pairs[i].key);
    out += ':';
    if (pairs[i].value) {
      string(out, *pairs[i].value);
    } else {
      out += "null";
    }
  }
  out += '}';
}

std::string HstoreText(std::vector<HstorePair> pairs) {
  // hstore's order: shorter keys first, then bytewise.
  std::stable_sort(pairs.begin(), pairs.end(), [](const HstorePair& a, const HstorePair& b) {
    if (a.key.size() != b.key.size()) return a.key.size() < b.key.size();
    return std::memcmp(a.key.data(), b.key.data(), a.key.size()) < 0;
  });
  pairs.erase(std::unique(pairs.begin(), pairs.end(),
                          [](const HstorePair& a, const HstorePair& b) { return a.key == b.key; }),
              pairs.end());
  std::string out;
  auto quoted = [&](const std::string& s) {
    out += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  };
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i) out += ", ";
    quoted(pairs[i].key);
    out += "=>";
    if (pairs[i].value) {
      quoted(*pairs[i].value);
    } else {
      out += "NULL";
    }
  }
  return out;
}

}  // namespace sluice::core
