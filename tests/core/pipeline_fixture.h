// The fixture of the pipeline's unit tests (pipeline_test.cc, pipeline_clock_test.cc): a
// pipeline over a sluice::testing::FakeSource and a sluice::testing::RecordingSink, options that keep the tests fast, and a guard
// against hangs.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "core/pipeline.h"
#include "tests/core/fakes.h"

namespace sluice::core {

// Against a hang only: a passing test never waits this long.
inline constexpr std::chrono::milliseconds kHangGuard{60000};

// Polls `done` until it holds or kHangGuard has passed; the last value.
template <typename Done>
bool Eventually(Done done) {
  const auto give_up = std::chrono::steady_clock::now() + kHangGuard;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

inline PipelineOptions FastOptions() {
  PipelineOptions o;
  o.batch_events = 100;
  o.batch_wait = std::chrono::milliseconds(5);
  o.poll.max_events = 50;
  o.retry_initial = std::chrono::milliseconds(1);
  o.retry_max_backoff = std::chrono::milliseconds(5);
  o.retry_max_total = std::chrono::seconds(5);
  return o;
}

// A script-like fixture: build a pipeline over a fake source and a recording sink, run it,
// "crash" it, restart it, and check what the sink made durable.
class PipelineTest : public ::testing::Test {
 protected:
  std::unique_ptr<Pipeline> MakePipeline(int events, int txn_size, PipelineOptions options,
                                         sluice::testing::FakeSource** source_out = nullptr,
                                         sluice::testing::RecordingSink** sink_out = nullptr,
                                         bool exactly_once = false) {
    auto source = std::make_unique<sluice::testing::FakeSource>(events, txn_size);
    auto sink = std::make_unique<sluice::testing::RecordingSink>(&log_, exactly_once);
    if (source_out) *source_out = source.get();
    if (sink_out) *sink_out = sink.get();
    return std::make_unique<Pipeline>("test", std::move(source), std::move(sink), &positions_,
                                      std::move(options), &metrics_, nullptr);
  }

  // Every id in [0, n) was made durable at least once, and ids appear in source order apart
  // from replays (a replay restarts at an earlier id).
  void ExpectNoGap(int n) {
    std::lock_guard lock(log_.mu);
    std::set<int> seen(log_.ids.begin(), log_.ids.end());
    ASSERT_EQ(static_cast<int>(seen.size()), n) << "events lost";
    EXPECT_EQ(*seen.begin(), 0);
    EXPECT_EQ(*seen.rbegin(), n - 1);
    for (size_t i = 1; i < log_.ids.size(); ++i) {
      if (log_.ids[i] != log_.ids[i - 1] + 1) {
        // Only a replay may break the sequence: it goes back, never forward.
        EXPECT_LT(log_.ids[i], log_.ids[i - 1]) << "gap after id " << log_.ids[i - 1];
      }
    }
  }

  sluice::testing::DurableLog log_;
  sluice::testing::MemoryPositionStore positions_;
  MetricsRegistry metrics_;
};

}  // namespace sluice::core
