// The pipeline's commit protocol: nothing lost across crashes at every step, retries, bounds,
// prompt stop. The decisions taken on the pipeline's clock are in pipeline_clock_test.cc.
#include "core/pipeline.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/core/pipeline_fixture.h"

namespace sluice::core {
namespace {

using sluice::testing::FakeSource;
using sluice::testing::RecordingSink;
using namespace std::chrono_literals;

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

TEST_F(PipelineTest, DeliversABatchThatOnlyHoldsASchemaChange) {
  FakeSource* source;
  auto p = MakePipeline(3, 1, FastOptions(), &source);
  source->set_schema_change_first(true);
  p->Start();
  ASSERT_TRUE(p->Wait().ok()) << p->last_error().ToString();
  ExpectNoGap(3);
  std::lock_guard lock(log_.mu);
  EXPECT_EQ(log_.schema_changes, std::vector<std::string>{"ALTER TABLE items ADD COLUMN note text"})
      << "a DDL alone in its batch must still reach the Kafka sink's schema-change topic";
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
  EXPECT_FALSE(log_.replace_tables) << "a resumed connector keeps the target's rows";
}

// A sink that stores positions with its data is where the pipeline resumes from: the state
// store's copy is saved without waiting for the disk. Any other sink's position is durable in
// the state store alone.
TEST_F(PipelineTest, SavesOnlyACopyOfThePositionAnExactlyOnceSinkStores) {
  FakeSource* source;
  auto p = MakePipeline(1000, 10, FastOptions(), &source, nullptr, /*exactly_once=*/true);
  p->Start();
  ASSERT_TRUE(p->Wait().ok());
  EXPECT_GT(positions_.copies(), 0);
  EXPECT_EQ(positions_.saves(), 0);
  ASSERT_TRUE(positions_.position().has_value());
  EXPECT_EQ(positions_.position()->value, "999");
}

TEST_F(PipelineTest, SavesThePositionDurablyForASinkThatDoesNotStoreIt) {
  FakeSource* source;
  auto p = MakePipeline(1000, 10, FastOptions(), &source);
  p->Start();
  ASSERT_TRUE(p->Wait().ok());
  EXPECT_GT(positions_.saves(), 0);
  EXPECT_EQ(positions_.copies(), 0);
  ASSERT_TRUE(positions_.position().has_value());
  EXPECT_EQ(positions_.position()->value, "999");
}

TEST_F(PipelineTest, AOneShotSyncIgnoresThePositionTheTargetHoldsFromAnEarlierRun) {
  log_.stored = SourcePosition{"499"};
  FakeSource* source;
  PipelineOptions o = FastOptions();
  o.one_shot = true;
  auto p = MakePipeline(1000, 10, o, &source, nullptr, /*exactly_once=*/true);
  p->Start();
  ASSERT_TRUE(p->Wait().ok());
  EXPECT_EQ(source->started_from().front(), 0) << "a sync copies from the start";
  EXPECT_TRUE(log_.replace_tables) << "the earlier run's rows are replaced, deleted ones too";
  ExpectNoGap(1000);
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
                          {"sink.batch.idle.ms", "3"}, {"max.queue.size", "999"},
                          {"sink.snapshot.batch.bytes", "4096"}});
  auto o = PipelineOptionsFromConfig(c);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->snapshot_batch_bytes, 4096u);
  EXPECT_EQ(PipelineOptionsFromConfig(ConnectorConfig("x", {}))->snapshot_batch_bytes, 0u);
  EXPECT_EQ(PipelineOptionsFromConfig(ConnectorConfig("x", {{"sink.snapshot.batch.bytes", "-1"}}))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
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

}  // namespace
}  // namespace sluice::core
