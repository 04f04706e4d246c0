// UserRegex: a regular expression supplied by a user in a config (table.include.list and the
// other filter lists), compiled with RE2.
//
// Why RE2 and not std::regex: libstdc++'s std::regex compiles and matches by recursion, so a
// pattern of a few thousand nested groups overflows the stack and ends the whole process, and
// some patterns match in exponential time. RE2 parses without recursion, matches in time linear
// in the input and bounds its memory. The price: RE2 syntax has no backreferences and no
// lookaround (they cannot run in linear time); such patterns are refused with a clear message.
//
// Every pattern matches the whole name (RE2::FullMatch), as Debezium's filters do, and is
// case-sensitive unless compiled with RegexCase::kInsensitive (Debezium's column mappers,
// e.g. column.propagate.source.type, match without regard to case). A pattern longer than kMaxRegexPatternBytes, a list longer than
// kMaxRegexListBytes, or a pattern RE2 refuses (syntax, nesting too deep, program larger than
// its memory budget) is a kInvalidArgument naming the config key and the problem.
//
// Thread-safety: immutable after Compile; FullMatch from any thread (RE2 is thread-safe for
// matching). Copies share the compiled program.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace re2 {
class RE2;
}

namespace sluice::core {

class ConnectorConfig;

// Longest single pattern, in bytes. Table names are at most a few hundred bytes; a longer
// pattern is a mistake or an attack.
inline constexpr size_t kMaxRegexPatternBytes = 4096;
// Longest value of a whole comma-separated list key, in bytes.
inline constexpr size_t kMaxRegexListBytes = 65536;
// RE2's memory budget per compiled pattern (its default is 8 MiB).
inline constexpr int64_t kMaxRegexMemoryBytes = 1 << 20;

enum class RegexCase : uint8_t { kSensitive, kInsensitive };

class UserRegex {
 public:
  // Compiles `pattern`; kInvalidArgument "<key>: …" when it is too long or RE2 refuses it.
  static Result<UserRegex> Compile(std::string_view key, std::string_view pattern,
                                   RegexCase letter_case = RegexCase::kSensitive);

  // True when the pattern matches all of `text` (not a substring).
  bool FullMatch(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  std::shared_ptr<const re2::RE2> re_;
};

// Every pattern of the comma-separated list `value` of `key`; the first problem as a
// kInvalidArgument naming the key. An empty list gives an empty vector.
Result<std::vector<UserRegex>> CompileRegexList(std::string_view key, std::string_view value,
                                                RegexCase letter_case = RegexCase::kSensitive);
// Same for the value of `key` in `config` (absent: empty).
Result<std::vector<UserRegex>> CompileRegexList(const ConnectorConfig& config, std::string_view key,
                                                RegexCase letter_case = RegexCase::kSensitive);

// True when any of `patterns` matches all of `text`.
bool AnyFullMatch(const std::vector<UserRegex>& patterns, std::string_view text);

}  // namespace sluice::core
