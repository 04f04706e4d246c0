// Config providers, as in Kafka Connect: a config value may hold references that are replaced
// by their value when a pipeline is built (api/plugins.cc BuildConnector), never when the
// config is stored. The state store, GET responses and logs keep the reference, not the secret.
//
//   ${env:NAME}          the environment variable NAME of the sluice process
//   ${file:/path:key}    the value of `key` in /path, a Java properties file ("key=value" lines)
//   ${file:/path}        the whole content of /path, leading and trailing whitespace trimmed
//
// A value may hold several references and text around them
// ("postgresql://app:${env:PG_PASSWORD}@db:5432/shop"). A "${…}" without a colon, such as
// ${schema} in sink.table.name.format, is not a reference and stays as written. An unknown
// provider, a variable that is not set, a file that cannot be read or a key the file lacks is a
// kInvalidArgument naming the config key and the reference, never the value.
//
// Thread-safety: pure functions (they read the environment and files).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/status.h"

namespace sluice::core {

// The config with every reference in every value resolved; the first error otherwise.
Result<ConnectorConfig> ResolveConfigProviders(const ConnectorConfig& config);

// One value of `key` with its references resolved.
Result<std::string> ResolveConfigValue(std::string_view key, std::string_view value);

// True when `value` holds at least one ${provider:…} reference.
bool HasConfigReference(std::string_view value);
// True when `value` is nothing but references ("${env:PW}", "${file:/a:k}${env:B}"): such a
// value hides no secret and is shown as written, even under a secret key.
bool IsOnlyConfigReferences(std::string_view value);

// Parses Java properties text: "key=value", "key: value" or "key value" lines, '#' and '!'
// comments, backslash line continuations and escapes (\t \n \r \f \uXXXX, "\=" for a literal).
// Later keys win, as in java.util.Properties.
std::map<std::string, std::string> ParseJavaProperties(std::string_view text);

}  // namespace sluice::core
