// The pipeline's caught-up rule (core/pipeline.h): a batch read by a Poll that returned kIdle,
// ending at a checkpoint with nothing queued behind it, is flushed at once, no sooner than
// sink.batch.idle.ms after the previous flush; a backlog (kHaveMore), an open transaction and
// snapshot rows are not. On a ManualClock that only the test moves: sink.batch.ms (30 s) and
// sink.batch.size never come into play, and sink.batch.idle.ms of quiet only where the test
// advances the clock that far after an arrival.
#include <gtest/gtest.h>

#include <string>

#include "core/clock.h"
#include "core/pipeline.h"
#include "tests/core/pipeline_fixture.h"

namespace sluice::core {
namespace {

using sluice::testing::RecordingSink;
using namespace std::chrono_literals;

class PipelineCaughtUpTest : public PipelineTest {
 protected:
  void SetUp() override {
    StepRun run = StartStepPipeline(clock_, log_, positions_, metrics_);
    source_ = run.source;
    sink_ = run.sink;
    pipeline_ = std::move(run.pipeline);
  }
  void TearDown() override {
    pipeline_->RequestStop();
    EXPECT_TRUE(pipeline_->Wait().ok()) << pipeline_->last_error().ToString();
  }
  // Emits a batch and waits until the sink wrote it and the sink thread went round its loop
  // (reading the clock) after it.
  void EmitAndSettle(PollStatus status, bool checkpoint = true, Op op = Op::kCreate) {
    const int before = sink_->written();
    source_->Emit(op, checkpoint, status);
    ASSERT_TRUE(Eventually([&] { return sink_->written() == before + 1; }));
    ASSERT_TRUE(clock_.WaitForReads(20, kHangGuard));
  }
  std::string Committed() {
    auto p = positions_.position();
    return p ? p->value : "none";
  }

  ManualClock clock_;
  StepSource* source_ = nullptr;
  RecordingSink* sink_ = nullptr;
  std::unique_ptr<Pipeline> pipeline_;
};

// A trickle: a transaction every 10 ms never leaves a sink.batch.idle.ms gap. Each caught-up
// batch is flushed without waiting for sink.batch.ms; the second within 20 ms of the first waits
// for the floor (20 ms after the previous flush), not for 20 ms of quiet (which would be 30 ms).
TEST_F(PipelineCaughtUpTest, ATrickleIsFlushedAtEachCaughtUpPointWithinTheFloor) {
  source_->Emit(Op::kCreate, true, PollStatus::kIdle);
  ASSERT_TRUE(Eventually([&] { return Committed() == "0"; }))
      << "a caught-up transaction waited for sink.batch.idle.ms or sink.batch.ms";
  EXPECT_EQ(sink_->flushes(), 1);
  EmitAndSettle(PollStatus::kIdle);
  EXPECT_EQ(sink_->flushes(), 1) << "flushed sooner than sink.batch.idle.ms after the last flush";
  clock_.Advance(10ms);
  EmitAndSettle(PollStatus::kIdle);
  clock_.Advance(9ms);
  ASSERT_TRUE(clock_.WaitForReads(20, kHangGuard));
  EXPECT_EQ(sink_->flushes(), 1) << "flushed 1 ms before the floor";
  clock_.Advance(1ms);
  ASSERT_TRUE(Eventually([&] { return Committed() == "2"; }))
      << "no flush once the floor had passed (the trickle would wait for sink.batch.ms)";
  EXPECT_EQ(sink_->flushes(), 2);
}

// A backlog: batches whose Poll returned kHaveMore wait for sink.batch.size (or time), however
// many checkpoints they carry; the caught-up batch that ends it is flushed.
TEST_F(PipelineCaughtUpTest, ABacklogIsNotFlushedBeforeItsSizeOrTime) {
  for (int i = 0; i < 3; ++i) EmitAndSettle(PollStatus::kHaveMore);
  EXPECT_EQ(sink_->flushes(), 0) << "a backlog's batches were flushed one by one";
  source_->Emit(Op::kCreate, true, PollStatus::kIdle);
  ASSERT_TRUE(Eventually([&] { return Committed() == "3"; }));
  EXPECT_EQ(sink_->flushes(), 1);
}

// A caught-up batch that ends inside a source transaction (no checkpoint: its commit has not
// come) is not flushed; its commit, caught up too, is.
TEST_F(PipelineCaughtUpTest, APartialTransactionIsNotFlushed) {
  EmitAndSettle(PollStatus::kIdle, /*checkpoint=*/false);
  EXPECT_EQ(sink_->flushes(), 0) << "part of a transaction was flushed";
  source_->Emit(Op::kCreate, true, PollStatus::kIdle);
  ASSERT_TRUE(Eventually([&] { return Committed() == "1"; }))
      << "the transaction's caught-up commit was not flushed";
  EXPECT_EQ(sink_->flushes(), 1);
}

// Snapshot rows keep their own batching: an incremental snapshot's chunk read while the stream
// is quiet is not committed on its own because the source reported kIdle.
TEST_F(PipelineCaughtUpTest, SnapshotRowsAreNotFlushedBecauseTheSourceCaughtUp) {
  EmitAndSettle(PollStatus::kIdle, /*checkpoint=*/true, Op::kRead);
  EmitAndSettle(PollStatus::kIdle, /*checkpoint=*/false, Op::kRead);
  EXPECT_EQ(sink_->flushes(), 0) << "snapshot rows were flushed per caught-up batch";
}

}  // namespace
}  // namespace sluice::core
