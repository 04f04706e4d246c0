// The StateStore contract (core/state_store.h) as a typed test suite that every implementation
// instantiates: tests/core/state_store_conformance_test.cc (SQLite) and
// tests/api/cluster/kafka_state_store_test.cc (the Kafka topics of cluster mode). An
// implementation is a type with
//   static Result<std::unique_ptr<StateStore>> Open(const std::filesystem::path& dir);
// opened again after the previous store is destroyed, it must see everything the previous one
// wrote. What one implementation promises beyond the contract (SQLite file modes, crash safety
// of the file) is tested next to it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/state_store.h"

namespace sluice::core {

// Typed suites are named "StateStoreConformance/0": no slash in a file name.
inline std::string SafeName(std::string name) {
  for (char& c : name) c = c == '/' ? '_' : c;
  return name;
}

template <typename Implementation>
class StateStoreConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-conformance-" + std::to_string(::getpid()) + "-" +
            SafeName(info->test_suite_name()) + "-" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Closes the store and opens it again over the same storage.
  void Reopen() {
    store_.reset();
    auto store = Implementation::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  StateStore& store() { return *store_; }

  std::filesystem::path dir_;
  std::unique_ptr<StateStore> store_;
};

TYPED_TEST_SUITE_P(StateStoreConformance);

inline std::vector<std::string> Names(const std::vector<StoredConnector>& connectors) {
  std::vector<std::string> out;
  for (const auto& c : connectors) out.push_back(c.name);
  return out;
}

TYPED_TEST_P(StateStoreConformance, ConnectorsArePutReplacedListedByNameAndDeleted) {
  StateStore& s = this->store();
  EXPECT_FALSE(s.GetConnector("a")->has_value());
  EXPECT_TRUE(s.ListConnectors()->empty());
  ASSERT_TRUE(s.PutConnector({"b", "{}", "PAUSED", 0}).ok());
  ASSERT_TRUE(s.PutConnector({"a", "{\"x\":\"1\"}", "RUNNING", 1234}).ok());
  EXPECT_EQ(Names(*s.ListConnectors()), (std::vector<std::string>{"a", "b"}));

  auto a = s.GetConnector("a");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->config_json, "{\"x\":\"1\"}");
  EXPECT_EQ((*a)->target_state, "RUNNING");
  EXPECT_EQ((*a)->created_unix_ms, 1234);
  auto b = s.GetConnector("b");
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_GT((*b)->created_unix_ms, 0) << "0 means now";

  // Replacing keeps the creation time.
  ASSERT_TRUE(s.PutConnector({"a", "{\"x\":\"2\"}", "STOPPED", 0}).ok());
  a = s.GetConnector("a");
  EXPECT_EQ((*a)->config_json, "{\"x\":\"2\"}");
  EXPECT_EQ((*a)->target_state, "STOPPED");
  EXPECT_EQ((*a)->created_unix_ms, 1234);

  ASSERT_TRUE(s.SetTargetState("a", "PAUSED").ok());
  EXPECT_EQ((*s.GetConnector("a"))->target_state, "PAUSED");
  EXPECT_TRUE(s.SetTargetState("nobody", "PAUSED").ok());
  EXPECT_FALSE(s.GetConnector("nobody")->has_value());

