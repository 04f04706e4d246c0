// Running the sluice binary under test ($SLUICE_BIN) from integration tests.
#ifndef SLUICE_INTEGRATION_COMMON_SLUICE_PROCESS_H_
#define SLUICE_INTEGRATION_COMMON_SLUICE_PROCESS_H_

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "integration/common/subprocess.h"
#include "integration/common/temp_dir.h"

namespace sluice::itest {

// One sluice process with its own working directory (a TempDir holding CONFIG.json, any state
// files sluice writes relative to it, and the logs stdout.N.log / stderr.N.log of start N).
// Restart() starts the same command again in the same directory, so a restarted pipeline sees
// the state its predecessor left. The destructor kills a process that still runs. Movable; not
// thread-safe. Start it from the test's thread (see ProcessOptions::kill_with_parent).
class SluiceProcess {
 public:
  // `sluice run CONFIG.json [extra_args]`; `config` is the flat config object or the
  // {"name", "config"} body.
  static SluiceProcess Run(const nlohmann::json& config, std::vector<std::string> extra_args = {});
  // `sluice COMMAND CONFIG.json [extra_args]`, e.g. "sync" or "validate".
  static SluiceProcess StartWithConfig(std::string_view command, const nlohmann::json& config,
                                       std::vector<std::string> extra_args = {});
  // `sluice ARGS...` in a fresh directory, e.g. {"serve", "--listen", "127.0.0.1:PORT"}.
  static SluiceProcess Start(std::vector<std::string> args);

  // `sluice COMMAND CONFIG.json [extra_args]` to completion (killed after `timeout`).
  static CommandResult RunToCompletion(std::string_view command, const nlohmann::json& config,
                                       std::chrono::milliseconds timeout,
                                       std::vector<std::string> extra_args = {});

  SluiceProcess(SluiceProcess&&) noexcept = default;
  SluiceProcess& operator=(SluiceProcess&&) noexcept = default;
  ~SluiceProcess();

  const std::filesystem::path& dir() const { return dir_.path(); }
  const std::filesystem::path& config_path() const { return config_path_; }
  Subprocess& process() { return *process_; }

  bool IsRunning() { return process_->IsRunning(); }
  std::optional<ExitStatus> WaitFor(std::chrono::milliseconds timeout) {
    return process_->WaitFor(timeout);
  }
  // SIGTERM (sluice commits what is flushed and exits), SIGKILL after `grace`.
  ExitStatus Stop(std::chrono::milliseconds grace = std::chrono::seconds(30));
  // SIGKILL: a crash at an arbitrary point.
  ExitStatus Kill() { return process_->Kill(); }
  // Starts the same command again in the same directory; the previous run must have ended.
  void Restart();
  // Replaces CONFIG.json (takes effect at the next Restart()).
  void RewriteConfig(const nlohmann::json& config);

  std::string Stdout() const { return process_->Stdout(); }
  std::string Stderr() const { return process_->Stderr(); }
  // The last lines of stderr and stdout of the current run, for failure messages.
  std::string LogTail(int lines = 40) const;

 private:
  SluiceProcess(TempDir dir, std::vector<std::string> args);
  void Launch();

  TempDir dir_;
  std::filesystem::path config_path_;
  std::vector<std::string> args_;
  int generation_ = 0;
  std::optional<Subprocess> process_;
};

// `sluice run` with `config` gives up at start: it fails before `timeout` (a refusal that is not
// retried) and its output contains each of `says`. The failure message quotes the output.
::testing::AssertionResult RefusedAtStart(const nlohmann::json& config,
                                          const std::vector<std::string>& says,
                                          std::chrono::milliseconds timeout =
                                              std::chrono::seconds(60));

}  // namespace sluice::itest

#endif  // SLUICE_INTEGRATION_COMMON_SLUICE_PROCESS_H_
