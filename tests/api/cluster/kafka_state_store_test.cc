// The StateStore contract (tests/core/state_store_conformance.h) run against KafkaStateStore on
// librdkafka's mock cluster, started once inside this process. Each test uses topics of its own
// (named after its directory); "reopening" opens a new store, which reads the topics again.
// Then the restart requests of cluster mode (key "restart-connector-<name>" in the configs topic),
// the status records' order by assignment generation, and the fence of a worker that lost its
// membership.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "api/cluster/kafka_state_store.h"
#include "tests/core/state_store_conformance.h"

namespace sluice::api::cluster {
namespace {

// The mock cluster (one broker, id 1) lives until the process ends.
rd_kafka_mock_cluster_t* Mock() {
  static rd_kafka_mock_cluster_t* const mock = [] {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    return rd_kafka_mock_cluster_new(rk, 1);
  }();
  return mock;
}

const std::string& Bootstrap() {
  static const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(Mock());
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

std::unique_ptr<KafkaStateStore> OpenStore(
    const std::string& prefix, const std::string& worker,
    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  KafkaStateStoreOptions options;
  options.client = {{"bootstrap.servers", Bootstrap()}, {"log_level", "3"}};
  options.configs_topic = prefix + "-configs";
  options.offsets_topic = prefix + "-offsets";
  options.status_topic = prefix + "-status";
  options.worker_id = worker;
  options.timeout = timeout;
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

// The newest status record of `connector` in `store`'s view: "STATE@worker".
std::string Last(KafkaStateStore& store, const std::string& connector) {
  EXPECT_TRUE(store.CatchUp(std::chrono::seconds(10)).ok());
  auto last = store.LastStatus(connector);
  return last ? last->record.state + "@" + last->worker_id : "none";
}

// Status records are ordered by assignment generation: what a worker that lost the connector
// writes late (its old generation, or -1 once it knows it lost its membership) never replaces
// the new owner's, in any view, including one read from the log's beginning; the same
// worker's records follow the log, and so does a record of an older generation stamped long
// after (the group began its generations again).
TEST(KafkaStatusGenerations, AnOlderGenerationFromAnotherWorkerNeverReplacesTheNewOwners) {
  auto old_owner = OpenStore("generation-a", "127.0.0.1:1");
  auto new_owner = OpenStore("generation-a", "127.0.0.1:2");
  ASSERT_TRUE(old_owner && new_owner);
  old_owner->SetGeneration(3);
  ASSERT_TRUE(old_owner->AppendStatus("c1", {0, "RUNNING", ""}).ok());
  new_owner->SetGeneration(5);
  ASSERT_TRUE(new_owner->AppendStatus("c1", {0, "RUNNING", ""}).ok());
  // The old owner's last words, arriving after the new owner's record.
  ASSERT_TRUE(old_owner->AppendStatus("c1", {0, "UNASSIGNED", ""}).ok());
  old_owner->SetGeneration(-1);
  ASSERT_TRUE(old_owner->AppendStatus("c1", {0, "FAILED", "lost"}).ok());
  auto later = OpenStore("generation-a", "127.0.0.1:3");
  ASSERT_TRUE(later);
  for (KafkaStateStore* view : {old_owner.get(), new_owner.get(), later.get()}) {
    EXPECT_EQ(Last(*view, "c1"), "RUNNING@127.0.0.1:2") << view->worker_id();
    auto history = view->StatusHistory("c1", 10);
    ASSERT_TRUE(history.ok());
    EXPECT_EQ(history->size(), 2u) << "the stale records are not in the history either";
  }
  // The owner's own records follow the log, whatever their generation.
  ASSERT_TRUE(new_owner->AppendStatus("c1", {0, "PAUSED", ""}).ok());
  EXPECT_EQ(Last(*later, "c1"), "PAUSED@127.0.0.1:2");
  new_owner->SetGeneration(-1);
  ASSERT_TRUE(new_owner->AppendStatus("c1", {0, "UNASSIGNED", ""}).ok());
  EXPECT_EQ(Last(*later, "c1"), "UNASSIGNED@127.0.0.1:2");
  // Another worker of the same generation follows the log too (a pause sent to a worker that
  // does not own the connector).
  new_owner->SetGeneration(7);
  ASSERT_TRUE(new_owner->AppendStatus("c2", {0, "RUNNING", ""}).ok());
  later->SetGeneration(7);
  ASSERT_TRUE(later->AppendStatus("c2", {0, "PAUSED", ""}).ok());
  EXPECT_EQ(Last(*new_owner, "c2"), "PAUSED@127.0.0.1:3");
  // A group deleted and started again: generation 1, stamped more than kGenerationResetMs
  // after the newest record.
  old_owner->SetGeneration(1);
  const int64_t much_later = later->LastStatus("c2")->record.ts_unix_ms +
                             KafkaStateStore::kGenerationResetMs + 1000;
  ASSERT_TRUE(old_owner->AppendStatus("c2", {much_later, "RUNNING", ""}).ok());
  EXPECT_EQ(Last(*later, "c2"), "RUNNING@127.0.0.1:1");
}

// A fenced store (its worker lost its membership) refuses every write at once, naming why,
// and writes again once the fence is lifted.
TEST(KafkaStatusGenerations, AFencedStoreRefusesWritesAtOnce) {
  auto store = OpenStore("generation-b", "127.0.0.1:1");
  ASSERT_TRUE(store);
  store->Fence("worker 127.0.0.1:1 lost its membership");
  const auto began = std::chrono::steady_clock::now();
  core::Status refused = store->SavePosition("c1", {"0/16B3748"});
  EXPECT_EQ(refused.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(refused.message().find("lost its membership"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("c1"), std::string::npos) << refused.message();
  EXPECT_FALSE(store->AppendStatus("c1", {0, "UNASSIGNED", ""}).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(1));
  auto position = store->LoadPosition("c1");
  ASSERT_TRUE(position.ok());
  EXPECT_FALSE(position->has_value());
  store->Fence("");
  ASSERT_TRUE(store->SavePosition("c1", {"0/16B3748"}).ok());
  auto reopened = OpenStore("generation-b", "127.0.0.1:2");
  ASSERT_TRUE(reopened);
  auto saved = reopened->LoadPosition("c1");
  ASSERT_TRUE(saved.ok() && saved->has_value());
  EXPECT_EQ((*saved)->value, "0/16B3748");
}

// Position copies (the sink keeps the position with its data) go out without waiting: the view
// has each at once, they reach a store opened later in order (the last one wins), one sent while
// the broker is down returns at once and arrives once it is back (a save waits and fails), and a
// fenced store refuses them at once. The time of 200 copies against 200 saves is printed.
TEST(KafkaPositionCopies, GoOutWithoutWaitingInOrderAndAreFenced) {
  auto store = OpenStore("copies-a", "127.0.0.1:1");
  ASSERT_TRUE(store);
  constexpr int kSaves = 200;
  auto timed = [&](auto save) {
    const auto began = std::chrono::steady_clock::now();
    for (int i = 0; i < kSaves; ++i) {
      core::Status s = save(i);
      if (!s.ok()) {
        ADD_FAILURE() << s.ToString();
        break;
      }
    }
    return std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - began);
  };
  const auto waited = timed([&](int i) {
    return store->SavePosition("waited", {"w" + std::to_string(i)});
  });
  const auto copied = timed([&](int i) {
    core::Status s = store->SavePositionCopy("c1", {"p" + std::to_string(i)});
    auto back = store->LoadPosition("c1");  // read back at once
    EXPECT_TRUE(back.ok() && back->has_value() && (*back)->value == "p" + std::to_string(i));
    return s;
  });
  std::cout << kSaves << " positions on the test broker: SavePosition " << waited.count() / kSaves
            << " us each, SavePositionCopy " << copied.count() / kSaves << " us each\n";

  auto reopened = OpenStore("copies-a", "127.0.0.1:2");
  ASSERT_TRUE(reopened);
  // c1's position as `reopened` reads it, once it is `want` or when `timeout` has passed.
  auto read_until = [&](const std::string& want, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string seen;
    while (std::chrono::steady_clock::now() < deadline) {
      core::Status caught = reopened->CatchUp(std::chrono::seconds(10));
      auto position = reopened->LoadPosition("c1");
      if (!caught.ok() || !position.ok()) {  // a failure here ends the wait, as an ASSERT would
        ADD_FAILURE() << "reading c1 back: " << caught.ToString() << " / "
                      << position.status().ToString();
        return std::string();
      }
      seen = position->has_value() ? (*position)->value : "";
      if (seen == want) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return seen;
  };
  const std::string last = "p" + std::to_string(kSaves - 1);
  EXPECT_EQ(read_until(last, std::chrono::seconds(20)), last)
      << "the last copy did not reach a store opened later";

  // With the broker down, a save waits out its timeout and fails; a copy returns at once and
  // goes out once the broker is back.
  auto slow = OpenStore("copies-a", "127.0.0.1:3", std::chrono::seconds(2));
  ASSERT_TRUE(slow);
  ASSERT_EQ(rd_kafka_mock_broker_set_down(Mock(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(slow->SavePosition("waited", {"down"}).code(), core::StatusCode::kUnavailable);
  ASSERT_TRUE(slow->SavePositionCopy("c1", {"sent while down"}).ok());
  ASSERT_EQ(rd_kafka_mock_broker_set_up(Mock(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(read_until("sent while down", std::chrono::seconds(30)), "sent while down")
      << "a copy sent while the broker was down never arrived";

  store->Fence("worker 127.0.0.1:1 lost its membership");
  core::Status refused = store->SavePositionCopy("c1", {"after the fence"});
  EXPECT_EQ(refused.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(refused.message().find("lost its membership"), std::string::npos) << refused.message();
  auto kept = store->LoadPosition("c1");
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_NE((*kept)->value, "after the fence");
}

}  // namespace
}  // namespace sluice::api::cluster

namespace sluice::core {
INSTANTIATE_TYPED_TEST_SUITE_P(Kafka, StateStoreConformance,
                               sluice::api::cluster::KafkaImplementation);
}  // namespace sluice::core
