#include "core/logging.h"

#include <mutex>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "core/redact.h"

namespace sluice::core {

namespace {

// Every log line passes through RedactConnectionStrings before it reaches stderr: a message
// that quotes a connection string (a client library's error, a URL in a warning) cannot write
// its password to the log, whichever code logged it.
class RedactingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit RedactingSink(std::shared_ptr<spdlog::sinks::sink> inner) : inner_(std::move(inner)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string redacted =
        RedactConnectionStrings(std::string_view(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(redacted.data(), redacted.size());
    inner_->log(copy);
  }
  void flush_() override { inner_->flush(); }
  // The inner sink formats the line.
  void set_pattern_(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter_(std::unique_ptr<spdlog::formatter> formatter) override {
    inner_->set_formatter(std::move(formatter));
  }

 private:
  std::shared_ptr<spdlog::sinks::sink> inner_;
};

std::shared_ptr<spdlog::sinks::sink> SharedSink() {
  static auto sink =
      std::make_shared<RedactingSink>(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  return sink;
}
constexpr const char* kPattern = "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v";
}  // namespace

std::shared_ptr<spdlog::sinks::sink> RedactingLogSink(std::shared_ptr<spdlog::sinks::sink> inner) {
  return std::make_shared<RedactingSink>(std::move(inner));
}

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
