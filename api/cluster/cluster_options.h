// The settings of `sluice serve --cluster` (README "Cluster"): where the Kafka cluster is, the
// consumer group the workers join, and the topics that hold the cluster's state.
// Plain data; thread-safety: none needed.
#pragma once

#include <map>
#include <string>

#include "core/status.h"

namespace sluice::api::cluster {

struct ClusterOptions {
  std::string bootstrap_servers;  // cluster.bootstrap.servers (required)
  std::string group_id;           // cluster.group.id (required)
  // cluster.worker.id: how the others name and reach this worker (unique in the group);
  // empty: the --listen address, which is ambiguous behind 0.0.0.0 (containers).
  std::string worker_id;
  // Topics; empty: <group>-configs, <group>-offsets, <group>-status, <group>-assignments.
  std::string configs_topic;
  std::string offsets_topic;
  std::string status_topic;
  std::string assignments_topic;
  // Connector c belongs to partition AssignmentPartition(c, assignment_partitions) of the
  // assignments topic; every worker of a group must use the same count (checked at start).
  int assignment_partitions = 32;
  int session_timeout_ms = 10000;  // a silent worker loses its connectors after this
  // cooperative-sticky (default), or an eager assignor: range, roundrobin.
  std::string assignment_strategy = "cooperative-sticky";
  // Further librdkafka properties for every cluster client (security.protocol, sasl.*, ...),
  // from --cluster.property KEY=VALUE.
  std::map<std::string, std::string> client;
};

// Fills the defaults and checks the values; kInvalidArgument naming the cluster.* key.
core::Status FinishClusterOptions(ClusterOptions& options);

// The partition of the assignments topic that connector `name` belongs to: FNV-1a (32-bit) of
// the name, modulo `partitions`. Stable across workers, versions and machines.
int32_t AssignmentPartition(const std::string& name, int partitions);

}  // namespace sluice::api::cluster
