// sluice: the one binary. Subcommands: serve, sync, run, validate, verify.
#include <CLI/CLI.hpp>

#include "api/commands.h"
#include "core/logging.h"

int main(int argc, char** argv) {
  CLI::App app{"Sluice: change-data-capture replication (PostgreSQL, MySQL/MariaDB, Kafka)"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

  sluice::api::ServeOptions serve;
  CLI::App* serve_cmd = app.add_subcommand("serve", "REST service; connectors survive restarts");
  serve_cmd->add_option("--listen", serve.listen, "HOST:PORT to listen on (default 127.0.0.1:8083)");
  serve_cmd->add_option("--state", serve.state_path, "state file (SQLite, default sluice.db)");
  serve_cmd->add_option("--token", serve.token,
                        "require 'Authorization: Bearer TOKEN' (default: $SLUICE_TOKEN)");
  serve_cmd->add_option("--max-body-bytes", serve.max_body_bytes,
                        "largest request body accepted (default 1 MiB)");
  serve_cmd->add_flag("--insecure-no-auth", serve.insecure_no_auth,
                      "allow listening off loopback without a token (anyone who reaches the "
                      "port controls Sluice)");
  serve_cmd->add_option("--allowed-origin", serve.allowed_origins,
                        "a browser origin (scheme://host[:port]) allowed to change connectors, "
                        "besides the server's own; repeatable")
      ->allow_extra_args(false);
  serve_cmd->add_option("--allowed-host", serve.allowed_hosts,
                        "a name accepted in the Host header besides the listen address (and "
                        "localhost on loopback); repeatable")
      ->allow_extra_args(false);

  serve_cmd->add_flag("--cluster", serve.cluster,
                      "run as a worker of a cluster coordinated through Kafka (README Cluster); "
                      "state in Kafka topics instead of --state");
  auto& cluster = serve.cluster_options;
  serve_cmd->add_option("--cluster.bootstrap.servers", cluster.bootstrap_servers,
                        "Kafka brokers of the cluster (HOST:PORT,...)");
  serve_cmd->add_option("--cluster.group.id", cluster.group_id,
                        "consumer group of the cluster's workers");
  serve_cmd->add_option("--cluster.worker.id", cluster.worker_id,
                        "this worker's id, unique in the group (default: the --listen HOST:PORT)");
  serve_cmd->add_option("--cluster.configs.topic", cluster.configs_topic,
                        "connector configs (default <group>-configs)");
  serve_cmd->add_option("--cluster.offsets.topic", cluster.offsets_topic,
                        "committed positions (default <group>-offsets)");
  serve_cmd->add_option("--cluster.status.topic", cluster.status_topic,
                        "statuses and worker heartbeats (default <group>-status)");
  serve_cmd->add_option("--cluster.assignments.topic", cluster.assignments_topic,
                        "the topic whose partitions the group assigns (default <group>-assignments)");
  serve_cmd->add_option("--cluster.assignments.partitions", cluster.assignment_partitions,
                        "partitions of the assignments topic (default 32)");
  serve_cmd->add_option("--cluster.session.timeout.ms", cluster.session_timeout_ms,
                        "a worker silent this long loses its connectors (default 10000)");
  serve_cmd->add_option("--cluster.assignment.strategy", cluster.assignment_strategy,
                        "cooperative-sticky (default), range or roundrobin");
  serve_cmd->add_option("--cluster.property", serve.cluster_properties,
                        "KEY=VALUE librdkafka property for the cluster's clients (security.protocol, "
                        "sasl.*); repeatable")
      ->allow_extra_args(false);

  std::string sync_path;
  CLI::App* sync_cmd = app.add_subcommand("sync", "one-shot full sync with progress, then a summary");
  sync_cmd->add_option("config", sync_path, "connector config (JSON)")->required();

  sluice::api::RunOptions run;
  CLI::App* run_cmd = app.add_subcommand("run", "run one pipeline in the foreground");
  run_cmd->add_option("config", run.config_path, "connector config (JSON)")->required();
  run_cmd->add_option("--state", run.state_path, "state file (SQLite)");
  run_cmd->add_option("--snapshot-signal", run.snapshot_signal_path,
                      "file to watch: a request written into it ({\"tables\": [...]}) starts an "
                      "incremental snapshot; renamed FILE.accepted, or FILE.error with the reason");

  std::string validate_path;
  CLI::App* validate_cmd = app.add_subcommand("validate", "check a config and its connections");
  validate_cmd->add_option("config", validate_path, "connector config (JSON)")->required();

  sluice::api::VerifyOptions verify;
  CLI::App* verify_cmd =
      app.add_subcommand("verify", "compare the target with the source (exit 0 equal, 1 differences)");
  verify_cmd->add_option("config", verify.config_path, "connector config (JSON)")->required();
  verify_cmd->add_option("--tables", verify.tables, "comma-separated schema.table (default: all captured)");
  verify_cmd->add_option("--mode", verify.mode, "count, checksum (default) or rows");
  verify_cmd->add_option("--rechecks", verify.rechecks,
                         "re-read ranges that differ this many times (while replication runs)");
  verify_cmd->add_option("--chunk-rows", verify.chunk_rows, "rows per key range (default 10000)");
  verify_cmd->add_flag("--repair", verify.repair,
                       "write the differing rows through the sink, then compare them again");
  verify_cmd->add_flag("--json", verify.json, "print the report as JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  sluice::core::InitLogging(log_level);
  if (*serve_cmd) return sluice::api::ServeCommand(serve);
  if (*sync_cmd) return sluice::api::SyncCommand(sync_path);
  if (*run_cmd) return sluice::api::RunCommand(run);
  if (*validate_cmd) return sluice::api::ValidateCommand(validate_path);
  if (*verify_cmd) return sluice::api::VerifyCommand(verify);
  return 2;
}
