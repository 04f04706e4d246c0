#include "api/cluster/cluster_topics.h"

#include <librdkafka/rdkafka.h>

#include <memory>
#include <vector>

#include "connectors/kafka/client/kafka_client.h"
#include "core/logging.h"

namespace sluice::api::cluster {

namespace {

constexpr int kAdminTimeoutMs = 15000;
// Short: a broker without DescribeConfigs (the test broker) costs this much at every start.
constexpr int kDescribeTimeoutMs = 3000;

struct TopicSpec {
  std::string name;
  int partitions;
  bool compact;
};

template <typename T, void (*Destroy)(T*)>
struct Deleter {
  void operator()(T* p) const { Destroy(p); }
};
using Queue = std::unique_ptr<rd_kafka_queue_t, Deleter<rd_kafka_queue_t, rd_kafka_queue_destroy>>;
using Event = std::unique_ptr<rd_kafka_event_t, Deleter<rd_kafka_event_t, rd_kafka_event_destroy>>;
using AdminOptions = std::unique_ptr<rd_kafka_AdminOptions_t,
                                     Deleter<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy>>;

// Partition count of each topic that exists (0 for a missing one).
core::Result<std::map<std::string, int>> PartitionCounts(rd_kafka_t* rk) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, kAdminTimeoutMs);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return core::UnavailableError(std::string("cluster: no broker answers: ") +
                                  rd_kafka_err2str(err) + "; check cluster.bootstrap.servers");
  }
  std::map<std::string, int> counts;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      counts[md->topics[i].topic] = md->topics[i].partition_cnt;
    }
  }
  rd_kafka_metadata_destroy(md);
  return counts;
}

// CreateTopics; false (with a warning) when the broker does not offer it.
core::Result<bool> CreateTopics(rd_kafka_t* rk, const std::vector<TopicSpec>& missing) {
  std::vector<rd_kafka_NewTopic_t*> topics;
  char err[512];
  for (const TopicSpec& t : missing) {
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, -1, err,
                                                    sizeof err);
    if (nt == nullptr) return core::InvalidArgumentError("cluster topic " + t.name + ": " + err);
    if (t.compact) rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    topics.push_back(nt);
  }
  Queue queue(rd_kafka_queue_new(rk));
  AdminOptions options(rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), kAdminTimeoutMs, err, sizeof err);
  rd_kafka_CreateTopics(rk, topics.data(), topics.size(), options.get(), queue.get());
  rd_kafka_NewTopic_destroy_array(topics.data(), topics.size());
  Event event(rd_kafka_queue_poll(queue.get(), kAdminTimeoutMs + 5000));
  if (!event) return core::UnavailableError("cluster: CreateTopics got no answer");
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    spdlog::warn("cluster: the brokers refused CreateTopics ({})",
                 rd_kafka_event_error_string(event.get()));
    return false;
  }
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
  size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &n);
  for (size_t i = 0; i < n; ++i) {
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      spdlog::info("cluster: created topic {}", rd_kafka_topic_result_name(results[i]));
      continue;
    }
    if (e == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION || e == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE) {
      return false;
    }
    const char* msg = rd_kafka_topic_result_error_string(results[i]);
    return core::FailedPreconditionError(
        std::string("cluster: cannot create topic ") + rd_kafka_topic_result_name(results[i]) +
        ": " + (msg ? msg : rd_kafka_err2str(e)) + "; create it with cleanup.policy=compact");
  }
  return true;
}

