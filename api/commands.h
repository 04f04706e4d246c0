// The `sluice` subcommands. Each returns the process exit code: 0 ok, 2 bad config or usage,
// 1 runtime failure. Messages go to stderr and name the problem.
#pragma once

#include <cstddef>
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

struct ServeOptions {
  std::string listen = "127.0.0.1:8083";  // host:port; port 0 picks a free one
  std::string state_path = "sluice.db";
  std::string token;                      // empty: SLUICE_TOKEN, else no authentication
  size_t max_body_bytes = 1u << 20;
};

// The REST service until SIGINT/SIGTERM; then the gate: refuse new work, stop the connectors
// (they flush and commit), exit 0.
int ServeCommand(const ServeOptions& options);

// A one-shot full sync (snapshot.mode=initial_only) in the foreground with per-table progress
// (bars on a terminal, plain lines otherwise) and a summary table on stdout; exit 0 on success.
int SyncCommand(const std::string& config_path);

}  // namespace sluice::api
