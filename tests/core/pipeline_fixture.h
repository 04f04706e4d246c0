// The fixture of the pipeline's unit tests (pipeline_test.cc, pipeline_clock_test.cc): a
// pipeline over a sluice::testing::FakeSource and a sluice::testing::RecordingSink, options that keep the tests fast, and a guard
// against hangs.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "core/clock.h"
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
// A source whose events the test hands out one at a time (Emit): each Poll returns the next
// one, or waits 5 ms for it (kIdle with nothing read: nothing is pushed). One event per batch,
// id = its sequence number, with a checkpoint (the id) or without (`checkpoint` false: an
// incremental snapshot's chunk handed over between two stream transactions, or part of an open
// transaction), and the PollStatus its Poll returns (kIdle: read when the source had caught up).
class StepSource : public Source {
 public:
  StepSource() : schema_(sluice::testing::TestSchema()) {}
  void Emit(Op op, bool checkpoint = true, PollStatus status = PollStatus::kHaveMore) {
    std::lock_guard lock(mu_);
    steps_.push_back({op, checkpoint, status});
    cv_.notify_all();
  }
  Status Start(const std::optional<SourcePosition>&) override { return Status::Ok(); }
  Result<PollStatus> Poll(EventBatch& batch, const PollLimits&) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(5), [&] { return !steps_.empty() || stop_; });
    if (steps_.empty()) return PollStatus::kIdle;
    const Step step = steps_.front();
    steps_.pop_front();
    const int id = next_++;
    uint32_t txn = batch.AddTxn(TxnInfo{});
    uint32_t row = batch.BeginRow();
    batch.AppendValue(std::to_string(id));
    batch.AppendValue(step.op == Op::kRead ? "chunk" : "change");
    batch.EndRow();
    batch.AddEvent({step.op, kNoRow, row, txn, schema_});
    if (step.checkpoint) batch.set_checkpoint(SourcePosition{std::to_string(id)});
    return step.status;
  }
  void Acknowledge(const SourcePosition&) override {}
  void RequestStop() override {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  void Close() override {}
  Status Check() override { return Status::Ok(); }

 private:
  struct Step {
    Op op;
    bool checkpoint;
    PollStatus status;
  };
  TableSchemaPtr schema_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Step> steps_;
  int next_ = 0;
  bool stop_ = false;
};

// A started pipeline of a StepSource into a RecordingSink on `clock`, which never moves by
// itself: sink.batch.idle.ms (20 ms) and sink.batch.ms (30 s) never pass and sink.batch.size is
// never reached, so every flush comes from the rule under test.
struct StepRun {
  StepSource* source;
  sluice::testing::RecordingSink* sink;
  std::unique_ptr<Pipeline> pipeline;
};
inline StepRun StartStepPipeline(ManualClock& clock, sluice::testing::DurableLog& log,
                                 sluice::testing::MemoryPositionStore& positions,
                                 MetricsRegistry& metrics) {
  PipelineOptions o = FastOptions();
  o.batch_events = 100000;
  o.batch_wait = std::chrono::seconds(30);
  o.batch_idle = std::chrono::milliseconds(20);
  o.clock = &clock;
  auto owned_source = std::make_unique<StepSource>();
  auto owned_sink = std::make_unique<sluice::testing::RecordingSink>(&log);
  StepRun run{owned_source.get(), owned_sink.get(), nullptr};
  run.pipeline = std::make_unique<Pipeline>("test", std::move(owned_source), std::move(owned_sink),
                                            &positions, o, &metrics, nullptr);
  run.pipeline->Start();
  return run;
}

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