// The cleanup.policy of each of `topics` that the brokers report (one DescribeConfigs call); an
// empty map when they cannot tell (no DescribeConfigs: the test broker).
std::map<std::string, std::string> CleanupPolicies(rd_kafka_t* rk,
                                                   const std::vector<std::string>& topics) {
  std::vector<rd_kafka_ConfigResource_t*> resources;
  for (const std::string& t : topics) {
    resources.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t.c_str()));
  }
  Queue queue(rd_kafka_queue_new(rk));
  AdminOptions options(rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS));
  char err[512];
  rd_kafka_AdminOptions_set_request_timeout(options.get(), kDescribeTimeoutMs, err, sizeof err);
  rd_kafka_DescribeConfigs(rk, resources.data(), resources.size(), options.get(), queue.get());
  rd_kafka_ConfigResource_destroy_array(resources.data(), resources.size());
  std::map<std::string, std::string> policies;
  Event event(rd_kafka_queue_poll(queue.get(), kDescribeTimeoutMs + 2000));
  if (!event || rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return policies;
  const rd_kafka_DescribeConfigs_result_t* result =
      rd_kafka_event_DescribeConfigs_result(event.get());
  size_t n = 0;
  const rd_kafka_ConfigResource_t** described =
      rd_kafka_DescribeConfigs_result_resources(result, &n);
  for (size_t r = 0; r < n; ++r) {
    if (rd_kafka_ConfigResource_error(described[r]) != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    size_t entries = 0;
    const rd_kafka_ConfigEntry_t** configs = rd_kafka_ConfigResource_configs(described[r], &entries);
    for (size_t i = 0; i < entries; ++i) {
      if (std::string(rd_kafka_ConfigEntry_name(configs[i])) == "cleanup.policy") {
        const char* v = rd_kafka_ConfigEntry_value(configs[i]);
        policies[rd_kafka_ConfigResource_name(described[r])] = v ? v : "";
      }
    }
  }
  return policies;
}

}  // namespace

core::Status EnsureTopics(const ClusterOptions& o,
                          const std::map<std::string, std::string>& client) {
  SLUICE_ASSIGN_OR_RETURN(auto conf, kafka::client::MakeConf(client, "cluster."));
  char err[512];
  kafka::client::KafkaHandle rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!rk) return core::InvalidArgumentError(std::string("cluster admin client: ") + err);
  conf.release();
  const std::vector<TopicSpec> specs = {{o.configs_topic, 1, true},
                                        {o.offsets_topic, 25, true},
                                        {o.status_topic, 5, true},
                                        {o.assignments_topic, o.assignment_partitions, false}};
  SLUICE_ASSIGN_OR_RETURN(auto counts, PartitionCounts(rk.get()));
  std::vector<TopicSpec> missing;
  for (const TopicSpec& t : specs) {
    if (counts[t.name] == 0) missing.push_back(t);
  }
  if (!missing.empty()) {
    SLUICE_ASSIGN_OR_RETURN(bool created, CreateTopics(rk.get(), missing));
    if (!created) {
      return core::FailedPreconditionError(
          "cluster topic " + missing.front().name + " does not exist and the brokers do not "
          "create topics: create it (the state topics with cleanup.policy=compact, " +
          o.assignments_topic + " with " + std::to_string(o.assignment_partitions) +
          " partitions)");
    }
    SLUICE_ASSIGN_OR_RETURN(counts, PartitionCounts(rk.get()));
  }
  if (counts[o.assignments_topic] != o.assignment_partitions) {
    return core::FailedPreconditionError(
        "cluster topic " + o.assignments_topic + " has " +
        std::to_string(counts[o.assignments_topic]) + " partitions, cluster.assignments."
        "partitions says " + std::to_string(o.assignment_partitions) +
        ": every worker must use the topic's partition count");
  }
  std::vector<std::string> state_topics = {o.configs_topic, o.offsets_topic, o.status_topic};
  std::map<std::string, std::string> policies = CleanupPolicies(rk.get(), state_topics);
  for (const std::string& t : state_topics) {
    auto it = policies.find(t);
    if (it == policies.end()) {
      spdlog::warn("cluster: cannot read the cleanup.policy of topic {} (the broker has no "
                   "DescribeConfigs); make sure it is compact",
                   t);
    } else if (it->second.find("compact") == std::string::npos) {
      return core::FailedPreconditionError(
          "cluster topic " + t + " has cleanup.policy=" + it->second +
          ": it must be compact, or the cluster's state is deleted with old segments");
    }
  }
  return core::Status::Ok();
}

}  // namespace sluice::api::cluster
