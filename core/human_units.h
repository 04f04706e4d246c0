// Byte counts and durations as people read them in warnings and logs ("1.5 GiB", "2h05m"), and
// byte counts as people write them in a config ("50GB", "512 MiB").
//
// Thread-safety: pure functions.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/parse_number.h"
#include "core/status.h"

namespace sluice::core {

// "512 B", "1.5 KiB", "3.0 GiB" (binary units, one decimal).
inline std::string HumanBytes(int64_t b) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (std::fabs(v) >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[48];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  }
  return buf;
}

// "45s", "12m05s", "3h07m" (whole seconds, truncated).
inline std::string HumanDuration(double seconds) {
  const auto total = static_cast<long long>(seconds);
  char buf[48];
  if (total >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", total / 3600, total % 3600 / 60);
  } else if (total >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", total / 60, total % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%llds", total);
  }
  return buf;
}

// A byte count with an optional unit, as PostgreSQL's settings take them: "1073741824", "512kB",
// "50GB", "1.5 GiB", "10 MiB". Units (case-insensitive) are B, kB, MB, GB, TB and their KiB...
// TiB spellings, all 1024-based as in postgresql.conf; a blank may separate number and unit.
// kInvalidArgument naming `key` and the value for anything else (negative, unknown unit, too
// large for 64 bits).
inline Result<int64_t> ParseHumanBytes(std::string_view text, std::string_view key) {
  auto error = [&](const std::string& why) {
    return InvalidArgumentError(std::string(key) + ": '" + std::string(text.substr(0, 64)) +
                                "' " + why +
                                "; expected a byte count with an optional unit B, kB, MB, GB "
                                "or TB (1024-based), for example 50GB");
  };
  size_t digits = 0;
  while (digits < text.size() &&
         ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.')) {
    ++digits;
  }
  if (!text.empty() && text.front() == '-') return error("is negative");
  if (digits == 0) return error("does not start with a number");
  std::string_view unit = text.substr(digits);
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  std::string lower;
  for (char c : unit) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower.size() == 3 && lower[1] == 'i' && lower[2] == 'b') lower.erase(1, 1);  // KiB -> kb
  int shift = -1;
  if (lower.empty() || lower == "b") shift = 0;
  if (lower == "kb") shift = 10;
  if (lower == "mb") shift = 20;
  if (lower == "gb") shift = 30;
  if (lower == "tb") shift = 40;
  if (shift < 0) return error("has an unknown unit '" + std::string(unit) + "'");
  std::string_view number = text.substr(0, digits);
  if (number.find('.') == std::string_view::npos) {
    auto n = ParseNumber<int64_t>(number, key);
    if (!n.ok()) return error("is not a whole number of bytes in range");
    if (*n > (INT64_MAX >> shift)) return error("is too large");
    return *n << shift;
  }
  auto d = ParseNumber<double>(number, key);
  if (!d.ok()) return error("is not a number");
  const double bytes = std::ldexp(*d, shift);
  if (!(bytes < 9.2e18)) return error("is too large");
  return static_cast<int64_t>(bytes);
}

}  // namespace sluice::core
