// Redaction: keeps passwords out of everything Sluice shows or logs (API responses, status
// traces, error messages, log lines).
//
// Two complementary passes:
//  - by syntax (RedactConnectionStrings): the password of every connection string written in
//    the text, in URL form ("postgresql://user:PW@host", "mysql://user:PW@host", any scheme) or
//    keyword form ("host=h password = PW", "password='P W'", "password=p\'q", and
//    "?password=PW&…" query parameters). This works on free text, such as an error message that
//    echoes a conninfo, without knowing the config.
//  - by value (RedactSecrets with a config): every secret the config holds (values of secret
//    keys, passwords inside URL and keyword-form values, as written and percent-decoded) is
//    replaced wherever it appears, which also catches a client library that quotes a fragment of
//    a connection string (libpq's "invalid percent-encoded token: …").
//
// A password written as nothing but ${env:…}/${file:…} references (core/config_providers.h) is
// left as written by both passes: it says where the secret is, not what it is.
//
// Every path that shows a config or an error to a user or a log goes through these functions:
// ConnectorConfig::RedactedJson for configs, RedactSecrets for status traces and errors, and the
// log sink (core/logging.cc) for every log line.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice::core {

class ConnectorConfig;

// What a redacted password reads as.
inline constexpr std::string_view kRedactedText = "****";
// Secrets shorter than this are not searched for by value in free text: replacing every "ab" in
// a message would garble it and hide nothing worth hiding. The syntax pass still applies.
inline constexpr size_t kMinRedactedSecretBytes = 3;

// `text` with every password of a URL or keyword-form connection string replaced by "****";
// anything else unchanged. Over-redacts rather than leaks when the syntax is ambiguous (an
// unterminated quote hides the rest of the text).
std::string RedactConnectionStrings(std::string_view text);

// The passwords in one connection string value (URL or keyword form): as written, unescaped and
// percent-decoded where that differs. Empty when there is none.
std::vector<std::string> ConnectionStringSecrets(std::string_view value);

// Every secret of `config`: the values of secret keys (IsSecretKey) and the passwords of every
// value that holds a connection string; for a value with ${env:…}/${file:…} references, those of
// the resolved value too (core/config_providers.h).
std::vector<std::string> ConfigSecrets(const ConnectorConfig& config);

// `text` after RedactConnectionStrings, with every occurrence of each of `secrets` (at least
// kMinRedactedSecretBytes long) replaced by "****", and every double-quoted token that is a
// piece of a secret (as client libraries quote what they fail to parse) replaced too.
std::string RedactSecrets(std::string_view text, const std::vector<std::string>& secrets);
// Same with the secrets of `config`: the one function for status traces and error messages.
std::string RedactSecrets(std::string_view text, const ConnectorConfig& config);

}  // namespace sluice::core
