// The StateStore contract (tests/core/state_store_conformance.h) run against KafkaStateStore on
// librdkafka's mock cluster, started once inside this process. Each test uses topics of its own
// (named after its directory); "reopening" opens a new store, which reads the topics again.
// Then the restart requests of cluster mode (key "restart-connector-<name>" in the configs topic).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

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

std::unique_ptr<KafkaStateStore> OpenStore(const std::string& prefix, const std::string& worker) {
  KafkaStateStoreOptions options;
  options.client = {{"bootstrap.servers", Bootstrap()}, {"log_level", "3"}};
  options.configs_topic = prefix + "-configs";
  options.offsets_topic = prefix + "-offsets";
  options.status_topic = prefix + "-status";
  options.worker_id = worker;
  options.timeout = std::chrono::seconds(20);
  auto store = KafkaStateStore::Open(std::move(options));
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

// A request written by one worker reaches another worker's view and listener; a store opened
// later (a worker starting) sees it pending without its listener firing; the tombstone clears
// it everywhere.
TEST(KafkaRestartRequests, ReachOtherWorkersAndClearWithTheirTombstone) {
  auto writer = OpenStore("restart-a", "127.0.0.1:1");
  auto owner = OpenStore("restart-a", "127.0.0.1:2");
  ASSERT_TRUE(writer && owner);
  std::atomic<int> heard{0};
  owner->SetRestartListener([&](const std::string& name) {
    if (name == "c1") ++heard;
  });
  ASSERT_TRUE(writer->RequestRestart("c1").ok());
  ASSERT_TRUE(owner->CatchUp(std::chrono::seconds(10)).ok());
  EXPECT_EQ(heard.load(), 1);
  auto pending = owner->PendingRestart("c1");
  ASSERT_TRUE(pending.has_value());
  EXPECT_GT(*pending, 0);
  EXPECT_EQ(owner->PendingRestarts(), std::vector<std::string>{"c1"});

  auto late = OpenStore("restart-a", "127.0.0.1:3");
  ASSERT_TRUE(late);
  std::atomic<int> late_heard{0};
  late->SetRestartListener([&](const std::string&) { ++late_heard; });
  EXPECT_EQ(late->PendingRestart("c1"), pending);  // replayed into the view, no event

  ASSERT_TRUE(owner->ClearRestart("c1").ok());
  ASSERT_TRUE(writer->CatchUp(std::chrono::seconds(10)).ok());
  ASSERT_TRUE(late->CatchUp(std::chrono::seconds(10)).ok());
  EXPECT_FALSE(owner->PendingRestart("c1").has_value());
  EXPECT_FALSE(writer->PendingRestart("c1").has_value());
  EXPECT_FALSE(late->PendingRestart("c1").has_value());
  EXPECT_EQ(heard.load(), 1);  // a tombstone is no request
  EXPECT_EQ(late_heard.load(), 0);
  EXPECT_TRUE(owner->ClearRestart("c1").ok());  // nothing pending: no write, no error
}

// Deleting a connector tombstones its pending restart request, so it cannot restart a new
// connector of the same name.
TEST(KafkaRestartRequests, DeleteConnectorDropsItsPendingRequest) {
  auto store = OpenStore("restart-b", "127.0.0.1:1");
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->PutConnector({"c2", "{}", "RUNNING", 0}).ok());
  ASSERT_TRUE(store->RequestRestart("c2").ok());
  ASSERT_TRUE(store->PendingRestart("c2").has_value());
  ASSERT_TRUE(store->DeleteConnector("c2").ok());
  EXPECT_FALSE(store->PendingRestart("c2").has_value());
  auto reopened = OpenStore("restart-b", "127.0.0.1:2");
  ASSERT_TRUE(reopened);
  EXPECT_FALSE(reopened->PendingRestart("c2").has_value());
  EXPECT_TRUE(reopened->PendingRestarts().empty());
}

}  // namespace
}  // namespace sluice::api::cluster

namespace sluice::core {
INSTANTIATE_TYPED_TEST_SUITE_P(Kafka, StateStoreConformance,
                               sluice::api::cluster::KafkaImplementation);
}  // namespace sluice::core
