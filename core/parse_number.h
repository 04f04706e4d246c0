// ParseNumber<T>: strict parsing of numbers in text that came from a server or a user (a catalog
// column, SHOW MASTER STATUS, a port argument), built on std::from_chars.
//
// std::stoul and friends throw on bad input (an exception escaping a pipeline thread ends the
// process), accept leading blanks and trailing junk ("12abc" is 12), and std::stoul accepts "-1"
// as ULONG_MAX. These helpers accept exactly the whole text: an optional '-' (signed and floating
// types only) then digits; no blanks, no '+', no trailing characters, no value out of the
// type's range. The error is kInvalidArgument and names `what` (for example "postgres
// pg_class.relpages of public.orders"), so that a caller can return it as is.
//
// Thread-safety: pure functions.
#pragma once

#include <charconv>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "core/status.h"

namespace sluice::core {

template <typename T>
Result<T> ParseNumber(std::string_view text, std::string_view what) {
  static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>,
                "ParseNumber parses integers and floating-point numbers");
  auto error = [&](std::string_view why) {
    std::string shown(text.substr(0, 64));
    if (text.size() > 64) shown += "...";
    return InvalidArgumentError(std::string(what) + ": '" + shown + "' " + std::string(why));
  };
  if (text.empty()) return error("is empty, expected a number");
  if constexpr (std::is_unsigned_v<T>) {
    // from_chars rejects '-' for unsigned types too; say why instead of "not a number".
    if (text.front() == '-') return error("is negative, expected a number of at least 0");
  }
  T value{};
  const char* begin = text.data();
  const char* end = begin + text.size();
  std::from_chars_result r;
  if constexpr (std::is_floating_point_v<T>) {
    r = std::from_chars(begin, end, value, std::chars_format::general);
  } else {
    r = std::from_chars(begin, end, value, 10);
  }
  if (r.ec == std::errc::result_out_of_range) return error("is out of range");
  if (r.ec != std::errc() || r.ptr == begin) return error("is not a number");
  if (r.ptr != end) return error("has characters after the number");
  return value;
}

}  // namespace sluice::core
