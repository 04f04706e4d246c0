// The pipeline's time-dependent decisions (sink.batch.ms, sink.batch.idle.ms, a prompt
// checkpoint, retry backoff and timeout, retry status, keep-alives) on a ManualClock that the
// test advances: no test measures how long something took. kHangGuard only bounds a wait that
// would otherwise hang on a regression.
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

#include "core/clock.h"
#include "core/pipeline.h"
#include "tests/core/pipeline_fixture.h"

namespace sluice::core {
namespace {

using sluice::testing::DurableLog;
using sluice::testing::FakeSource;
using sluice::testing::MemoryPositionStore;
using sluice::testing::RecordingSink;
using namespace std::chrono_literals;

// A source that, like a snapshot about to start, emits a checkpoint without events and then
// waits for its acknowledgement before going on.
class WaitsForItsStartPosition : public Source {
 public:
  Status Start(const std::optional<SourcePosition>&) override { return Status::Ok(); }
  Result<PollStatus> Poll(EventBatch& batch, const PollLimits&) override {
    if (!sent_) {
      sent_ = true;
      batch.set_checkpoint(SourcePosition{"start"});
      return PollStatus::kHaveMore;
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return acked_; });
    return acked_ ? PollStatus::kFinished : PollStatus::kIdle;
  }
  void Acknowledge(const SourcePosition&) override {
    std::lock_guard lock(mu_);
    acked_ = true;
    cv_.notify_all();
  }
  void RequestStop() override {}
  void Close() override {}
  Status Check() override { return Status::Ok(); }

 private:
  bool sent_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  bool acked_ = false;
};

// On a clock that never moves, a checkpoint-only batch is still flushed: the pipeline did not
// wait for sink.batch.ms (30 s) or sink.batch.idle.ms before acknowledging it.
TEST_F(PipelineTest, ACheckpointWithoutEventsIsFlushedWithoutWaitingForTheBatchTime) {
  ManualClock clock;
  PipelineOptions options = FastOptions();
  options.batch_wait = 30s;
  options.clock = &clock;
  Pipeline p("test", std::make_unique<WaitsForItsStartPosition>(), std::make_unique<RecordingSink>(&log_),
             &positions_, options, &metrics_, nullptr);
  p.Start();
  ASSERT_TRUE(p.WaitFor(kHangGuard))
      << "the source waited for sink.batch.ms before its start position was acknowledged";
  ASSERT_TRUE(p.Wait().ok()) << p.last_error().ToString();
  ASSERT_TRUE(positions_.position().has_value());
  EXPECT_EQ(positions_.position()->value, "start");
}

// The sink counts a batch as written before the pipeline reads the clock for its arrival (the
// start of sink.batch.ms and sink.batch.idle.ms): a test that advanced the clock in between
// would move the deadline with it. Once the pipeline went round its loop reading the clock,
// the arrival is recorded.
bool ArrivalSeen(ManualClock& clock) { return clock.WaitForReads(20, kHangGuard); }

// A snapshot's position, committed before its rows (FakeSource resumes after id -1: from 0).
constexpr const char* kSnapshotPosition = "-1";

class PipelineClockTest : public PipelineTest {
 protected:
  // Ten events of a source that then goes quiet are written at once; their flush must come
  // exactly `due` after they arrived on the clock (`batch_wait` / `batch_idle` of `o`), not
  // 1 ms earlier.
  // `op`: the events' op (kRead: snapshot rows).
  void ExpectFlushExactlyAfter(PipelineOptions o, std::chrono::milliseconds due,
                               const char* what, Op op = Op::kCreate) {
    ManualClock clock;
    FakeSource* source;
    RecordingSink* sink;
    o.batch_events = 100000;
    o.clock = &clock;
    auto p = MakePipeline(10, 5, o, &source, &sink);
    source->set_op(op);
    source->set_block_when_done(true);  // caught up: nothing more, no end either
    p->Start();
    ASSERT_TRUE(Eventually([&] { return sink->written() == 10; }));
    ASSERT_TRUE(ArrivalSeen(clock));
    clock.Advance(due - 1ms);
    ASSERT_TRUE(clock.WaitForReads(20, kHangGuard));
    EXPECT_EQ(sink->flushes(), 0) << "flushed 1 ms before " << what;
    clock.Advance(1ms);
    ASSERT_TRUE(Eventually([&] { return positions_.position().has_value(); }))
        << "no flush once " << what << " had passed";
    EXPECT_EQ(positions_.position()->value, "9");
    EXPECT_EQ(sink->flushes(), 1);
    p->RequestStop();
    ASSERT_TRUE(p->Wait().ok());
  }

