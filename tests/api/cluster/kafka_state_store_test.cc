// The StateStore contract (tests/core/state_store_conformance.h) run against KafkaStateStore on
// librdkafka's mock cluster, started once inside this process. Each test uses topics of its own
// (named after its directory); "reopening" opens a new store, which reads the topics again.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <filesystem>
#include <memory>
#include <string>

#include "api/cluster/kafka_state_store.h"
#include "tests/core/state_store_conformance.h"

namespace sluice::api::cluster {
namespace {

// The mock cluster lives until the process ends.
const std::string& Bootstrap() {
  static const std::string bootstrap = [] {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    rd_kafka_mock_cluster_t* mock = rd_kafka_mock_cluster_new(rk, 1);
    return std::string(rd_kafka_mock_cluster_bootstraps(mock));
  }();
  return bootstrap;
}

struct KafkaImplementation {
  static core::Result<std::unique_ptr<core::StateStore>> Open(const std::filesystem::path& dir) {
    const std::string prefix = dir.filename().string();
    KafkaStateStoreOptions options;
    options.client = {{"bootstrap.servers", Bootstrap()}, {"log_level", "3"}};
    options.configs_topic = prefix + "-configs";
    options.offsets_topic = prefix + "-offsets";
    options.status_topic = prefix + "-status";
    options.worker_id = "127.0.0.1:1";
    options.timeout = std::chrono::seconds(20);
    auto store = KafkaStateStore::Open(std::move(options));
    if (!store.ok()) return store.status();
    return std::unique_ptr<core::StateStore>(std::move(*store));
  }
};

}  // namespace
}  // namespace sluice::api::cluster

namespace sluice::core {
INSTANTIATE_TYPED_TEST_SUITE_P(Kafka, StateStoreConformance,
                               sluice::api::cluster::KafkaImplementation);
}  // namespace sluice::core
