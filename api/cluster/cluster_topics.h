// The cluster's topics on the brokers: created when missing, checked at start.
// Thread-safety: a free function; it creates and destroys its own admin client.
#pragma once

#include <map>
#include <string>

#include "api/cluster/cluster_options.h"
#include "core/status.h"

namespace sluice::api::cluster {

// Creates each missing topic through the Admin API: configs (1 partition), offsets (25) and
// status (5) with cleanup.policy=compact, assignments with options.assignment_partitions.
// Then checks that the state topics have cleanup.policy=compact (DescribeConfigs) and that the
// assignments topic has options.assignment_partitions partitions. A broker that has no
// CreateTopics or DescribeConfigs (the test broker) gets a warning instead: there the topics
// must exist. kFailedPrecondition names a topic that is missing or set up wrong, kUnavailable
// when the brokers do not answer.
core::Status EnsureTopics(const ClusterOptions& options,
                          const std::map<std::string, std::string>& client);

}  // namespace sluice::api::cluster
