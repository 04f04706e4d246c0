#include "core/logging.h"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace sluice::core {

namespace {
std::shared_ptr<spdlog::sinks::sink> SharedSink() {
  static auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  return sink;
}
constexpr const char* kPattern = "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v";
}  // namespace

void InitLogging(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  auto logger = std::make_shared<spdlog::logger>("sluice", SharedSink());
  logger->set_pattern(kPattern);
  spdlog::set_default_logger(logger);
  spdlog::set_level(lvl);
  spdlog::flush_on(spdlog::level::warn);
}

std::shared_ptr<spdlog::logger> ConnectorLogger(const std::string& connector) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (auto existing = spdlog::get(connector)) return existing;
  auto logger = std::make_shared<spdlog::logger>(connector, SharedSink());
  logger->set_pattern(kPattern);
  logger->set_level(spdlog::get_level());
  logger->flush_on(spdlog::level::warn);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace sluice::core
