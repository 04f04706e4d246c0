// Stream changes overtaking queued incremental-snapshot chunks of other tables
// (core/pipeline_overtake.h): which batch the sink takes, and that the overtaking commit does not
// carry a position past chunks that are not durable yet.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "core/pipeline.h"
#include "core/pipeline_overtake.h"
#include "tests/core/pipeline_fixture.h"

namespace sluice::core {
namespace {

using namespace std::chrono_literals;
using sluice::testing::DurableLog;
using sluice::testing::MemoryPositionStore;
using sluice::testing::RecordingSink;

TableSchemaPtr Ticks() {
  return sluice::testing::MakeSchema(
      "public", "ticks", {sluice::testing::Col("id", LogicalType::kInt64, "bigint", 0, 0, 0, false),
                          sluice::testing::Col("name", LogicalType::kString, "text")});
}

std::unique_ptr<EventBatch> BatchOf(const TableSchemaPtr& table, Op op, bool checkpoint = true) {
  auto batch = std::make_unique<EventBatch>();
  uint32_t txn = batch->AddTxn(TxnInfo{});
  uint32_t row = batch->BeginRow();
  batch->AppendValue("1");
  batch->AppendValue("x");
  batch->EndRow();
  batch->AddEvent({op, kNoRow, row, txn, table});
  if (checkpoint) batch->set_checkpoint(SourcePosition{"p"});
  return batch;
}

size_t Choose(const std::vector<OvertakeKind>& kinds) {
  return ChooseOvertaking(kinds.size(), [&](size_t i) -> const OvertakeKind& { return kinds[i]; });
}

TEST(OvertakeTest, ChangesOfAnotherTableOvertakeChunksAlone) {
  const TableSchemaPtr items = sluice::testing::TestSchema(), ticks = Ticks();
  std::vector<OvertakeKind> kinds;
  kinds.push_back(ClassifyForOvertaking(*BatchOf(items, Op::kRead)));
  kinds.push_back(ClassifyForOvertaking(*BatchOf(items, Op::kRead, false)));
  kinds.push_back(ClassifyForOvertaking(*BatchOf(ticks, Op::kCreate)));
  EXPECT_TRUE(kinds[0].chunk_only);
  EXPECT_TRUE(kinds[2].changes_only);
  EXPECT_EQ(Choose(kinds), 2u);
}

TEST(OvertakeTest, NothingOvertakesChunksOfItsOwnTableOrOtherChanges) {
  const TableSchemaPtr items = sluice::testing::TestSchema(), ticks = Ticks();
  // A change of the chunks' own table: a chunk must not overwrite it.
  EXPECT_EQ(Choose({ClassifyForOvertaking(*BatchOf(items, Op::kRead)),
                    ClassifyForOvertaking(*BatchOf(items, Op::kUpdate))}),
            0u);
  // A change behind another change that may not overtake: stream changes keep their order.
  EXPECT_EQ(Choose({ClassifyForOvertaking(*BatchOf(items, Op::kRead)),
                    ClassifyForOvertaking(*BatchOf(items, Op::kUpdate)),
                    ClassifyForOvertaking(*BatchOf(ticks, Op::kCreate))}),
            0u);
  // Only the first of two changes behind chunks overtakes them.
  EXPECT_EQ(Choose({ClassifyForOvertaking(*BatchOf(items, Op::kRead)),
                    ClassifyForOvertaking(*BatchOf(items, Op::kRead)),
                    ClassifyForOvertaking(*BatchOf(ticks, Op::kCreate)),
                    ClassifyForOvertaking(*BatchOf(ticks, Op::kCreate))}),
            2u);
  // A batch ending inside a transaction (no checkpoint) does not overtake.
  EXPECT_EQ(Choose({ClassifyForOvertaking(*BatchOf(items, Op::kRead)),
                    ClassifyForOvertaking(*BatchOf(ticks, Op::kCreate, false))}),
            0u);
  // Nothing is ahead but changes: the oldest.
  EXPECT_EQ(Choose({ClassifyForOvertaking(*BatchOf(ticks, Op::kCreate)),
                    ClassifyForOvertaking(*BatchOf(ticks, Op::kCreate))}),
            0u);
  // A chunk batch that also carries a transaction boundary is not overtaken.
  auto bounded = BatchOf(items, Op::kRead);
  bounded->AddBoundary({0, true, 7, 0, 0});
  EXPECT_FALSE(ClassifyForOvertaking(*bounded).chunk_only);
}

// The first write blocks until released, so that the batches behind it queue up.
class GatedSink : public RecordingSink {
 public:
  using RecordingSink::RecordingSink;
  Status Write(const EventBatch& batch) override {
    {
      std::unique_lock lock(mu_);
      entered_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
    }
    return RecordingSink::Write(batch);
  }
  bool entered() {
    std::lock_guard lock(mu_);
    return entered_;
  }
  void Release() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool open_ = false;
};

class PipelineOvertakeTest : public ::testing::Test {
 protected:
  DurableLog log_;
  MemoryPositionStore positions_;
  MetricsRegistry metrics_;
};

// A tick of another table queued behind chunks is committed before them, with the position of
// what was written before it only: a resume from that position reads the chunks again.
TEST_F(PipelineOvertakeTest, AChangeOvertakesQueuedChunksAndCommitsWithoutItsPosition) {
  ManualClock clock;
  PipelineOptions o = FastOptions();
  o.batch_events = 100000;
  o.batch_wait = std::chrono::seconds(30);
  o.batch_idle = 20ms;
  o.clock = &clock;
  auto owned_source = std::make_unique<StepSource>();
  auto owned_sink = std::make_unique<GatedSink>(&log_);
  StepSource* source = owned_source.get();
  GatedSink* sink = owned_sink.get();
  Pipeline p("test", std::move(owned_source), std::move(owned_sink), &positions_, o, &metrics_,
             nullptr);
  p.Start();
  const TableSchemaPtr items = sluice::testing::TestSchema(), ticks = Ticks();
  source->EmitOf(items, Op::kRead);  // id 0, position "0": its write blocks
  ASSERT_TRUE(Eventually([&] { return sink->entered(); }));
  source->EmitOf(items, Op::kRead);    // id 1, "1"
  source->EmitOf(items, Op::kRead);    // id 2, "2"
  source->EmitOf(ticks, Op::kCreate);  // id 3, "3": its position counts chunks 1 and 2
  ASSERT_TRUE(Eventually([&] { return source->unpolled() == 0; }));
  std::this_thread::sleep_for(20ms);  // the last Poll's batch reaches the queue
  sink->Release();
  ASSERT_TRUE(Eventually([&] { return sink->flushes() >= 1; }))
      << "the change was not committed at once";
  {
    std::lock_guard lock(log_.mu);
    EXPECT_EQ(log_.ids, (std::vector<int>{0, 3})) << "the change waited behind the chunks";
  }
  ASSERT_TRUE(Eventually([&] { return positions_.position().has_value(); }));
  EXPECT_EQ(positions_.position()->value, "0")
      << "the change's commit carried a position past chunks not yet durable";
  p.RequestStop();
  ASSERT_TRUE(p.Wait().ok()) << p.last_error().ToString();
  std::lock_guard lock(log_.mu);
  EXPECT_EQ(log_.ids, (std::vector<int>{0, 3, 1, 2}));
  EXPECT_EQ(positions_.position()->value, "2");
}

// A change of the chunks' own table stays behind them.
TEST_F(PipelineOvertakeTest, AChangeOfTheChunksTableStaysBehindThem) {
  ManualClock clock;
  PipelineOptions o = FastOptions();
  o.batch_events = 100000;
  o.batch_wait = std::chrono::seconds(30);
  o.batch_idle = 20ms;
  o.clock = &clock;
  auto owned_source = std::make_unique<StepSource>();
  auto owned_sink = std::make_unique<GatedSink>(&log_);
  StepSource* source = owned_source.get();
  GatedSink* sink = owned_sink.get();
  Pipeline p("test", std::move(owned_source), std::move(owned_sink), &positions_, o, &metrics_,
             nullptr);
  p.Start();
  const TableSchemaPtr items = sluice::testing::TestSchema();
  source->EmitOf(items, Op::kRead);
  ASSERT_TRUE(Eventually([&] { return sink->entered(); }));
  source->EmitOf(items, Op::kRead);
  source->EmitOf(items, Op::kUpdate);
  ASSERT_TRUE(Eventually([&] { return source->unpolled() == 0; }));
  std::this_thread::sleep_for(20ms);
  sink->Release();
  ASSERT_TRUE(Eventually([&] { return sink->flushes() >= 1; }));
  {
    std::lock_guard lock(log_.mu);
    EXPECT_EQ(log_.ids, (std::vector<int>{0, 1, 2}));
  }
  ASSERT_TRUE(Eventually([&] { return positions_.position().has_value(); }));
  EXPECT_EQ(positions_.position()->value, "2");
  p.RequestStop();
  ASSERT_TRUE(p.Wait().ok()) << p.last_error().ToString();
}

}  // namespace
}  // namespace sluice::core
