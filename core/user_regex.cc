#include "core/user_regex.h"

#include <re2/re2.h>

#include "core/config.h"
#include "core/text_codec.h"

namespace sluice::core {

namespace {

// The pattern (or RE2's message quoting it) as it may appear in an error message: control
// characters and invalid UTF-8 escaped, so that they can neither forge a log line nor break the
// JSON of an error reply.
std::string Excerpt(std::string_view text) { return SafeText(text, 64); }

}  // namespace

Result<UserRegex> UserRegex::Compile(std::string_view key, std::string_view pattern,
                                     RegexCase letter_case) {
  if (pattern.size() > kMaxRegexPatternBytes) {
    return InvalidArgumentError(std::string(key) + ": the regular expression '" + Excerpt(pattern) +
                                "' is " + std::to_string(pattern.size()) +
                                " bytes long; the limit is " + std::to_string(kMaxRegexPatternBytes) +
                                " bytes per pattern: list simpler patterns");
  }
  RE2::Options options;
  options.set_log_errors(false);  // errors come back to the caller, never to stderr
  options.set_max_mem(kMaxRegexMemoryBytes);
  options.set_case_sensitive(letter_case == RegexCase::kSensitive);
  auto re = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    std::string problem = re->error_code() == RE2::ErrorPatternTooLarge
                              ? "it compiles to a program larger than the regex memory limit"
                              : Excerpt(re->error());
    return InvalidArgumentError(std::string(key) + ": invalid regular expression '" +
                                Excerpt(pattern) + "': " + problem +
                                " (RE2 syntax: no backreferences or lookaround)");
  }
  UserRegex out;
  out.pattern_ = std::string(pattern);
  out.re_ = std::move(re);
  return out;
}

bool UserRegex::FullMatch(std::string_view text) const {
  return re_ != nullptr && RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

Result<std::vector<UserRegex>> CompileRegexList(std::string_view key, std::string_view value,
                                                RegexCase letter_case) {
  if (value.size() > kMaxRegexListBytes) {
    return InvalidArgumentError(std::string(key) + ": the list is " + std::to_string(value.size()) +
                                " bytes long; the limit is " + std::to_string(kMaxRegexListBytes) +
                                " bytes: list simpler patterns");
  }
  std::vector<UserRegex> out;
  for (const std::string& item : SplitConfigList(value)) {
    auto re = UserRegex::Compile(key, item, letter_case);
    if (!re.ok()) return re.status();
    out.push_back(std::move(*re));
  }
  return out;
}

Result<std::vector<UserRegex>> CompileRegexList(const ConnectorConfig& config, std::string_view key,
                                                RegexCase letter_case) {
  return CompileRegexList(key, config.Get(key), letter_case);
}

bool AnyFullMatch(const std::vector<UserRegex>& patterns, std::string_view text) {
  for (const auto& re : patterns) {
    if (re.FullMatch(text)) return true;
  }
  return false;
}

}  // namespace sluice::core