  ASSERT_TRUE(s.DeleteConnector("a").ok());
  EXPECT_EQ(Names(*s.ListConnectors()), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(s.DeleteConnector("nobody").ok());
}

TYPED_TEST_P(StateStoreConformance, PositionsAreKeptPerConnectorAndCleared) {
  StateStore& s = this->store();
  auto none = s.LoadPosition("a");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(s.SavePosition("a", {"{\"lsn\":\"0/1\"}"}).ok());
  ASSERT_TRUE(s.SavePosition("a", {"{\"lsn\":\"0/2\"}"}).ok());
  ASSERT_TRUE(s.SavePosition("b", {"{\"lsn\":\"0/9\"}"}).ok());
  EXPECT_EQ((*s.LoadPosition("a"))->value, "{\"lsn\":\"0/2\"}");
  EXPECT_EQ((*s.LoadPosition("b"))->value, "{\"lsn\":\"0/9\"}");
  ASSERT_TRUE(s.ClearPosition("a").ok());
  EXPECT_FALSE(s.LoadPosition("a")->has_value());
  EXPECT_TRUE(s.LoadPosition("b")->has_value());
  EXPECT_TRUE(s.ClearPosition("nobody").ok());
  // A copy (SavePositionCopy) reads back like any saved position, and a later save replaces it.
  ASSERT_TRUE(s.SavePositionCopy("a", {"{\"lsn\":\"0/3\"}"}).ok());
  EXPECT_EQ((*s.LoadPosition("a"))->value, "{\"lsn\":\"0/3\"}");
  ASSERT_TRUE(s.SavePosition("a", {"{\"lsn\":\"0/4\"}"}).ok());
  EXPECT_EQ((*s.LoadPosition("a"))->value, "{\"lsn\":\"0/4\"}");
}

TYPED_TEST_P(StateStoreConformance, DeletingAConnectorRemovesItsPositionAndHistoryOnly) {
  StateStore& s = this->store();
  for (const char* name : {"a", "b"}) {
    ASSERT_TRUE(s.PutConnector({name, "{}", "RUNNING", 0}).ok());
    ASSERT_TRUE(s.SavePosition(name, {"p"}).ok());
    ASSERT_TRUE(s.AppendStatus(name, {0, "FAILED", "boom"}).ok());
  }
  ASSERT_TRUE(s.DeleteConnector("a").ok());
  EXPECT_FALSE(s.GetConnector("a")->has_value());
  EXPECT_FALSE(s.LoadPosition("a")->has_value());
  EXPECT_TRUE(s.StatusHistory("a", 10)->empty());
  EXPECT_TRUE(s.GetConnector("b")->has_value());
  EXPECT_TRUE(s.LoadPosition("b")->has_value());
  EXPECT_EQ(s.StatusHistory("b", 10)->size(), 1u);
}

TYPED_TEST_P(StateStoreConformance, StatusHistoryIsNewestFirstLimitedAndBounded) {
  StateStore& s = this->store();
  ASSERT_TRUE(s.AppendStatus("a", {42, "RUNNING", ""}).ok());
  ASSERT_TRUE(s.AppendStatus("a", {0, "FAILED", "boom"}).ok());
  auto hist = s.StatusHistory("a", 10);
  ASSERT_TRUE(hist.ok());
  ASSERT_EQ(hist->size(), 2u);
  EXPECT_EQ((*hist)[0].state, "FAILED");
  EXPECT_EQ((*hist)[0].trace, "boom");
  EXPECT_GT((*hist)[0].ts_unix_ms, 0) << "0 means now";
  EXPECT_EQ((*hist)[1].ts_unix_ms, 42);
  EXPECT_EQ(s.StatusHistory("a", 1)->size(), 1u);
  EXPECT_TRUE(s.StatusHistory("b", 10)->empty());

  const size_t total = kStatusHistoryMax + 30;
  for (size_t i = 0; i < total; ++i) {
    ASSERT_TRUE(s.AppendStatus("c", {0, "RUNNING", std::to_string(i)}).ok());
  }
  hist = s.StatusHistory("c", 1000);
  ASSERT_EQ(hist->size(), kStatusHistoryMax);
  EXPECT_EQ(hist->front().trace, std::to_string(total - 1));
  EXPECT_EQ(hist->back().trace, std::to_string(total - kStatusHistoryMax));
  EXPECT_EQ(s.StatusHistory("a", 10)->size(), 2u) << "bounded per connector";
}

TYPED_TEST_P(StateStoreConformance, SyncsArePutReplacedAndListedByStartTime) {
  StateStore& s = this->store();
  EXPECT_FALSE(s.GetSync("s1")->has_value());
  ASSERT_TRUE(s.PutSync({"s2", "{}", "RUNNING", "{}", "", 20, 0}).ok());
  ASSERT_TRUE(s.PutSync({"s1", "{\"c\":1}", "RUNNING", "{}", "", 10, 0}).ok());
  ASSERT_TRUE(s.PutSync({"s0", "{}", "RUNNING", "{}", "", 20, 0}).ok());
  ASSERT_TRUE(s.PutSync({"s1", "{\"c\":1}", "SUCCEEDED", "{\"rows\":5}", "{\"ok\":true}", 10, 15})
                  .ok());
  auto s1 = s.GetSync("s1");
  ASSERT_TRUE(s1.ok() && s1->has_value());
  EXPECT_EQ((*s1)->config_json, "{\"c\":1}");
  EXPECT_EQ((*s1)->state, "SUCCEEDED");
  EXPECT_EQ((*s1)->progress_json, "{\"rows\":5}");
  EXPECT_EQ((*s1)->result_json, "{\"ok\":true}");
  EXPECT_EQ((*s1)->started_unix_ms, 10);
  EXPECT_EQ((*s1)->finished_unix_ms, 15);
  auto list = s.ListSyncs();
  ASSERT_TRUE(list.ok());
  std::vector<std::string> ids;
  for (const auto& sync : *list) ids.push_back(sync.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"s1", "s0", "s2"}));
}