  // The same for a snapshot: ten rows (sink.batch.size 5) whose checkpoint stays the committed
  // position, as a PostgreSQL snapshot's does, wait exactly `due`.
  void ExpectSnapshotFlushExactlyAfter(PipelineOptions o, std::chrono::milliseconds due,
                                       const char* what) {
    ManualClock clock;
    FakeSource* source;
    RecordingSink* sink;
    o.batch_events = 5;
    o.clock = &clock;
    ASSERT_TRUE(positions_.SavePosition("test", SourcePosition{kSnapshotPosition}).ok());
    auto p = MakePipeline(10, 5, o, &source, &sink);
    source->set_op(Op::kRead);
    source->set_fixed_checkpoint(kSnapshotPosition);
    source->set_block_when_done(true);
    p->Start();
    ASSERT_TRUE(Eventually([&] { return sink->written() == 10; }));
    ASSERT_TRUE(ArrivalSeen(clock));
    clock.Advance(due - 1ms);
    ASSERT_TRUE(clock.WaitForReads(20, kHangGuard));
    EXPECT_EQ(sink->flushes(), 0) << "snapshot rows flushed 1 ms before " << what;
    clock.Advance(1ms);
    ASSERT_TRUE(Eventually([&] { return sink->flushes() == 1; }))
        << "no flush once " << what << " had passed";
    EXPECT_EQ(log_.ids.size(), 10u);
    p->RequestStop();
    ASSERT_TRUE(p->Wait().ok());
  }
};

// Written but unflushed events of a source that went quiet are flushed once
// sink.batch.idle.ms has passed since the last batch arrived, although sink.batch.ms is far off.
TEST_F(PipelineClockTest, PendingEventsAreFlushedOnceTheSourceGoesIdle) {
  PipelineOptions o = FastOptions();
  o.batch_wait = 30s;
  o.batch_idle = 20ms;
  ExpectFlushExactlyAfter(o, o.batch_idle, "sink.batch.idle.ms");
}

// A source that keeps trickling would never look idle: sink.batch.ms after the oldest pending
// batch arrived, the pending events are flushed.
TEST_F(PipelineClockTest, PendingEventsAreFlushedWhenSinkBatchMsHasPassed) {
  PipelineOptions o = FastOptions();
  o.batch_wait = 500ms;
  o.batch_idle = std::chrono::hours(1);
  ExpectFlushExactlyAfter(o, o.batch_wait, "sink.batch.ms");
}

// Snapshot rows at the committed position (the announcement, flushed at once, committed it)
// wait for sink.snapshot.batch.bytes: neither sink.batch.size (5 here, of 10 rows pending) nor
// sink.batch.idle.ms flushes them; a source quiet for sink.batch.ms does.
TEST_F(PipelineClockTest, SnapshotRowsWaitForSnapshotBatchBytesOrSinkBatchMsOfQuiet) {
  PipelineOptions o = FastOptions();
  o.batch_wait = 500ms;
  o.batch_idle = 20ms;
  o.snapshot_batch_bytes = 64 << 20;
  o.snapshot_batch_wait = 30s;
  ExpectSnapshotFlushExactlyAfter(o, o.batch_wait, "sink.batch.ms without a new batch");
}

// Events that end inside a source transaction (no checkpoint yet: its commit has not come) are
// not committed by sink.batch.ms or sink.batch.idle.ms alone: the flush waits transaction_hold
// longer for the transaction's end, so that the target never commits part of a transaction
// that a replay would write again (a keyless table would then hold its rows twice).
TEST_F(PipelineClockTest, ATimedFlushWaitsForTheOpenTransactionToEnd) {
  ManualClock clock;
  FakeSource* source;
  RecordingSink* sink;
  PipelineOptions o = FastOptions();
  o.batch_events = 100000;
  o.batch_wait = 500ms;
  o.batch_idle = 20ms;
  o.transaction_hold = 5s;
  o.clock = &clock;
  auto p = MakePipeline(10, 5, o, &source, &sink);
  source->set_no_checkpoint(true);
  source->set_block_when_done(true);
  p->Start();
  ASSERT_TRUE(Eventually([&] { return sink->written() == 10; }));
  ASSERT_TRUE(ArrivalSeen(clock));
  clock.Advance(o.batch_wait + o.transaction_hold - 1ms);
  ASSERT_TRUE(clock.WaitForReads(20, kHangGuard));
  EXPECT_EQ(sink->flushes(), 0) << "part of an open transaction was committed by time alone";
  clock.Advance(1ms);
  ASSERT_TRUE(Eventually([&] { return sink->flushes() == 1; }))
      << "no flush once transaction_hold had passed too";
  EXPECT_FALSE(positions_.position().has_value()) << "a flush inside a transaction saved a position";
  p->RequestStop();
  ASSERT_TRUE(p->Wait().ok());
}

// An incremental snapshot's chunks keep arriving, so the source never looks idle and
// sink.batch.idle.ms would not flush; a stream change among them is flushed as soon as it is
// written, not after sink.batch.size rows of chunks or sink.batch.ms (waiting would only add
// chunk rows to its transaction).
TEST_F(PipelineTest, AChangeAmongIncrementalSnapshotRowsIsFlushedAtOnce) {
  ManualClock clock;
  auto [source, sink, started] = StartStepPipeline(clock, log_, positions_, metrics_);
  Pipeline& p = *started;
  // Chunk rows alone (no change) are not flushed by the rule: only by idle or size or time.
  source->Emit(Op::kRead);
  ASSERT_TRUE(Eventually([&] { return sink->written() == 1; }));
  ASSERT_TRUE(ArrivalSeen(clock));
  // A chunk carries no position of its own, which must not read as the middle of a transaction
  // (that would hold the flush for transaction_hold).
  source->Emit(Op::kRead, false);
  ASSERT_TRUE(Eventually([&] { return sink->written() == 2; }));
  ASSERT_TRUE(ArrivalSeen(clock));
  EXPECT_EQ(sink->flushes(), 0) << "chunk rows alone were flushed before idle, size or time";
  source->Emit(Op::kCreate);
  ASSERT_TRUE(Eventually([&] { return sink->flushes() >= 1; }))
      << "the change waited behind the chunk rows (the clock did not move)";
  ASSERT_TRUE(Eventually([&] { return positions_.position().has_value(); }));
  EXPECT_EQ(positions_.position()->value, "2") << "the change was not committed";
  p.RequestStop();
  ASSERT_TRUE(p.Wait().ok()) << p.last_error().ToString();
}

// A change waiting out sink.batch.idle.ms when an incremental snapshot's chunk arrives is
// committed before the chunk's rows are written, not with them: it would otherwise wait for
// their write and commit too (the stream's lag during an incremental snapshot).
TEST_F(PipelineTest, AChangeWaitingWhenAChunkArrivesIsCommittedBeforeTheChunk) {
  ManualClock clock;
  auto [source, sink, started] = StartStepPipeline(clock, log_, positions_, metrics_);
  Pipeline& p = *started;
  source->Emit(Op::kCreate);  // id 0, position "0"
  ASSERT_TRUE(Eventually([&] { return sink->written() == 1; }));
  ASSERT_TRUE(ArrivalSeen(clock));
  EXPECT_EQ(sink->flushes(), 0) << "the change was flushed before sink.batch.idle.ms";
  source->Emit(Op::kRead, false);  // id 1: a chunk without a position
  ASSERT_TRUE(Eventually([&] { return sink->written() == 2; }));
  ASSERT_TRUE(Eventually([&] { return positions_.position().has_value(); }));
  EXPECT_EQ(positions_.position()->value, "0");
  {
    std::lock_guard lock(log_.mu);
    EXPECT_EQ(log_.ids, std::vector<int>{0}) << "the change was committed with the chunk's rows";
  }
  EXPECT_EQ(sink->flushes(), 1);
  p.RequestStop();
  ASSERT_TRUE(p.Wait().ok()) << p.last_error().ToString();
  std::lock_guard lock(log_.mu);
  EXPECT_EQ(log_.ids, (std::vector<int>{0, 1})) << "the chunk was not delivered at the stop";
}

// A snapshot that keeps trickling rows is flushed snapshot_batch_wait after the oldest.
TEST_F(PipelineClockTest, SnapshotRowsAreFlushedOnceTheSnapshotBatchWaitHasPassed) {
  PipelineOptions o = FastOptions();
  o.batch_wait = std::chrono::hours(1);
  o.batch_idle = 20ms;
  o.snapshot_batch_bytes = 64 << 20;
  o.snapshot_batch_wait = 2s;
  ExpectSnapshotFlushExactlyAfter(o, o.snapshot_batch_wait, "the snapshot batch wait");
}

// Changes keep the ordinary bounds when sink.snapshot.batch.bytes is set.
TEST_F(PipelineClockTest, ChangesIgnoreSnapshotBatchBytes) {
  PipelineOptions o = FastOptions();
  o.batch_wait = 30s;
  o.batch_idle = 20ms;
  o.snapshot_batch_bytes = 64 << 20;
  ExpectFlushExactlyAfter(o, o.batch_idle, "sink.batch.idle.ms");
}

// So do snapshot rows whose position moves with them: each commit is a resume point.
TEST_F(PipelineClockTest, SnapshotRowsWithAMovingPositionIgnoreSnapshotBatchBytes) {
  PipelineOptions o = FastOptions();
  o.batch_wait = 30s;
  o.batch_idle = 20ms;
  o.snapshot_batch_bytes = 64 << 20;
  ExpectFlushExactlyAfter(o, o.batch_idle, "sink.batch.idle.ms", Op::kRead);
}

// Snapshot rows at the committed position reaching sink.snapshot.batch.bytes are flushed at
// once, on a clock that never moves; each flush holds that many bytes.
TEST_F(PipelineTest, SnapshotRowsAreFlushedOnceTheyReachTheSnapshotBatchBytes) {
  ManualClock clock;
  PipelineOptions o = FastOptions();
  o.batch_events = 1;
  o.batch_wait = 30s;
  o.snapshot_batch_wait = 30s;
  o.poll.max_events = 10;
  o.clock = &clock;
  EventBatch probe;  // the bytes of one source batch of 10 rows
  {
    FakeSource sizer(10, 10);
    ASSERT_TRUE(sizer.Start(std::nullopt).ok());
    ASSERT_TRUE(sizer.Poll(probe, o.poll).ok());
  }
  o.snapshot_batch_bytes = probe.ByteSize() * 25;
  FakeSource* source;
  RecordingSink* sink;
  ASSERT_TRUE(positions_.SavePosition("test", SourcePosition{kSnapshotPosition}).ok());
  auto p = MakePipeline(1000, 10, o, &source, &sink);
  source->set_op(Op::kRead);
  source->set_fixed_checkpoint(kSnapshotPosition);
  source->set_block_when_done(true);
  p->Start();
  // 100 batches of 10 rows in 4 flushes of 25.
  ASSERT_TRUE(Eventually([&] { return sink->flushes() == 4; }))
      << "snapshot rows were not flushed at sink.snapshot.batch.bytes";
  EXPECT_EQ(sink->written(), 1000);
  EXPECT_EQ(log_.ids.size(), 1000u);
  p->RequestStop();
  ASSERT_TRUE(p->Wait().ok());
  EXPECT_EQ(sink->flushes(), 4);
}

// The backoff doubles from retry_initial up to retry_max_backoff, and the pipeline gives up
// once errors.retry.timeout has passed since the first failure.
TEST_F(PipelineTest, RetriableErrorsGiveUpAfterTheRetryTimeout) {
  ManualClock clock;
  RecordingSink* sink;
  PipelineOptions o = FastOptions();
  o.retry_initial = 10ms;
  o.retry_max_backoff = 40ms;
  o.retry_max_total = 100ms;
  o.clock = &clock;
  auto p = MakePipeline(100, 5, o, nullptr, &sink);
  sink->FailNextFlushes(UnavailableError("target down"), 1000000);
  p->Start();
  // Failures at 0, 10, 30 and 70 ms are retried; the one at 110 ms is past the timeout.
  for (size_t i = 1; i <= 4; ++i) {
    ASSERT_TRUE(clock.WaitForSleeps(i, kHangGuard)) << "retry " << i;
    clock.Advance(clock.sleeps().back());
  }
  ASSERT_TRUE(p->WaitFor(kHangGuard));
  Status s = p->Wait();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(p->state(), PipelineState::kFailed);
  EXPECT_EQ(clock.sleeps(), (std::vector<std::chrono::milliseconds>{10ms, 20ms, 40ms, 40ms}));
  EXPECT_EQ(metrics_.GetCounter("sluice_retries_total", "", {{"connector", "test"}}).value(), 4u);
}


// A sink whose Write waits until the test lets it go on.
class GatedSink : public RecordingSink {
 public:
  using RecordingSink::RecordingSink;
  Status Write(const EventBatch& batch) override {
    {
      std::unique_lock lock(gate_mu_);
      in_write_ = true;
      gate_cv_.notify_all();
      gate_cv_.wait(lock, [&] { return released_; });
    }
    return RecordingSink::Write(batch);
  }
  bool WaitInWrite() {
    std::unique_lock lock(gate_mu_);
    return gate_cv_.wait_for(lock, kHangGuard, [&] { return in_write_; });
  }
  void Release() {
    std::lock_guard lock(gate_mu_);
    released_ = true;
    gate_cv_.notify_all();
  }

