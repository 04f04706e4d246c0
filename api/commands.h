// The `sluice` subcommands. Each returns the process exit code: 0 ok, 2 bad config or usage,
// 1 runtime failure. Messages go to stderr and name the problem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "api/cluster/cluster_options.h"

namespace sluice::api {

struct RunOptions {
  std::string config_path;
  std::string state_path = "sluice.db";
  // Non-empty: a request written into this file starts an incremental snapshot
  // (api/incremental_signal_file.h).
  std::string snapshot_signal_path;
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
  // Off loopback without a token, serve refuses to start unless this is set.
  bool insecure_no_auth = false;
  std::vector<std::string> allowed_origins;  // --allowed-origin, repeatable
  std::vector<std::string> allowed_hosts;    // --allowed-host, repeatable
  // --cluster: a worker of a cluster (api/cluster/cluster_worker.h); state in Kafka topics
  // instead of the SQLite file.
  bool cluster = false;
  cluster::ClusterOptions cluster_options;
  std::vector<std::string> cluster_properties;  // --cluster.property KEY=VALUE, repeatable
};

// True for 127.0.0.0/8 and ::1.
bool IsLoopbackAddress(const std::string& address);
// "" when `sluice serve` may listen on `address`; else why not (off loopback without a token and
// without --insecure-no-auth), naming both options.
std::string CheckListenSecurity(const std::string& address, const std::string& token,
                                bool insecure_no_auth);

// The REST service until SIGINT/SIGTERM; then the gate: refuse new work, stop the connectors
// (they flush and commit), exit 0.
int ServeCommand(const ServeOptions& options);

// A one-shot full sync (snapshot.mode=initial_only) in the foreground with per-table progress
// (bars on a terminal, plain lines otherwise) and a summary table on stdout; exit 0 on success.
int SyncCommand(const std::string& config_path);

struct VerifyOptions {
  std::string config_path;
  std::string tables;           // comma-separated schema.table; empty: every captured table
  std::string mode = "checksum";  // count, checksum, rows
  int rechecks = 0;             // re-read differing ranges this many times (replication running)
  bool json = false;            // print the report as JSON
  int64_t chunk_rows = 10000;   // rows per key range
  bool repair = false;          // write the differing rows through the sink, then compare again
};

// Compares the config's target with its source (api/verify_job.h); exit 0 equal, 1 differences
// (or a failure), 2 bad config or usage.
int VerifyCommand(const VerifyOptions& options);

}  // namespace sluice::api
