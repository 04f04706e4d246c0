#include <csignal>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/commands.h"
#include "api/incremental_signal_file.h"
#include "api/plugins.h"
#include "api/stop_signals.h"
#include "core/logging.h"
#include "core/metrics.h"
#include "core/progress.h"
#include "core/redact.h"
#include "core/sqlite_state_store.h"

namespace sluice::api {

namespace {

int ExitCodeFor(const core::Status& s) {
  return s.code() == core::StatusCode::kInvalidArgument ? 2 : 1;
}

core::Result<core::ConnectorConfig> LoadConfig(const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(core::ConnectorConfig config, core::LoadConnectorConfigFile(path));
  SLUICE_RETURN_IF_ERROR(ValidateConfig(config).WithContext(path));
  return config;
}

}  // namespace

int RunCommand(const RunOptions& options) {
  auto config = LoadConfig(options.config_path);
  if (!config.ok()) {
    std::cerr << "sluice run: " << config.status().message() << "\n";
    return ExitCodeFor(config.status());
  }
  BlockStopSignals();  // before any thread starts: only the watcher below receives them

  auto opened = core::SqliteStateStore::Open(options.state_path);
  if (!opened.ok()) {
    std::cerr << "sluice run: " << opened.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<core::StateStore> store = std::move(*opened);
  core::MetricsRegistry metrics;
  core::ProgressTracker progress;
  auto built = BuildConnector(*config, &metrics, &progress);
  if (!built.ok()) {
    std::cerr << "sluice run: " << core::RedactSecrets(built.status().message(), *config) << "\n";
    return ExitCodeFor(built.status());
  }
  auto logger = core::ConnectorLogger(config->name());
  logger->info("starting: {}", config->RedactedJson().dump());
  core::Pipeline pipeline(config->name(), std::move(built->source), std::move(built->sink),
                          store.get(), built->options, &metrics, logger);
  pipeline.Start();

  core::Status result;
  {
    std::unique_ptr<IncrementalSignalFile> signal_file;
    if (!options.snapshot_signal_path.empty()) {
      signal_file = std::make_unique<IncrementalSignalFile>(
          options.snapshot_signal_path, pipeline.incremental_snapshots(), logger);
    }
    // A stop signal becomes RequestStop: the pipeline flushes, commits and ends.
    StopSignalWatcher watcher([&pipeline](int sig) {
      spdlog::info("signal {} received: flushing and stopping", sig);
      pipeline.RequestStop();
    });
    result = pipeline.Wait();
  }
  if (!result.ok()) {
    std::cerr << "sluice run: " << core::RedactSecrets(result.ToString(), *config) << "\n";
    return ExitCodeFor(result);
  }
  std::cerr << "sluice run: " << core::PipelineStateName(pipeline.state()) << ", "
            << pipeline.events_written() << " events written\n";
  return 0;
}

int ValidateCommand(const std::string& config_path) {
  auto config = core::LoadConnectorConfigFile(config_path);
  if (!config.ok()) {
    std::cerr << "sluice validate: " << config.status().message() << "\n";
    return 2;
  }
  core::ConfigDef def = ConfigDefFor(*config);
  auto issues = def.Check(*config);
  for (const auto& w : def.Warnings(*config)) std::cerr << "warning: " << w.message << "\n";
  if (!issues.empty()) {
    for (const auto& issue : issues) std::cerr << "error: " << issue.message << "\n";
    return 2;
  }
  core::MetricsRegistry metrics;
  auto built = BuildConnector(*config, &metrics, nullptr);
  if (!built.ok()) {
    std::cerr << "error: " << core::RedactSecrets(built.status().message(), *config) << "\n";
    return ExitCodeFor(built.status());
  }
  int rc = 0;
  if (core::Status s = built->source->Check(); !s.ok()) {
    std::cerr << "error: source: " << core::RedactSecrets(s.message(), *config) << "\n";
    rc = ExitCodeFor(s);
  } else {
    std::cerr << "source: ok\n";
  }
  built->source->Close();
  if (core::Status s = built->sink->Check(); !s.ok()) {
    std::cerr << "error: sink: " << core::RedactSecrets(s.message(), *config) << "\n";
    rc = rc ? rc : ExitCodeFor(s);
  } else {
    std::cerr << "sink: ok\n";
  }
  built->sink->Close();
  if (rc == 0) std::cout << "config is valid; source and sink are reachable\n";
  return rc;
}

}  // namespace sluice::api
