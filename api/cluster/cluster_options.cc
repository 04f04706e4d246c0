#include "api/cluster/cluster_options.h"

namespace sluice::api::cluster {

core::Status FinishClusterOptions(ClusterOptions& o) {
  if (o.bootstrap_servers.empty()) {
    return core::InvalidArgumentError(
        "cluster.bootstrap.servers is required with --cluster (HOST:PORT[,HOST:PORT...])");
  }
  if (o.group_id.empty()) {
    return core::InvalidArgumentError(
        "cluster.group.id is required with --cluster: every worker of one cluster uses the same");
  }
  if (o.configs_topic.empty()) o.configs_topic = o.group_id + "-configs";
  if (o.offsets_topic.empty()) o.offsets_topic = o.group_id + "-offsets";
  if (o.status_topic.empty()) o.status_topic = o.group_id + "-status";
  if (o.assignments_topic.empty()) o.assignments_topic = o.group_id + "-assignments";
  if (o.assignment_partitions < 1 || o.assignment_partitions > 10000) {
    return core::InvalidArgumentError("cluster.assignments.partitions must be 1..10000, got " +
                                      std::to_string(o.assignment_partitions));
  }
  if (o.session_timeout_ms < 1000 || o.session_timeout_ms > 300000) {
    return core::InvalidArgumentError("cluster.session.timeout.ms must be 1000..300000, got " +
                                      std::to_string(o.session_timeout_ms));
  }
  if (o.assignment_strategy != "cooperative-sticky" && o.assignment_strategy != "range" &&
      o.assignment_strategy != "roundrobin") {
    return core::InvalidArgumentError(
        "cluster.assignment.strategy must be cooperative-sticky, range or roundrobin, got '" +
        o.assignment_strategy + "'");
  }
  return core::Status::Ok();
}

int32_t AssignmentPartition(const std::string& name, int partitions) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 16777619u;
  }
  return static_cast<int32_t>(hash % static_cast<uint32_t>(partitions));
}

}  // namespace sluice::api::cluster