 private:
  std::mutex gate_mu_;
  std::condition_variable gate_cv_;
  bool in_write_ = false;
  bool released_ = false;
};

// A source that waits for room in the queue is not polled, so it gets KeepAlive() calls once a
// second meanwhile (a PostgreSQL walsender would otherwise end the stream after
// wal_sender_timeout); nothing is lost or repeated by them.
TEST_F(PipelineTest, SourceBlockedOnAFullQueueIsKeptAlive) {
  ManualClock clock;
  PipelineOptions o = FastOptions();
  o.queue_max_events = 10;
  o.poll.max_events = 10;
  o.batch_events = 10;
  o.clock = &clock;
  auto owned_source = std::make_unique<FakeSource>(30, 1);
  FakeSource* source = owned_source.get();
  auto owned_sink = std::make_unique<GatedSink>(&log_);
  GatedSink* sink = owned_sink.get();
  Pipeline p("test", std::move(owned_source), std::move(owned_sink), &positions_, o, &metrics_,
             nullptr);
  p.Start();
  // The sink holds the first batch, the second fills the queue, the third waits for room.
  ASSERT_TRUE(sink->WaitInWrite());
  ASSERT_TRUE(clock.WaitForReads(3, kHangGuard));
  clock.Advance(999ms);
  ASSERT_TRUE(clock.WaitForReads(3, kHangGuard));
  EXPECT_EQ(source->keepalives(), 0) << "kept alive before a second had passed";
  clock.Advance(1ms);
  EXPECT_TRUE(Eventually([&] { return source->keepalives() >= 1; }))
      << "the source waited a second for room and got no keep-alive";
  sink->Release();
  ASSERT_TRUE(p.WaitFor(kHangGuard));
  ASSERT_TRUE(p.Wait().ok()) << p.last_error().ToString();
  ExpectNoGap(30);
}


TEST_F(PipelineTest, RetryStatusShowsTheAttemptAndLastErrorUntilTheSinkRecovers) {
  ManualClock clock;
  PipelineOptions o = FastOptions();
  o.retry_initial = 100ms;
  o.retry_max_backoff = 100ms;
  o.clock = &clock;
  RecordingSink* sink = nullptr;
  FakeSource* source = nullptr;
  auto p = MakePipeline(50, 10, o, &source, &sink);
  source->set_block_when_done(true);
  sink->FailNextFlushes(UnavailableError("target down"), 3);
  p->Start();
  ASSERT_TRUE(Eventually([&] { return sink->written() == 50; }));
  ASSERT_TRUE(ArrivalSeen(clock));
  clock.Advance(o.batch_wait);  // the flush is due
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_TRUE(clock.WaitForSleeps(attempt, kHangGuard)) << "attempt " << attempt;
    std::optional<RetryStatus> seen = p->retry_status();
    ASSERT_TRUE(seen.has_value()) << "no retry shown while the sink failed";
    EXPECT_EQ(seen->side, "sink");
    EXPECT_EQ(seen->attempt, attempt);
    EXPECT_EQ(seen->error.message(), "target down");
    EXPECT_EQ(seen->next_retry, clock.WallNow() + 100ms);
    EXPECT_EQ(p->state(), PipelineState::kRunning);
    clock.Advance(100ms);
  }
  EXPECT_TRUE(Eventually([&] { return !p->retry_status().has_value(); }))
      << "the retry must clear once the flush succeeds";
  // The retry clears when the flush succeeds; the position is committed just after it.
  EXPECT_TRUE(Eventually([&] {
    auto committed = positions_.position();
    return committed && committed->value == "49";
  })) << "the position after the recovered flush was not committed";
  p->RequestStop();
  EXPECT_TRUE(p->Wait().ok());
}


}  // namespace
}  // namespace sluice::core
