// The pipeline's commit protocol: nothing lost across crashes at every step, retries, bounds,
// prompt stop. Time-dependent decisions (sink.batch.ms, sink.batch.idle.ms, retry backoff and
// timeout, keep-alives) run on a ManualClock that the test advances: no test measures how long
// something took. kHangGuard only bounds a wait that would otherwise hang on a regression.
#include "core/pipeline.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/core/fakes.h"

namespace sluice::core {
namespace {

using sluice::testing::DurableLog;
using sluice::testing::FakeSource;
using sluice::testing::MemoryPositionStore;
using sluice::testing::RecordingSink;
using namespace std::chrono_literals;

// Against a hang only: a passing test never waits this long.
constexpr std::chrono::milliseconds kHangGuard = 60s;

// Polls `done` until it holds or kHangGuard has passed; the last value.
template <typename Done>
bool Eventually(Done done) {
  const auto give_up = std::chrono::steady_clock::now() + kHangGuard;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

PipelineOptions FastOptions() {
  PipelineOptions o;
  o.batch_events = 100;
  o.batch_wait = 5ms;
  o.poll.max_events = 50;
  o.retry_initial = 1ms;
  o.retry_max_backoff = 5ms;
  o.retry_max_total = 5s;
  return o;
}

// A script-like fixture: build a pipeline over a fake source and a recording sink, run it,
// "crash" it, restart it, and check what the sink made durable.
class PipelineTest : public ::testing::Test {
 protected:
  std::unique_ptr<Pipeline> MakePipeline(int events, int txn_size, PipelineOptions options,
                                         FakeSource** source_out = nullptr,
                                         RecordingSink** sink_out = nullptr, bool exactly_once = false) {
    auto source = std::make_unique<FakeSource>(events, txn_size);
    auto sink = std::make_unique<RecordingSink>(&log_, exactly_once);
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

  DurableLog log_;
  MemoryPositionStore positions_;
  MetricsRegistry metrics_;
};

TEST_F(PipelineTest, DeliversEveryEventAndCommitsTheLastPosition) {
  FakeSource* source;
  auto p = MakePipeline(1000, 7, FastOptions(), &source);
  p->Start();
  ASSERT_TRUE(p->Wait().ok()) << p->last_error().ToString();
  EXPECT_EQ(p->state(), PipelineState::kFinished);
  ExpectNoGap(1000);
  EXPECT_EQ(log_.ids.size(), 1000u) << "no replays without failures";
  ASSERT_TRUE(positions_.position().has_value());
  EXPECT_EQ(positions_.position()->value, "999");
  ASSERT_FALSE(source->acked().empty());
  EXPECT_EQ(source->acked().back(), "999");
  EXPECT_EQ(p->events_written(), 1000u);
}

TEST_F(PipelineTest, DeliversABatchThatOnlyAnnouncesATable) {
  FakeSource* source;
  auto p = MakePipeline(0, 1, FastOptions(), &source);
  source->set_announce_first(true);
  p->Start();
  ASSERT_TRUE(p->Wait().ok()) << p->last_error().ToString();
  std::lock_guard lock(log_.mu);
  EXPECT_EQ(log_.announced, std::vector<std::string>{"public.items"})
      << "an empty source table must still reach sinks that create tables";
  EXPECT_TRUE(log_.ids.empty());
}

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

// Written but unflushed events of a source that went quiet: nothing happens until
// sink.batch.idle.ms has passed since the last batch arrived, then they are flushed although
// sink.batch.ms (30 s) is far off.
TEST_F(PipelineTest, PendingEventsAreFlushedOnceTheSourceGoesIdle) {
  ManualClock clock;
  FakeSource* source;
  RecordingSink* sink;
  PipelineOptions o = FastOptions();
  o.batch_events = 100000;
  o.batch_wait = 30s;
  o.batch_idle = 20ms;
  o.clock = &clock;
  auto p = MakePipeline(10, 5, o, &source, &sink);
  source->set_block_when_done(true);  // caught up: nothing more, no end either
  p->Start();
  ASSERT_TRUE(Eventually([&] { return sink->written() == 10; }));
  clock.Advance(19ms);
  ASSERT_TRUE(clock.WaitForReads(20, kHangGuard));
  EXPECT_EQ(sink->flushes(), 0) << "flushed before sink.batch.idle.ms";
  clock.Advance(1ms);
  ASSERT_TRUE(Eventually([&] { return positions_.position().has_value(); }))
      << "the last events waited for sink.batch.ms although the source had gone idle";
  EXPECT_EQ(positions_.position()->value, "9");
  EXPECT_EQ(sink->flushes(), 1);
  p->RequestStop();
  ASSERT_TRUE(p->Wait().ok());
}

// A source that keeps trickling would never look idle: sink.batch.ms after the oldest pending
// batch arrived, the pending events are flushed.
TEST_F(PipelineTest, PendingEventsAreFlushedWhenSinkBatchMsHasPassed) {
  ManualClock clock;
  FakeSource* source;
  RecordingSink* sink;
  PipelineOptions o = FastOptions();
  o.batch_events = 100000;
  o.batch_wait = 500ms;
  o.batch_idle = std::chrono::hours(1);
  o.clock = &clock;
  auto p = MakePipeline(10, 5, o, &source, &sink);
  source->set_block_when_done(true);
  p->Start();
  ASSERT_TRUE(Eventually([&] { return sink->written() == 10; }));
  clock.Advance(499ms);
  ASSERT_TRUE(clock.WaitForReads(20, kHangGuard));
  EXPECT_EQ(sink->flushes(), 0) << "flushed before sink.batch.ms";
  clock.Advance(1ms);
  ASSERT_TRUE(Eventually([&] { return positions_.position().has_value(); }))
      << "no flush sink.batch.ms after the first pending batch";
  EXPECT_EQ(positions_.position()->value, "9");
  EXPECT_EQ(sink->flushes(), 1);
  p->RequestStop();
  ASSERT_TRUE(p->Wait().ok());
}

// A stream catching up: a transaction's commit often arrives in a batch of its own, after
// its rows. Such checkpoint-only batches are flushed at once only when nothing is queued
// behind them; otherwise every commit would become a target transaction of its own.
class CommitsApartFromTheirRows : public Source {
 public:
  explicit CommitsApartFromTheirRows(int txns) : txns_(txns), schema_(sluice::testing::TestSchema()) {}
  Status Start(const std::optional<SourcePosition>&) override { return Status::Ok(); }
  Result<PollStatus> Poll(EventBatch& batch, const PollLimits&) override {
    if (next_ >= 2 * txns_) return PollStatus::kFinished;
    int id = next_ / 2;
    if (next_++ % 2 == 0) {
      uint32_t txn = batch.AddTxn(TxnInfo{NowUnixMs(), false, false, 1, 0, "", 0, ""});
      uint32_t row = batch.BeginRow();
      batch.AppendValue(std::to_string(id));
      batch.AppendValue("name");
      batch.EndRow();
      batch.AddEvent({Op::kCreate, kNoRow, row, txn, schema_});
    } else {
      batch.set_checkpoint(SourcePosition{std::to_string(id)});
    }
    return PollStatus::kHaveMore;
  }
  void Acknowledge(const SourcePosition&) override {}
  void RequestStop() override {}
  void Close() override {}
  Status Check() override { return Status::Ok(); }

 private:
  int txns_;
  int next_ = 0;
  TableSchemaPtr schema_;
};

TEST_F(PipelineTest, CommitsQueuedBehindEachOtherAreBatched) {
  PipelineOptions o = FastOptions();
  o.batch_events = 100000;
  o.batch_wait = 100ms;
  o.batch_idle = std::chrono::seconds(10);
  auto sink = std::make_unique<RecordingSink>(&log_);
  RecordingSink* recording = sink.get();
  recording->set_write_delay(1ms);  // the sink is the slower side: batches queue up
  Pipeline p("test", std::make_unique<CommitsApartFromTheirRows>(300), std::move(sink),
             &positions_, o, &metrics_, nullptr);
  p.Start();
  ASSERT_TRUE(p.Wait().ok()) << p.last_error().ToString();
  ExpectNoGap(300);
  EXPECT_EQ(positions_.position()->value, "299");
  EXPECT_LT(recording->flushes(), 30) << "checkpoint-only batches were flushed one by one";
}

class CrashAtStepTest : public PipelineTest,
                        public ::testing::WithParamInterface<PipelineOptions::Step> {};

TEST_P(CrashAtStepTest, RestartAfterCrashLosesNothing) {
  const PipelineOptions::Step crash_step = GetParam();
  // Crash at the given step of the 3rd occurrence, restart, repeat a few times.
  for (int attempt = 0; attempt < 4; ++attempt) {
    PipelineOptions o = FastOptions();
    auto hits = std::make_shared<std::atomic<int>>(0);
    o.fault_hook = [crash_step, hits](PipelineOptions::Step step) {
      if (step == crash_step && ++*hits == 3) return InternalError("simulated crash");
      return Status::Ok();
    };
    auto p = MakePipeline(2000, 3, o);
    p->Start();
    Status s = p->Wait();
    if (s.ok()) break;  // finished before the 3rd hit
    EXPECT_EQ(p->state(), PipelineState::kFailed);
    EXPECT_EQ(s.message(), "simulated crash");
  }
  // The run after the crashes finishes cleanly.
  auto p = MakePipeline(2000, 3, FastOptions());
  p->Start();
  ASSERT_TRUE(p->Wait().ok()) << p->last_error().ToString();
  ExpectNoGap(2000);
}

INSTANTIATE_TEST_SUITE_P(EveryStep, CrashAtStepTest,
                         ::testing::Values(PipelineOptions::Step::kAfterWrite,
                                           PipelineOptions::Step::kAfterFlush,
                                           PipelineOptions::Step::kAfterSave,
                                           PipelineOptions::Step::kAfterAcknowledge));

TEST_F(PipelineTest, ResumesFromTheSavedPosition) {
  FakeSource* source;
  PipelineOptions o = FastOptions();
  auto hits = std::make_shared<std::atomic<int>>(0);
  o.fault_hook = [hits](PipelineOptions::Step step) {
    if (step == PipelineOptions::Step::kAfterAcknowledge && ++*hits == 5) {
      return InternalError("simulated crash");
    }
    return Status::Ok();
  };
  auto first = MakePipeline(5000, 10, o);
  first->Start();
  EXPECT_FALSE(first->Wait().ok());
  ASSERT_TRUE(positions_.position().has_value());
  int saved = std::stoi(positions_.position()->value);

  auto second = MakePipeline(5000, 10, FastOptions(), &source);
  second->Start();
  ASSERT_TRUE(second->Wait().ok());
  ASSERT_FALSE(source->started_from().empty());
  EXPECT_EQ(source->started_from().front(), saved + 1);
  ExpectNoGap(5000);
}

TEST_F(PipelineTest, PrefersThePositionStoredInAnExactlyOnceSink) {
  log_.stored = SourcePosition{"499"};
  positions_.SavePosition("test", SourcePosition{"99"}).ok();
  FakeSource* source;
  auto p = MakePipeline(1000, 10, FastOptions(), &source, nullptr, /*exactly_once=*/true);
  p->Start();
  ASSERT_TRUE(p->Wait().ok());
  EXPECT_EQ(source->started_from().front(), 500);
}

TEST_F(PipelineTest, SinkThatFailsThenRecoversGetsEverythingAgain) {
  RecordingSink* sink;
  auto p = MakePipeline(3000, 5, FastOptions(), nullptr, &sink);
  sink->FailNextWrites(UnavailableError("connection lost"), 3);
  sink->FailNextFlushes(AbortedError("deadlock"), 2);
  p->Start();
  ASSERT_TRUE(p->Wait().ok()) << p->last_error().ToString();
  EXPECT_GE(sink->resets(), 3);
  ExpectNoGap(3000);
  EXPECT_GT(metrics_.GetCounter("sluice_retries_total", "", {{"connector", "test"}}).value(), 0u);
}

TEST_F(PipelineTest, FatalSinkErrorStopsThePipelineWithTheReason) {
  RecordingSink* sink;
  auto p = MakePipeline(3000, 5, FastOptions(), nullptr, &sink);
  sink->FailNextWrites(InvalidArgumentError("value out of range for column x of shop.orders"), 1);
  p->Start();
  Status s = p->Wait();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("shop.orders"), std::string::npos);
  EXPECT_EQ(p->state(), PipelineState::kFailed);
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

TEST_F(PipelineTest, RetriableSourceErrorRestartsFromTheCommittedPosition) {
  FakeSource* source;
  auto p = MakePipeline(2000, 4, FastOptions(), &source);
  source->FailPolls(UnavailableError("replication connection lost"), 2);
  p->Start();
  ASSERT_TRUE(p->Wait().ok()) << p->last_error().ToString();
  EXPECT_GE(source->starts(), 3);
  ExpectNoGap(2000);
}

TEST_F(PipelineTest, SlowSinkKeepsTheQueueWithinItsBounds) {
  RecordingSink* sink;
  PipelineOptions o = FastOptions();
  o.queue_max_events = 200;
  o.queue_max_bytes = 1 << 20;
  o.poll.max_events = 50;
  auto p = MakePipeline(3000, 1, o, nullptr, &sink);
  sink->set_write_delay(2ms);
  p->Start();
  double max_events = 0;
  while (!p->WaitFor(1ms)) {
    max_events = std::max(
        max_events, metrics_.GetGauge("sluice_queue_events", "", {{"connector", "test"}}).value());
  }
  ASSERT_TRUE(p->Wait().ok());
  EXPECT_LE(max_events, 200.0);
  EXPECT_GT(max_events, 0.0) << "the queue never filled: the test did not exercise the bound";
  ExpectNoGap(3000);
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

TEST_F(PipelineTest, StopWakesABlockedPollPromptly) {
  FakeSource* source;
  PipelineOptions o = FastOptions();
  o.poll.max_wait = std::chrono::hours(1);
  auto p = MakePipeline(10, 5, o, &source);
  source->set_block_when_done(true);
  p->Start();
  ASSERT_TRUE(Eventually([&] { return source->blocked(); }));
  p->RequestStop();
  // The poll would block for an hour if the stop did not wake it.
  ASSERT_TRUE(p->WaitFor(kHangGuard)) << "the stop did not wake the blocked poll";
  ASSERT_TRUE(p->Wait().ok());
  EXPECT_EQ(p->state(), PipelineState::kStopped);
  ExpectNoGap(10);
  EXPECT_EQ(positions_.position()->value, "9") << "stop flushes and commits what was read";
}

TEST(BoundedQueueTest, AdmitsOneOversizedItemIntoAnEmptyQueue) {
  BoundedQueue<int> q(10, 100);
  std::stop_source stop;
  int big = 1;
  ASSERT_TRUE(q.Push(big, 50, 1000, stop.get_token()));
  auto v = q.Pop(1ms, stop.get_token());
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, 1);
}

TEST(BoundedQueueTest, PushBlocksWhenFullUntilStop) {
  BoundedQueue<int> q(1, 100);
  std::stop_source stop;
  int a = 1, b = 2;
  ASSERT_TRUE(q.Push(a, 1, 1, stop.get_token()));
  std::thread stopper([&] {
    std::this_thread::sleep_for(20ms);
    stop.request_stop();
  });
  EXPECT_FALSE(q.Push(b, 1, 1, stop.get_token()));
  stopper.join();
}

TEST(PipelineOptionsTest, ReadsTheBatchingKeys) {
  ConnectorConfig c("x", {{"sink.batch.size", "123"}, {"sink.batch.ms", "7"},
                          {"sink.batch.idle.ms", "3"}, {"max.queue.size", "999"}});
  auto o = PipelineOptionsFromConfig(c);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->batch_events, 123u);
  EXPECT_EQ(o->batch_wait, 7ms);
  EXPECT_EQ(o->batch_idle, 3ms);
  EXPECT_EQ(PipelineOptionsFromConfig(ConnectorConfig("x", {{"sink.batch.idle.ms", "-1"}}))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(o->queue_max_events, 999u);
  ConnectorConfig bad("x", {{"sink.batch.size", "lots"}});
  EXPECT_EQ(PipelineOptionsFromConfig(bad).status().code(), StatusCode::kInvalidArgument);
}

// A source whose Poll throws (as nlohmann or std::stoul on server text would): without the
// thread entry's catch-all the exception calls std::terminate and the test process dies.
class ThrowingSource : public FakeSource {
 public:
  ThrowingSource() : FakeSource(1000, 10) {}
  Result<PollStatus> Poll(EventBatch& batch, const PollLimits& limits) override {
    if (++polls_ == 3) throw std::out_of_range("stoul: bad relpages text 'x'");
    return FakeSource::Poll(batch, limits);
  }

 private:
  int polls_ = 0;
};

// A sink whose Write throws something that is not even a std::exception.
class ThrowingSink : public RecordingSink {
 public:
  using RecordingSink::RecordingSink;
  Status Write(const EventBatch& batch) override {
    if (++writes_ == 2) throw 42;
    return RecordingSink::Write(batch);
  }

 private:
  int writes_ = 0;
};

TEST_F(PipelineTest, AnExceptionInTheSourceThreadFailsThePipelineWithItsMessage) {
  Pipeline p("test", std::make_unique<ThrowingSource>(), std::make_unique<RecordingSink>(&log_),
             &positions_, FastOptions(), &metrics_, nullptr);
  p.Start();
  Status s = p.Wait();
  EXPECT_EQ(p.state(), PipelineState::kFailed);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("source thread"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("stoul: bad relpages text 'x'"), std::string::npos) << s.message();
  // What was read before the throw is still committed: the sink drained the queue.
  ASSERT_TRUE(positions_.position().has_value());
}

TEST_F(PipelineTest, AnExceptionInTheSinkThreadFailsThePipelineAndTheProcessGoesOn) {
  Pipeline p("test", std::make_unique<FakeSource>(1000, 10),
             std::make_unique<ThrowingSink>(&log_), &positions_, FastOptions(), &metrics_,
             nullptr);
  p.Start();
  ASSERT_TRUE(p.WaitFor(kHangGuard)) << "the pipeline must end, not hang";
  Status s = p.Wait();
  EXPECT_EQ(p.state(), PipelineState::kFailed);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("sink thread"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("unknown exception"), std::string::npos) << s.message();
  // Another pipeline in the same process runs to the end.
  auto q = MakePipeline(100, 10, FastOptions());
  q->Start();
  EXPECT_TRUE(q->Wait().ok());
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
  EXPECT_EQ(positions_.position()->value, "49");
  p->RequestStop();
  EXPECT_TRUE(p->Wait().ok());
}

}  // namespace
}  // namespace sluice::core
