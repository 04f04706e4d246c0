// Logging: spdlog loggers named after the connector, so every line says which connector wrote
// it. Secrets never reach a log line: log ConnectorConfig::RedactedJson(), never raw values.
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

// A logger whose lines carry [connector]. Cheap to call repeatedly for the same name.
std::shared_ptr<spdlog::logger> ConnectorLogger(const std::string& connector);

}  // namespace sluice::core
