// The `sluice` subcommands. Each returns the process exit code: 0 ok, 2 bad config or usage,
// 1 runtime failure. Messages go to stderr and name the problem.
#pragma once

#include <string>

namespace sluice::api {

struct RunOptions {
  std::string config_path;
  std::string state_path = "sluice.db";
};

// One pipeline in the foreground until SIGINT/SIGTERM (then flush, commit, exit 0) or, with
// snapshot.mode=initial_only, until the snapshot is done.
int RunCommand(const RunOptions& options);

// Checks the config, then connects to the source and the target and checks their settings.
int ValidateCommand(const std::string& config_path);

}  // namespace sluice::api
