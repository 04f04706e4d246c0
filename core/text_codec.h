// Small byte-level text codecs that several layers need: hex digits (both ways), ASCII case,
// UTF-8 encoding, decoding and validation, percent-decoding, and SafeText (text made safe to echo into an error message,
// a log line or a JSON reply). One copy here instead of one per module.
//
// Thread-safety: pure functions.
#pragma once

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::core {

// The value of one hex digit (either case), or -1 when `c` is not one.
inline int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `bytes` as upper-case hex digits, two per byte, appended to `out`.
inline void AppendHexUpper(std::string& out, std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  out.reserve(out.size() + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
}

// `s` with ASCII letters in upper / lower case (std::toupper/tolower in the "C" locale).
inline std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}
inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Appends the UTF-8 encoding of `code_point` (at most U+10FFFF; the caller checks).
inline void AppendUtf8(std::string& out, uint32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

// Decodes one UTF-8 sequence at text[i]: its length, with *code_point set, or 0 when the bytes
// there are not a valid sequence (overlong forms, surrogates and values above U+10FFFF are not).
size_t DecodeUtf8(std::string_view text, size_t i, uint32_t* code_point);

bool IsValidUtf8(std::string_view text);

// `text` with control characters as \xNN (C1 as \u0080…), invalid UTF-8 bytes as \xNN, cut to
// about `max_bytes` (an ellipsis marks the cut). Printable UTF-8 passes unchanged.
std::string SafeText(std::string_view text, size_t max_bytes = 256);

// `text` with every %XX decoded (and '+' as a space when `plus_is_space`, as in a query
// string); nullopt when a '%' is not followed by two hex digits.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space = false);

}  // namespace sluice::core
