// Logging: spdlog loggers named after the connector, so every line says which connector wrote
// it. Secrets never reach a log line: log ConnectorConfig::RedactedJson(), never raw values; and
// every line's message passes through RedactConnectionStrings (core/redact.h) on its way out.
//
// Thread-safety: spdlog loggers are thread-safe; InitLogging() once at start-up.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace sluice::core {

// Sets the process-wide level ("trace".."critical", "off") and the line format; logs to stderr.
void InitLogging(std::string_view level = "info");

// A sink that redacts connection-string passwords from each message, then hands it to `inner`
// (which formats and writes it). InitLogging and ConnectorLogger log through one of these.
std::shared_ptr<spdlog::sinks::sink> RedactingLogSink(std::shared_ptr<spdlog::sinks::sink> inner);

// A logger whose lines carry [connector]. Cheap to call repeatedly for the same name.
std::shared_ptr<spdlog::logger> ConnectorLogger(const std::string& connector);

}  // namespace sluice::core