TYPED_TEST_P(StateStoreConformance, EverythingSurvivesReopening) {
  {
    StateStore& s = this->store();
    ASSERT_TRUE(s.PutConnector({"a", "{\"database.password\":\"pw\"}", "PAUSED", 7}).ok());
    ASSERT_TRUE(s.SavePosition("a", {"{\"lsn\":\"0/2\"}"}).ok());
    ASSERT_TRUE(s.AppendStatus("a", {5, "FAILED", "boom"}).ok());
    ASSERT_TRUE(s.PutSync({"s1", "{}", "RUNNING", "{}", "", 1, 0}).ok());
  }
  this->Reopen();
  StateStore& s = this->store();
  auto a = s.GetConnector("a");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->config_json, "{\"database.password\":\"pw\"}") << "stored unredacted";
  EXPECT_EQ((*a)->target_state, "PAUSED");
  EXPECT_EQ((*a)->created_unix_ms, 7);
  EXPECT_EQ((*s.LoadPosition("a"))->value, "{\"lsn\":\"0/2\"}");
  auto hist = s.StatusHistory("a", 10);
  ASSERT_EQ(hist->size(), 1u);
  EXPECT_EQ((*hist)[0].trace, "boom");
  EXPECT_EQ((*s.GetSync("s1"))->state, "RUNNING");
}

TYPED_TEST_P(StateStoreConformance, ConcurrentWritersAllLand) {
  StateStore& s = this->store();
  constexpr int kThreads = 4;
  constexpr int kWrites = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&s, t] {
      const std::string name = "c" + std::to_string(t);
      for (int i = 0; i < kWrites; ++i) {
        EXPECT_TRUE(s.SavePosition(name, {std::to_string(i)}).ok());
        EXPECT_TRUE(s.AppendStatus(name, {0, "RUNNING", std::to_string(i)}).ok());
      }
      EXPECT_TRUE(s.PutConnector({name, "{}", "RUNNING", 0}).ok());
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(s.ListConnectors()->size(), static_cast<size_t>(kThreads));
  for (int t = 0; t < kThreads; ++t) {
    const std::string name = "c" + std::to_string(t);
    EXPECT_EQ((*s.LoadPosition(name))->value, std::to_string(kWrites - 1));
    EXPECT_EQ(s.StatusHistory(name, 1000)->size(), static_cast<size_t>(kWrites));
  }
}

REGISTER_TYPED_TEST_SUITE_P(StateStoreConformance,
                            ConnectorsArePutReplacedListedByNameAndDeleted,
                            PositionsAreKeptPerConnectorAndCleared,
                            DeletingAConnectorRemovesItsPositionAndHistoryOnly,
                            StatusHistoryIsNewestFirstLimitedAndBounded,
                            SyncsArePutReplacedAndListedByStartTime,
                            EverythingSurvivesReopening,
                            ConcurrentWritersAllLand);

}  // namespace sluice::core
