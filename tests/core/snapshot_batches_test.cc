// SnapshotBatches (core/snapshot_batches.h): every batch of every worker reaches the source
// thread once, the snapshot's final row is marked last, and errors and stops end it.
#include "core/snapshot_batches.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

namespace sluice::core {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<EventBatch> Rows(SnapshotBatches& batches, int first, int count) {
  static const auto schema = std::make_shared<TableSchema>();
  std::unique_ptr<EventBatch> b = batches.Acquire();
  uint32_t txn = b->AddTxn(TxnInfo{.snapshot = true});
  for (int i = first; i < first + count; ++i) {
    uint32_t row = b->BeginRow();
    b->AppendValue(std::to_string(i));
    b->EndRow();
    b->AddEvent({Op::kRead, kNoRow, row, txn, schema});
  }
  return b;
}

TEST(SnapshotBatchesTest, EveryRowOnceAndTheLastOneMarked) {
  SnapshotBatches batches(2, 2);
  std::vector<std::thread> workers;
  for (int w = 0; w < 2; ++w) {
    workers.emplace_back([&batches, w] {
      for (int b = 0; b < 20; ++b) ASSERT_TRUE(batches.Push(Rows(batches, w * 1000 + b * 10, 10), false));
      // The worker's remainder: empty for one of them.
      batches.Push(w == 0 ? Rows(batches, 5000, 3) : nullptr, true);
      batches.WorkerExited();
    });
  }
  std::vector<int> seen;
  int marked = 0;
  std::string last_value, marked_value;
  EventBatch out;
  while (true) {
    auto state = batches.Next(out, 1s);
    ASSERT_TRUE(state.ok());
    if (*state == SnapshotBatches::State::kFinished) break;
    if (*state == SnapshotBatches::State::kEmpty) continue;
    for (const ChangeEvent& e : out.events()) {
      std::string v(out.row(e.after).text(0));
      seen.push_back(std::stoi(v));
      last_value = v;
      if (out.txn(e.txn).last_snapshot_event) {
        ++marked;
        marked_value = v;
      }
    }
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(seen.size(), 2u * 20 * 10 + 3);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
  EXPECT_EQ(marked, 1);
  EXPECT_EQ(marked_value, last_value);  // the final row handed on is the marked one
}

TEST(SnapshotBatchesTest, AWorkerErrorEndsTheSnapshot) {
  SnapshotBatches batches(1, 4);
  batches.Fail(UnavailableError("connection lost"));
  EXPECT_FALSE(batches.Push(Rows(batches, 0, 1), false));
  EventBatch out;
  auto state = batches.Next(out, 10ms);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().message(), "connection lost");
}

TEST(SnapshotBatchesTest, StopUnblocksAWorkerWaitingForRoom) {
  SnapshotBatches batches(1, 2);
  ASSERT_TRUE(batches.Push(Rows(batches, 0, 1), false));
  ASSERT_TRUE(batches.Push(Rows(batches, 1, 1), false));
  std::thread worker([&] { EXPECT_FALSE(batches.Push(Rows(batches, 2, 1), false)); });
  std::this_thread::sleep_for(20ms);
  batches.Stop();
  worker.join();
  EventBatch out;
  EXPECT_FALSE(batches.Next(out, 10ms).ok());
  EXPECT_TRUE(batches.stopped());
}

}  // namespace
}  // namespace sluice::core
